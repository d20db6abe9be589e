"""The 08:00 wave of a province, sent by the bot as deployed, with officials tapping during it.

A province: `--communes` units × `--officials` officials (100 × 25 = 2,500 people), each with a
Telegram chat, the 2023–2024 CCHC reports and nine tasks a commune (`bench.datagen`). It is
Friday 08/03/2024: the Q1 report falls due on Sunday, so everyone is reminded at 08:00 (the
due-day reminder moves back to Friday); tasks 2.1–2.4 fall due on 08/03, 11/03 and 15/03, so
their leads and coordinators have a task reminder in the same slot. One message per person
(the dispatcher bundles a person's items of one slot).

The processes, each started with `--at "08/03/2024 08:00"` (a running clock from there):
* one worker: `python -m bot run` — answers the chats and sweeps and sends the reminders;
* two workers: `python -m bot run --rate 0.5` and `python -m bot reminders worker --rate 0.5`,
  each with half of the bot's overall rate, on one database.

Both poll the fake Bot API in this process (or, with `--modes webhook`, `run --webhook` gets
each update POSTed to its web app), which enforces Telegram's limits × `--scale` (1/s per
chat, 30/s overall). While the wave goes out, `--taps` officials a second who already got their
message (at least a second ago: Telegram's per-chat spacing) tap a status button of their task;
a tap's latency is from the fake injecting the update (queueing it for getUpdates, or starting
the webhook POST) to the tap's reply (the edit) arriving at the fake, on the fake's clock.

Reported per run: people, items (outbox rows) and messages sent, messages per person, the
wave's rate (first to last message) as a share of the limit, the time from start to the last
message against the ideal (people / limit), 429 answers, duplicates (people with more than
one wave message), lost (people with none), and the taps' p50 / p99 / max.

``.venv/bin/python bench/wave.py --workers 1 2 --modes polling webhook --scale 1``
``.venv/bin/python bench/wave.py --workers 1 2 --modes polling --scale 5 10``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, update

from bench.common import PG_ADMIN_URL, ROOT, median, percentile, table
from bench.datagen import CHAT_BASE, NOW, Scale, generate
from db.migrate import upgrade
from db.models import (
    AssigneeRole,
    ChannelIdentity,
    Reminder,
    ReminderStatus,
    SweepMark,
    Task,
    TaskAssignee,
    TaskState,
    Unit,
)
from db.session import make_engine, make_sessionmaker
from handlers.callbacks import status_data
from tests.databases import postgres_database
from tests.fakebotapi import FakeBotApi
from tests.fakebotapi.state import ApiRequest
from tests.local_server import free_port

AT = NOW.strftime("%d/%m/%Y %H:%M")
YEARS = range(2023, 2025)
# Tasks falling due around 08/03 (Friday): reminders in the 08:00 slot for their people.
TASK_DUES = {"2.1": date(2024, 3, 8), "2.2": date(2024, 3, 11), "2.3": date(2024, 3, 11)}
TASK_DUES["2.4"] = date(2024, 3, 15)
# A tapper taps this long after their wave message arrived (Telegram's per-chat spacing),
# divided by the scale of the limits.
TAP_AFTER = 1.5
REPLY_METHODS = frozenset({"editMessageText", "sendMessage"})


@dataclass
class WaveFigures:
    """One wave."""

    backend: str
    workers: int
    mode: str
    scale: float
    people: int
    items: int
    messages: int
    most_per_person: int
    seconds: float
    start_to_first: float
    start_to_last: float
    too_many: int
    duplicates: int
    lost: int
    taps: list[float]
    cpu_seconds: list[float]

    @property
    def limit(self) -> float:
        return 30.0 * self.scale

    @property
    def rate(self) -> float:
        return (self.messages - 1) / self.seconds if self.seconds else 0.0

    @property
    def calls_rate(self) -> float:
        """Wave messages and tap replies a second: every call the bot paces overall."""
        return (self.messages + len(self.taps) - 1) / self.seconds if self.seconds else 0.0

    @property
    def ideal(self) -> float:
        return self.people / self.limit


async def province(url: str, communes: int, officials: int) -> None:
    """Write the province into the empty database at `url`, ready for the 08:00 sweep."""
    await upgrade(url)
    engine = make_engine(url)
    try:
        for k in range(communes):
            await generate(engine, Scale(officials, YEARS), f"xa-{k + 1:03d}")
        sessions = make_sessionmaker(engine)
        async with sessions() as session:
            for code, due in TASK_DUES.items():
                await session.execute(update(Task).where(Task.code == code).values(due_date=due))
            for unit_id in await session.scalars(select(Unit.id)):
                session.add(SweepMark(unit_id=unit_id, swept_until=NOW - timedelta(minutes=1)))
            await session.commit()
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def province_copy(backend: str, template: str) -> AsyncIterator[str]:
    """A fresh copy of the generated province (each wave changes the outbox)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="nvbench-") as tmp:
            shutil.copy(template, f"{tmp}/wave.db")
            yield f"sqlite+aiosqlite:///{tmp}/wave.db"
        return
    async with postgres_database(PG_ADMIN_URL, "nvbench_wave", template=template) as url:
        yield url


@contextlib.asynccontextmanager
async def province_template(backend: str, communes: int, officials: int) -> AsyncIterator[str]:
    """Generate the province once: a SQLite file or a PostgreSQL database to copy from."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="nvbench-") as tmp:
            await province(f"sqlite+aiosqlite:///{tmp}/template.db", communes, officials)
            yield f"{tmp}/template.db"
        return
    async with postgres_database(PG_ADMIN_URL, "nvbench_wavetpl") as url:
        await province(url, communes, officials)
        yield url.rsplit("/", 1)[1]


async def people(url: str) -> tuple[list[int], dict[int, int]]:
    """Every official's Telegram chat, and each task lead's chat → a task they lead (whose
    status they tap)."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            chats = [
                int(chat)
                for chat in await session.scalars(
                    select(ChannelIdentity.external_id).order_by(ChannelIdentity.id)
                )
            ]
            rows = await session.execute(
                select(TaskAssignee.official_id, func.min(TaskAssignee.task_id))
                .where(TaskAssignee.role == AssigneeRole.LEAD)
                .group_by(TaskAssignee.official_id)
            )
            return chats, {CHAT_BASE + official: task for official, task in rows}
    finally:
        await engine.dispose()


async def _process(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        "--at",
        AT,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=30)
    except TimeoutError:
        process.kill()
        await process.wait()


async def wave(
    backend: str,
    url: str,
    chats: list[int],
    leads: dict[int, int],
    *,
    workers: int,
    mode: str,
    scale: float,
    taps_per_second: float,
    limit_s: float,
) -> WaveFigures:
    """Send the 08:00 wave of the province at `url` from `workers` processes; count."""
    async with FakeBotApi(allow_insecure_webhook=mode == "webhook") as server:
        for chat in chats:
            server.add_user(chat, "Cán bộ")
        server.enforce_limits(
            per_chat_per_second=1, global_per_second=30, group_per_minute=20, scale=scale
        )
        port = free_port()
        with tempfile.TemporaryDirectory(prefix="nvbench-") as tmp:
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "DATA_DIR": tmp,
                "TELEGRAM_TOKEN": server.token,
                "TELEGRAM_API_URL": server.url,
                "TELEGRAM_RATE_SCALE": str(scale),
                "WEB_PORT": str(port),
                "PUBLIC_URL": f"http://127.0.0.1:{port}",
            }
            share = ["--rate", str(1 / workers)] if workers > 1 else []
            run_args = ["run", *share, *(["--webhook"] if mode == "webhook" else [])]
            started = time.monotonic()
            processes = [await _process(*run_args, env=env)]
            processes += [
                await _process("reminders", "worker", *share, env=env) for _ in range(workers - 1)
            ]
            try:
                taps = await _during_the_wave(
                    server, chats, leads, taps_per_second, TAP_AFTER / scale, limit_s
                )
                cpu = [_cpu_seconds(process.pid) for process in processes]
            finally:
                for process in processes:
                    await _stop(process)
        figures = _count(server, chats, taps, started)
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            items = await session.scalar(
                select(func.count())
                .select_from(Reminder)
                .where(Reminder.slot_at >= NOW, Reminder.status == ReminderStatus.SENT)
            )
    finally:
        await engine.dispose()
    wave_requests, too_many, taps_ms, start_to_first, start_to_last = figures
    per_chat = Counter(int(r.params["chat_id"]) for r in wave_requests)
    seconds = wave_requests[-1].at - wave_requests[0].at if len(wave_requests) > 1 else 0.0
    return WaveFigures(
        backend,
        workers,
        mode,
        scale,
        len(chats),
        int(items or 0),
        len(wave_requests),
        max(per_chat.values(), default=0),
        seconds,
        start_to_first,
        start_to_last,
        too_many,
        sum(1 for n in per_chat.values() if n > 1),
        sum(1 for chat in chats if chat not in per_chat),
        taps_ms,
        cpu,
    )


async def _during_the_wave(
    server: FakeBotApi,
    chats: list[int],
    leads: dict[int, int],
    taps_per_second: float,
    tap_after: float,
    limit_s: float,
) -> list[tuple[int, float]]:
    """Tap while the wave goes out; return (chat, injected at) of every tap once every chat
    has its message (or `limit_s` passed)."""
    arrived: dict[int, tuple[float, int]] = {}  # chat -> (its wave message's arrival, id)
    seen = 0
    taps: list[tuple[int, float]] = []
    tapped: set[int] = set()
    rng = random.Random(17)
    started = time.monotonic()
    next_tap = time.monotonic()
    while len(arrived) < len(chats) and time.monotonic() - started < limit_s:
        await asyncio.sleep(0.01)
        for request in server.requests[seen:]:
            if request.method == "sendMessage" and request.ok:
                chat = int(request.params["chat_id"])
                if chat not in arrived:
                    arrived[chat] = (request.at, server.last_message(chat).message_id)
        seen = len(server.requests)
        if not taps_per_second or time.monotonic() < next_tap:
            continue
        next_tap += rng.expovariate(taps_per_second)
        now = time.monotonic()
        ready = [
            chat
            for chat, (at, _) in arrived.items()
            if chat in leads and chat not in tapped and now - at >= tap_after
        ]
        if not ready:
            continue
        chat = rng.choice(ready)
        tapped.add(chat)
        state = rng.choice((TaskState.IN_PROGRESS, TaskState.DONE))
        server.user_taps(chat, arrived[chat][1], status_data(leads[chat], state))
        # The fake stamps requests with time.monotonic(); the update is queued (polling) or
        # its POST started (webhook) within this call.
        taps.append((chat, time.monotonic()))
    if len(arrived) < len(chats):
        print(f"  timeout: {len(arrived)} of {len(chats)} chats reached", file=sys.stderr)
    # The last taps' replies.
    await asyncio.sleep(2.0)
    return taps


def _count(
    server: FakeBotApi, chats: list[int], taps: list[tuple[int, float]], started: float
) -> tuple[list[ApiRequest], int, list[float], float, float]:
    """The wave's messages (every OK sendMessage that is not a tap's reply), the 429s, each
    tap's latency (ms) and the times from the processes' start to the first and the last wave
    message."""
    replies: set[int] = set()  # indexes of requests that answered a tap
    latencies: list[float] = []
    requests = server.requests
    for chat, at in taps:
        for index, request in enumerate(requests):
            if (
                request.at >= at
                and request.method in REPLY_METHODS
                and request.ok
                and int(request.params.get("chat_id", 0)) == chat
                and index not in replies
            ):
                replies.add(index)
                latencies.append((request.at - at) * 1000)
                break
    wave = [
        r for i, r in enumerate(requests) if r.method == "sendMessage" and r.ok and i not in replies
    ]
    too_many = sum(1 for r in requests if r.status == 429)
    first, last = (wave[0].at - started, wave[-1].at - started) if wave else (0.0, 0.0)
    return wave, too_many, latencies, first, last


def report(figures: list[WaveFigures]) -> str:
    """The waves as a table."""
    return table(
        [
            "db",
            "workers",
            "updates",
            "limit/s",
            "people",
            "items",
            "messages",
            "msg/person (max)",
            "msg/s",
            "% of limit",
            "with replies %",
            "start→first s",
            "start→last s",
            "ideal s",
            "429s",
            "dupes",
            "lost",
            "taps",
            "tap p50 ms",
            "tap p99 ms",
            "tap max ms",
            "CPU % of a core (run, worker)",
        ],
        [
            (
                f.backend,
                f.workers,
                f.mode,
                f.limit,
                f.people,
                f.items,
                f.messages,
                f.most_per_person,
                f.rate,
                f.rate / f.limit * 100,
                f.calls_rate / f.limit * 100,
                f.start_to_first,
                f.start_to_last,
                f.ideal,
                f.too_many,
                f.duplicates,
                f.lost,
                len(f.taps),
                median(f.taps) if f.taps else "",
                percentile(f.taps, 99) if f.taps else "",
                max(f.taps) if f.taps else "",
                ", ".join(f"{c / f.start_to_last * 100:.0f}" for c in f.cpu_seconds),
            )
            for f in figures
        ],
    )


async def measure(
    backend: str,
    communes: int,
    officials: int,
    workers: list[int],
    modes: list[str],
    scales: list[float],
    taps_per_second: float,
    repeat: int = 1,
    limit_s: float = 600.0,
) -> list[WaveFigures]:
    """Generate the province once, then send its wave in every configuration asked for."""
    results: list[WaveFigures] = []
    async with province_template(backend, communes, officials) as template:
        async with province_copy(backend, template) as url:
            chats, leads = await people(url)
        for scale in scales:
            for count in workers:
                for mode in modes:
                    for _ in range(repeat):
                        async with province_copy(backend, template) as url:
                            figures = await wave(
                                backend,
                                url,
                                chats,
                                leads,
                                workers=count,
                                mode=mode,
                                scale=scale,
                                # Taps scale with the limits: the same share of the traffic.
                                taps_per_second=taps_per_second * scale,
                                limit_s=limit_s,
                            )
                        print(report([figures]).splitlines()[-1], file=sys.stderr, flush=True)
                        results.append(figures)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=100)
    parser.add_argument("--officials", type=int, default=25, help="officials per commune")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], choices=[1, 2])
    parser.add_argument(
        "--modes", nargs="+", default=["polling", "webhook"], choices=["polling", "webhook"]
    )
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0], help="limits × this")
    parser.add_argument("--taps", type=float, default=4.0, help="taps a second (at × 1)")
    parser.add_argument("--backend", default="postgresql", choices=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", dest="limit_s", type=float, default=600.0)
    args = parser.parse_args()
    results = asyncio.run(
        measure(
            args.backend,
            args.communes,
            args.officials,
            args.workers,
            args.modes,
            args.scale,
            args.taps,
            args.repeat,
            args.limit_s,
        )
    )
    print()
    print(report(results))


if __name__ == "__main__":
    main()
