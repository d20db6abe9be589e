"""Writing a plan to the clerk's Excel workbook, in the layout `db.plan.workbook` reads back.

Read back, the workbook gives the same plan (YAML → xlsx → YAML). Text cells go through
`write_text` (a title starting with "=" stays text); dates are date cells shown dd/mm/yyyy.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import TypeVar

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from db.plan import workbook_layout as layout
from db.plan.schema import (
    DayOfYear,
    IndicatorSpec,
    OfficialSpec,
    PlanFile,
    ReportSpec,
    SubmittersSpec,
    TaskSpec,
)
from handlers.spreadsheet_text import write_text

DATE_FORMAT = "DD/MM/YYYY"
_SIMPLE_DUE = re.compile(r"^FREQ=YEARLY;BYMONTH=(\d{1,2});BYMONTHDAY=(\d{1,2})$")
# Column widths, in characters, of the columns that hold more than a word.
_WIDE = {
    layout.TASK_TITLE: 50,
    layout.TASK_DETAIL: 60,
    layout.TASK_SOURCE: 40,
    layout.REPORT_TITLE: 40,
    layout.REPORT_SUBMITTERS: 30,
    layout.REPORT_TEMPLATES: 36,
    layout.PERSON_NAME: 24,
    layout.PERSON_POSITION: 40,
    layout.PERSON_DEPARTMENT: 24,
    layout.IND_LABEL: 40,
    layout.HEADING: 60,
    layout.UNIT_COLUMNS[0]: 30,
    layout.UNIT_COLUMNS[1]: 40,
    layout.UNIT_COLUMNS[2]: 24,
}

Cell = str | int | date | None
T = TypeVar("T")


def plan_workbook(plan: PlanFile) -> bytes:
    """The plan as an .xlsx file: Đơn vị, Cán bộ, Nhiệm vụ, Báo cáo, Lịch, Chỉ tiêu, Đề cương."""
    book = Workbook()
    first = book.active
    assert first is not None  # a new workbook has one sheet
    book.remove(first)
    names = _display_names(plan.officials)
    _sheet(book, layout.UNIT, layout.UNIT_COLUMNS, _unit_rows(plan))
    _sheet(book, layout.PEOPLE, layout.PERSON_COLUMNS, _people_rows(plan.officials))
    _sheet(
        book,
        layout.TASKS,
        layout.TASK_COLUMNS,
        [_task_row(task, names) for task in plan.tasks],
    )
    _sheet(
        book,
        layout.REPORTS,
        layout.REPORT_COLUMNS,
        [_report_row(report, names) for report in plan.reports],
    )
    _sheet(book, layout.CALENDAR, layout.CALENDAR_COLUMNS, _calendar_rows(plan))
    _sheet(
        book,
        layout.INDICATORS,
        layout.INDICATOR_COLUMNS,
        _grouped(plan.reports, lambda r: r.indicators, _indicator_row),
    )
    _sheet(
        book,
        layout.OUTLINE,
        layout.OUTLINE_COLUMNS,
        _grouped(plan.reports, lambda r: r.outline, lambda codes, heading: [codes, heading]),
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(
    book: Workbook, title: str, columns: Sequence[str], rows: Iterable[Sequence[Cell]]
) -> Worksheet:
    sheet = book.create_sheet(title)
    for index, header in enumerate(columns, start=1):
        cell = write_text(sheet.cell(row=1, column=index), header)
        cell.font = Font(bold=True)
        letter = cell.column_letter
        sheet.column_dimensions[letter].width = _WIDE.get(header, max(12, len(header) + 2))
    sheet.freeze_panes = "A2"
    for number, row in enumerate(rows, start=2):
        for index, value in enumerate(row, start=1):
            cell = sheet.cell(row=number, column=index)
            if isinstance(value, str):
                write_text(cell, value)
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            elif isinstance(value, date):
                cell.value = value
                cell.number_format = DATE_FORMAT
            else:
                cell.value = value
    return sheet


def _yes(flag: bool) -> str:
    return layout.YES if flag else ""


def _display_names(officials: Sequence[OfficialSpec]) -> dict[str, str]:
    """How each person is named in the cells: the name, or the key when the name is shared."""
    counts: dict[str, int] = {}
    for official in officials:
        counts[official.name] = counts.get(official.name, 0) + 1
    return {o.key: o.name if counts[o.name] == 1 else o.key for o in officials}


def _unit_rows(plan: PlanFile) -> list[list[Cell]]:
    unit = plan.unit
    calendar = unit.calendar
    hours = calendar.office_hours
    values: dict[str, Cell] = {
        "code": unit.code,
        "name": unit.name,
        "office_name": unit.office_name or "",
        "reports_to": unit.reports_to or "",
        "parent": unit.parent or "",
        "timezone": unit.timezone,
        "office_hours": f"{hours[0]:%H:%M}-{hours[1]:%H:%M}" if hours else "",
        "deadline_on_day_off": layout.DEADLINE_WORDS[calendar.deadline_on_day_off][0],
        "percent_decimals": unit.percent_decimals,
        "sample": layout.YES if unit.sample else layout.NO,
    }
    return [[label, values[name], name] for label, name in layout.UNIT_ROWS]


def _people_rows(officials: Sequence[OfficialSpec]) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for official in officials:
        roles = ", ".join(layout.ROLE_WORDS[role][0] for role in official.roles)
        leave = list(official.leave)
        first = leave[0] if leave else None
        rows.append(
            [
                official.name,
                official.position,
                official.department,
                roles,
                first.starts if first else None,
                first.ends if first else None,
                first.note if first else "",
                official.key,
                official.language,
                layout.YES if official.active else layout.NO,
                _yes(official.sample),
            ]
        )
        # Further leave periods: rows of their own under the person.
        for period in leave[1:]:
            rows.append(["", "", "", "", period.starts, period.ends, period.note])
    return rows


def _task_row(task: TaskSpec, names: dict[str, str]) -> list[Cell]:
    basis = task.basis
    return [
        task.code,
        task.title,
        ", ".join(names[key] for key in task.lead),
        ", ".join(names[key] for key in task.coordinate),
        task.due,
        task.product,
        basis.number if basis else "",
        basis.date if basis else None,
        basis.issuer if basis else "",
        task.detail,
        task.source,
        task.checkin or "",
        task.checkin_from,
        _yes(task.priority),
        _yes(task.roles_illustrative),
    ]


def _on(day: DayOfYear, year: int) -> date | str:
    """The day in `year` shifted by its offset; as text when that year lacks it (29/02)."""
    try:
        return date(year + day.year, day.month, day.day)
    except ValueError:
        return f"{day.day:02d}/{day.month:02d}/{year + day.year}"


def _report_row(report: ReportSpec, names: dict[str, str]) -> list[Cell]:
    first, last = report.years
    simple = _SIMPLE_DUE.match(report.due)
    due: Cell = report.due
    if simple is not None:
        due = _on(DayOfYear(day=int(simple.group(2)), month=int(simple.group(1))), first)
    # A single year written as the due date's own year needs no "Năm"; anything else does.
    years = "" if simple is not None and first == last else _years(first, last)
    title = report.title_for(first)
    return [
        title,
        report.code,
        due,
        _on(report.window.start, first),
        _on(report.window.end, first),
        _submitters(report.submitters, names),
        names.get(report.collector, report.collector),
        "\n".join(report.templates),
        report.kind,
        years,
        report.forward_to or "",
        _on(report.forward_due, first) if report.forward_due else None,
        report.chase_days,
    ]


def _years(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _submitters(submitters: SubmittersSpec, names: dict[str, str]) -> str:
    parts = [layout.ROLE_WORDS[role][0] for role in submitters.roles]
    parts += [f"{layout.DEPARTMENT_PREFIX} {d}" for d in submitters.departments]
    parts += [names.get(key, key) for key in submitters.officials]
    if submitters.units == "children":
        parts.append(layout.CHILD_UNITS)
    return "; ".join(parts)


def _calendar_rows(plan: PlanFile) -> list[list[Cell]]:
    calendar = plan.unit.calendar
    rows: list[list[Cell]] = [[day, layout.DAY_OFF] for day in calendar.days_off]
    return rows + [[day, layout.MAKE_UP_DAY] for day in calendar.working_days]


def _grouped(
    reports: Sequence[ReportSpec],
    items_of: Callable[[ReportSpec], Sequence[T]],
    row_of: Callable[[str, T], list[Cell]],
) -> list[list[Cell]]:
    """Rows of the reports' lists; reports with the same list share its rows (one edit)."""
    groups: list[tuple[list[str], Sequence[T]]] = []
    for report in reports:
        items = items_of(report)
        if not items:
            continue
        same = next((g for g in groups if g[1] == items), None)
        if same is not None:
            same[0].append(report.code)
        else:
            groups.append(([report.code], items))
    return [row_of(", ".join(codes), item) for codes, items in groups for item in items]


def _indicator_row(codes: str, indicator: IndicatorSpec) -> list[Cell]:
    return [
        codes,
        indicator.code,
        indicator.label,
        indicator.unit,
        layout.COMBINE_WORDS[indicator.combine][0],
        indicator.numerator or "",
        indicator.denominator or "",
        indicator.decimals,
        indicator.cell or "",
        layout.BETTER_WORDS[indicator.better][0],
    ]
