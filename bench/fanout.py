"""Fan-out: 10,000 reminders through the dispatcher to the fake Bot API under Telegram's limits.

The outbox is filled by the real sweep (N officials owe the Q1 report, due-day reminder at
08:00). Then a separate process, built like `python -m bot reminders worker` (the production
`telegram_bot()`, `TelegramTransport`, `Pacer(RateLimits().scaled(scale))`, `Dispatcher` with
the production renderer), sends the outbox to a `FakeBotApi` in this process, which enforces
1/s per chat, 30/s overall and 20/min per group, all × SCALE (windows SCALE times shorter).

`--items N` gives every official N reminders in the 08:00 slot instead of one (copies of the
due-day row under other kinds, as when several reports and tasks fall due together): the
dispatcher bundles them, so each official still gets ONE message (issue 14), and the figures
show rows (person-reminders) against messages.

Reported: the achieved rate (first to last accepted sendMessage, on the fake's clock) as a
fraction of the scaled overall limit, 429 answers, chats that got a message more than once
(duplicates) or never (lost), the dispatcher's CPU per message, and the dispatcher process's
RSS before sending and at its peak (VmHWM of that process alone: the fake server,
its request log and the data generator live in this one).

``.venv/bin/python bench/fanout.py --reminders 10000 --backend sqlite --repeat 3``
``.venv/bin/python bench/fanout.py --reminders 2500 --items 4 --scale 1``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.common import ROOT, current_rss_mb, median, peak_rss_mb, scratch_database, table
from bench.datagen import NOW, Scale, fresh
from bot.settings import Settings
from bot.telegram_channel import telegram_bot
from bot.telegram_transport import TelegramTransport
from db.clock import FixedClock, RunningClock
from db.files import FileStore
from db.models import Reminder, ReminderStatus, SweepMark
from db.session import make_engine, make_sessionmaker
from handlers.reminder_messages import OutboxRenderer
from handlers.types import Reply
from scheduler.dispatch import Dispatcher
from scheduler.pacing import Pacer, RateLimits
from scheduler.service import ReminderSweeper
from tests.fakebotapi import FakeBotApi

SCALE = 10
SCRIPT = Path(__file__).resolve()


@dataclass
class FanoutFigures:
    """One fan-out run."""

    backend: str
    reminders: int
    rows_sent: int
    sent: int
    seconds: float
    rate: float
    limit: float
    too_many: int
    duplicates: int
    lost: int
    cpu_ms_per_message: float
    rss_before_mb: float
    peak_rss_mb: float

    @property
    def fraction(self) -> float:
        return self.rate / self.limit


async def measure(
    backend: str, reminders: int, limit_s: float = 600.0, scale: float = SCALE, items: int = 1
) -> FanoutFigures:
    """Fill the outbox with `reminders` officials' rows (`items` each, one slot), dispatch
    them from a worker process, count."""
    async with scratch_database(backend) as url:
        made = await fresh(url, Scale(reminders, range(2024, 2025)))
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        async with sessions() as session:
            session.add(SweepMark(unit_id=made.unit_id, swept_until=NOW - timedelta(minutes=1)))
            await session.commit()
        await ReminderSweeper(sessions, FixedClock(NOW)).sweep()
        if items > 1:
            await _more_items(sessions, items)
        async with sessions() as session:
            queued = int(await session.scalar(select(func.count()).select_from(Reminder)) or 0)
        await engine.dispose()
        async with FakeBotApi() as server:
            for chat in made.chats.values():
                server.add_user(chat, "Cán bộ")
            server.enforce_limits(
                per_chat_per_second=1, global_per_second=30, group_per_minute=20, scale=scale
            )
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                str(SCRIPT),
                "--worker",
                "--scale",
                str(scale),
                "--timeout",
                str(limit_s),
                cwd=ROOT,
                env={
                    **os.environ,
                    "DATABASE_URL": url,
                    "TELEGRAM_TOKEN": server.token,
                    "TELEGRAM_API_URL": server.url,
                },
                stdout=asyncio.subprocess.PIPE,
            )
            out, _ = await worker.communicate()
            if worker.returncode != 0:
                raise RuntimeError(f"the worker failed with exit code {worker.returncode}")
            figures = json.loads(out.decode().strip().splitlines()[-1])
            async with make_sessionmaker(make_engine(url))() as session:
                rows_sent = int(
                    await session.scalar(
                        select(func.count())
                        .select_from(Reminder)
                        .where(Reminder.status == ReminderStatus.SENT, Reminder.sent_at >= NOW)
                    )
                    or 0
                )
            ok = [r for r in server.requests_for("sendMessage") if r.ok]
            too_many = sum(1 for r in server.requests if r.status == 429)
            per_chat = Counter(int(r.params["chat_id"]) for r in ok)
    seconds = ok[-1].at - ok[0].at if len(ok) > 1 else 0.0
    rate = (len(ok) - 1) / seconds if seconds else 0.0
    return FanoutFigures(
        backend,
        queued,
        rows_sent,
        len(ok),
        seconds,
        rate,
        30.0 * scale,
        too_many,
        sum(1 for n in per_chat.values() if n > 1),
        sum(1 for chat in made.chats.values() if chat not in per_chat),
        figures["cpu_s"] / max(1, len(ok)) * 1000,
        figures["rss_before_mb"],
        figures["peak_rss_mb"],
    )


async def _more_items(sessions: async_sessionmaker[AsyncSession], items: int) -> None:
    """Give every queued row `items` - 1 companions of the same slot (other kinds)."""
    async with sessions() as session:
        queued = list(await session.scalars(select(Reminder)))
        for row in queued:
            for n in range(1, items):
                kind = f"before_{n + 20}"
                session.add(
                    Reminder(
                        unit_id=row.unit_id,
                        idempotency_key=f"{row.idempotency_key}:{kind}",
                        recipient_id=row.recipient_id,
                        subject_type=row.subject_type,
                        subject_id=row.subject_id,
                        kind=kind,
                        slot_at=row.slot_at,
                        due_at=row.due_at,
                        payload=dict(row.payload),
                    )
                )
        await session.commit()


async def dispatch_all(scale: float, limit_s: float) -> dict[str, float]:
    """The worker process: send the whole outbox like `reminders worker`, then report."""
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    with tempfile.TemporaryDirectory(prefix="nvbench-") as tmp:
        async with telegram_bot(settings) as bot:
            renderer = OutboxRenderer(sessions, FileStore(Path(tmp)))
            dispatcher = Dispatcher(
                sessions,
                [TelegramTransport(bot, Pacer(RateLimits().scaled(scale)))],
                renderer,
                bundle=renderer.bundle,
                clock=RunningClock(NOW),
            )
            figures = await drain(dispatcher, sessions, limit_s)
    await engine.dispose()
    return figures


async def drain(
    dispatcher: Dispatcher[Reply], sessions: async_sessionmaker[AsyncSession], limit_s: float
) -> dict[str, float]:
    """Run the dispatcher as `reminders worker` runs it until the outbox has nothing pending
    (or `limit_s` passed); its CPU time and this process's memory, for the report."""
    rss_before = current_rss_mb()
    cpu_before = time.process_time()
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
    return {
        "cpu_s": time.process_time() - cpu_before,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
    }


def report(figures: list[FanoutFigures]) -> str:
    """The figures as a table."""
    return table(
        [
            "db",
            "rows queued",
            "rows sent",
            "messages",
            "rows/msg",
            "s",
            "msg/s",
            "limit/s",
            "% of limit",
            "429s",
            "dupes",
            "lost",
            "CPU ms/msg",
            "RSS before MB",
            "peak RSS MB",
        ],
        [
            (
                f.backend,
                f.reminders,
                f.rows_sent,
                f.sent,
                f.rows_sent / max(1, f.sent),
                f.seconds,
                f.rate,
                f.limit,
                f.fraction * 100,
                f.too_many,
                f.duplicates,
                f.lost,
                f.cpu_ms_per_message,
                f.rss_before_mb,
                f.peak_rss_mb,
            )
            for f in figures
        ],
    )


def summary(figures: list[FanoutFigures]) -> str:
    """Medians over repeated runs."""
    return (
        f"median of {len(figures)}: {median([f.fraction * 100 for f in figures]):.1f} % of the "
        f"limit, peak RSS {median([f.peak_rss_mb for f in figures]):.1f} MB, "
        f"{sum(f.too_many for f in figures)} × 429, {sum(f.duplicates for f in figures)} "
        f"duplicates, {sum(f.lost for f in figures)} lost in all"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--scale", type=float, default=SCALE, help="limits × this (10: 300/s)")
    parser.add_argument("--items", type=int, default=1, help="reminders per official at 08:00")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(dispatch_all(args.scale, args.timeout))))
        return
    figures = [
        asyncio.run(measure(args.backend, args.reminders, args.timeout, args.scale, args.items))
        for _ in range(args.repeat)
    ]
    print(report(figures))
    if len(figures) > 1:
        print(summary(figures))


if __name__ == "__main__":
    main()
