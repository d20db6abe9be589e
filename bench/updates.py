"""Handling an update through the whole stack: the real bot (`bot.serve.run_telegram`, PTB
polling, handlers/, the database) against the fake Bot API on loopback.

Commune scale (30 officials, 9 tasks, 4 reports a year; `bench.datagen` size ``commune``).
Latency is from injecting the update into the fake to the bot's reply arriving at the fake
(the wait wakes on every request the fake receives). Sequential requests give p50/p99;
a burst of `--burst` /tasks from every chat at once gives updates per second.

``.venv/bin/python bench/updates.py --repeat 200 --backend sqlite``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bench.common import median, percentile, scratch_database, table
from bench.datagen import NOW, SIZES, fresh
from bot.serve import run_telegram
from bot.settings import Settings
from db.clock import FixedClock
from db.models import Task, TaskAssignee, TaskState
from db.session import make_engine, make_sessionmaker
from handlers.callbacks import status_data
from tests.fakebotapi import FakeBotApi

PDF = b"%PDF-1.4\n" + b"bao cao quy I " * 200


@dataclass
class Latency:
    """Latencies (ms) of one kind of update."""

    backend: str
    kind: str
    samples: list[float]
    per_second: float | None = None


async def _latency(server: FakeBotApi, inject: object, done: object) -> float:
    start = time.perf_counter()
    update = inject()  # type: ignore[operator]
    await done(update)  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


async def measure(backend: str, repeat: int, burst: int) -> list[Latency]:
    """Start the bot on a commune database and time each kind of update `repeat` times."""
    results: list[Latency] = []
    async with scratch_database(backend) as url:
        made = await fresh(url, SIZES["commune"])
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
                settings = Settings(
                    database_url=url,
                    data_dir=Path(tmp),
                    telegram_token=server.token,
                    telegram_api_url=server.url,
                )
                stop = asyncio.Event()
                bot = asyncio.create_task(
                    run_telegram(settings, FixedClock(NOW), stop, album_wait=0.3, reminders=False)
                )
                await server.wait_for(lambda: server.polling, timeout=30)

                async def reply(chat: int) -> object:
                    async def done(update: dict[str, dict[str, int]]) -> None:
                        after = update["message"]["message_id"]
                        await server.wait_for_message(chat, after=after, timeout=30)

                    return done

                def command(chat: int, name: str, args: str = "") -> object:
                    return lambda: server.user_sends_command(chat, name, args)

                tasks_done = await reply(official_chat)
                samples = [
                    await _latency(server, command(official_chat, "nhiemvu"), tasks_done)
                    for _ in range(repeat)
                ]
                results.append(Latency(backend, "/tasks", samples))

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
                results.append(Latency(backend, "status tap", samples))

                samples = []
                for i in range(repeat):

                    def document(i: int = i) -> object:
                        return server.user_sends_document(
                            official_chat,
                            f"bao-cao-{i}.pdf",
                            PDF + str(i).encode(),
                            "application/pdf",
                        )

                    samples.append(await _latency(server, document, tasks_done))
                    # Leave the "which report?" question unanswered: the next file asks again.
                    server.user_sends_command(official_chat, "cancel")
                    await asyncio.sleep(0)
                    await server.wait_until_delivered(timeout=30)
                results.append(Latency(backend, "document", samples))

                clerk_done = await reply(clerk_chat)
                samples = [
                    await _latency(server, command(clerk_chat, "quahan"), clerk_done)
                    for _ in range(repeat)
                ]
                results.append(Latency(backend, "/overdue (clerk)", samples))

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
                results.append(Latency(backend, f"/tasks burst of {burst}", [], rate))
                stop.set()
                await asyncio.wait_for(bot, timeout=30)
    return results


def report(results: list[Latency]) -> str:
    """The latencies as a table."""
    return table(
        ["db", "update", "n", "p50 ms", "p99 ms", "max ms", "updates/s"],
        [
            (
                r.backend,
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
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results: list[Latency] = []
    for backend in args.backends:
        results += asyncio.run(measure(backend, args.repeat, args.burst))
    print(report(results))


if __name__ == "__main__":
    main()
