"""Text in a spreadsheet cell as text: never a formula, never a character XML cannot hold.

A reason or a file name someone typed may start with "=" (Excel would run it as a formula,
HYPERLINK and all) or hold a control character (openpyxl refuses it with
IllegalCharacterError, and the whole workbook with it). Every writer of person-typed text
puts it through `write_text`; the formulas a writer means (totals) are assigned directly.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell.cell import Cell

from handlers.document_text import xml_safe

# Excel keeps at most this many characters in a cell; past it the file is reported damaged.
MAX_CELL_TEXT = 32_767


def safe_cell_text(text: str) -> str:
    """`text` without the characters XML 1.0 cannot hold, cut to what a cell keeps."""
    return xml_safe(text)[:MAX_CELL_TEXT]


def write_text(cell: Cell, text: str) -> Cell:
    """Put `text` in `cell` as a plain string cell (a leading "=" stays text); the cell."""
    cell.value = safe_cell_text(text)
    # openpyxl reads a str starting with "=" as a formula; "s" stores it as an inline string.
    cell.data_type = "s"
    return cell


def write_value(cell: Cell, value: Any) -> Cell:
    """Put `value` in `cell`: text through `write_text`, numbers, dates and None as they are."""
    if isinstance(value, str):
        return write_text(cell, value)
    cell.value = value
    return cell
