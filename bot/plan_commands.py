"""`plan load`, `plan import`, `plan export` and `plan show`: the clerk's commands for the plan
(a YAML file or the clerk's Excel workbook), as printable text."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot import wiring
from bot.command_error import CommandError
from bot.settings import Settings
from bot.unit_choice import chosen_unit
from db.clock import Clock, format_date
from db.files import FileStore
from db.models import (
    AssigneeRole,
    AuditEntry,
    LeavePeriod,
    Obligation,
    ObligationAssignee,
    Official,
    Task,
    TaskAssignee,
    Unit,
)
from db.plan import LoadReport, Plan, PlanError, preview_plan, read_plan
from db.plan import load_plan as write_plan
from db.plan.current import active_reports, active_tasks, last_loaded_file
from db.plan.workbook import WorkbookError, read_workbook
from db.unit_calendar import UnitCalendar
from db.units import all_units
from handlers.catalog import t
from handlers.plan_changes import change_summary
from handlers.plan_errors import plan_error_text, workbook_error_lines
from handlers.plan_workbook import plan_workbook
from scheduler.sweep import policy_config

# The clerk's console speaks Vietnamese; the catalog has English beside it for other readers.
LANGUAGE = "vi"
PLAN_TABLES = tuple(
    model.__tablename__
    for model in (
        Unit,
        Official,
        LeavePeriod,
        Task,
        TaskAssignee,
        Obligation,
        ObligationAssignee,
        AuditEntry,
    )
)
NO_DATE = "—"
GAP = "  "


async def load_plan(settings: Settings, path: Path, clock: Clock) -> str:
    """Check the plan file at `path`, write it into the database and summarise what changed."""
    try:
        plan = read_plan(path)
    except PlanError as exc:
        raise CommandError(plan_error_text(exc, LANGUAGE)) from None
    async with wiring.database(settings, tables=PLAN_TABLES) as sessions, sessions() as session:
        try:
            report = await write_plan(session, plan, clock, FileStore(settings.data_dir))
        except PlanError as exc:
            # Checks that need the database (a parent unit not loaded yet) fail while writing.
            raise CommandError(plan_error_text(exc, LANGUAGE)) from None
    return "\n".join(_load_summary(plan, report))


def read_plan_source(path: Path) -> Plan:
    """The plan of a YAML file or an Excel workbook (.xlsx), checked; a `CommandError`
    listing the mistakes in Vietnamese."""
    if path.suffix.lower() == ".xlsx":
        try:
            return read_workbook(path)
        except WorkbookError as exc:
            raise CommandError("\n".join(workbook_error_lines(exc, str(path), LANGUAGE))) from None
    try:
        return read_plan(path)
    except PlanError as exc:
        raise CommandError(plan_error_text(exc, LANGUAGE)) from None


async def import_plan(settings: Settings, path: Path, clock: Clock, dry_run: bool = False) -> str:
    """Check the workbook at `path`, say what it would change and (unless `dry_run`) load it;
    with any mistake, every one is listed and nothing changes."""
    plan = read_plan_source(path)
    async with wiring.database(settings, tables=PLAN_TABLES) as sessions:
        async with sessions() as session:
            try:
                preview = await preview_plan(session, plan, clock)
            except PlanError as exc:
                raise CommandError(plan_error_text(exc, LANGUAGE)) from None
        changes = change_summary(preview, LANGUAGE)
        lines = [
            t(
                "plan.import.preview",
                LANGUAGE,
                unit=preview.unit_name,
                code=preview.unit_code,
                file=path,
                changes=changes,
            )
        ]
        if dry_run:
            return "\n".join([*lines, t("plan.import.dry_run", LANGUAGE)])
        async with sessions() as session:
            try:
                report = await write_plan(session, plan, clock, FileStore(settings.data_dir))
            except PlanError as exc:
                raise CommandError(plan_error_text(exc, LANGUAGE)) from None
    return "\n".join([*lines, *_load_summary(plan, report)])


async def export_plan(
    settings: Settings, out: Path, source: Path | None, unit_code: str | None
) -> str:
    """Write a plan to the workbook `out`: the file `source`, or the one loaded last into the
    unit (the plan as it stands: what the database keeps are its rows, not its rules)."""
    if source is None:
        async with wiring.database(settings, tables=PLAN_TABLES) as sessions, sessions() as s:
            unit = await chosen_unit(s, unit_code)
            loaded = await last_loaded_file(s, unit.id)
        if loaded is None:
            raise CommandError(t("plan.export.no_plan", LANGUAGE))
        source = Path(loaded)
        if not source.is_file():
            raise CommandError(t("plan.export.no_source", LANGUAGE, file=loaded))
    plan = read_plan_source(source)
    await asyncio.to_thread(out.write_bytes, plan_workbook(plan.spec))
    unit_spec = plan.spec.unit
    return t("plan.export.done", LANGUAGE, unit=unit_spec.name, code=unit_spec.code, file=out)


async def show_plan(settings: Settings, year: int | None, clock: Clock) -> str:
    """The tasks and periodic reports of every unit, reports only of `year` when given."""
    async with wiring.database(settings, tables=PLAN_TABLES) as sessions, sessions() as session:
        units = await all_units(session)
        if not units:
            return t("plan.show.empty", LANGUAGE)
        blocks = [await _unit_block(session, unit, year) for unit in units]
    return "\n\n".join("\n".join(block) for block in blocks)


def _load_summary(plan: Plan, report: LoadReport) -> list[str]:
    lines = [
        t(
            "plan.load.done",
            LANGUAGE,
            file=plan.filename,
            unit=report.unit_name,
            code=report.unit_code,
        )
    ]
    if report.unit_created:
        lines.append(t("plan.load.unit_created", LANGUAGE))
    elif report.unit_updated:
        lines.append(t("plan.load.unit_updated", LANGUAGE))
    counts = [
        ("plan.load.officials", report.officials),
        ("plan.load.tasks", report.tasks),
        ("plan.load.obligations", report.obligations),
    ]
    headers = [t(f"plan.load.{key}", LANGUAGE) for key in ("created", "updated", "deactivated")]
    label_width = max(len(t(key, LANGUAGE)) for key, _ in counts)
    columns = [Column("", label_width)] + [Column(h, len(h), right=True) for h in headers]
    rows = [
        [t(key, LANGUAGE), str(tally.created), str(tally.updated), str(tally.deactivated)]
        for key, tally in counts
    ]
    lines.extend(render_table(columns, rows))
    if not report.changed:
        lines.append(t("plan.load.unchanged", LANGUAGE))
    if report.parent_missing:
        lines.append(t("plan.load.parent_missing", LANGUAGE, parent=report.parent_missing))
    samples = sum(1 for official in plan.spec.officials if official.sample)
    if samples:
        lines.append(t("plan.load.sample", LANGUAGE, count=samples))
    return lines


# Column widths add up to 98 with the gaps, so a table fits a 100-column terminal.
# (message key, width, most lines; titles are cut with "…", names and dates never are).
TITLE_LINES = 3
TASK_COLUMNS = (
    ("plan.col.code", 5, None),
    ("plan.col.task", 28, TITLE_LINES),
    ("plan.col.lead", 16, None),
    ("plan.col.coordinate", 16, None),
    ("plan.col.due", 10, None),
    ("plan.col.checkin", 13, None),
)
REPORT_COLUMNS = (
    ("plan.col.code", 13, None),
    ("plan.col.report", 20, TITLE_LINES),
    ("plan.col.due", 10, None),
    ("plan.col.window", 23, None),
    ("plan.col.submitters", 10, None),
    ("plan.col.collector", 13, None),
)


async def _unit_block(session: AsyncSession, unit: Unit, year: int | None) -> list[str]:
    lines = [t("plan.show.unit", LANGUAGE, unit=unit.name, code=unit.code)]
    if unit.sample:
        lines.append(t("plan.show.sample", LANGUAGE))
    if unit.reports_to:
        lines.append(t("plan.show.reports_to", LANGUAGE, reports_to=unit.reports_to))
    lines += _calendar_lines(unit, year, LANGUAGE)
    tasks = await active_tasks(session, unit.id)
    lines += ["", t("plan.show.tasks", LANGUAGE, count=len(tasks))]
    if tasks:
        lines += render_table(_columns(TASK_COLUMNS), [_task_row(task) for task in tasks])
        if any(task.roles_illustrative for task in tasks):
            lines.append(t("plan.show.illustrative", LANGUAGE))
    else:
        lines.append(t("plan.show.no_tasks", LANGUAGE))
    obligations = await active_reports(session, unit.id, year)
    if year is None:
        lines += ["", t("plan.show.reports", LANGUAGE, count=len(obligations))]
    else:
        lines += ["", t("plan.show.reports_year", LANGUAGE, year=year, count=len(obligations))]
    if obligations:
        rows = [_obligation_row(obligation) for obligation in obligations]
        lines += render_table(_columns(REPORT_COLUMNS), rows)
    elif year is None:
        lines.append(t("plan.show.no_reports", LANGUAGE))
    else:
        lines.append(t("plan.show.no_reports_year", LANGUAGE, year=year))
    return lines


def _calendar_lines(unit: Unit, year: int | None, language: str) -> list[str]:
    """The unit's working calendar: office hours, the deadline rule, its extra days off and
    make-up days (of `year` when given), each wrapped to the screen."""
    calendar = UnitCalendar.of(unit)
    # The hours the reminders keep: the unit's, or the office default.
    config = policy_config(unit)
    hours = "plan.calendar.hours_default" if calendar.work_start is None else "plan.calendar.hours"
    texts = [
        t(hours, language, start=f"{config.work_start:%H:%M}", end=f"{config.work_end:%H:%M}"),
        t(f"plan.calendar.rule.{calendar.deadline_on_day_off}", language),
        t("plan.calendar.days_off", language, days=_days(calendar.days_off, year, language)),
        t(
            "plan.calendar.working_days",
            language,
            days=_days(calendar.working_days, year, language),
        ),
    ]
    return [line for text in texts for line in textwrap.wrap(text, 98, subsequent_indent=GAP)]


def _days(days: Iterable[date], year: int | None, language: str) -> str:
    shown = sorted(day for day in days if year is None or day.year == year)
    if not shown:
        return t("plan.calendar.none", language)
    return ", ".join(
        f"{t(f'plan.weekday.{WEEKDAYS[day.weekday()].lower()}', language)} {format_date(day)}"
        for day in shown
    )


def _columns(spec: Sequence[tuple[str, int, int | None]]) -> list[Column]:
    return [Column(t(key, LANGUAGE), width, max_lines=most) for key, width, most in spec]


def _task_row(task: Task) -> list[str | list[str]]:
    assignees = sorted(task.assignees, key=lambda row: row.official_id)
    leads = [a.official.full_name for a in assignees if a.role == AssigneeRole.LEAD]
    helpers = [a.official.full_name for a in assignees if a.role == AssigneeRole.COORDINATE]
    checkin = [describe_rule(task.checkin_rrule, LANGUAGE)] if task.checkin_rrule else [NO_DATE]
    if task.checkin_rrule and task.checkin_start:
        checkin.append(t("plan.rule.from", LANGUAGE, date=format_date(task.checkin_start)))
    due = format_date(task.due_date) if task.due_date else NO_DATE
    if task.roles_illustrative:
        # Made up for a sample: marked on every name, explained under the table.
        leads = [f"{name}*" for name in leads]
        helpers = [f"{name}*" for name in helpers]
    return [task.code, task.title, leads, helpers or [NO_DATE], due, checkin]


def _obligation_row(obligation: Obligation) -> list[str | list[str]]:
    window = f"{format_date(obligation.window_start)} – {format_date(obligation.window_end)}"
    collector = obligation.collector.full_name if obligation.collector else NO_DATE
    return [
        obligation.code,
        obligation.title,
        format_date(obligation.due_date),
        window,
        str(len(obligation.assignees)),
        collector,
    ]


WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def describe_rule(rule: str, language: str) -> str:
    """Common check-in rules in words ("ngày 25 hằng tháng"); anything else as written."""
    parts = dict(part.partition("=")[::2] for part in rule.split(";"))
    # Which parts the rule has; a rule with INTERVAL > 1 matches no shape.
    shape: set[str] = set(parts) - {"INTERVAL"} if parts.get("INTERVAL", "1") == "1" else set()
    freq = parts.get("FREQ")
    days = parts.get("BYDAY", "").split(",")
    month_days = parts.get("BYMONTHDAY", "").split(",")
    month = parts.get("BYMONTH", "")
    if shape == {"FREQ"} and freq == "DAILY":
        return t("plan.rule.daily", language)
    if shape == {"FREQ", "BYDAY"} and freq == "WEEKLY" and set(days) <= set(WEEKDAYS):
        names = [t(f"plan.weekday.{code.lower()}", language) for code in days]
        return t("plan.rule.weekly", language, days=", ".join(names))
    if not all(day.isdigit() for day in month_days):
        return rule.replace(";", "; ")
    if shape == {"FREQ", "BYMONTHDAY"} and freq == "MONTHLY":
        return t("plan.rule.monthly", language, days=", ".join(month_days))
    if shape == {"FREQ", "BYMONTH", "BYMONTHDAY"} and freq == "YEARLY" and month.isdigit():
        dates = [f"{int(day):02d}/{int(month):02d}" for day in month_days]
        return t("plan.rule.yearly", language, dates=", ".join(dates))
    # Rarer rules are shown as written; "; " lets the table wrap them.
    return rule.replace(";", "; ")


@dataclass(frozen=True)
class Column:
    """A fixed-width column of a plain-text table; `max_lines` cuts long cells with "…"."""

    header: str
    width: int
    right: bool = False
    max_lines: int | None = None


def render_table(columns: Sequence[Column], rows: Sequence[Sequence[str | list[str]]]) -> list[str]:
    """Lines of a plain-text table; a cell is text to wrap, or a list of lines to wrap each."""
    out = _physical_lines(columns, [c.header for c in columns])
    out.append(_join(columns, ["-" * c.width for c in columns]))
    bodies = [_physical_lines(columns, row) for row in rows]
    # A blank line between rows only when some rows span several lines, to tell them apart.
    spaced = any(len(body) > 1 for body in bodies)
    for index, body in enumerate(bodies):
        if spaced and index:
            out.append("")
        out.extend(body)
    return out


def _physical_lines(columns: Sequence[Column], row: Sequence[str | list[str]]) -> list[str]:
    cells = [_wrap(cell, column) for cell, column in zip(row, columns, strict=True)]
    height = max(len(cell) for cell in cells)
    return [
        _join(columns, [cell[i] if i < len(cell) else "" for cell in cells]) for i in range(height)
    ]


def _join(columns: Sequence[Column], texts: Sequence[str]) -> str:
    cells = [
        text.rjust(column.width) if column.right else text.ljust(column.width)
        for text, column in zip(texts, columns, strict=True)
    ]
    return GAP.join(cells).rstrip()


def _wrap(cell: str | list[str], column: Column) -> list[str]:
    paragraphs = [cell] if isinstance(cell, str) else cell
    width = column.width
    lines = [line for text in paragraphs for line in textwrap.wrap(text, width) or [""]]
    if column.max_lines is not None and len(lines) > column.max_lines:
        lines = lines[: column.max_lines]
        last = lines[-1]
        lines[-1] = (last if len(last) < width else last[: width - 1].rstrip()) + "…"
    return lines
