"""/overdue (/quahan) [report or task code | department]: who is late on what, right now.

Each report or task someone is late on lists everyone who has not handed it in (finished
it), marked as every view marks them (`handlers.clerk.standing_words`); a task is counted by
its lead, its coordinators listed apart. On a report the child units submit (the
province's), each line is a commune with its clerk.
"""

from __future__ import annotations

from db.clock import format_date
from db.desk.overdue import OverdueFilter, OverdueGroup, OverdueRow, overdue
from db.desk.standing import ReportStanding, TaskStanding
from db.desk.subjects import find_departments, find_obligation, find_task
from db.kinds import OBLIGATION
from db.models import AssigneeRole, ReviewState, TaskState
from handlers.catalog import t
from handlers.clerk.context import Desk, DeskInputError
from handlers.clerk.standing_words import report_marks, task_marks
from handlers.free_text import echo
from handlers.presenting import h, moment, state_label
from handlers.rates import rate, share


async def overdue_text(desk: Desk, query: str) -> str:
    """The overdue list, one block per report or task, with totals; or "nothing overdue"."""
    only, scope = await _filter(desk, query.strip())
    groups = await overdue(desk.session, desk.unit_id, desk.today, only)
    when = moment(desk.now, desk.tz)
    if not groups:
        return t("clerk.overdue.none", desk.lang, when=when, scope=scope)
    blocks = [t("clerk.overdue.header", desk.lang, when=when, scope=scope)]
    decimals = (await desk.unit()).percent_decimals
    blocks += [_group_block(desk, group, decimals) for group in groups]
    if len(groups) > 1:
        # Numerators and denominators are added up; percentages are never averaged.
        late = sum(g.counted[0] for g in groups)
        total = sum(g.counted[1] for g in groups)
        blocks.append(
            t(
                "clerk.overdue.total",
                desk.lang,
                share=share(late, total),
                rate=rate(late, total, desk.lang, good=False, decimals=decimals),
            )
        )
    return "\n\n".join(blocks)


async def _filter(desk: Desk, query: str) -> tuple[OverdueFilter, str]:
    if not query:
        return OverdueFilter(), ""
    obligation = await find_obligation(desk.session, desk.unit_id, query, desk.today)
    if obligation is not None:
        return OverdueFilter(obligation_id=obligation.id), _scope(obligation.code)
    task = await find_task(desk.session, desk.unit_id, query)
    if task is not None:
        return OverdueFilter(task_id=task.id), _scope(
            t("clerk.scope.task", desk.lang, code=task.code)
        )
    departments = await find_departments(desk.session, desk.unit_id, query)
    if departments:
        label = t("clerk.scope.department", desk.lang, name=", ".join(departments))
        return OverdueFilter(departments=departments), _scope(label)
    raise DeskInputError(t("clerk.overdue.unknown", desk.lang, query=h(echo(query))))


def _scope(label: str) -> str:
    return f" · {h(label)}"


def _group_block(desk: Desk, group: OverdueGroup, decimals: int) -> str:
    lang = desk.lang
    if group.children_submit:
        return _communes_block(desk, group, decimals)
    late, total = group.counted
    if group.kind == OBLIGATION:
        key = "clerk.overdue.report"
    else:
        # A task is counted by its lead; its coordinators are listed apart.
        key = "desk.overdue.task_by_lead" if group.leads else "clerk.overdue.task"
    head = t(
        key,
        lang,
        code=h(group.code),
        title=h(group.title),
        due=format_date(group.due),
        share=share(late, total),
        rate=rate(late, total, lang, good=False, decimals=decimals),
    )
    lines = [head]
    apart = False
    for row in group.rows:
        if group.leads and row.role is AssigneeRole.COORDINATE and not apart:
            lines.append(t("desk.overdue.coordinators", lang))
            apart = True
        lines.append(_row_lines(desk, group, row))
    return "\n".join(lines)


def _communes_block(desk: Desk, group: OverdueGroup, decimals: int) -> str:
    lang = desk.lang
    late, total = group.counted
    head = t(
        "clerk.province.overdue_report",
        lang,
        code=h(group.code),
        title=h(group.title),
        due=format_date(group.due),
        share=share(late, total),
        rate=rate(late, total, lang, good=False, decimals=decimals),
    )
    lines = [head]
    for row in group.rows:
        commune = t("clerk.province.commune", lang, unit=h(row.unit_name), name=h(row.full_name))
        lines.append(f"{commune}\n  {' · '.join(_facts(desk, group, row))}")
    return "\n".join(lines)


def _facts(desk: Desk, group: OverdueGroup, row: OverdueRow) -> list[str]:
    """The standing's marks (overdue, stopped, blocked, returned, extended, leave), the
    reminders sent, then the last state."""
    lang = desk.lang
    standing = row.standing
    if isinstance(standing, ReportStanding):
        facts = report_marks(standing, desk.today, desk.tz, lang)
    elif isinstance(standing, TaskStanding):
        facts = task_marks(standing, desk.today, lang)
    else:
        facts = []
    facts.append(
        t("clerk.overdue.reminded", lang, count=row.reminders_sent)
        if row.reminders_sent
        else t("clerk.overdue.not_reminded", lang)
    )
    if row.last_state is not ReviewState.RETURNED:  # a return is one of the marks
        facts.append(_last(desk, row))
    return facts


def _row_lines(desk: Desk, group: OverdueGroup, row: OverdueRow) -> str:
    lang = desk.lang
    facts = _facts(desk, group, row)
    role = f" · {t(f'role.{row.role.value}', lang)}" if row.role is not None else ""
    department = f" ({h(row.department)})" if row.department else ""
    person = t(
        "clerk.overdue.person", lang, name=h(row.full_name), department=department, role=role
    )
    return f"{person}\n  {' · '.join(facts)}"


def _last(desk: Desk, row: OverdueRow) -> str:
    lang = desk.lang
    when = format_date(row.last_at.astimezone(desk.tz).date()) if row.last_at else ""
    if row.last_state is ReviewState.RETURNED:
        return t("clerk.returned_on", lang, date=when)
    if isinstance(row.last_state, TaskState):
        return t("tasks.last_answer", lang, state=state_label(row.last_state, lang), date=when)
    return t("clerk.not_submitted" if row.role is None else "tasks.no_answer", lang)
