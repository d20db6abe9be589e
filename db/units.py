"""A unit's people and size, as the demo reads them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Obligation, Official, Task, Unit


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
