"""Fan-out: 10,000 reminders through the dispatcher to the fake Bot API under Telegram's limits.

The outbox is filled by the real sweep (10,000 officials owe the Q1 report, due-day reminder
at 08:00), then `scheduler.dispatch.Dispatcher.run` sends it through `TelegramTransport` with a
`Pacer(RateLimits().scaled(scale))` to a `FakeBotApi` enforcing 1/s per chat, 30/s overall,
20/min per group, all × SCALE. Reported: achieved rate (first to last accepted sendMessage, on
the fake's clock) as a fraction of the scaled overall limit, 429 answers, chats that got more
than one message (duplicates) or none (lost), and peak RSS of this process (getrusage
ru_maxrss; the fake server runs in the same process and is included).

``.venv/bin/python bench/fanout.py --reminders 10000 --backend sqlite``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select
from telegram.request import HTTPXRequest

from bench.common import current_rss_mb, peak_rss_mb, scratch_database, table
from bench.datagen import NOW, Scale, fresh
from bot.telegram_transport import TelegramTransport
from db.clock import FixedClock
from db.files import FileStore
from db.models import Reminder, ReminderStatus, SweepMark
from db.session import make_engine, make_sessionmaker
from scheduler.dispatch import Dispatcher
from scheduler.pacing import Pacer, RateLimits
from scheduler.service import ReminderSweeper, outbox_renderer
from tests.fakebotapi import FakeBotApi

SCALE = 10


@dataclass
class FanoutFigures:
    """One fan-out run."""

    backend: str
    pool: int
    reminders: int
    sent: int
    seconds: float
    rate: float
    limit: float
    too_many: int
    duplicates: int
    lost: int
    rss_before_mb: float
    peak_rss_mb: float

    @property
    def fraction(self) -> float:
        return self.rate / self.limit


async def measure(
    backend: str, reminders: int, pool: int, limit_s: float, scale: float = SCALE
) -> FanoutFigures:
    """Fill the outbox with `reminders` rows, dispatch them all, count what arrived."""
    async with scratch_database(backend) as url:
        made = await fresh(url, Scale(reminders, range(2024, 2025)))
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        clock = FixedClock(NOW)
        async with sessions() as session:
            session.add(SweepMark(unit_id=made.unit_id, swept_until=NOW - timedelta(minutes=1)))
            await session.commit()
        await ReminderSweeper(sessions, clock).sweep()
        async with sessions() as session:
            queued = int(await session.scalar(select(func.count()).select_from(Reminder)) or 0)
        with tempfile.TemporaryDirectory(prefix="nvbench-") as tmp:
            async with FakeBotApi() as server:
                for chat in made.chats.values():
                    server.add_user(chat, "Cán bộ")
                server.enforce_limits(
                    per_chat_per_second=1,
                    global_per_second=30,
                    group_per_minute=20,
                    scale=scale,
                )
                request = HTTPXRequest(connection_pool_size=pool)
                bot = server.make_bot()
                bot = type(bot)(
                    server.token,
                    base_url=server.base_url,
                    base_file_url=server.base_file_url,
                    request=request,
                )
                async with bot:
                    dispatcher = Dispatcher(
                        sessions,
                        [TelegramTransport(bot, Pacer(RateLimits().scaled(scale)))],
                        outbox_renderer(sessions, FileStore(Path(tmp))),
                        clock=clock,
                    )
                    rss_before = current_rss_mb()
                    stop = asyncio.Event()
                    running = asyncio.create_task(dispatcher.run(stop, idle=0.05))
                    started = time.monotonic()
                    while time.monotonic() - started < limit_s:
                        await asyncio.sleep(0.2)
                        async with sessions() as session:
                            left = await session.scalar(
                                select(func.count())
                                .select_from(Reminder)
                                .where(Reminder.status == ReminderStatus.PENDING)
                            )
                        if not left:
                            break
                    stop.set()
                    await running
                ok = [r for r in server.requests_for("sendMessage") if r.ok]
                too_many = sum(1 for r in server.requests if r.status == 429)
                per_chat = Counter(int(r.params["chat_id"]) for r in ok)
        await engine.dispose()
    seconds = ok[-1].at - ok[0].at if len(ok) > 1 else 0.0
    rate = (len(ok) - 1) / seconds if seconds else 0.0
    return FanoutFigures(
        backend,
        pool,
        queued,
        len(ok),
        seconds,
        rate,
        30.0 * scale,
        too_many,
        sum(1 for n in per_chat.values() if n > 1),
        sum(1 for chat in made.chats.values() if chat not in per_chat),
        rss_before,
        peak_rss_mb(),
    )


def report(figures: list[FanoutFigures]) -> str:
    """The figures as a table."""
    return table(
        [
            "db",
            "pool",
            "queued",
            "sent",
            "s",
            "msg/s",
            "limit/s",
            "% of limit",
            "429s",
            "dupes",
            "lost",
            "RSS before MB",
            "peak RSS MB",
        ],
        [
            (
                f.backend,
                f.pool,
                f.reminders,
                f.sent,
                f.seconds,
                f.rate,
                f.limit,
                f.fraction * 100,
                f.too_many,
                f.duplicates,
                f.lost,
                f.rss_before_mb,
                f.peak_rss_mb,
            )
            for f in figures
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--pool", type=int, default=1, help="PTB connection pool (a bare Bot has 1)"
    )
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--scale", type=float, default=SCALE, help="limits × this (10: 300/s)")
    args = parser.parse_args()
    figures = asyncio.run(
        measure(args.backend, args.reminders, args.pool, args.timeout, args.scale)
    )
    print(report([figures]))


if __name__ == "__main__":
    main()
