"""The compiled report's appendix (.xlsx): one row per official, one column per indicator,
and the unit's total written as formulas a checker can recompute.

The total row adds the rows up (SUM) and divides its own numerator and denominator cells for
a ratio, never averaging the rows' ratios; the row below it holds the bot's own figures, so
the formulas can be checked against them without a spreadsheet program.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from db.clock import format_date, format_datetime
from db.figures import COUNT, RATIO, TEXT, Indicator
from handlers.catalog import t
from handlers.compilation import Compilation
from handlers.indicators import Total
from handlers.spreadsheet_text import write_text

HEADER_ROW = 5
FIRST_COLUMN = 4  # after No., name and department
YES_NO_FORMAT = '"{yes}";"{yes}";"{no}"'


@dataclass(frozen=True)
class AppendixLayout:
    """Where the appendix put things: rows of the people and of the two total rows, and the
    column of each indicator."""

    first_row: int
    last_row: int
    total_row: int
    values_row: int
    columns: dict[str, str]


def percent_format(decimals: int) -> str:
    """An Excel percent format with `decimals` places ("0.0%")."""
    return f"0.{'0' * decimals}%" if decimals else "0%"


def write_appendix(compilation: Compilation, target: Path, lang: str) -> AppendixLayout:
    """Write the appendix of `compilation` to `target` (folders created) in `lang`."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = t("compile.xlsx.sheet", lang)[:31]
    layout = _layout(compilation)
    _title(sheet, compilation, lang)
    _header(sheet, compilation, lang)
    _people(sheet, compilation, layout, lang)
    _total_rows(sheet, compilation, layout, lang)
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 26
    sheet.column_dimensions["C"].width = 24
    for letter in layout.columns.values():
        sheet.column_dimensions[letter].width = 18
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=FIRST_COLUMN)
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return layout


def _layout(compilation: Compilation) -> AppendixLayout:
    first = HEADER_ROW + 1
    last = first + len(compilation.submitters) - 1
    columns = {
        indicator.code: get_column_letter(FIRST_COLUMN + index)
        for index, indicator in enumerate(compilation.indicators)
    }
    return AppendixLayout(first, last, last + 1, last + 2, columns)


def _title(sheet: Worksheet, compilation: Compilation, lang: str) -> None:
    title = t("compile.xlsx.title", lang, title=compilation.title)
    write_text(sheet["A1"], title).font = Font(bold=True, size=13)
    subtitle = t(
        "compile.xlsx.subtitle",
        lang,
        unit=compilation.unit_name,
        at=format_datetime(compilation.as_of, compilation.tz),
    )
    write_text(sheet["A2"], subtitle).font = Font(italic=True)
    sheet["A3"] = t(
        "compile.window",
        lang,
        start=format_date(compilation.window_start),
        end=format_date(compilation.window_end),
    )


def _header(sheet: Worksheet, compilation: Compilation, lang: str) -> None:
    labels = [t(f"compile.xlsx.{key}", lang) for key in ("number", "name", "department")]
    labels += [_column_label(i, lang) for i in compilation.indicators]
    for column, label in enumerate(labels, start=1):
        cell = write_text(sheet.cell(row=HEADER_ROW, column=column), label)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")


def _column_label(indicator: Indicator, lang: str) -> str:
    if indicator.unit and indicator.unit != "%":
        return t("compile.xlsx.column", lang, label=indicator.label, unit=indicator.unit)
    return indicator.label


def _number(value: Decimal) -> int | Decimal:
    # Whole numbers stay integers in the file, so "376" does not read "376.0" anywhere.
    return int(value) if value == value.to_integral_value() else value


def _people(sheet: Worksheet, compilation: Compilation, layout: AppendixLayout, lang: str) -> None:
    yes_no = YES_NO_FORMAT.format(yes=t("compile.xlsx.yes", lang), no=t("compile.xlsx.no", lang))
    for offset, person in enumerate(compilation.submitters):
        row = layout.first_row + offset
        sheet.cell(row=row, column=1, value=offset + 1)
        write_text(sheet.cell(row=row, column=2), person.name)
        write_text(sheet.cell(row=row, column=3), person.department)
        for indicator in compilation.indicators:
            cell = sheet[f"{layout.columns[indicator.code]}{row}"]
            if indicator.combine == RATIO:
                parts = (indicator.numerator, indicator.denominator)
                if all(part in person.figures for part in parts):
                    cell.value = _ratio_formula(layout, indicator, row)
                    cell.number_format = percent_format(indicator.decimals)
                continue
            figure = person.figures.get(indicator.code)
            if figure is None:
                continue
            if indicator.combine == TEXT:
                # A person's own words: text, even when they start with "=".
                if figure.text is not None:
                    write_text(cell, figure.text)
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            elif indicator.combine == COUNT:
                # 1 or 0, shown Có/Không: the total's SUM is the count of yeses.
                cell.value = 1 if figure.number else 0
                cell.number_format = yes_no
            elif figure.number is not None:
                cell.value = _number(figure.number)


def _ratio_formula(layout: AppendixLayout, indicator: Indicator, row: int) -> str:
    assert indicator.numerator is not None and indicator.denominator is not None
    top = f"{layout.columns[indicator.numerator]}{row}"
    bottom = f"{layout.columns[indicator.denominator]}{row}"
    return f"=IF({bottom}=0,0,{top}/{bottom})"


def _total_rows(
    sheet: Worksheet, compilation: Compilation, layout: AppendixLayout, lang: str
) -> None:
    total_row, values_row = layout.total_row, layout.values_row
    sheet.cell(row=total_row, column=2, value=t("compile.xlsx.total", lang)).font = Font(bold=True)
    sheet.cell(row=values_row, column=2, value=t("compile.xlsx.computed", lang))
    sheet.cell(row=values_row, column=2).font = Font(italic=True)
    for indicator in compilation.indicators:
        letter = layout.columns[indicator.code]
        total = compilation.totals[indicator.code]
        formula, value = sheet[f"{letter}{total_row}"], sheet[f"{letter}{values_row}"]
        formula.font = Font(bold=True)
        if indicator.combine == TEXT:
            continue
        if indicator.combine == RATIO:
            formula.value = _ratio_formula(layout, indicator, total_row)
            value.value = _ratio_value(total)
            formula.number_format = value.number_format = percent_format(indicator.decimals)
            continue
        if compilation.submitters:
            formula.value = f"=SUM({letter}{layout.first_row}:{letter}{layout.last_row})"
        else:
            formula.value = 0
        value.value = _number(total.number or Decimal(0))


def _ratio_value(total: Total) -> float:
    assert total.numerator is not None and total.denominator is not None
    if total.denominator <= 0:
        return 0.0
    return float(total.numerator / total.denominator)
