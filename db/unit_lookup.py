"""Which unit a command is about: the one named by its code, or the only one there is.

Commands run against one unit (`--unit CODE`); a database holding a single commune needs no
code. The errors carry what a caller needs to say what went wrong in its own words: the code
asked for and the codes that exist.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Unit


class UnitLookupError(LookupError):
    """No single unit answers: `code` is what was asked for, `known` the codes there are."""

    def __init__(self, code: str | None, known: Sequence[str]) -> None:
        self.code = code
        self.known = tuple(known)
        super().__init__(self._describe())

    def _describe(self) -> str:
        return f"unit {self.code!r} not among {', '.join(self.known) or 'none'}"


class UnitNotFound(UnitLookupError):
    """No unit has the code asked for; with no code, there is no unit at all (`known` empty)."""

    def _describe(self) -> str:
        if self.code is None:
            return "no unit: load a plan first"
        return f"no unit {self.code!r} (units: {', '.join(self.known) or 'none'})"


class UnitAmbiguous(UnitLookupError):
    """No code was given and there are several units: `known` lists them to choose from."""

    def _describe(self) -> str:
        return f"several units ({', '.join(self.known)}): choose one"


async def find_unit(session: AsyncSession, code: str | None) -> Unit:
    """The unit whose code is `code` (exact match); with no code (None or ""), the only unit.

    Raises `UnitNotFound` or `UnitAmbiguous`.
    """
    if code:
        unit = await session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            raise UnitNotFound(code, await unit_codes(session))
        return unit
    # Two rows are enough to tell "the only one" from "several".
    units = list(await session.scalars(select(Unit).order_by(Unit.code).limit(2)))
    if not units:
        raise UnitNotFound(None, ())
    if len(units) > 1:
        raise UnitAmbiguous(None, await unit_codes(session))
    return units[0]


async def unit_codes(session: AsyncSession) -> list[str]:
    """Every unit's code, in order."""
    return list(await session.scalars(select(Unit.code).order_by(Unit.code)))
