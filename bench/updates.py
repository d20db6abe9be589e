"""Handling an update through the whole stack: the bot as deployed (`python -m bot run` in its
own process: PTB polling, handlers/, the database) against the fake Bot API on loopback, which
runs in this process.

Commune scale (30 officials, 9 tasks, 4 reports a year; `bench.datagen` size ``commune``).
Latency is from injecting the update into the fake to the bot's reply arriving at the fake
(the wait wakes on every request the fake receives). Sequential requests give p50/p99;
a burst of `--burst` /tasks from every chat at once gives updates per second.
``--sizes district`` puts the commune among 19 others; ``--sizes 100k`` makes it a 1000-person
unit with 25 years of reports.

``.venv/bin/python bench/updates.py --repeat 200 --backends sqlite postgresql --sizes commune``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bench.common import ROOT, median, percentile, scratch_database, table
from bench.datagen import NOW, SIZES, fresh
from db.models import Task, TaskAssignee, TaskState
from db.session import make_engine, make_sessionmaker
from handlers.callbacks import status_data
from tests.fakebotapi import FakeBotApi

# Requests of a kind sent and not counted before its samples.
WARM_UP = 5
# A pause before each sequential request, untimed. Replies share the bot's pacer, which spaces
# any two calls 1/27.9 s apart (Telegram's 30 a second, with headroom); back to back, every
# request would wait out the previous reply's slot and the figure would be the pacer's. People
# do not tap 28 times a second: with this pause each request meets an idle pacer, as it would.
THINK_TIME = 0.05
PDF = b"%PDF-1.4\n" + b"bao cao quy I " * 200


@dataclass
class Latency:
    """Latencies (ms) of one kind of update."""

    backend: str
    kind: str
    samples: list[float]
    per_second: float | None = None
    size: str = "commune"


async def _latency(server: FakeBotApi, inject: object, done: object) -> float:
    await asyncio.sleep(THINK_TIME)
    start = time.perf_counter()
    update = inject()  # type: ignore[operator]
    await done(update)  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


async def measure(backend: str, repeat: int, burst: int, size: str = "commune") -> list[Latency]:
    """Start the bot on a database of `size` and time each kind of update `repeat` times."""
    results: list[Latency] = []
    async with scratch_database(backend) as url:
        made = await fresh(url, SIZES[size])
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        async with sessions() as session:
            task_id, lead = (
                await session.execute(
                    select(Task.id, TaskAssignee.official_id)
                    .join(TaskAssignee, TaskAssignee.task_id == Task.id)
                    .where(Task.unit_id == made.unit_id, Task.code == "2.2")
                    .limit(1)
                )
            ).one()
        await engine.dispose()
        clerk_chat = made.chats[made.clerk_id]
        official_chat = made.chats[lead]
        with tempfile.TemporaryDirectory(prefix="nvbench-") as tmp:
            async with FakeBotApi() as server:
                for chat in made.chats.values():
                    server.add_user(chat, "Cán bộ")
                # The bot is its own process, as deployed: `python -m bot run`, polling the fake
                # in this process (on the other core) at the data's "now".
                bot = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "run",
                    "--no-reminders",
                    "--at",
                    NOW.strftime("%d/%m/%Y %H:%M"),
                    cwd=ROOT,
                    env={
                        **os.environ,
                        "DATABASE_URL": url,
                        "DATA_DIR": tmp,
                        "TELEGRAM_TOKEN": server.token,
                        "TELEGRAM_API_URL": server.url,
                    },
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                await server.wait_for(lambda: server.polling, timeout=60)

                async def reply(chat: int) -> object:
                    async def done(update: dict[str, dict[str, int]]) -> None:
                        after = update["message"]["message_id"]
                        await server.wait_for_message(chat, after=after, timeout=30)

                    return done

                def command(chat: int, name: str, args: str = "") -> object:
                    return lambda: server.user_sends_command(chat, name, args)

                tasks_done = await reply(official_chat)
                for _ in range(WARM_UP):  # first requests load the catalog, warm the caches
                    await _latency(server, command(official_chat, "nhiemvu"), tasks_done)
                samples = [
                    await _latency(server, command(official_chat, "nhiemvu"), tasks_done)
                    for _ in range(repeat)
                ]
                results.append(Latency(backend, "/tasks", samples, size=size))

                prompt_update = server.user_sends_command(official_chat, "status", "2.2")
                prompt = await server.wait_for_message(
                    official_chat, after=prompt_update["message"]["message_id"], timeout=30
                )
                states = (TaskState.IN_PROGRESS, TaskState.DONE)
                samples = []
                for i in range(repeat):
                    edits = len(server.requests_for("editMessageText"))
                    data = status_data(task_id, states[i % 2])

                    def tap(data: str = data) -> object:
                        return server.user_taps(official_chat, prompt.message_id, data)

                    async def edited(_update: object, edits: int = edits) -> None:
                        await server.wait_for(
                            lambda edits=edits: len(server.requests_for("editMessageText")) > edits,
                            timeout=30,
                        )

                    samples.append(await _latency(server, tap, edited))
                results.append(Latency(backend, "status tap", samples, size=size))

                samples = []
                for i in range(repeat):

                    def document(i: int = i) -> object:
                        return server.user_sends_document(
                            official_chat,
                            f"bao-cao-{i}.pdf",
                            PDF + str(i).encode(),
                            "application/pdf",
                        )

                    # Count the bot's messages: the reply to the file is the next one, whatever
                    # its id (message ids are handed out when injected, not when answered).
                    sent = len(server.sent_messages(official_chat))

                    async def answered(_update: object, sent: int = sent) -> None:
                        await server.wait_for(
                            lambda: len(server.sent_messages(official_chat)) > sent, timeout=30
                        )

                    samples.append(await _latency(server, document, answered))
                    # Leave the "which report?" question unanswered: the next file asks again.
                    server.user_sends_command(official_chat, "cancel")
                    await server.wait_for(
                        lambda sent=sent: len(server.sent_messages(official_chat)) > sent + 1,
                        timeout=30,
                    )
                results.append(Latency(backend, "document", samples, size=size))

                clerk_done = await reply(clerk_chat)
                for _ in range(WARM_UP):
                    await _latency(server, command(clerk_chat, "quahan"), clerk_done)
                samples = [
                    await _latency(server, command(clerk_chat, "quahan"), clerk_done)
                    for _ in range(repeat)
                ]
                results.append(Latency(backend, "/overdue (clerk)", samples, size=size))

                # Throughput: a burst of /tasks from every chat, all queued at once.
                chats = list(made.chats.values())
                before = {c: len(server.sent_messages(c)) for c in chats}
                start = time.perf_counter()
                for i in range(burst):
                    server.user_sends_command(chats[i % len(chats)], "nhiemvu")
                wanted = {c: 0 for c in chats}
                for i in range(burst):
                    wanted[chats[i % len(chats)]] += 1
                await server.wait_for(
                    lambda: all(
                        len(server.sent_messages(c)) - before[c] >= wanted[c] for c in chats
                    ),
                    timeout=120,
                )
                rate = burst / (time.perf_counter() - start)
                results.append(Latency(backend, f"/tasks burst of {burst}", [], rate, size))
                bot.send_signal(signal.SIGTERM)
                await asyncio.wait_for(bot.wait(), timeout=30)
    return results


def report(results: list[Latency]) -> str:
    """The latencies as a table."""
    return table(
        ["db", "size", "update", "n", "p50 ms", "p99 ms", "max ms", "updates/s"],
        [
            (
                r.backend,
                r.size,
                r.kind,
                len(r.samples),
                median(r.samples) if r.samples else "",
                percentile(r.samples, 99) if r.samples else "",
                max(r.samples) if r.samples else "",
                r.per_second if r.per_second else 1000 / median(r.samples),
            )
            for r in results
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--sizes", nargs="+", default=["commune"], choices=SIZES)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results: list[Latency] = []
    for size in args.sizes:
        for backend in args.backends:
            results += asyncio.run(measure(backend, args.repeat, args.burst, size))
    print(report(results))


if __name__ == "__main__":
    main()
