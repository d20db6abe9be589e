"""Reading a report's figures from its filled-in appendix (.xlsx), cell by cell.

Every asked indicator with a `cell` ("Phụ lục!C5", or "C5" on the first sheet) must be readable:
a sum holds a number (Vietnamese text such as "1.234" or "12,5" too), a count yes/no or 1/0, a
text words (an empty text cell gives no figure). A formula's value as Excel last computed it is
read (data_only). What cannot be read is a `Problem` naming the cell, worded by `problem_text`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from db.figures import COUNT, SUM, TEXT, Figure, Indicator
from db.files import FileStore
from db.models import StoredFile
from db.names import fold_name
from handlers.catalog import t
from handlers.free_text import shorten
from handlers.indicators import NotANumber, parse_number, parse_yes_no
from handlers.presenting import h

log = logging.getLogger(__name__)

APPENDIX_EXTENSION = ".xlsx"

# What went wrong, one catalog message each (figures.<kind>).
UNREADABLE, NO_SHEET, EMPTY, NOT_NUMBER, NOT_YES_NO, NEGATIVE = (
    "unreadable",
    "no_sheet",
    "cell_empty",
    "cell_not_number",
    "cell_not_yes_no",
    "cell_negative",
)


@dataclass(frozen=True)
class Problem:
    """Why a figure could not be read: the file, and the sheet, cell and value concerned."""

    kind: str
    file: str
    sheet: str = ""
    cell: str = ""
    value: str = ""


@dataclass(frozen=True)
class AppendixReading:
    """The figures one workbook holds, or what kept them from being read."""

    file_name: str
    figures: dict[str, Figure] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def cell_indicators(indicators: Sequence[Indicator]) -> list[Indicator]:
    """The asked indicators the appendix holds."""
    return [i for i in indicators if i.asked and i.cell]


def is_appendix_name(name: str) -> bool:
    return PurePosixPath(name.lower()).suffix == APPENDIX_EXTENSION


def split_cell(reference: str) -> tuple[str | None, str]:
    """ "Phụ lục!C5" → ("Phụ lục", "C5"); "C5" → (None, "C5"); "'Phụ lục'!$C$5" too."""
    sheet, bang, cell = reference.strip().rpartition("!")
    name = sheet.strip()
    if len(name) >= 2 and name[0] == name[-1] == "'":
        name = name[1:-1]
    return (name if bang and name else None), cell.replace("$", "").upper()


def read_appendix(path: Path, file_name: str, indicators: Sequence[Indicator]) -> AppendixReading:
    """The figures of the asked indicators with a cell, read from the workbook at `path`."""
    wanted = cell_indicators(indicators)
    # An open file, not the path: stored files are named by their sha256, without the
    # extension openpyxl insists on for paths.
    with path.open("rb") as fh:
        try:
            workbook = load_workbook(fh, read_only=True, data_only=True)
        except Exception:
            # Whatever an upload holds, a broken workbook is a polite reply, never a failure.
            log.info("appendix %s could not be opened as a workbook", file_name, exc_info=True)
            return AppendixReading(file_name, problems=(Problem(UNREADABLE, file_name),))
        try:
            return _read_cells(workbook, file_name, wanted)
        except Exception:
            log.info("appendix %s could not be read", file_name, exc_info=True)
            return AppendixReading(file_name, problems=(Problem(UNREADABLE, file_name),))
        finally:
            workbook.close()


def _read_cells(workbook: Any, file_name: str, wanted: Sequence[Indicator]) -> AppendixReading:
    figures: dict[str, Figure] = {}
    problems: list[Problem] = []
    missing_sheets: set[str] = set()
    for indicator in wanted:
        assert indicator.cell is not None
        sheet_name, cell = split_cell(indicator.cell)
        sheet = _sheet(workbook, sheet_name)
        if sheet is None:
            if sheet_name is None:
                return AppendixReading(file_name, problems=(Problem(UNREADABLE, file_name),))
            if sheet_name not in missing_sheets:
                missing_sheets.add(sheet_name)
                problems.append(Problem(NO_SHEET, file_name, sheet_name))
            continue
        column, row = coordinate_from_string(cell)
        value = sheet.cell(row=row, column=column_index_from_string(column)).value
        read = _figure(indicator, value)
        if isinstance(read, Figure):
            figures[indicator.code] = read
        elif read is not None:
            problems.append(Problem(read, file_name, str(sheet.title), cell, _shown(value)))
    return AppendixReading(file_name, figures, tuple(problems))


def _sheet(workbook: Any, name: str | None) -> Any | None:
    sheets = list(workbook.worksheets)
    if name is None:
        return sheets[0] if sheets else None
    exact = [s for s in sheets if s.title == name]
    # Sheet names typed on another keyboard may differ in accents' Unicode form or case.
    folded = [s for s in sheets if fold_name(s.title) == fold_name(name)]
    found = exact or folded
    return found[0] if found else None


def _figure(indicator: Indicator, value: object) -> Figure | str | None:
    """The cell's figure, or the kind of problem it has; None for an empty text cell."""
    blank = value is None or (isinstance(value, str) and not value.strip())
    if indicator.combine == TEXT:
        return None if blank else Figure(text=str(value).strip())
    if blank:
        return EMPTY
    if indicator.combine == COUNT:
        return _count(value)
    if indicator.combine == SUM:
        return _number(value)
    return None


def _number(value: object) -> Figure | str:
    if isinstance(value, bool):
        return NOT_NUMBER
    if isinstance(value, int | float | Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            return NOT_NUMBER
        # repr of a float is its shortest exact spelling: 12.5 stays 12.5, not 12.4999…
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return NEGATIVE if number < 0 else Figure(number=number)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("-"):
            return NEGATIVE
        try:
            return Figure(number=parse_number(text))
        except NotANumber:
            return NOT_NUMBER
    return NOT_NUMBER


def _count(value: object) -> Figure | str:
    if isinstance(value, bool):
        return Figure(number=Decimal(int(value)))
    if isinstance(value, int | float) and value in (0, 1):
        return Figure(number=Decimal(int(value)))
    if isinstance(value, str):
        try:
            return Figure(number=Decimal(int(parse_yes_no(value))))
        except NotANumber:
            return NOT_YES_NO
    return NOT_YES_NO


def _shown(value: object) -> str:
    text = "" if value is None else str(value).strip()
    return shorten(text, 40)


async def read_submitted(
    files: Sequence[StoredFile], store: FileStore, indicators: Sequence[Indicator]
) -> AppendixReading | None:
    """The appendix among the handed-in `files`: of the .xlsx files, the one read with the
    fewest problems; None when there is none or no indicator has a cell."""
    if not cell_indicators(indicators):
        return None
    workbooks = [f for f in files if is_appendix_name(f.original_name)]
    readings = []
    for f in workbooks:
        # Unzipping and parsing a large workbook is not for the event loop.
        reading = await asyncio.to_thread(
            read_appendix, store.path_of(f.path), f.original_name, indicators
        )
        if reading.ok:
            return reading
        readings.append(reading)
    return min(readings, key=lambda r: len(r.problems)) if readings else None


def problem_text(problem: Problem, lang: str) -> str:
    """One problem as a line of the receipt: "Ô C6 của trang Phụ lục: 'abc' không phải là số"."""
    return t(
        f"figures.{problem.kind}",
        lang,
        file=h(problem.file),
        sheet=h(problem.sheet),
        cell=h(problem.cell),
        value=h(problem.value),
    )
