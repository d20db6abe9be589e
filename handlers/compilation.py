"""What a compiled report is made of, read for one report: each submitter's latest figures,
the unit's totals, who has not handed in, and where the standing tasks stand.

Nothing here writes a file: `handlers.compiled_xlsx` and `handlers.compiled_docx` lay the
same `Compilation` out, so the appendix and the draft cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import local_date
from db.desk.extensions import assignment
from db.desk.standing import (
    ReportStanding,
    TaskOutcome,
    TaskStanding,
    name_key,
    report_standings,
    task_standings,
)
from db.figures import COUNT, RATIO, SUM, TEXT, Figure, Indicator, indicators_of, latest_figures
from db.models import AssigneeRole, Obligation, ReviewState, TaskState, Unit
from db.names import fold_name
from db.plan.current import active_tasks
from db.unit_tree import fed_report, unit_names_of
from handlers.catalog import t
from handlers.indicators import Total, format_number, totals
from handlers.rates import rate, share


@dataclass(frozen=True)
class SubmitterFigures:
    """An official who handed in, with the figures of the version that stands (maybe none)."""

    official_id: int
    name: str
    department: str
    figures: Mapping[str, Figure]


@dataclass(frozen=True)
class Outstanding:
    """A submitter who has not handed in, with the marks that explain it."""

    name: str
    department: str
    on_leave_until: date | None
    extended_to: date | None
    returned: bool


@dataclass(frozen=True)
class TaskProgress:
    """One standing task (2.x) as the report states it: its leads, the lead's standing, the
    day of the last answer anyone gave, and each blocked assignee's reason."""

    code: str
    title: str
    leads: tuple[str, ...]
    outcome: TaskOutcome
    last_answer_on: date | None
    blocked: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Compilation:
    """Everything the compiled report of one obligation shows, as of one moment."""

    unit_name: str
    reports_to: str | None
    code: str
    title: str
    window_start: date
    window_end: date
    outline: tuple[str, ...]
    indicators: tuple[Indicator, ...]
    submitters: tuple[SubmitterFigures, ...]
    totals: Mapping[str, Total]
    expected: int
    outstanding: tuple[Outstanding, ...]
    tasks: tuple[TaskProgress, ...]
    as_of: datetime
    tz: ZoneInfo
    # The submitters are the child units (a province's report from its communes).
    by_units: bool = False
    # The decimals of the unit's own percentages (how many have handed in).
    percent_decimals: int = 1

    @property
    def handed_in(self) -> int:
        """How many submitters have a version that stands."""
        return self.expected - len(self.outstanding)


async def compile_obligation(
    session: AsyncSession, obligation: Obligation, now: datetime, tz: ZoneInfo
) -> Compilation:
    """Read the compiled report of `obligation` as it stands at `now`."""
    today = local_date(now, tz)
    unit = await session.get(Unit, obligation.unit_id)
    assert unit is not None
    indicators = tuple(indicators_of(obligation))
    standings = await report_standings(session, obligation, today)
    # A report the child units submit is a table of units: each row names the commune (its
    # clerk's unit), not the clerk's department.
    places: dict[int, str] = {}
    if obligation.children_submit:
        places = await unit_names_of(session, [s.official.id for s in standings])
    handed = [s for s in standings if s.current is not None]
    figures = await latest_figures(session, obligation.id, [s.official.id for s in handed])
    submitters = sorted(
        (
            SubmitterFigures(
                s.official.id,
                s.official.full_name,
                places.get(s.official.id, s.official.department),
                figures.get(s.official.id, {}),
            )
            for s in handed
        ),
        key=lambda p: (fold_name(p.department), *_name_order(p.name, p.official_id)),
    )
    return Compilation(
        percent_decimals=unit.percent_decimals,
        unit_name=unit.name,
        reports_to=await _reported_to(session, obligation, unit),
        code=obligation.code,
        title=obligation.title,
        window_start=obligation.window_start,
        window_end=obligation.window_end,
        outline=tuple(str(heading) for heading in obligation.outline or []),
        indicators=indicators,
        submitters=tuple(submitters),
        totals=totals(indicators, [p.figures for p in submitters]),
        expected=len(standings),
        outstanding=tuple(
            [
                await _outstanding(session, obligation, s, places)
                for s in standings
                if s.current is None
            ]
        ),
        tasks=tuple(await _task_progress(session, obligation.unit_id, today, tz)),
        as_of=now,
        tz=tz,
        by_units=obligation.children_submit,
    )


def _name_order(name: str, official_id: int) -> tuple[str, str, int]:
    return name_key(fold_name(name), official_id)


async def _reported_to(session: AsyncSession, obligation: Obligation, unit: Unit) -> str | None:
    # A report that feeds one of the level above goes to that unit, named as people name it.
    parent = await fed_report(session, obligation)
    if parent is not None:
        above = await session.get(Unit, parent.unit_id)
        if above is not None:
            return above.name
    return obligation.forward_to or unit.reports_to


async def _outstanding(
    session: AsyncSession,
    obligation: Obligation,
    standing: ReportStanding,
    places: Mapping[int, str],
) -> Outstanding:
    latest = standing.latest
    row = await assignment(session, obligation, standing.official.id)
    extended = row.extended_due if row is not None else None
    return Outstanding(
        name=standing.official.full_name,
        department=places.get(standing.official.id, standing.official.department),
        on_leave_until=standing.leave_until,
        # Marked only when the extension is the date that holds for them.
        extended_to=extended if extended is not None and extended == standing.due else None,
        returned=latest is not None and latest.review_state is ReviewState.RETURNED,
    )


async def _task_progress(
    session: AsyncSession, unit_id: int, today: date, tz: ZoneInfo
) -> list[TaskProgress]:
    rows = []
    for task in await active_tasks(session, unit_id):
        standings = await task_standings(session, task, today)
        leads = [s for s in standings if s.role is AssigneeRole.LEAD]
        answered = [s for s in standings if s.last is not None]
        last = max(answered, key=_answer_id, default=None)
        rows.append(
            TaskProgress(
                code=task.code,
                title=task.title,
                leads=tuple(s.official.full_name for s in leads),
                outcome=_lead_outcome(leads, today, tz),
                last_answer_on=local_date(last.last.at, tz) if last and last.last else None,
                blocked=tuple(
                    (s.official.full_name, s.last.note)
                    for s in answered
                    if s.last is not None and s.last.state is TaskState.BLOCKED
                ),
            )
        )
    return rows


def _answer_id(standing: TaskStanding) -> int:
    return standing.last.id if standing.last is not None else 0


def _lead_outcome(leads: Sequence[TaskStanding], today: date, tz: ZoneInfo) -> TaskOutcome:
    # The lead answers for the task; of several leads, the one who answered last.
    if not leads:
        return TaskOutcome.NOT_STARTED
    return max(leads, key=_answer_id).outcome(today, tz)


def good_rate(indicator: Indicator) -> bool:
    """Whether a higher ratio is better ("đạt") rather than worse ("chiếm"), as the plan says
    (`better: lower` for late files)."""
    return indicator.better != "lower"


def ratio_text(total: Total, lang: str) -> str:
    """A unit's ratio as the documents write it: "162/376, đạt 43,1%"."""
    assert total.numerator is not None and total.denominator is not None
    indicator = total.indicator
    in_words = rate(
        total.numerator,
        total.denominator,
        lang,
        good=good_rate(indicator),
        decimals=indicator.decimals,
    )
    return t(
        "compile.ratio", lang, share=share(total.numerator, total.denominator, lang), rate=in_words
    )


def total_text(compilation: Compilation, code: str, lang: str) -> str:
    """The unit's figure of one indicator as the draft shows it; words with who gave them."""
    total = compilation.totals[code]
    combine = total.indicator.combine
    if total.given == 0 and combine != TEXT:
        # Nobody gave it: "0/0, đạt 0,0%" would read as a figure the commune reached.
        return t("compile.no_figures", lang)
    if combine == RATIO:
        return ratio_text(total, lang)
    if combine == COUNT:
        yes = int(total.number or 0)
        return t("compile.count_shown", lang, yes=yes, given=total.given)
    if combine == SUM:
        return format_number(total.number or Decimal(0), lang)
    assert combine == TEXT
    said = [
        t("compile.said", lang, name=p.name, text=p.figures[code].text)
        for p in compilation.submitters
        if code in p.figures and p.figures[code].text
    ]
    return "\n".join(said) or t("compile.nothing_said", lang)
