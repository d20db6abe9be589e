"""Reading the plan from the clerk's Excel workbook into the same checked `Plan` as YAML.

Every mistake is collected, not only the first, each with its sheet, row and column; the
words are the handlers' (`handlers.plan_errors`): here a problem is a code and its data.
The layout is `db.plan.workbook_layout`; the writer is `handlers.plan_workbook`.
"""

from __future__ import annotations

import difflib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError

from db.clock import format_date, parse_local_date
from db.names import fold_name
from db.plan import workbook_layout as layout
from db.plan.calendar import CalendarError, Loc, expand_reports
from db.plan.checks import find_problems
from db.plan.coded import code_of
from db.plan.schema import PlanFile
from db.plan.source import Plan, describe_error, error_code, field_path

_SPLIT = re.compile(r"[;\n]+")
_SPLIT_NAMES = re.compile(r"[,;\n]+")


@dataclass(frozen=True)
class WorkbookProblem:
    """One mistake: where (sheet, row, column; None when the whole sheet or row) and what.

    `code` names the mistake for the catalog (`plan.workbook.<code>`), `data` fills it;
    `message` is the plan checker's own English words, kept for a code it has no words for.
    """

    sheet: str | None
    row: int | None
    column: str | None
    code: str
    data: dict[str, str] = field(default_factory=dict)
    message: str = ""
    field: str = ""


class WorkbookError(Exception):
    """A workbook that is not a plan that can be loaded: every problem found."""

    def __init__(self, filename: str, problems: Sequence[WorkbookProblem]) -> None:
        self.filename = filename
        self.problems = list(problems)
        super().__init__(f"{filename}: {len(self.problems)} problem(s)")


@dataclass(frozen=True)
class _Where:
    sheet: str
    row: int
    column: str | None


@dataclass
class _Person:
    key: str
    name: str


@dataclass
class _Reading:
    """What is read so far: the plan's data, where each field came from, and mistakes."""

    data: dict[str, Any] = field(default_factory=dict)
    cells: dict[Loc, _Where] = field(default_factory=dict)
    problems: list[WorkbookProblem] = field(default_factory=list)
    # Fields left out because their cell was wrong: no second error about them.
    spoiled: set[Loc] = field(default_factory=set)
    people: list[_Person] = field(default_factory=list)

    def problem(self, where: _Where, kind: str, loc: Loc | None = None, **data: str) -> None:
        self.problems.append(WorkbookProblem(where.sheet, where.row, where.column, kind, data))
        if loc is not None:
            self.spoiled.add(loc)


def is_plan_workbook(content: bytes) -> bool:
    """Whether an .xlsx holds a plan (a "Nhiệm vụ" and a "Cán bộ" sheet), not a report."""
    try:
        book = load_workbook(io.BytesIO(content), read_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        return False
    try:
        names = {fold_name(name) for name in book.sheetnames}
    finally:
        book.close()
    return all(fold_name(sheet) in names for sheet in layout.PLAN_SHEETS)


def read_workbook(path: Path) -> Plan:
    """Read and check the plan workbook at `path`; `WorkbookError` lists every mistake."""
    try:
        content = path.read_bytes()
    except OSError:
        raise WorkbookError(str(path), [WorkbookProblem(None, None, None, "no_file")]) from None
    return parse_workbook(content, str(path))


def parse_workbook(content: bytes, filename: str) -> Plan:
    """Check the workbook `content`; errors name `filename`; templates are relative to it."""
    try:
        book = load_workbook(io.BytesIO(content), data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise WorkbookError(
            filename, [WorkbookProblem(None, None, None, "not_a_workbook")]
        ) from None
    sheets = {fold_name(name): book[name] for name in book.sheetnames}
    reading = _Reading()
    missing = [s for s in (layout.UNIT, layout.PEOPLE) if fold_name(s) not in sheets]
    for sheet in missing:
        reading.problems.append(WorkbookProblem(sheet, None, None, "missing_sheet", {}))
    if missing:
        raise WorkbookError(filename, reading.problems)
    _read_unit(reading, sheets[fold_name(layout.UNIT)])
    _read_calendar(reading, sheets.get(fold_name(layout.CALENDAR)))
    _read_people(reading, sheets[fold_name(layout.PEOPLE)])
    _read_tasks(reading, sheets.get(fold_name(layout.TASKS)))
    reports = _read_reports(reading, sheets.get(fold_name(layout.REPORTS)))
    _read_indicators(reading, sheets.get(fold_name(layout.INDICATORS)), reports)
    _read_outline(reading, sheets.get(fold_name(layout.OUTLINE)), reports)
    return _checked(reading, filename)


def _checked(reading: _Reading, filename: str) -> Plan:
    try:
        spec = PlanFile.model_validate(reading.data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            if not _is_spoiled(reading, loc):
                _plan_problem(reading, loc, describe_error(err), *error_code(err))
        raise WorkbookError(filename, reading.problems) from None
    for loc, message in find_problems(spec):
        if not _is_spoiled(reading, loc):
            _plan_problem(reading, loc, message, *code_of(message))
    if reading.problems:
        raise WorkbookError(filename, reading.problems)
    try:
        obligations = expand_reports(
            spec.reports, spec.unit.reports_to, spec.unit.calendar.unit_calendar()
        )
    except CalendarError as exc:
        _plan_problem(reading, exc.loc, exc.message, exc.code, exc.data)
        raise WorkbookError(filename, reading.problems) from None
    return Plan(filename, spec, tuple(obligations))


def _is_spoiled(reading: _Reading, loc: Loc) -> bool:
    return any(loc[: len(bad)] == bad for bad in reading.spoiled)


def _plan_problem(
    reading: _Reading, loc: Loc, message: str, code: str, data: dict[str, str]
) -> None:
    """A mistake the plan's own checks found, at the cell its field was read from."""
    where = _where_of(reading, loc)
    reading.problems.append(
        WorkbookProblem(
            where.sheet if where else None,
            where.row if where else None,
            where.column if where else None,
            code or "invalid",
            data,
            message,
            field_path(loc),
        )
    )


def _where_of(reading: _Reading, loc: Loc) -> _Where | None:
    """The cell of the deepest part of `loc` read from the workbook."""
    for end in range(len(loc), 0, -1):
        if (found := reading.cells.get(loc[:end])) is not None:
            return found
    return None


# Cells -----------------------------------------------------------------------------------


def _text(value: object) -> str:
    """A cell as text: numbers without a trailing ".0", dates dd/mm/yyyy, text in NFC."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return layout.YES if value else layout.NO
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return format_date(value.date())
    if isinstance(value, date):
        return format_date(value)
    return unicodedata.normalize("NFC", str(value)).strip()


@dataclass
class _Row:
    """A row of a sheet, its cells by (folded) column header."""

    sheet: str
    number: int
    values: dict[str, object]

    def at(self, column: str) -> _Where:
        return _Where(self.sheet, self.number, column)

    def text(self, column: str) -> str:
        return _text(self.values.get(fold_name(column)))

    def raw(self, column: str) -> object:
        return self.values.get(fold_name(column))

    @property
    def empty(self) -> bool:
        return all(_text(value) == "" for value in self.values.values())


def _rows(reading: _Reading, sheet: Worksheet, required: Sequence[str]) -> Iterator[_Row]:
    """The non-empty rows under the header row, by header; a missing required column is a
    problem and the sheet is not read."""
    grid = list(sheet.iter_rows(values_only=True))
    if not grid:
        for column in required:
            reading.problems.append(WorkbookProblem(sheet.title, 1, column, "missing_column"))
        return
    headers = [fold_name(_text(value)) for value in grid[0]]
    absent = [column for column in required if fold_name(column) not in headers]
    for column in absent:
        reading.problems.append(WorkbookProblem(sheet.title, 1, column, "missing_column"))
    if absent:
        return
    for number, values in enumerate(grid[1:], start=2):
        cells = {header: value for header, value in zip(headers, values, strict=False) if header}
        row = _Row(sheet.title, number, cells)
        if not row.empty:
            yield row


def _date_text(reading: _Reading, row: _Row, column: str, loc: Loc) -> str | None:
    """A date cell as dd/mm/yyyy (the plan's own form), None when empty or wrong."""
    value = row.raw(column)
    if isinstance(value, datetime | date):
        return _text(value)
    text = _text(value)
    if not text:
        return None
    try:
        return format_date(parse_local_date(text))
    except ValueError:
        reading.problem(row.at(column), "bad_date", loc, value=text)
        return None


def _flag(reading: _Reading, row: _Row, column: str, loc: Loc | None) -> bool | None:
    text = fold_name(row.text(column))
    if text in ("", fold_name(layout.NO), "0", "false"):
        return False
    if text in (fold_name(layout.YES), "x", "1", "true"):
        return True
    reading.problem(row.at(column), "bad_flag", loc, value=row.text(column))
    return None


def _word(
    reading: _Reading,
    row: _Row,
    column: str,
    words: Mapping[str, tuple[str, ...]],
    loc: Loc | None,
) -> str | None:
    """A cell holding one of `words` (or the plan's own value), as the plan's value."""
    text = row.text(column)
    folded = fold_name(text)
    for value, spellings in words.items():
        if folded == fold_name(value) or folded in (fold_name(s) for s in spellings):
            return value
    reading.problem(
        row.at(column),
        "bad_word",
        loc,
        value=text,
        allowed=", ".join(f"«{spellings[0]}»" for spellings in words.values()),
    )
    return None


def _number(reading: _Reading, row: _Row, column: str, loc: Loc | None) -> int | None:
    value = row.raw(column)
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        return int(value)
    text = _text(value)
    if text.isdigit():
        return int(text)
    reading.problem(row.at(column), "bad_number", loc, value=text)
    return None


def _set(
    reading: _Reading, target: dict[str, Any], name: str, value: object, loc: Loc, where: _Where
) -> None:
    target[name] = value
    reading.cells[loc] = where


# Đơn vị and Lịch ----------------------------------------------------------------------------


def _read_unit(reading: _Reading, sheet: Worksheet) -> None:
    unit: dict[str, Any] = {}
    calendar: dict[str, Any] = {}
    unit["calendar"] = calendar
    reading.data["unit"] = unit
    by_label = {fold_name(label): name for label, name in layout.UNIT_ROWS}
    by_name = {fold_name(name): name for _, name in layout.UNIT_ROWS}
    label_column, value_column, field_column = layout.UNIT_COLUMNS
    reading.cells[("unit",)] = _Where(sheet.title, 1, None)
    for row in _rows(reading, sheet, (label_column, value_column)):
        name = by_name.get(fold_name(row.text(field_column))) or by_label.get(
            fold_name(row.text(label_column))
        )
        where = row.at(value_column)
        if name is None:
            reading.problem(
                row.at(label_column), "unknown_setting", None, value=row.text(label_column)
            )
            continue
        text = row.text(value_column)
        if not text:
            continue
        if name in ("office_hours", "deadline_on_day_off"):
            loc: Loc = ("unit", "calendar", name)
            value: object = text
            if name == "deadline_on_day_off":
                value = _word(reading, row, value_column, layout.DEADLINE_WORDS, loc)
            if value is not None:
                _set(reading, calendar, name, value, loc, where)
            continue
        loc = ("unit", name)
        if name == "percent_decimals":
            value = _number(reading, row, value_column, loc)
        elif name == "sample":
            value = _flag(reading, row, value_column, loc)
        else:
            value = text
        if value is not None:
            _set(reading, unit, name, value, loc, where)


def _read_calendar(reading: _Reading, sheet: Worksheet | None) -> None:
    if sheet is None:
        return
    calendar = reading.data["unit"]["calendar"]
    kinds = {"days_off": (layout.DAY_OFF,), "working_days": (layout.MAKE_UP_DAY, "làm việc")}
    for row in _rows(reading, sheet, layout.CALENDAR_COLUMNS):
        kind = _word(reading, row, layout.DAY_KIND, kinds, ("unit", "calendar", "_kind"))
        day = _date_text(reading, row, layout.DAY, ("unit", "calendar", "_day"))
        if kind is None or day is None:
            if day is None and row.text(layout.DAY) == "":
                reading.problem(row.at(layout.DAY), "empty", None)
            continue
        days = calendar.setdefault(kind, [])
        reading.cells[("unit", "calendar", kind, len(days))] = row.at(layout.DAY)
        days.append(day)


# Cán bộ ---------------------------------------------------------------------------------------


def _slug(name: str) -> str:
    """A key made of a name ("Phạm Văn Lương" → "pham-van-luong")."""
    return re.sub(r"[^a-z0-9]+", "-", fold_name(name)).strip("-")[:64] or "x"


def _read_people(reading: _Reading, sheet: Worksheet) -> None:
    officials: list[dict[str, Any]] = []
    reading.data["officials"] = officials
    reading.cells[("officials",)] = _Where(sheet.title, 1, None)
    for row in _rows(reading, sheet, (layout.PERSON_NAME,)):
        name = row.text(layout.PERSON_NAME)
        if not name and not row.text(layout.PERSON_KEY):
            # A leave period of the person above.
            if not officials:
                reading.problem(row.at(layout.PERSON_NAME), "empty", None)
                continue
            _read_leave(reading, row, len(officials) - 1, officials[-1])
            continue
        index = len(officials)
        base: Loc = ("officials", index)
        person: dict[str, Any] = {}
        reading.cells[base] = row.at(layout.PERSON_NAME)
        key = row.text(layout.PERSON_KEY) or _slug(name)
        _set(reading, person, "key", key, (*base, "key"), row.at(layout.PERSON_KEY))
        _set(reading, person, "name", name, (*base, "name"), row.at(layout.PERSON_NAME))
        for column, name_ in (
            (layout.PERSON_POSITION, "position"),
            (layout.PERSON_DEPARTMENT, "department"),
        ):
            if text := row.text(column):
                _set(reading, person, name_, text, (*base, name_), row.at(column))
        if row.text(layout.PERSON_ROLES):
            roles = _roles(reading, row, (*base, "roles"))
            if roles is not None:
                _set(reading, person, "roles", roles, (*base, "roles"), row.at(layout.PERSON_ROLES))
        if language := row.text(layout.PERSON_LANGUAGE):
            _set(
                reading,
                person,
                "language",
                language.lower(),
                (*base, "language"),
                row.at(layout.PERSON_LANGUAGE),
            )
        if row.text(layout.PERSON_ACTIVE):
            active = _flag(reading, row, layout.PERSON_ACTIVE, (*base, "active"))
            if active is not None:
                _set(
                    reading,
                    person,
                    "active",
                    active,
                    (*base, "active"),
                    row.at(layout.PERSON_ACTIVE),
                )
        sample = _flag(reading, row, layout.PERSON_SAMPLE, (*base, "sample"))
        if sample:
            _set(reading, person, "sample", True, (*base, "sample"), row.at(layout.PERSON_SAMPLE))
        officials.append(person)
        reading.people.append(_Person(key, name))
        _read_leave(reading, row, index, person)


def _roles(reading: _Reading, row: _Row, loc: Loc) -> list[str] | None:
    roles = []
    for part in _SPLIT_NAMES.split(row.text(layout.PERSON_ROLES)):
        if not part.strip():
            continue
        role = _role_of(part)
        if role is None:
            reading.problem(
                row.at(layout.PERSON_ROLES),
                "bad_word",
                loc,
                value=part.strip(),
                allowed=", ".join(f"«{words[0]}»" for words in layout.ROLE_WORDS.values()),
            )
            return None
        roles.append(role)
    return roles


def _role_of(text: str) -> str | None:
    folded = fold_name(text)
    for role, words in layout.ROLE_WORDS.items():
        if folded == role or folded in (fold_name(w) for w in words):
            return role
    return None


def _read_leave(reading: _Reading, row: _Row, index: int, person: dict[str, Any]) -> None:
    if not (row.text(layout.LEAVE_FROM) or row.text(layout.LEAVE_TO)):
        return
    leave = person.setdefault("leave", [])
    base: Loc = ("officials", index, "leave", len(leave))
    period: dict[str, Any] = {}
    reading.cells[base] = row.at(layout.LEAVE_FROM)
    for column, name in ((layout.LEAVE_FROM, "from"), (layout.LEAVE_TO, "to")):
        day = _date_text(reading, row, column, (*base, name))
        if day is not None:
            _set(reading, period, name, day, (*base, name), row.at(column))
        elif not row.text(column):
            reading.cells[(*base, name)] = row.at(column)
    if note := row.text(layout.LEAVE_NOTE):
        _set(reading, period, "note", note, (*base, "note"), row.at(layout.LEAVE_NOTE))
    leave.append(period)


def _person(reading: _Reading, where: _Where, text: str, loc: Loc) -> str | None:
    """The key of the person a cell names: by key, or by name as written in Cán bộ.

    A name that matches only without its accents, or nearly, is a mistake to point out with
    the closest name: "Cuờng" is not "Cường" until the clerk says so.
    """
    wanted = " ".join(text.split())
    by_key = [p for p in reading.people if p.key == wanted]
    if by_key:
        return by_key[0].key
    exact = [p for p in reading.people if " ".join(p.name.split()).casefold() == wanted.casefold()]
    if len(exact) == 1:
        return exact[0].key
    if len(exact) > 1:
        reading.problem(where, "ambiguous_person", loc, name=wanted)
        return None
    folded = fold_name(wanted)
    same = [p for p in reading.people if fold_name(p.name) == folded]
    if not same:
        names = {fold_name(p.name): p for p in reading.people}
        close = difflib.get_close_matches(folded, list(names), n=1, cutoff=0.6)
        same = [names[close[0]]] if close else []
        if not same:
            # "Cường" for "Lê Văn Cường": the word matches a part of one name.
            same = [p for p in reading.people if folded and folded in fold_name(p.name).split()]
    if len(same) >= 1:
        reading.problem(where, "unknown_person_like", loc, name=wanted, like=same[0].name)
    else:
        reading.problem(where, "unknown_person", loc, name=wanted)
    return None


def _people(reading: _Reading, row: _Row, column: str, loc: Loc) -> list[str]:
    keys = []
    for index, part in enumerate(p.strip() for p in _SPLIT_NAMES.split(row.text(column))):
        if not part:
            continue
        key = _person(reading, row.at(column), part, (*loc, index))
        if key is None:
            # The list is short of a name: no second error that it is empty.
            reading.spoiled.add(loc)
        else:
            keys.append(key)
    return keys


# Nhiệm vụ ---------------------------------------------------------------------------------


def _read_tasks(reading: _Reading, sheet: Worksheet | None) -> None:
    tasks: list[dict[str, Any]] = []
    reading.data["tasks"] = tasks
    if sheet is None:
        return
    required = (layout.TASK_CODE, layout.TASK_TITLE, layout.TASK_LEAD)
    for row in _rows(reading, sheet, required):
        index = len(tasks)
        base: Loc = ("tasks", index)
        task: dict[str, Any] = {}
        reading.cells[base] = row.at(layout.TASK_CODE)
        for column, name in (
            (layout.TASK_CODE, "code"),
            (layout.TASK_TITLE, "title"),
        ):
            _set(reading, task, name, row.text(column), (*base, name), row.at(column))
        for column, name in (
            (layout.TASK_DETAIL, "detail"),
            (layout.TASK_SOURCE, "source"),
            (layout.TASK_PRODUCT, "product"),
            (layout.TASK_CHECKIN, "checkin"),
        ):
            if text := row.text(column):
                _set(reading, task, name, text, (*base, name), row.at(column))
        for column, name in ((layout.TASK_LEAD, "lead"), (layout.TASK_COORDINATE, "coordinate")):
            keys = _people(reading, row, column, (*base, name))
            reading.cells[(*base, name)] = row.at(column)
            if keys or name == "lead":
                task[name] = keys
        for column, name in ((layout.TASK_DUE, "due"), (layout.TASK_CHECKIN_FROM, "checkin_from")):
            day = _date_text(reading, row, column, (*base, name))
            if day is not None:
                _set(reading, task, name, day, (*base, name), row.at(column))
        for column, name in (
            (layout.TASK_PRIORITY, "priority"),
            (layout.TASK_ILLUSTRATIVE, "roles_illustrative"),
        ):
            if _flag(reading, row, column, (*base, name)):
                _set(reading, task, name, True, (*base, name), row.at(column))
        basis: dict[str, Any] = {}
        for column, name in ((layout.BASIS_NUMBER, "number"), (layout.BASIS_ISSUER, "issuer")):
            if text := row.text(column):
                _set(reading, basis, name, text, (*base, "basis", name), row.at(column))
        day = _date_text(reading, row, layout.BASIS_DATE, (*base, "basis", "date"))
        if day is not None:
            _set(reading, basis, "date", day, (*base, "basis", "date"), row.at(layout.BASIS_DATE))
        if basis:
            task["basis"] = basis
        tasks.append(task)


# Báo cáo --------------------------------------------------------------------------------------


def _read_reports(reading: _Reading, sheet: Worksheet | None) -> dict[str, int]:
    """Read the reports; their index by code, for the Chỉ tiêu and Đề cương sheets."""
    reports: list[dict[str, Any]] = []
    reading.data["reports"] = reports
    found: dict[str, int] = {}
    if sheet is None:
        return found
    required = (layout.REPORT_TITLE, layout.REPORT_CODE, layout.REPORT_DUE)
    for row in _rows(reading, sheet, required):
        index = len(reports)
        base: Loc = ("reports", index)
        report: dict[str, Any] = {}
        reading.cells[base] = row.at(layout.REPORT_CODE)
        code = row.text(layout.REPORT_CODE)
        _set(reading, report, "code", code, (*base, "code"), row.at(layout.REPORT_CODE))
        found.setdefault(code, index)
        first_year = _read_due(reading, row, report, base)
        title = row.text(layout.REPORT_TITLE)
        if first_year is not None:
            # The title of the first year stands for every year: "… năm 2024" → "… năm {year}".
            title = title.replace("{", "{{").replace("}", "}}").replace(str(first_year), "{year}")
        _set(reading, report, "title", title, (*base, "title"), row.at(layout.REPORT_TITLE))
        kind = row.text(layout.REPORT_KIND) or _slug(code).replace("-", "_")[:32]
        _set(reading, report, "kind", kind.lower(), (*base, "kind"), row.at(layout.REPORT_KIND))
        if first_year is not None:
            window: dict[str, Any] = {}
            reading.cells[(*base, "window")] = row.at(layout.WINDOW_FROM)
            for column, name in ((layout.WINDOW_FROM, "start"), (layout.WINDOW_TO, "end")):
                day = _day_of_year(reading, row, column, first_year, (*base, "window", name))
                if day is not None:
                    _set(reading, window, name, day, (*base, "window", name), row.at(column))
            report["window"] = window
            if row.text(layout.REPORT_FORWARD_DUE):
                loc = (*base, "forward_due")
                day = _day_of_year(reading, row, layout.REPORT_FORWARD_DUE, first_year, loc)
                if day is not None:
                    _set(
                        reading, report, "forward_due", day, loc, row.at(layout.REPORT_FORWARD_DUE)
                    )
        else:
            reading.spoiled.add((*base, "window"))
        report["submitters"] = _submitters(reading, row, (*base, "submitters"))
        collector = row.text(layout.REPORT_COLLECTOR)
        reading.cells[(*base, "collector")] = row.at(layout.REPORT_COLLECTOR)
        if collector:
            key = _person(reading, row.at(layout.REPORT_COLLECTOR), collector, (*base, "collector"))
            if key is not None:
                report["collector"] = key
        templates = [p.strip() for p in _SPLIT.split(row.text(layout.REPORT_TEMPLATES))]
        if templates := [p for p in templates if p]:
            _set(
                reading,
                report,
                "templates",
                templates,
                (*base, "templates"),
                row.at(layout.REPORT_TEMPLATES),
            )
        if text := row.text(layout.REPORT_FORWARD_TO):
            _set(
                reading,
                report,
                "forward_to",
                text,
                (*base, "forward_to"),
                row.at(layout.REPORT_FORWARD_TO),
            )
        if row.text(layout.REPORT_CHASE):
            days = _number(reading, row, layout.REPORT_CHASE, (*base, "chase_days"))
            if days is not None:
                _set(
                    reading,
                    report,
                    "chase_days",
                    days,
                    (*base, "chase_days"),
                    row.at(layout.REPORT_CHASE),
                )
        reports.append(report)
    return found


def _read_due(reading: _Reading, row: _Row, report: dict[str, Any], base: Loc) -> int | None:
    """Set the report's due rule and years; the first year, which its dates are written in."""
    due_where = row.at(layout.REPORT_DUE)
    years_text = row.text(layout.REPORT_YEARS)
    reading.cells[(*base, "due")] = due_where
    reading.cells[(*base, "years")] = row.at(layout.REPORT_YEARS)
    text = row.text(layout.REPORT_DUE)
    if text.upper().startswith(("FREQ=", "RRULE:")):
        report["due"] = text
        if not years_text:
            reading.problem(row.at(layout.REPORT_YEARS), "years_needed", (*base, "years"))
            reading.spoiled.add((*base, "window"))
            return None
        report["years"] = years_text
        match = re.match(r"^\s*(\d{4})", years_text)
        return int(match.group(1)) if match else None
    day = _date_text(reading, row, layout.REPORT_DUE, (*base, "due"))
    if day is None:
        if not text:
            reading.problem(due_where, "empty", (*base, "due"))
        reading.spoiled.add((*base, "years"))
        return None
    due = parse_local_date(day)
    report["due"] = f"FREQ=YEARLY;BYMONTH={due.month};BYMONTHDAY={due.day}"
    report["years"] = years_text or str(due.year)
    return due.year


def _day_of_year(
    reading: _Reading, row: _Row, column: str, first_year: int, loc: Loc
) -> dict[str, int] | None:
    text = _date_text(reading, row, column, loc)
    if text is None:
        if not row.text(column):
            reading.problem(row.at(column), "empty", loc)
        return None
    day = parse_local_date(text)
    shifted = {"day": day.day, "month": day.month}
    if day.year != first_year:
        shifted["year"] = day.year - first_year
    return shifted


def _submitters(reading: _Reading, row: _Row, loc: Loc) -> dict[str, Any]:
    submitters: dict[str, Any] = {}
    reading.cells[loc] = row.at(layout.REPORT_SUBMITTERS)
    prefix = fold_name(layout.DEPARTMENT_PREFIX)
    for part in (p.strip() for p in _SPLIT.split(row.text(layout.REPORT_SUBMITTERS))):
        if not part:
            continue
        folded = fold_name(part)
        role = _role_of(part.removeprefix("tất cả ").removeprefix("Tất cả "))
        if role is not None:
            submitters.setdefault("roles", []).append(role)
        elif folded == fold_name(layout.CHILD_UNITS):
            submitters["units"] = "children"
        elif folded.startswith(prefix):
            department = part[len(layout.DEPARTMENT_PREFIX) :].lstrip(" :").strip()
            submitters.setdefault("departments", []).append(department)
        else:
            officials = submitters.setdefault("officials", [])
            where = row.at(layout.REPORT_SUBMITTERS)
            key = _person(reading, where, part, (*loc, "officials", len(officials)))
            if key is None:
                reading.spoiled.add(loc)
            else:
                officials.append(key)
    return submitters


# Chỉ tiêu and Đề cương ------------------------------------------------------------------------


def _of_reports(
    reading: _Reading, row: _Row, reports: dict[str, int], field_name: str
) -> list[int]:
    """The reports a Chỉ tiêu or Đề cương row belongs to; a code not in Báo cáo is a mistake,
    and the lists it was meant for are not checked further (its row is missing from them)."""
    indexes = []
    for code in (p.strip() for p in _SPLIT_NAMES.split(row.text(layout.OF_REPORTS))):
        if not code:
            continue
        if code in reports:
            indexes.append(reports[code])
        else:
            reading.problem(row.at(layout.OF_REPORTS), "unknown_report", None, code=code)
            reading.spoiled.update(("reports", index, field_name) for index in reports.values())
    return indexes


def _read_indicators(reading: _Reading, sheet: Worksheet | None, reports: dict[str, int]) -> None:
    if sheet is None:
        return
    required = (layout.OF_REPORTS, layout.IND_CODE, layout.IND_LABEL, layout.IND_COMBINE)
    for row in _rows(reading, sheet, required):
        indicator: dict[str, Any] = {
            "code": row.text(layout.IND_CODE),
            "label": row.text(layout.IND_LABEL),
        }
        columns: dict[str, str] = {"code": layout.IND_CODE, "label": layout.IND_LABEL}
        for column, name in (
            (layout.IND_UNIT, "unit"),
            (layout.IND_NUMERATOR, "numerator"),
            (layout.IND_DENOMINATOR, "denominator"),
            (layout.IND_CELL, "cell"),
        ):
            if text := row.text(column):
                indicator[name] = text
                columns[name] = column
        combine = _word(reading, row, layout.IND_COMBINE, layout.COMBINE_WORDS, None)
        if combine is not None:
            indicator["combine"] = combine
            columns["combine"] = layout.IND_COMBINE
        if row.text(layout.IND_DECIMALS):
            decimals = _number(reading, row, layout.IND_DECIMALS, None)
            if decimals is not None:
                indicator["decimals"] = decimals
                columns["decimals"] = layout.IND_DECIMALS
        if row.text(layout.IND_BETTER):
            better = _word(reading, row, layout.IND_BETTER, layout.BETTER_WORDS, None)
            if better is not None:
                indicator["better"] = better
                columns["better"] = layout.IND_BETTER
        for index in _of_reports(reading, row, reports, "indicators"):
            indicators = reading.data["reports"][index].setdefault("indicators", [])
            base: Loc = ("reports", index, "indicators", len(indicators))
            reading.cells[base] = row.at(layout.IND_CODE)
            for name, column in columns.items():
                reading.cells[(*base, name)] = row.at(column)
            indicators.append(dict(indicator))


def _read_outline(reading: _Reading, sheet: Worksheet | None, reports: dict[str, int]) -> None:
    if sheet is None:
        return
    for row in _rows(reading, sheet, layout.OUTLINE_COLUMNS):
        for index in _of_reports(reading, row, reports, "outline"):
            outline = reading.data["reports"][index].setdefault("outline", [])
            reading.cells[("reports", index, "outline", len(outline))] = row.at(layout.HEADING)
            outline.append(row.text(layout.HEADING))
