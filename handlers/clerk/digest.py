"""The weekly digest (Monday 08:00) for the clerk and the leaders: text and a small chart.

What is due this week, what is overdue now, the on-time rate of the year so far, and a PNG
bar chart of how far each report of the year has come. The job that sends it is wired by
the composition root; this module only builds the content.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import format_date
from db.desk.extensions import extensions_ending
from db.desk.overdue import overdue
from db.desk.standing import (
    ReportOutcome,
    name_key,
    report_standings,
    task_standings,
)
from db.desk.subjects import obligations_due_in
from db.kinds import OBLIGATION
from db.models import AssigneeRole, Obligation, Official, Task, Unit
from handlers.catalog import t
from handlers.clerk.context import Desk
from handlers.presenting import h
from handlers.rates import rate, share

# Light track for the whole, strong bar for the part handed in (colour-blind safe pair).
TRACK_COLOUR = "#d9d9d9"
BAR_COLOUR = "#1f77b4"
MAX_PNG_BYTES = 100 * 1024


@dataclass(frozen=True)
class Progress:
    """How many of a report's submitters have handed it in."""

    code: str
    submitted: int
    total: int


@dataclass(frozen=True)
class Chart:
    """A rendered PNG and the number of bars drawn in it (one per report)."""

    png: bytes
    bars: int


async def weekly_digest(
    session: AsyncSession, unit_id: int, at: datetime, lang: str = "vi"
) -> tuple[str, bytes]:
    """The digest text (HTML subset) and its PNG chart, as of the instant `at`."""
    text, chart = await digest(session, unit_id, at, lang)
    return text, chart.png


async def digest(session: AsyncSession, unit_id: int, at: datetime, lang: str) -> tuple[str, Chart]:
    """`weekly_digest` with the chart's bar count, for whoever needs to check it."""
    unit = await session.get(Unit, unit_id)
    assert unit is not None
    desk = Desk(session, unit_id, ZoneInfo(unit.timezone), at, lang)
    today = desk.today
    monday = today - timedelta(days=today.weekday())
    sunday = monday + timedelta(days=6)
    year_reports = await obligations_due_in(session, unit_id, today.year)
    progress = [await _progress(desk, o) for o in year_reports]
    blocks = [
        t(
            "clerk.digest.header",
            lang,
            unit=h(unit.name),
            start=format_date(monday),
            end=format_date(sunday),
        ),
        await _due_this_week(desk, monday, sunday),
        await _overdue_now(desk),
        await _on_time_rate(desk, year_reports),
    ]
    title = t("clerk.digest.chart_title", lang, year=today.year)
    return "\n\n".join(blocks), progress_chart(title, progress)


async def _progress(desk: Desk, obligation: Obligation) -> Progress:
    standings = await report_standings(desk.session, obligation, desk.today)
    done = sum(1 for s in standings if s.handed_in)
    return Progress(obligation.code, done, len(standings))


async def _due_this_week(desk: Desk, monday: date, sunday: date) -> str:
    lang = desk.lang
    obligations = await desk.session.scalars(
        select(Obligation)
        .where(
            Obligation.unit_id == desk.unit_id,
            Obligation.active.is_(True),
            Obligation.due_date >= monday,
            Obligation.due_date <= sunday,
        )
        .order_by(Obligation.due_date, Obligation.code)
    )
    tasks = await desk.session.scalars(
        select(Task)
        .where(
            Task.unit_id == desk.unit_id,
            Task.active.is_(True),
            Task.due_date >= monday,
            Task.due_date <= sunday,
        )
        .order_by(Task.due_date, Task.code)
    )
    lines = [t("clerk.digest.due_header", lang)]
    for obligation in obligations:
        progress = await _progress(desk, obligation)
        # A province's report is counted in communes, a commune's in people.
        key = (
            "clerk.digest.due_communes" if obligation.children_submit else "clerk.digest.due_report"
        )
        lines.append(
            t(
                key,
                lang,
                code=h(obligation.code),
                due=format_date(obligation.due_date),
                share=share(progress.submitted, progress.total),
            )
        )
    for task in tasks:
        # A task is counted by its lead (chủ trì); without one, by everyone on it.
        standings = await task_standings(desk.session, task, desk.today)
        counted = [s for s in standings if s.lead] or standings
        done = sum(1 for s in counted if s.done)
        assert task.due_date is not None
        lines.append(
            t(
                "desk.digest.due_task_by_lead"
                if counted is not standings
                else "clerk.digest.due_task",
                lang,
                code=h(task.code),
                due=format_date(task.due_date),
                share=share(done, len(counted)),
            )
        )
    lines += await _extended_this_week(desk, monday, sunday)
    if len(lines) == 1:
        lines.append(t("clerk.digest.due_none", lang))
    return "\n".join(lines)


async def _extended_this_week(desk: Desk, monday: date, sunday: date) -> list[str]:
    """A line per person whose approved extension ends this week (the date that holds for
    them), and whether they have handed in or finished; by date, code, then name."""
    found: list[tuple[date, str, tuple[str, str, int], str]] = []
    # One look at each report's or task's standings, however many extensions it has.
    handed: dict[int, set[int]] = {}
    done: dict[int, set[int]] = {}
    for ending in await extensions_ending(desk.session, desk.unit_id, monday, sunday):
        subject, official = ending.subject, ending.official
        if isinstance(subject, Obligation):
            if subject.id not in handed:
                standings = await report_standings(desk.session, subject, desk.today)
                handed[subject.id] = {s.official.id for s in standings if s.handed_in}
            state = (
                "clerk.digest.extended_handed_in"
                if official.id in handed[subject.id]
                else "clerk.digest.extended_owing"
            )
        else:
            if subject.id not in done:
                assignees = await task_standings(desk.session, subject, desk.today)
                done[subject.id] = {s.official.id for s in assignees if s.done}
            state = (
                "clerk.digest.extended_done"
                if official.id in done[subject.id]
                else "clerk.digest.extended_not_done"
            )
        found.append(_extended(desk, subject.code, official, ending.until, state))
    return [line for *_, line in sorted(found)]


def _extended(
    desk: Desk, code: str, official: Official, until: date, state_key: str
) -> tuple[date, str, tuple[str, str, int], str]:
    line = t(
        "clerk.digest.due_extended",
        desk.lang,
        code=h(code),
        name=h(official.full_name),
        due=format_date(until),
        state=t(state_key, desk.lang),
    )
    return until, code, name_key(official.name_folded, official.id), line


async def _overdue_now(desk: Desk) -> str:
    """The /quahan groups counted as /quahan counts them (a task by its lead, with its
    coordinators who have not finished named apart)."""
    lang = desk.lang
    decimals = (await desk.unit()).percent_decimals
    groups = await overdue(desk.session, desk.unit_id, desk.today)
    lines = [t("clerk.digest.overdue_header", lang)]
    for group in groups:
        late, total = group.counted
        coordinators = ""
        if group.children_submit:
            key = "clerk.digest.overdue_communes"
        elif group.kind == OBLIGATION:
            key = "clerk.digest.overdue_report"
        elif group.leads:
            key = "desk.digest.overdue_task_by_lead"
            apart = [h(r.full_name) for r in group.rows if r.role is AssigneeRole.COORDINATE]
            if apart:
                coordinators = t("desk.digest.coordinators", lang, names=", ".join(apart))
        else:
            key = "clerk.digest.overdue_task"
        line = t(
            key,
            lang,
            code=h(group.code),
            share=share(late, total),
            rate=rate(late, total, lang, good=False, decimals=decimals),
        )
        lines.append(line + coordinators)
    if not groups:
        lines.append(t("clerk.digest.overdue_none", lang))
    elif len(groups) > 1:
        late = sum(g.counted[0] for g in groups)
        total = sum(g.counted[1] for g in groups)
        lines.append(
            t(
                "clerk.digest.overdue_total",
                lang,
                share=share(late, total),
                rate=rate(late, total, lang, good=False, decimals=decimals),
            )
        )
    return "\n".join(lines)


async def _on_time_rate(desk: Desk, year_reports: Sequence[Obligation]) -> str:
    # Only reports whose due day is over count: the others cannot be late yet.
    on_time = total = 0
    for obligation in year_reports:
        if obligation.due_date >= desk.today:
            continue
        standings = await report_standings(desk.session, obligation, desk.today)
        total += len(standings)
        on_time += sum(1 for s in standings if s.outcome(desk.tz) is ReportOutcome.ON_TIME)
    year = desk.today.year
    if not total:
        return t("clerk.digest.rate_none", desk.lang, year=year)
    return t(
        "clerk.digest.rate",
        desk.lang,
        year=year,
        share=share(on_time, total),
        rate=rate(
            on_time,
            total,
            desk.lang,
            good=True,
            decimals=(await desk.unit()).percent_decimals,
        ),
    )


def progress_chart(title: str, progress: Sequence[Progress]) -> Chart:
    """A horizontal bar per report: the share handed in over a light 100% track."""
    # The object API with the Agg canvas: no pyplot global state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = 1.3 + 0.45 * max(len(progress), 1)
    figure = Figure(figsize=(6.0, height), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [p.code for p in progress]
    values = [100.0 * p.submitted / p.total if p.total else 0.0 for p in progress]
    positions = list(range(len(progress)))
    axes.barh(positions, [100.0] * len(progress), color=TRACK_COLOUR, height=0.6)
    bars = axes.barh(positions, values, color=BAR_COLOUR, height=0.6)
    for y, p in zip(positions, progress, strict=True):
        axes.text(101, y, share(p.submitted, p.total), va="center", fontsize=9)
    axes.set_yticks(positions, labels, fontsize=9)
    axes.invert_yaxis()  # the first report of the year on top
    axes.set_xlim(0, 112)
    axes.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    axes.set_title(title, fontsize=11)
    for side in ("top", "right", "bottom"):
        axes.spines[side].set_visible(False)
    axes.tick_params(axis="x", labelsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    png = buffer.getvalue()
    if len(png) > MAX_PNG_BYTES:
        raise ValueError(f"the digest chart is {len(png)} bytes, more than {MAX_PNG_BYTES}")
    return Chart(png, len(bars.patches))
