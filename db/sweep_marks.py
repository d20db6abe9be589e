"""How far each unit's reminder sweep has looked (`SweepMark`): read, advanced, or set."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SweepMark, Unit


async def swept_until(session: AsyncSession, unit_id: int) -> datetime | None:
    """The end of what the unit's sweep has covered; None before its first sweep."""
    mark = await session.get(SweepMark, unit_id)
    return mark.swept_until if mark else None


async def advance(session: AsyncSession, unit_id: int, now: datetime, *, exists: bool) -> None:
    """Move the unit's mark forward to `now`; `exists` says whether the unit has one yet."""
    # Only ever forward: a second process that swept further must not be pulled back.
    if exists:
        await session.execute(
            update(SweepMark)
            .where(SweepMark.unit_id == unit_id, SweepMark.swept_until < now)
            .values(swept_until=now)
            .execution_options(synchronize_session=False)
        )
        return
    # Two processes may both sweep a unit for the first time: the second insert is a no-op.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(SweepMark)
        .values(unit_id=unit_id, swept_until=now)
        .on_conflict_do_nothing(index_elements=[SweepMark.unit_id])
    )


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
