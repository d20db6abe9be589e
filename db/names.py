"""Finding an official by the name a person types, whatever the accents or Unicode form."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Official

# đ/Đ are letters of their own in Unicode, not d with a combining mark.
_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})


def fold_name(text: str) -> str:
    """Lower-case, accent-free, single-spaced form of a name, for comparing and searching."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


@dataclass(frozen=True)
class NameMatch:
    """The outcome of a name search: one official, several candidates, or none."""

    candidates: Sequence[Official]

    @property
    def official(self) -> Official | None:
        return self.candidates[0] if len(self.candidates) == 1 else None

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1


def rank_by_name(query: str, officials: Sequence[Official]) -> NameMatch:
    """Match `query` against names: the whole name, else every word of the query as a word."""
    folded = fold_name(query)
    if not folded:
        return NameMatch([])
    exact = [o for o in officials if o.name_folded == folded or fold_name(o.key) == folded]
    if exact:
        return NameMatch(exact)
    words = folded.split()
    by_words = [o for o in officials if all(w in o.name_folded.split() for w in words)]
    if by_words:
        return NameMatch(by_words)
    return NameMatch([o for o in officials if folded in o.name_folded])


async def find_officials(session: AsyncSession, unit_id: int, query: str) -> NameMatch:
    """Search the active officials of a unit by name (see `rank_by_name`)."""
    rows = await session.scalars(
        select(Official)
        .where(Official.unit_id == unit_id, Official.active.is_(True))
        .order_by(Official.full_name)
    )
    return rank_by_name(query, list(rows))
