"""Handling an update through the whole stack: the bot as deployed (`python -m bot run` in its
own process: PTB polling, handlers/, the database) against the fake Bot API on loopback, which
runs in this process.

Commune scale (30 officials, 9 tasks, 4 reports a year; `bench.datagen` size ``commune``).
Latency is from injecting the update into the fake to the bot's reply arriving at the fake
(the wait wakes on every request the fake receives). Sequential requests give p50/p99;
a burst of `--burst` /tasks from every chat at once gives updates per second.
The sequential requests go round the chats of everyone on a task (27), so each meets a chat
the bot has not answered for more than a second: the bot spaces its replies to one chat a
second apart (Telegram's limit), and one chat written to 20 times a second would measure
that spacing, not the bot.
``--sizes district`` puts the commune among 19 others; ``--sizes 100k`` makes it a 1000-person
unit with 25 years of reports.

``.venv/bin/python bench/updates.py --repeat 200 --backends sqlite postgresql --sizes commune``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, update

from bench.common import ROOT, median, percentile, scratch_database, table
from bench.datagen import NOW, SIZES, fresh
from db.models import Official, Task, TaskAssignee, TaskState
from db.session import make_engine, make_sessionmaker
from handlers.callbacks import status_data
from scheduler.pacing import RateLimits
from tests.fakebotapi import FakeBotApi

# Requests of a kind sent and not counted before its samples.
WARM_UP = 5
# A pause before each sequential request, untimed. Replies share the bot's pacer, which spaces
# any two calls 1/27.9 s apart (Telegram's 30 a second, with headroom); back to back, every
# request would wait out the previous reply's slot and the figure would be the pacer's. People
# do not tap 28 times a second: with this pause each request meets an idle pacer, as it would.
THINK_TIME = 0.05
# The bot's spacing of its replies to one chat (Telegram's one message a second per chat). A
# sample meets a chat whose last reply is older than IDLE: the spacing and some leeway, as the
# pacer counts from when the bot read the fake's answer, a little after the fake logged it.
CHAT_SPACING = 1.0 / RateLimits().per_chat_per_second
IDLE = CHAT_SPACING + 0.1
PDF = b"%PDF-1.4\n" + b"bao cao quy I " * 200


@dataclass
class Latency:
    """Latencies (ms) of one kind of update."""

    backend: str
    kind: str
    samples: list[float]
    per_second: float | None = None
    size: str = "commune"
    # Seconds the samples waited (untimed) for their chat to be idle beyond the rotation.
    waited: float = 0.0


class Rotation:
    """The chats sequential samples take in turn; each sample meets a chat the bot has not
    answered for longer than `IDLE`, with no reply still owed to it."""

    def __init__(self, server: FakeBotApi, chats: list[int]) -> None:
        # Every sample takes at least THINK_TIME, so a chat comes round after len × THINK_TIME
        # at the least: that alone must exceed IDLE, or the samples would wait out the spacing.
        shortest = math.floor(IDLE / THINK_TIME) + 1
        if len(chats) < shortest:
            raise ValueError(
                f"{len(chats)} chats come round every {len(chats) * THINK_TIME:.2f} s or more: "
                f"at least {shortest} are needed for {IDLE:.2f} s"
            )
        self.server = server
        self.chats = chats
        self.turn = 0
        self.waited = 0.0
        self._owed: dict[int, int] = {}  # chat -> bot messages it must hold before its next sample

    def next(self) -> int:
        """The chat whose turn it is."""
        chat = self.chats[self.turn % len(self.chats)]
        self.turn += 1
        return chat

    def owe(self, chat: int, messages: int) -> None:
        """A reply is still on its way: `chat` must hold `messages` bot messages before its
        next sample (the reply to a /cancel sent after a sample, not waited for there)."""
        self._owed[chat] = messages

    async def ready(self, chat: int) -> None:
        """Wait (untimed) until the replies owed to `chat` arrived and its last one is older
        than IDLE."""
        owed = self._owed.pop(chat, 0)
        if owed:
            await self.server.wait_for(
                lambda: len(self.server.sent_messages(chat)) >= owed, timeout=30
            )
        wait = self._last_reply(chat) + IDLE - time.monotonic()
        if wait > 0:
            self.waited += wait
            await asyncio.sleep(wait)

    async def settled(self) -> None:
        """Wait until every owed reply arrived (before the burst counts replies)."""
        for chat in list(self._owed):
            await self.ready(chat)

    def _last_reply(self, chat: int) -> float:
        # The fake logs every call on the same monotonic clock; any call to the chat counts.
        wanted = str(chat)
        for request in reversed(self.server.requests):
            if str(request.params.get("chat_id")) == wanted:
                return request.at
        return -math.inf


async def _latency(rotation: Rotation, chat: int, inject: object, done: object) -> float:
    await rotation.ready(chat)
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
            rows = await session.execute(
                select(TaskAssignee.official_id, Task.id, Task.code)
                .join(Task, Task.id == TaskAssignee.task_id)
                .where(Task.unit_id == made.unit_id)
                .order_by(TaskAssignee.official_id, Task.code)
            )
            # Everyone on a task, with one of their tasks (for their status prompt).
            on_task: dict[int, tuple[int, str]] = {}
            for official_id, task_id, code in rows:
                on_task.setdefault(official_id, (task_id, code))
            # A commune has one clerk, but /quahan samples from one chat would measure the
            # bot's second between replies to a chat. The overdue list is the unit's, the same
            # for every clerk: the same question from several clerks' chats costs the same.
            await session.execute(
                update(Official).where(Official.id.in_(on_task)).values(is_clerk=True)
            )
            await session.commit()
        await engine.dispose()
        people = list(on_task)
        with tempfile.TemporaryDirectory(prefix="nvbench-") as tmp:
            async with FakeBotApi() as server:
                for chat in made.chats.values():
                    server.add_user(chat, "Cán bộ")
                rotation = Rotation(server, [made.chats[p] for p in people])
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

                def reply(chat: int) -> object:
                    async def done(update: dict[str, dict[str, int]]) -> None:
                        after = update["message"]["message_id"]
                        await server.wait_for_message(chat, after=after, timeout=30)

                    return done

                def command(chat: int, name: str, args: str = "") -> object:
                    return lambda: server.user_sends_command(chat, name, args)

                async def commands(name: str, kind: str) -> Latency:
                    waited = rotation.waited
                    for _ in range(WARM_UP):  # the first requests load the catalog, warm caches
                        chat = rotation.next()
                        await _latency(rotation, chat, command(chat, name), reply(chat))
                    samples = []
                    for _ in range(repeat):
                        chat = rotation.next()
                        samples.append(
                            await _latency(rotation, chat, command(chat, name), reply(chat))
                        )
                    return Latency(
                        backend, kind, samples, size=size, waited=rotation.waited - waited
                    )

                results.append(await commands("nhiemvu", "/tasks"))

                # Each chat's own status prompt, asked once; its taps then alternate states.
                prompts: dict[int, int] = {}
                for person in people:
                    chat = made.chats[person]
                    await rotation.ready(chat)
                    asked = server.user_sends_command(chat, "status", on_task[person][1])
                    prompt = await server.wait_for_message(
                        chat, after=asked["message"]["message_id"], timeout=30
                    )
                    prompts[chat] = prompt.message_id
                task_of = {made.chats[p]: on_task[p][0] for p in people}
                states = (TaskState.IN_PROGRESS, TaskState.DONE)
                taps = dict.fromkeys(prompts, 0)
                waited = rotation.waited
                samples = []
                for _ in range(repeat):
                    chat = rotation.next()
                    edits = len(server.requests_for("editMessageText"))
                    data = status_data(task_of[chat], states[taps[chat] % 2])
                    taps[chat] += 1

                    def tap(chat: int = chat, data: str = data) -> object:
                        return server.user_taps(chat, prompts[chat], data)

                    async def edited(_update: object, edits: int = edits) -> None:
                        await server.wait_for(
                            lambda: len(server.requests_for("editMessageText")) > edits,
                            timeout=30,
                        )

                    samples.append(await _latency(rotation, chat, tap, edited))
                results.append(
                    Latency(
                        backend, "status tap", samples, size=size, waited=rotation.waited - waited
                    )
                )

                waited = rotation.waited
                samples = []
                for i in range(repeat):
                    chat = rotation.next()

                    def document(chat: int = chat, i: int = i) -> object:
                        return server.user_sends_document(
                            chat,
                            f"bao-cao-{i}.pdf",
                            PDF + str(i).encode(),
                            "application/pdf",
                        )

                    # Count the bot's messages: the reply to the file is the next one, whatever
                    # its id (message ids are handed out when injected, not when answered).
                    # Counted after the chat is ready: the previous /cancel's reply is in.
                    await rotation.ready(chat)
                    sent = len(server.sent_messages(chat))

                    async def answered(_update: object, chat: int = chat, sent: int = sent) -> None:
                        await server.wait_for(
                            lambda: len(server.sent_messages(chat)) > sent, timeout=30
                        )

                    samples.append(await _latency(rotation, chat, document, answered))
                    # Leave the "which report?" question unanswered: the next file asks again.
                    # Its reply comes a second after the question's (the spacing); the chat's
                    # next sample waits for it, this loop goes on to the next chat.
                    server.user_sends_command(chat, "cancel")
                    rotation.owe(chat, sent + 2)
                results.append(
                    Latency(
                        backend, "document", samples, size=size, waited=rotation.waited - waited
                    )
                )

                results.append(await commands("quahan", "/overdue (clerk)"))

                # Throughput: a burst of /tasks from every chat, all queued at once.
                await rotation.settled()
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
