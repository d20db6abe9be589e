"""/tonghop (/summary) <report or task>: the status matrix of one report or task.

A report the child units submit (the province's) is counted and listed commune by commune,
with the figures the communes have given so far.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

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
from db.figures import COUNT, RATIO, TEXT, indicators_of, latest_figures
from db.models import Obligation, Task
from db.names import fold_name
from db.unit_tree import unit_names_of
from handlers.catalog import t
from handlers.clerk.context import Desk, DeskInputError
from handlers.clerk.standing_words import report_marks, task_marks
from handlers.compilation import ratio_text
from handlers.free_text import echo
from handlers.indicators import Total, totals
from handlers.presenting import as_of, h, state_label
from handlers.rates import rate, share

REPORT_ORDER = (
    ReportOutcome.ON_TIME,
    ReportOutcome.LATE,
    ReportOutcome.MISSING,
)
TASK_ORDER = (
    TaskOutcome.DONE_ON_TIME,
    TaskOutcome.DONE_LATE,
    TaskOutcome.IN_PROGRESS,
    TaskOutcome.OVERDUE,
    TaskOutcome.BLOCKED,
    TaskOutcome.NOT_STARTED,
)
# A task without a deadline is done or not: never on time, late or overdue.
UNDATED_TASK_ORDER = (
    TaskOutcome.DONE,
    TaskOutcome.IN_PROGRESS,
    TaskOutcome.BLOCKED,
    TaskOutcome.NOT_STARTED,
)
# The outcomes whose share is reached ("đạt"); every other share makes up part ("chiếm").
GOOD_OUTCOMES = frozenset({ReportOutcome.ON_TIME, TaskOutcome.DONE_ON_TIME, TaskOutcome.DONE})


async def summary_text(desk: Desk, query: str) -> str:
    """The matrix: each category with count and percent, then who is in the ones that matter."""
    code = query.strip()
    if not code:
        raise DeskInputError(t("clerk.summary.usage", desk.lang))
    subject = await find_subject(desk.session, desk.unit_id, code, desk.today)
    if subject is None:
        raise DeskInputError(t("clerk.unknown_subject", desk.lang, code=h(echo(code))))
    if isinstance(subject, Obligation):
        return await _report_matrix(desk, subject)
    return await _task_matrix(desk, subject)


async def _counts(
    desk: Desk,
    outcomes: Sequence[str],
    order: Sequence[str],
    prefix: str,
    line_key: str = "clerk.summary.line",
) -> str:
    total = len(outcomes)
    decimals = (await desk.unit()).percent_decimals
    return "\n".join(
        t(
            line_key,
            desk.lang,
            label=t(f"{prefix}.{value}", desk.lang),
            share=share(outcomes.count(value), total),
            rate=rate(
                outcomes.count(value),
                total,
                desk.lang,
                good=value in GOOD_OUTCOMES,
                decimals=decimals,
            ),
        )
        for value in order
    )


def _names_block(desk: Desk, label_key: str, lines: Sequence[str]) -> str | None:
    if not lines:
        return None
    header = t("clerk.summary.names", desk.lang, label=t(label_key, desk.lang), count=len(lines))
    return "\n".join([header, *lines])


def _report_head(desk: Desk, obligation: Obligation) -> str:
    return t(
        "clerk.summary.header",
        desk.lang,
        code=h(obligation.code),
        title=h(obligation.title),
        due_part=t("clerk.due", desk.lang, due=format_date(obligation.due_date)),
        when=as_of(desk.now, desk.tz, desk.lang),
    )


async def _report_matrix(desk: Desk, obligation: Obligation) -> str:
    standings = await report_standings(desk.session, obligation, desk.today)
    if obligation.children_submit:
        return await _communes_matrix(desk, obligation, standings)
    outcomes = [s.outcome(desk.tz) for s in standings]
    head = _report_head(desk, obligation)
    blocks = [head, await _counts(desk, outcomes, REPORT_ORDER, "clerk.report")]
    for outcome in (ReportOutcome.LATE, ReportOutcome.MISSING):
        members = [s for s, o in zip(standings, outcomes, strict=True) if o is outcome]
        lines = [_report_person(desk, s, outcome) for s in members]
        block = _names_block(desk, f"clerk.report.{outcome.value}", lines)
        if block:
            blocks.append(block)
    return "\n\n".join(blocks)


def _report_person(desk: Desk, standing: ReportStanding, outcome: ReportOutcome) -> str:
    name = h(standing.official.full_name)
    if outcome is ReportOutcome.LATE:
        facts = [t("clerk.late_days", desk.lang, days=standing.late_days(desk.tz))]
        if standing.extended:
            facts.append(t("clerk.overdue.extended", desk.lang, due=format_date(standing.due)))
    else:
        facts = report_marks(standing, desk.today, desk.tz, desk.lang)
    return t("clerk.summary.person", desk.lang, name=name, facts=_facts(facts))


def _facts(facts: Sequence[str]) -> str:
    return f" — {', '.join(facts)}" if facts else ""


async def _communes_matrix(
    desk: Desk, obligation: Obligation, standings: Sequence[ReportStanding]
) -> str:
    """Each commune under its outcome, every outcome listed, then the figures so far."""
    units = await unit_names_of(desk.session, [s.official.id for s in standings])
    ordered = sorted(standings, key=lambda s: (fold_name(units[s.official.id]), s.official.id))
    outcomes = [s.outcome(desk.tz) for s in ordered]
    counts = await _counts(
        desk, outcomes, REPORT_ORDER, "clerk.report", line_key="clerk.province.summary_line"
    )
    blocks = [_report_head(desk, obligation), counts]
    # The province reads every commune, on time included: which have handed in is the news.
    for outcome in REPORT_ORDER:
        lines = [
            _commune_line(desk, s, outcome, units[s.official.id])
            for s, o in zip(ordered, outcomes, strict=True)
            if o is outcome
        ]
        block = _names_block(desk, f"clerk.report.{outcome.value}", lines)
        if block:
            blocks.append(block)
    if obligation.indicators:
        blocks.append(await _figures_so_far(desk, obligation, ordered))
    return "\n\n".join(blocks)


def _commune_line(desk: Desk, standing: ReportStanding, outcome: ReportOutcome, unit: str) -> str:
    line = partial(
        t,
        "clerk.province.summary_commune",
        desk.lang,
        unit=h(unit),
        name=h(standing.official.full_name),
    )
    if outcome is ReportOutcome.ON_TIME:
        # Dates and extensions explain a commune that is late or missing, not one on time.
        return line(facts="")
    if outcome is ReportOutcome.LATE:
        facts = [t("clerk.late_days", desk.lang, days=standing.late_days(desk.tz))]
        if standing.extended:
            facts.append(t("clerk.overdue.extended", desk.lang, due=format_date(standing.due)))
        elif standing.due != standing.subject_due:
            facts.append(t("clerk.province.own_due", desk.lang, due=format_date(standing.due)))
    else:
        facts = report_marks(standing, desk.today, desk.tz, desk.lang)
    return line(facts=_facts(facts))


async def _figures_so_far(
    desk: Desk, obligation: Obligation, standings: Sequence[ReportStanding]
) -> str:
    """The province's totals of the figures of the communes whose report stands."""
    handed = [s.official.id for s in standings if s.current is not None]
    figures = await latest_figures(desk.session, obligation.id, handed) if handed else {}
    header = t(
        "clerk.province.figures_header",
        desk.lang,
        share=share(len(figures), len(standings)),
    )
    if not figures:
        return "\n".join([header, t("clerk.province.figures_none", desk.lang)])
    indicators = indicators_of(obligation)
    summed = totals(indicators, [figures[i] for i in handed if i in figures])
    return "\n".join([header, *(_figure_line(desk.lang, summed[i.code]) for i in indicators)])


def _figure_line(lang: str, total: Total) -> str:
    indicator = total.indicator
    label = h(indicator.label)
    if total.given == 0:
        return t("clerk.province.figure_missing", lang, label=label)
    if indicator.combine == RATIO:
        assert total.numerator is not None and total.denominator is not None
        return t("clerk.province.figure_ratio", lang, label=label, ratio=ratio_text(total, lang))
    if indicator.combine == COUNT:
        yes = int(total.number or 0)
        return t("clerk.province.figure_count", lang, label=label, yes=yes, given=total.given)
    if indicator.combine == TEXT:
        # A hundred communes' words do not fit a chat message; the draft (/baocao) has them.
        return t("clerk.province.figure_text", lang, label=label, count=len(total.texts))
    value = f"{total.shown(lang)} {h(indicator.unit)}".rstrip()
    return t("clerk.province.figure", lang, label=label, value=value)


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
        when=as_of(desk.now, desk.tz, desk.lang),
    )
    order = TASK_ORDER if task.due_date else UNDATED_TASK_ORDER
    blocks = [head, await _counts(desk, outcomes, order, "clerk.task")]
    for outcome in order[1:]:
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
    if not standing.done:
        # Overdue, stopped, "vướng mắc: <lý do>", extended, on leave: as every view says it.
        facts += task_marks(standing, desk.today, desk.lang)
    return t(
        "clerk.summary.person", desk.lang, name=h(standing.official.full_name), facts=_facts(facts)
    )
