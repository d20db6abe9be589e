"""/export <report | year>: an Excel workbook the clerk can hand on to the district.

Sheets: the status matrix of the reports (with counts and on-time rates as real numbers),
one sheet per report listing every version handed in, and every task status answer of the
period. Times are real Excel datetimes in local time, dates real Excel dates.

Reports the child units submit (a province's) have one row per commune, with its clerk.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from db.answers import task_status
from db.deadlines import days_late
from db.desk.standing import ReportOutcome, ReportStanding, name_key, report_standings
from db.desk.subjects import find_obligation, obligations_due_in
from db.models import AssigneeRole, Obligation, Official, StatusUpdate, Task, Unit
from db.names import fold_name
from db.plan.current import active_tasks
from db.unit_tree import unit_names_of
from handlers.catalog import t
from handlers.clerk.context import Desk, DeskInputError, Tools
from handlers.clerk.notices import stamp
from handlers.clerk.standing_words import report_marks
from handlers.free_text import echo
from handlers.presenting import h, state_label
from handlers.spreadsheet_text import write_text, write_value
from handlers.task_basis import basis_text
from handlers.types import OutgoingFile, Reply

DATETIME_FORMAT = "DD/MM/YYYY HH:MM"
DATE_FORMAT = "DD/MM/YYYY"
PERCENT_FORMAT = "0.0%"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")
OUTCOMES = (
    ReportOutcome.ON_TIME,
    ReportOutcome.LATE,
    ReportOutcome.MISSING,
)


async def export_reply(desk: Desk, args: str, tools: Tools) -> Reply:
    """Build the workbook under DATA_DIR/exports and send it back as a file."""
    query = args.strip()
    if not query:
        raise DeskInputError(t("clerk.export.usage", desk.lang))
    obligations, scope = await _obligations(desk, query)
    name = t("clerk.export.filename", desk.lang, scope=_SAFE_NAME.sub("-", scope))
    target = tools.data_dir / "exports" / f"{stamp(desk.now)}-{name}"
    await write_export(desk, obligations, scope, target)
    text = t("clerk.export.done", desk.lang, scope=h(scope), count=len(obligations), name=h(name))
    return Reply(text, files=[OutgoingFile(name, str(target.resolve()))])


async def export_to(desk: Desk, query: str, target: Path) -> int:
    """The workbook for a report code or a year, written to `target`; how many reports."""
    obligations, scope = await _obligations(desk, query.strip())
    await write_export(desk, obligations, scope, target)
    return len(obligations)


async def _obligations(desk: Desk, query: str) -> tuple[list[Obligation], str]:
    if query.isdigit() and len(query) == 4:
        found = await obligations_due_in(desk.session, desk.unit_id, int(query))
        if not found:
            raise DeskInputError(t("clerk.export.no_reports", desk.lang, year=query))
        return found, query
    obligation = await find_obligation(desk.session, desk.unit_id, query, desk.today)
    if obligation is None:
        raise DeskInputError(t("clerk.export.unknown", desk.lang, query=h(echo(query))))
    return [obligation], obligation.code


async def write_export(
    desk: Desk, obligations: Sequence[Obligation], scope: str, target: Path
) -> None:
    """Fill a workbook for `obligations` and save it to `target` (folders are created)."""
    unit = await desk.session.get(Unit, desk.unit_id)
    assert unit is not None
    standings = {o.id: await report_standings(desk.session, o, desk.today) for o in obligations}
    communes: dict[int, str] = {}  # official → their commune, on reports the communes submit
    if any(o.children_submit for o in obligations):
        people = {s.official.id for group in standings.values() for s in group}
        communes = await unit_names_of(desk.session, sorted(people))
    book = Workbook()
    matrix = book.active
    assert matrix is not None
    matrix.title = _sheet_title(t("clerk.xlsx.matrix_sheet", desk.lang), set())
    if obligations and all(o.children_submit for o in obligations):
        _communes_sheet(desk, matrix, unit, scope, obligations, standings, communes)
    else:
        _matrix_sheet(desk, matrix, unit, scope, obligations, standings)
    used = {matrix.title}
    names = await _reviewer_names(desk, standings.values())
    for obligation in obligations:
        sheet = book.create_sheet(_sheet_title(obligation.code, used))
        used.add(sheet.title)
        by_commune = communes if obligation.children_submit else None
        _report_sheet(desk, sheet, obligation, standings[obligation.id], names, by_commune)
    answers = book.create_sheet(_sheet_title(t("clerk.xlsx.status_sheet", desk.lang), used))
    start, end = _period(obligations, scope)
    await _status_sheet(desk, answers, start, end)
    tasks = book.create_sheet(_sheet_title(t("clerk.xlsx.tasks_sheet", desk.lang), used))
    await _tasks_sheet(desk, tasks)
    target.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(book.save, target)


async def _reviewer_names(
    desk: Desk, standings: Iterable[Sequence[ReportStanding]]
) -> dict[int, str]:
    ids = {
        v.reviewed_by_id
        for group in standings
        for s in group
        for v in s.versions
        if v.reviewed_by_id is not None
    }
    if not ids:
        return {}
    rows = await desk.session.execute(
        select(Official.id, Official.full_name).where(Official.id.in_(ids))
    )
    return {official_id: name for official_id, name in rows}


def _period(obligations: Sequence[Obligation], scope: str) -> tuple[date, date]:
    # A year covers the calendar year; a single report its data window.
    if scope.isdigit():
        year = int(scope)
        return date(year, 1, 1), date(year, 12, 31)
    return obligations[0].window_start, obligations[0].window_end


def _sheet_title(text: str, used: set[str]) -> str:
    base = _SHEET_FORBIDDEN.sub("-", text)[:31] or "Sheet"
    title, n = base, 2
    while title in used:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    return title


def local(at: datetime, desk: Desk) -> datetime:
    """A naive local datetime, which Excel shows as the wall time in the commune."""
    return at.astimezone(desk.tz).replace(tzinfo=None)


def _header(sheet: Worksheet, row: int, labels: Sequence[str]) -> None:
    for column, label in enumerate(labels, start=1):
        cell = write_text(sheet.cell(row=row, column=column), label)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    sheet.freeze_panes = sheet.cell(row=row + 1, column=1)


def _widths(sheet: Worksheet, widths: Sequence[int]) -> None:
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def _put(sheet: Worksheet, row: int, values: Sequence[Any], formats: dict[int, str]) -> None:
    for column, value in enumerate(values, start=1):
        # Every text goes in as text: a typed "=..." is no formula, a control character no crash.
        cell = write_value(sheet.cell(row=row, column=column), value)
        if column in formats and value is not None:
            cell.number_format = formats[column]


def _title_rows(sheet: Worksheet, title: str, facts: Sequence[tuple[str, Any, str]]) -> int:
    """A bold title, then one "label | value" row per fact; returns the header row."""
    write_text(sheet.cell(row=1, column=1), title).font = Font(bold=True, size=13)
    for row, (label, value, number_format) in enumerate(facts, start=2):
        write_text(sheet.cell(row=row, column=1), label)
        write_value(sheet.cell(row=row, column=2), value).number_format = number_format
    return len(facts) + 3


def outcome_cell(desk: Desk, standing: ReportStanding) -> str:
    """The matrix cell of one official for one report."""
    outcome = standing.outcome(desk.tz)
    if outcome is ReportOutcome.LATE:
        return t("clerk.xlsx.late", desk.lang, days=standing.late_days(desk.tz))
    cell = t(f"clerk.xlsx.{outcome.value}", desk.lang)
    if outcome is ReportOutcome.MISSING:
        # The same marks as /quahan and /tonghop: overdue, stopped, returned, extended, leave.
        marks = report_marks(standing, desk.today, desk.tz, desk.lang)
        if marks:
            cell = t("desk.state.joined", desk.lang, first=cell, second=", ".join(marks))
    return cell


def _matrix_sheet(
    desk: Desk,
    sheet: Worksheet,
    unit: Unit,
    scope: str,
    obligations: Sequence[Obligation],
    standings: dict[int, list[ReportStanding]],
) -> None:
    lang = desk.lang
    first = _title_rows(
        sheet,
        t("clerk.xlsx.matrix_title", lang, unit=unit.name, scope=scope),
        [(t("clerk.xlsx.as_of", lang), local(desk.now, desk), DATETIME_FORMAT)],
    )
    people: dict[int, Official] = {}
    cells: dict[tuple[int, int], str] = {}
    for obligation in obligations:
        for standing in standings[obligation.id]:
            people.setdefault(standing.official.id, standing.official)
            cells[(standing.official.id, obligation.id)] = outcome_cell(desk, standing)
    labels = [
        t("clerk.xlsx.no", lang),
        t("clerk.xlsx.name", lang),
        t("clerk.xlsx.department", lang),
        *(o.code for o in obligations),
    ]
    _header(sheet, first, labels)
    ordered = sorted(people.values(), key=lambda o: name_key(o.name_folded, o.id))
    for index, official in enumerate(ordered, start=1):
        values: list[Any] = [index, official.full_name, official.department]
        values += [cells.get((official.id, o.id), "") for o in obligations]
        _put(sheet, first + index, values, {})
    _count_rows(desk, sheet, first + len(ordered) + 2, obligations, standings)


def _communes_sheet(
    desk: Desk,
    sheet: Worksheet,
    unit: Unit,
    scope: str,
    obligations: Sequence[Obligation],
    standings: dict[int, list[ReportStanding]],
    communes: dict[int, str],
) -> None:
    """The matrix of reports the communes submit: one row per commune, whoever its clerk was."""
    lang = desk.lang
    first = _title_rows(
        sheet,
        t("clerk.xlsx.matrix_title", lang, unit=unit.name, scope=scope),
        [(t("clerk.xlsx.as_of", lang), local(desk.now, desk), DATETIME_FORMAT)],
    )
    # Rows by the commune's name: names are unique among a province's communes.
    clerks: dict[str, list[str]] = {}
    cells: dict[tuple[str, int], str] = {}
    for obligation in obligations:
        for standing in standings[obligation.id]:
            commune = communes[standing.official.id]
            # A commune whose clerk changed between reports keeps one row, naming both.
            names = clerks.setdefault(commune, [])
            if standing.official.full_name not in names:
                names.append(standing.official.full_name)
            cells[(commune, obligation.id)] = outcome_cell(desk, standing)
    labels = [
        t("clerk.xlsx.no", lang),
        t("clerk.xlsx.commune", lang),
        t("clerk.xlsx.commune_clerk", lang),
        *(o.code for o in obligations),
    ]
    _header(sheet, first, labels)
    ordered = sorted(clerks, key=lambda name: (fold_name(name), name))
    for index, commune in enumerate(ordered, start=1):
        values: list[Any] = [index, commune, "; ".join(clerks[commune])]
        values += [cells.get((commune, o.id), "") for o in obligations]
        _put(sheet, first + index, values, {})
    _count_rows(desk, sheet, first + len(ordered) + 2, obligations, standings)


def _count_rows(
    desk: Desk,
    sheet: Worksheet,
    row: int,
    obligations: Sequence[Obligation],
    standings: dict[int, list[ReportStanding]],
) -> None:
    """Below the matrix: each outcome counted, the total owed and the on-time rate."""
    lang = desk.lang
    for outcome in OUTCOMES:
        counts = [
            sum(1 for s in standings[o.id] if s.outcome(desk.tz) is outcome) for o in obligations
        ]
        _put(sheet, row, [None, t(f"clerk.report.{outcome.value}", lang), None, *counts], {})
        row += 1
    totals = [len(standings[o.id]) for o in obligations]
    _put(sheet, row, [None, t("clerk.xlsx.total", lang), None, *totals], {})
    on_time = [
        sum(1 for s in standings[o.id] if s.outcome(desk.tz) is ReportOutcome.ON_TIME)
        for o in obligations
    ]
    rates = [n / total if total else 0.0 for n, total in zip(on_time, totals, strict=True)]
    formats = {4 + i: PERCENT_FORMAT for i in range(len(obligations))}
    _put(sheet, row + 1, [None, t("clerk.xlsx.on_time_rate", lang), None, *rates], formats)
    _widths(sheet, [6, 26, 24, *(16 for _ in obligations)])


def _report_sheet(
    desk: Desk,
    sheet: Worksheet,
    obligation: Obligation,
    standings: Sequence[ReportStanding],
    names: dict[int, str],
    communes: dict[int, str] | None = None,
) -> None:
    lang = desk.lang
    first = _title_rows(
        sheet,
        obligation.title,
        [
            (t("clerk.xlsx.due", lang), obligation.due_date, DATE_FORMAT),
            (t("clerk.xlsx.window_start", lang), obligation.window_start, DATE_FORMAT),
            (t("clerk.xlsx.window_end", lang), obligation.window_end, DATE_FORMAT),
        ],
    )
    # A version of a commune's report: the commune, then the clerk who handed it in.
    who = ("commune", "commune_clerk") if communes is not None else ("name", "department")
    _header(
        sheet,
        first,
        [
            t(f"clerk.xlsx.{key}", lang)
            for key in (
                "no",
                *who,
                "version",
                "submitted_at",
                "own_due",
                "timeliness",
                "late_days",
                "review",
                "reviewer",
                "reviewed_at",
                "comment",
                "files",
            )
        ],
    )
    formats = {5: DATETIME_FORMAT, 6: DATE_FORMAT, 11: DATETIME_FORMAT}
    rows = sorted(
        ((s, v) for s in standings for v in s.versions),
        key=lambda pair: (pair[1].submitted_at, pair[1].id),
    )
    for index, (standing, version) in enumerate(rows, start=1):
        late = days_late(standing.due, version.submitted_at, desk.tz)
        official = standing.official
        if communes is not None:
            first_two = [communes[official.id], official.full_name]
        else:
            first_two = [official.full_name, official.department]
        values: list[Any] = [
            index,
            *first_two,
            version.version,
            local(version.submitted_at, desk),
            standing.due,
            t("clerk.xlsx.late_short" if late else "clerk.xlsx.on_time", lang),
            late,
            t(f"clerk.review.{version.review_state.value}", lang),
            names.get(version.reviewed_by_id) if version.reviewed_by_id else None,
            local(version.reviewed_at, desk) if version.reviewed_at else None,
            version.review_comment,
            ", ".join(f.original_name for f in version.files),
        ]
        _put(sheet, first + index, values, formats)
    _widths(sheet, [6, 26, 24, 9, 18, 12, 12, 10, 16, 24, 18, 40, 40])


async def _status_sheet(desk: Desk, sheet: Worksheet, start: date, end: date) -> None:
    lang = desk.lang
    _header(
        sheet,
        1,
        [
            t(f"clerk.xlsx.{key}", lang)
            for key in ("no", "task_code", "task", "name", "department", "state", "note", "time")
        ],
    )
    begin = datetime(start.year, start.month, start.day, tzinfo=desk.tz)
    finish = datetime(end.year, end.month, end.day, 23, 59, 59, tzinfo=desk.tz)
    rows = await desk.session.execute(
        select(StatusUpdate, Task.code, Task.title, Official.full_name, Official.department)
        .join(Task, Task.id == StatusUpdate.task_id)
        .join(Official, Official.id == StatusUpdate.official_id)
        .where(
            StatusUpdate.unit_id == desk.unit_id,
            StatusUpdate.at >= begin,
            StatusUpdate.at <= min(finish, desk.now),
        )
        .order_by(StatusUpdate.at, StatusUpdate.id)
    )
    for index, (update, code, title, name, department) in enumerate(rows, start=1):
        values = [
            index,
            code,
            title,
            name,
            department,
            state_label(update.state, lang),
            update.note,
            local(update.at, desk),
        ]
        _put(sheet, 1 + index, values, {8: DATETIME_FORMAT})
    _widths(sheet, [6, 10, 50, 26, 24, 16, 40, 18])


async def _tasks_sheet(desk: Desk, sheet: Worksheet) -> None:
    """The unit's tasks as the plan gives them: leads, due date, expected output (sản phẩm)
    and the assigning document (căn cứ), with each task's status (issue 16)."""
    lang = desk.lang
    keys = ("task_code", "task", "lead", "coordinate", "task_due", "product", "basis", "state")
    _header(sheet, 1, [t(f"clerk.xlsx.{key}", lang) for key in keys])
    for row, task in enumerate(await active_tasks(desk.session, desk.unit_id), start=2):
        people = sorted(task.assignees, key=lambda a: a.official_id)
        mark = f" {t('clerk.xlsx.illustrative', lang)}" if task.roles_illustrative else ""
        leads = [a.official.full_name for a in people if a.role == AssigneeRole.LEAD]
        helpers = [a.official.full_name for a in people if a.role == AssigneeRole.COORDINATE]
        status = await task_status(desk.session, task.id)
        values = [
            task.code,
            task.title,
            ", ".join(leads) + mark,
            ", ".join(helpers) + (mark if helpers else ""),
            task.due_date,
            task.product,
            basis_text(task, lang),
            state_label(status.state, lang) if status else "",
        ]
        _put(sheet, row, values, {5: DATE_FORMAT})
    _widths(sheet, [10, 50, 26, 36, 12, 30, 36, 16])
