"""The database's part of `/healthz`: is it there, how far the sweep got, how much waits to go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Reminder, ReminderStatus, SweepMark, Unit


@dataclass(frozen=True)
class DatabaseHealth:
    """What the database says about the bot's background work at one instant."""

    # The newest of the units' sweep marks; None before any sweep.
    swept_until: datetime | None
    # Outbox rows due by now and not delivered yet.
    outbox_backlog: int
    # Whether there is anything to sweep at all (a fresh install has no unit).
    has_units: bool


async def ping(session: AsyncSession) -> None:
    """A round trip to the database; raises when it cannot be reached."""
    await session.execute(select(1))


async def newest_sweep(session: AsyncSession) -> datetime | None:
    """The furthest any unit's reminder sweep has looked; None before the first sweep."""
    newest: datetime | None = await session.scalar(select(func.max(SweepMark.swept_until)))
    return newest


async def outbox_backlog(session: AsyncSession, now: datetime) -> int:
    """How many outbox rows are due by `now` and still pending."""
    count = await session.scalar(
        select(func.count())
        .select_from(Reminder)
        .where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)
    )
    return int(count or 0)


async def has_units(session: AsyncSession) -> bool:
    """Whether any unit exists, i.e. whether a sweep has anything to do."""
    return await session.scalar(select(Unit.id).limit(1)) is not None


async def database_health(session: AsyncSession, now: datetime) -> DatabaseHealth:
    """Everything `/healthz` reads from the database, in one session."""
    await ping(session)
    return DatabaseHealth(
        swept_until=await newest_sweep(session),
        outbox_backlog=await outbox_backlog(session, now),
        has_units=await has_units(session),
    )
