"""Choices as numbered lines, for channels without buttons, and reading a typed answer.

`1. Hoàn thành` / `2. Đang thực hiện` …: the person answers with the number or with the
choice's words, with or without accents and in any case (`hoan thanh`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from db.names import fold_name
from handlers.types import Choice

_NUMBER = re.compile(r"\s*(\d{1,3})\s*[.)]?\s*")


def flat_choices(rows: Sequence[Sequence[Choice]]) -> list[Choice]:
    """The choices of every row, in reading order: the order they are numbered in."""
    return [choice for row in rows for choice in row]


def numbered_lines(rows: Sequence[Sequence[Choice]]) -> list[str]:
    """One line per choice: `1. Hoàn thành`."""
    return [f"{i}. {choice.label}" for i, choice in enumerate(flat_choices(rows), start=1)]


def typed_number(text: str) -> int | None:
    """The number a message consists of (`2`, `2.`, ` 2) `), or None."""
    match = _NUMBER.fullmatch(text)
    return int(match.group(1)) if match else None


def typed_choice(text: str, labels: Sequence[str]) -> int | None:
    """The 1-based position of the label `text` names, accents and case aside; None when it
    names none or several."""
    wanted = fold_name(text)
    if not wanted:
        return None
    hits = [i for i, label in enumerate(labels, start=1) if fold_name(label) == wanted]
    return hits[0] if len(hits) == 1 else None
