"""Units: which one a command is about, every unit, and a unit's people and size.

Commands run against one unit (`--unit CODE`); a database holding a single commune needs no
code. `find_unit`'s errors carry what a caller needs to say what went wrong in its own words:
the code asked for and the codes that exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Obligation, Official, Task, Unit


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


async def all_units(session: AsyncSession) -> list[Unit]:
    """Every unit, by code."""
    return list(await session.scalars(select(Unit).order_by(Unit.code)))


@dataclass(frozen=True)
class UnitSize:
    """How many active officials, tasks and reports a unit has."""

    officials: int
    tasks: int
    reports: int


async def first_unit(session: AsyncSession) -> Unit | None:
    """The unit created first, or None when there is none."""
    return await session.scalar(select(Unit).order_by(Unit.id).limit(1))


async def officials_of(
    session: AsyncSession, unit_id: int, *, active_only: bool = False
) -> list[Official]:
    """The unit's officials (only the active ones when asked), in the order they were added."""
    query = select(Official).where(Official.unit_id == unit_id).order_by(Official.id)
    if active_only:
        query = query.where(Official.active.is_(True))
    return list(await session.scalars(query))


async def unit_size(session: AsyncSession, unit_id: int) -> UnitSize:
    """Active officials, tasks and reports of the unit."""
    officials = await session.scalar(
        select(func.count(Official.id)).where(
            Official.unit_id == unit_id, Official.active.is_(True)
        )
    )
    tasks = await session.scalar(
        select(func.count(Task.id)).where(Task.unit_id == unit_id, Task.active.is_(True))
    )
    reports = await session.scalar(
        select(func.count(Obligation.id)).where(
            Obligation.unit_id == unit_id, Obligation.active.is_(True)
        )
    )
    return UnitSize(officials or 0, tasks or 0, reports or 0)
