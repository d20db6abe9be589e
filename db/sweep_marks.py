"""How far each unit's reminder sweep has looked (`SweepMark`): read, advanced, or set."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SweepMark, Unit


async def swept_until(session: AsyncSession, unit_id: int) -> datetime | None:
    """The end of what the unit's sweep has covered; None before its first sweep."""
    mark = await session.get(SweepMark, unit_id)
    return mark.swept_until if mark else None


# Ids per statement when many marks move at once: well under the bound parameters SQLite
# (32,766) and asyncpg (32,767) take, so up to this many units an idle minute is one UPDATE.
MARKS_PER_STATEMENT = 10_000


async def all_swept_until(session: AsyncSession) -> dict[int, datetime]:
    """Every unit's mark by unit id, in one query; a unit never swept has none."""
    rows = await session.execute(select(SweepMark.unit_id, SweepMark.swept_until))
    return {unit_id: swept for unit_id, swept in rows}


async def advance_many(
    session: AsyncSession, now: datetime, *, existing: Sequence[int], new: Sequence[int]
) -> None:
    """Move the marks of many units forward to `now` in a statement per 10,000 units:
    `existing` have a mark, `new` get their first (as `advance` does for one unit)."""
    for start in range(0, len(existing), MARKS_PER_STATEMENT):
        await session.execute(
            update(SweepMark)
            .where(
                SweepMark.unit_id.in_(existing[start : start + MARKS_PER_STATEMENT]),
                SweepMark.swept_until < now,
            )
            .values(swept_until=now)
            .execution_options(synchronize_session=False)
        )
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for start in range(0, len(new), MARKS_PER_STATEMENT):
        await session.execute(
            insert(SweepMark)
            .values(
                [
                    {"unit_id": u, "swept_until": now}
                    for u in new[start : start + MARKS_PER_STATEMENT]
                ]
            )
            .on_conflict_do_nothing(index_elements=[SweepMark.unit_id])
        )


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
