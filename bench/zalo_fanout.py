"""Zalo fan-out: N reminders through the dispatcher to the fake Zalo Bot API at ZALO_RATE.

Zalo publishes no rate limits, so the bot keeps its own (`ZALO_RATE` messages a second
overall, one a second to a person) and the fake enforces the same rates, answering anything
faster with `ok: false, error_code: 429` (and no retry_after, as Zalo). The outbox is filled by
the real sweep (N officials owe the Q1 report, due-day reminder at 08:00), every official's
chat is a Zalo chat, and a separate process built like `python -m bot reminders worker` with
ZALO_TOKEN (the production `ZaloApi`, `ZaloTransport`, `zalo_pacer`, `Dispatcher` and renderer)
sends the outbox to a `FakeZaloApi` in this process.

Reported as `bench/fanout.py` reports Telegram's: the achieved rate as a fraction of
ZALO_RATE, 429 answers, chats that got a message more than once (duplicates) or never (lost).

``.venv/bin/python bench/zalo_fanout.py --reminders 500 --rate 5``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, update

from bench.common import ROOT, scratch_database
from bench.datagen import NOW, Scale, fresh
from bench.fanout import FanoutFigures, drain, report, summary
from bot import wiring
from bot.settings import Settings
from bot.zalo_api import ZaloApi
from bot.zalo_transport import ZaloTransport, zalo_pacer
from db.clock import FixedClock, RunningClock
from db.files import FileStore
from db.models import Channel, ChannelIdentity, Reminder, SweepMark
from db.session import make_engine, make_sessionmaker
from handlers.reminder_messages import OutboxRenderer
from scheduler.dispatch import Dispatcher
from scheduler.service import ReminderSweeper
from tests.fakezaloapi.server import FakeZaloApi

SCRIPT = Path(__file__).resolve()


async def measure(backend: str, reminders: int, rate: int, limit_s: float) -> FanoutFigures:
    """Fill the outbox with `reminders` rows for Zalo chats, dispatch them from a worker
    process at `rate`, count what the fake received."""
    async with scratch_database(backend) as url:
        made = await fresh(url, Scale(reminders, range(2024, 2025)))
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        async with sessions() as session:
            session.add(SweepMark(unit_id=made.unit_id, swept_until=NOW - timedelta(minutes=1)))
            # Every official on Zalo: the same people, reached through the other channel.
            await session.execute(update(ChannelIdentity).values(channel=Channel.ZALO))
            await session.commit()
        await ReminderSweeper(sessions, FixedClock(NOW)).sweep()
        async with sessions() as session:
            queued = int(await session.scalar(select(func.count()).select_from(Reminder)) or 0)
        await engine.dispose()
        async with FakeZaloApi() as server:
            for chat in made.chats.values():
                # A bot writes only to people who wrote first: every official did (to register).
                server.add_user(str(chat), "Cán bộ", wrote=True)
            server.enforce_limits(per_chat_per_second=1, global_per_second=rate)
            # As in bench/fanout.py: a full collection of this process (the fake's growing
            # request log) would stall it and bunch arrivals into 429s of its own making.
            gc.collect()
            gc.freeze()
            gc.disable()
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                str(SCRIPT),
                "--worker",
                "--timeout",
                str(limit_s),
                cwd=ROOT,
                env={
                    **os.environ,
                    "DATABASE_URL": url,
                    "ZALO_TOKEN": server.token,
                    "ZALO_API_URL": server.url,
                    "ZALO_RATE": str(rate),
                },
                stdout=asyncio.subprocess.PIPE,
            )
            try:
                out, _ = await worker.communicate()
            finally:
                gc.enable()
                gc.unfreeze()
            if worker.returncode != 0:
                raise RuntimeError(f"the worker failed with exit code {worker.returncode}")
            figures = json.loads(out.decode().strip().splitlines()[-1])
            ok = [r for r in server.requests_for("sendMessage") if r.ok]
            too_many = sum(1 for r in server.requests_for("sendMessage") if r.error_code == 429)
            per_chat = Counter(str(r.params["chat_id"]) for r in ok)
    seconds = ok[-1].at - ok[0].at if len(ok) > 1 else 0.0
    achieved = (len(ok) - 1) / seconds if seconds else 0.0
    return FanoutFigures(
        backend,
        queued,
        len(ok),  # one row per official, no bundling: a row per message
        len(ok),
        seconds,
        achieved,
        float(rate),
        too_many,
        sum(1 for n in per_chat.values() if n > 1),
        sum(1 for chat in made.chats.values() if str(chat) not in per_chat),
        figures["cpu_s"] / max(1, len(ok)) * 1000,
        figures["rss_before_mb"],
        figures["peak_rss_mb"],
    )


async def dispatch_all(limit_s: float) -> dict[str, float]:
    """The worker process: send the whole outbox through Zalo like `reminders worker`."""
    settings = Settings.from_env()
    assert settings.zalo_token
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    clock = RunningClock(NOW)
    with tempfile.TemporaryDirectory(prefix="nvbench-") as tmp:
        async with ZaloApi(settings.zalo_token, settings.zalo_api_url) as api:
            transport = ZaloTransport(
                api,
                sessions,
                clock,
                zalo_pacer(settings.zalo_rate),
                file_url=wiring.file_url(settings, sessions, clock),
            )
            dispatcher = Dispatcher(
                sessions,
                [transport],
                OutboxRenderer(sessions, FileStore(Path(tmp))),
                clock=clock,
            )
            figures = await drain(dispatcher, sessions, limit_s)
    await engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=500)
    parser.add_argument("--rate", type=int, default=5, help="ZALO_RATE, kept by bot and fake")
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(dispatch_all(args.timeout))))
        return
    figures = [
        asyncio.run(measure(args.backend, args.reminders, args.rate, args.timeout))
        for _ in range(args.repeat)
    ]
    print(report(figures))
    if len(figures) > 1:
        print(summary(figures))


if __name__ == "__main__":
    main()
