"""Text an Office file can hold: XML 1.0 has no place for most control characters.

A "\x01" or "\x0b" pasted into a reason reaches the workbook and the draft; openpyxl and
python-docx refuse the whole file for it. What a person typed is cleaned here first.
"""

from __future__ import annotations

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


def xml_safe(text: str) -> str:
    """`text` without the control characters XML 1.0 cannot hold (tabs and line breaks stay)."""
    cleaned: str = ILLEGAL_CHARACTERS_RE.sub("", text)
    return cleaned
