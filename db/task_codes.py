"""The order of task codes: "2.9" before "2.10", "2.10" before "10.1".

Codes are the plan's own numbering (the seed's 2.1 … 2.9), typed by people: numbers compare
as numbers, letters as case-folded text, and the punctuation between them ("2.1", "2-1",
"2 1") does not matter. No SQL collation does this on both SQLite and PostgreSQL, so lists of
tasks are sorted in Python with `code_order` (a unit has tens of tasks, not thousands).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TypeAlias

# A run of digits, or a run of letters (Vietnamese ones included); anything else separates.
_PART = re.compile(r"\d+|[^\W\d_]+")

# One part of a code: numbers (0, value, "") before words (1, 0, text).
CodePart: TypeAlias = tuple[int, int, str]


def code_parts(code: str) -> tuple[CodePart, ...]:
    """The parts of `code` as they compare: "2.10a" → (0, 2, ""), (0, 10, ""), (1, 0, "a")."""
    folded = unicodedata.normalize("NFC", code).casefold()
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in _PART.findall(folded)
    )


def code_order(code: str) -> tuple[tuple[CodePart, ...], str]:
    """Sort key of task codes: by their parts, a prefix first ("2.1" before "2.1.1", "2.1a");
    the code itself breaks ties ("2.01" and "2.1") so the order is total."""
    return (code_parts(code), code)


# "2,1": a task code typed with the decimal comma Vietnamese uses for numbers.
_DECIMAL_COMMA = re.compile(r"\d+(?:,\d+)+")


def typed_code(text: str) -> str:
    """A task code as typed, with a decimal comma read as the plan's dot: "2,1" → "2.1"."""
    code = text.strip()
    if _DECIMAL_COMMA.fullmatch(code):
        return code.replace(",", ".")
    return code
