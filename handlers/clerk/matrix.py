"""/tonghop (/summary) <report or task>: the status matrix of one report or task."""

from __future__ import annotations

from collections.abc import Sequence

from db.clock import format_date
from db.desk.standing import (
    ReportOutcome,
    ReportStanding,
    TaskOutcome,
    TaskStanding,
    report_standings,
    task_standings,
)
from db.desk.subjects import find_subject
from db.models import Obligation, Task
from handlers.catalog import t
from handlers.clerk.context import Desk, DeskInputError
from handlers.clerk.numbers import percent, share
from handlers.presenting import h, moment, state_label

REPORT_ORDER = (
    ReportOutcome.ON_TIME,
    ReportOutcome.LATE,
    ReportOutcome.MISSING,
    ReportOutcome.ON_LEAVE,
)
TASK_ORDER = (
    TaskOutcome.DONE_ON_TIME,
    TaskOutcome.DONE_LATE,
    TaskOutcome.IN_PROGRESS,
    TaskOutcome.OVERDUE,
    TaskOutcome.BLOCKED,
    TaskOutcome.NOT_STARTED,
)


async def summary_text(desk: Desk, query: str) -> str:
    """The matrix: each category with count and percent, then who is in the ones that matter."""
    code = query.strip()
    if not code:
        raise DeskInputError(t("clerk.summary.usage", desk.lang))
    subject = await find_subject(desk.session, desk.unit_id, code, desk.today)
    if subject is None:
        raise DeskInputError(t("clerk.unknown_subject", desk.lang, code=h(code)))
    if isinstance(subject, Obligation):
        return await _report_matrix(desk, subject)
    return await _task_matrix(desk, subject)


def _counts(desk: Desk, outcomes: Sequence[str], order: Sequence[str], prefix: str) -> str:
    total = len(outcomes)
    return "\n".join(
        t(
            "clerk.summary.line",
            desk.lang,
            label=t(f"{prefix}.{value}", desk.lang),
            share=share(outcomes.count(value), total),
            percent=percent(outcomes.count(value), total, desk.lang),
        )
        for value in order
    )


def _names_block(desk: Desk, label_key: str, lines: Sequence[str]) -> str | None:
    if not lines:
        return None
    header = t("clerk.summary.names", desk.lang, label=t(label_key, desk.lang), count=len(lines))
    return "\n".join([header, *lines])


async def _report_matrix(desk: Desk, obligation: Obligation) -> str:
    standings = await report_standings(desk.session, obligation, desk.today)
    outcomes = [s.outcome(desk.tz) for s in standings]
    head = t(
        "clerk.summary.header",
        desk.lang,
        code=h(obligation.code),
        title=h(obligation.title),
        due_part=t("clerk.due", desk.lang, due=format_date(obligation.due_date)),
        when=moment(desk.now, desk.tz),
    )
    blocks = [head, _counts(desk, outcomes, REPORT_ORDER, "clerk.report")]
    for outcome in (ReportOutcome.LATE, ReportOutcome.MISSING, ReportOutcome.ON_LEAVE):
        members = [s for s, o in zip(standings, outcomes, strict=True) if o is outcome]
        lines = [_report_person(desk, s, outcome) for s in members]
        block = _names_block(desk, f"clerk.report.{outcome.value}", lines)
        if block:
            blocks.append(block)
    return "\n\n".join(blocks)


def _report_person(desk: Desk, standing: ReportStanding, outcome: ReportOutcome) -> str:
    name = h(standing.official.full_name)
    facts: list[str] = []
    if outcome is ReportOutcome.LATE:
        facts.append(t("clerk.late_days", desk.lang, days=standing.late_days(desk.tz)))
    elif standing.latest is not None:  # sent, then returned
        reviewed = standing.latest.reviewed_at
        when = format_date(reviewed.astimezone(desk.tz).date()) if reviewed else ""
        facts.append(t("clerk.returned_on", desk.lang, date=when))
    if standing.due != standing.subject_due:
        facts.append(t("clerk.overdue.extended", desk.lang, due=format_date(standing.due)))
    if standing.leave_until is not None:
        facts.append(t("clerk.on_leave_until", desk.lang, date=format_date(standing.leave_until)))
    return t("clerk.summary.person", desk.lang, name=name, facts=_facts(facts))


def _facts(facts: Sequence[str]) -> str:
    return f" — {', '.join(facts)}" if facts else ""


async def _task_matrix(desk: Desk, task: Task) -> str:
    standings = await task_standings(desk.session, task, desk.today)
    outcomes = [s.outcome(desk.today, desk.tz) for s in standings]
    due_part = (
        t("clerk.due", desk.lang, due=format_date(task.due_date))
        if task.due_date
        else t("when.no_due", desk.lang).capitalize()
    )
    head = t(
        "clerk.summary.task_header",
        desk.lang,
        code=h(task.code),
        title=h(task.title),
        due_part=due_part,
        when=moment(desk.now, desk.tz),
    )
    blocks = [head, _counts(desk, outcomes, TASK_ORDER, "clerk.task")]
    for outcome in TASK_ORDER[1:]:
        members = [s for s, o in zip(standings, outcomes, strict=True) if o is outcome]
        lines = [_task_person(desk, s) for s in members]
        block = _names_block(desk, f"clerk.task.{outcome.value}", lines)
        if block:
            blocks.append(block)
    return "\n\n".join(blocks)


def _task_person(desk: Desk, standing: TaskStanding) -> str:
    facts = [t(f"role.{standing.role.value}", desk.lang)]
    if standing.last is not None:
        answered = format_date(standing.last.at.astimezone(desk.tz).date())
        facts.append(
            t(
                "tasks.last_answer",
                desk.lang,
                state=state_label(standing.last.state, desk.lang),
                date=answered,
            )
        )
        if standing.last.note:
            facts.append(h(standing.last.note))
    if standing.leave_until is not None:
        facts.append(t("clerk.on_leave_until", desk.lang, date=format_date(standing.leave_until)))
    return t(
        "clerk.summary.person", desk.lang, name=h(standing.official.full_name), facts=_facts(facts)
    )
