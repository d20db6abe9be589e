"""The reminder service a running bot starts: a sweep every minute, a dispatcher always on.

APScheduler (an AsyncIOScheduler beside the application) only ticks: it calls `sweep` once
a minute.
Nothing is scheduled per reminder and nothing is pickled: the database holds every reminder,
so a restart, a missed tick or a second process changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import Clock
from scheduler.delivery import Transport
from scheduler.dispatch import Bundler, Dispatcher, Renderer
from scheduler.sweep import SweepReport, sweep_all

log = logging.getLogger(__name__)

SWEEP_EVERY_SECONDS = 60

Message = TypeVar("Message")


class ReminderSweeper:
    """Sweeps every unit into the outbox, one transaction per tick."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock

    async def sweep(self, now: datetime | None = None) -> list[SweepReport]:
        """Enqueue what fell due since the last sweep, up to `now` (the clock by default)."""
        at = now or self.clock.now()
        async with self.sessionmaker() as session, session.begin():
            return await sweep_all(session, at)


@asynccontextmanager
async def reminders_running(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    transports: Sequence[Transport[Message]],
    render: Renderer[Message],
    *,
    bundle: Bundler[Message] | None = None,
    lease: timedelta = timedelta(minutes=2),
) -> AsyncIterator[Dispatcher[Message]]:
    """Sweep once a minute (APScheduler) and dispatch continuously until the block exits;
    `render` turns claimed rows into the messages the `transports` send, `bundle` makes one
    message of one person's messages of one slot."""
    sweeper = ReminderSweeper(sessionmaker, clock)
    dispatcher = Dispatcher(
        sessionmaker, transports, render, bundle=bundle, clock=clock, lease=lease
    )
    ticker = AsyncIOScheduler(timezone=UTC)
    # One job that only ticks; max_instances=1 skips a tick while a slow sweep still runs.
    ticker.add_job(
        _sweep_logged,
        IntervalTrigger(seconds=SWEEP_EVERY_SECONDS),
        args=[sweeper],
        id="reminder-sweep",
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
    )
    ticker.start()
    stop = asyncio.Event()
    dispatching = asyncio.create_task(dispatcher.run(stop))
    try:
        yield dispatcher
    finally:
        ticker.shutdown(wait=False)
        stop.set()
        await dispatching


async def _sweep_logged(sweeper: ReminderSweeper) -> None:
    try:
        await sweeper.sweep()
    except Exception:
        # The next tick tries again from the same mark: nothing is lost by a failed sweep.
        log.exception("reminder sweep failed")
