"""How far each unit's reminder sweep has looked (`SweepMark`): read, or set outright."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SweepMark, Unit


async def swept_until(session: AsyncSession, unit_id: int) -> datetime | None:
    """The end of what the unit's sweep has covered; None before its first sweep."""
    mark = await session.get(SweepMark, unit_id)
    return mark.swept_until if mark else None


async def set_sweep_marks(session: AsyncSession, at: datetime) -> None:
    """Put every unit's mark at `at`, backward as well as forward; the caller commits.

    For a simulated clock that jumps: what lies between the old mark and `at` is never swept.
    """
    for unit_id in list(await session.scalars(select(Unit.id))):
        mark = await session.get(SweepMark, unit_id)
        if mark is None:
            session.add(SweepMark(unit_id=unit_id, swept_until=at))
        else:
            mark.swept_until = at
