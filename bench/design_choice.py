"""The design choice: one APScheduler job per reminder versus our sweep and outbox.

Variant "jobs" (what most reminder bots do): an `AsyncIOScheduler` with the default
MemoryJobStore and one `add_job(send, DateTrigger(at))` per reminder, added at start-up (the
time to read the reminders from a database is NOT counted, which favours this variant).
Variant "sweep": `scheduler.service.reminders_running` on a database holding the same
reminders as plan rows (datagen size 100k: 100,000 report assignments), which starts one
interval job and the dispatcher; its first sweep (a 08:00 slot window, the expensive case)
is timed too. Each variant runs in a fresh child process; memory is RSS from
/proc/self/statm (after imports → after start-up) and VmHWM (peak; see `bench.common.peak_rss_mb`).

``.venv/bin/python bench/design_choice.py --reminders 100000``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    current_rss_mb,
    median,
    peak_rss_mb,
    scratch_database,
    table,
)
from bench.datagen import NOW, Scale, fresh


async def _send(chat_id: int, reminder_id: int) -> None:
    """What a per-reminder job would do (never reached: every job is in the future)."""


async def jobs_variant(count: int) -> dict[str, float]:
    """Start an AsyncIOScheduler and add `count` DateTrigger jobs; time and memory."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.date import DateTrigger

    rss0 = current_rss_mb()
    start = time.perf_counter()
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start()
    base = datetime.now(UTC) + timedelta(days=1)
    for i in range(count):
        at = base + timedelta(minutes=(i * 7) % (365 * 24 * 60))
        scheduler.add_job(_send, DateTrigger(at), args=[100_000_000 + i, i], id=f"r{i}")
    await asyncio.sleep(0)  # let the scheduler wake up once with every job known
    ready = time.perf_counter() - start
    rss1 = current_rss_mb()
    scheduler.shutdown(wait=False)
    return {"ready_s": ready, "rss_delta_mb": rss1 - rss0, "peak_rss_mb": peak_rss_mb()}


async def sweep_variant(url: str) -> dict[str, float]:
    """Start `reminders_running` on the database and wait for its first sweep."""
    from sqlalchemy import func, select

    from db.clock import FixedClock
    from db.files import FileStore
    from db.models import Channel, Reminder
    from db.session import make_engine, make_sessionmaker
    from handlers.reminder_messages import OutboxRenderer
    from handlers.types import Reply
    from scheduler.service import reminders_running

    class Quiet:
        """A transport that accepts everything (the sends are not what is measured here)."""

        channel = Channel.TELEGRAM
        pacer = None

        async def send(self, chat_id: str, message: Reply) -> None:
            return None

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rss0 = current_rss_mb()
    start = time.perf_counter()
    async with reminders_running(
        sessions,
        FixedClock(NOW),
        [Quiet()],
        OutboxRenderer(sessions, FileStore(Path("/tmp/nvbench-unused"))),
    ):
        ready = time.perf_counter() - start
        rss1 = current_rss_mb()
        while True:
            async with sessions() as session:
                queued = await session.scalar(select(func.count()).select_from(Reminder))
            if queued:
                break
            await asyncio.sleep(0.01)
        swept = time.perf_counter() - start
    await engine.dispose()
    return {
        "ready_s": ready,
        "first_sweep_s": swept,
        "rss_delta_mb": rss1 - rss0,
        "peak_rss_mb": peak_rss_mb(),
    }


def _child(args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def _generate_and_run(reminders: int, repeat: int) -> list[tuple[str, dict[str, float]]]:
    rows: list[tuple[str, dict[str, float]]] = []
    async with scratch_database("sqlite") as url:
        officials = max(1, reminders // 100)
        await fresh(url, Scale(officials, range(2010, 2035)))
        for _ in range(repeat):
            rows.append(("jobs", _child(["--child", "jobs", "--reminders", str(reminders)])))
            rows.append(("sweep", _child(["--child", "sweep", "--url", url])))
    return rows


def _medians(rows: list[tuple[str, dict[str, float]]], variant: str) -> dict[str, float]:
    runs = [r for v, r in rows if v == variant]
    return {key: median([r.get(key, 0.0) for r in runs]) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["jobs", "sweep"])
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.child == "jobs":
        print(json.dumps(asyncio.run(jobs_variant(args.reminders))))
        return
    if args.child == "sweep":
        print(json.dumps(asyncio.run(sweep_variant(args.url))))
        return
    rows = asyncio.run(_generate_and_run(args.reminders, args.repeat))
    jobs, sweep = _medians(rows, "jobs"), _medians(rows, "sweep")
    out: list[tuple[Any, ...]] = [
        ("start-up to ready, s", jobs["ready_s"], sweep["ready_s"]),
        ("first sweep done, s", "-", sweep["first_sweep_s"]),
        ("RSS growth at start-up, MB", jobs["rss_delta_mb"], sweep["rss_delta_mb"]),
        ("peak RSS of the process, MB", jobs["peak_rss_mb"], sweep["peak_rss_mb"]),
    ]
    print(f"{args.reminders} reminders, medians of {args.repeat} runs each")
    print(table(["figure", "one APScheduler job each", "sweep + outbox"], out))
    print(
        f"ratios jobs/sweep: start-up {jobs['ready_s'] / sweep['ready_s']:.0f}x, "
        f"peak RSS {jobs['peak_rss_mb'] / sweep['peak_rss_mb']:.2f}x"
    )


if __name__ == "__main__":
    main()
