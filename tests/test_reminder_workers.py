"""Reminder workers as real processes: two at once, and one killed with SIGKILL mid-send."""

from __future__ import annotations

import asyncio
import itertools
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from db.migrate import upgrade
from db.models import Channel, ChannelIdentity, Official, Reminder, ReminderStatus, SweepMark, Unit
from db.outbox import NewReminder, enqueue
from db.session import make_engine, make_sessionmaker
from tests.cli import start_cli
from tests.fakebotapi import FakeBotApi
from tests.waiting import wait_until

MESSAGES = 500
PEOPLE = 100
FIRST_CHAT = 7000
# The fake server and the workers both run Telegram's limits 4x faster.
SPEED = 4


async def fill_outbox(database_url: str) -> list[str]:
    """A unit of PEOPLE officials with chats, and MESSAGES reminders due now; their texts."""
    await upgrade(database_url)
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    texts = [f"Tin nhắn thử số {i}" for i in range(MESSAGES)]
    async with make_sessionmaker(engine)() as session:
        unit = Unit(code="thu", name="UBND xã Thử", timezone="Asia/Ho_Chi_Minh")
        session.add(unit)
        await session.flush()
        # Nothing for the sweep to add: only the rows below are sent.
        session.add(SweepMark(unit_id=unit.id, swept_until=now))
        people = [
            Official(unit_id=unit.id, key=f"p{i}", full_name=f"Người {i}", name_folded=f"nguoi {i}")
            for i in range(PEOPLE)
        ]
        session.add_all(people)
        await session.flush()
        session.add_all(
            ChannelIdentity(
                official_id=p.id,
                channel=Channel.TELEGRAM,
                external_id=str(FIRST_CHAT + i),
                bound_at=now,
            )
            for i, p in enumerate(people)
        )
        await enqueue(
            session,
            [
                NewReminder(
                    unit_id=unit.id,
                    idempotency_key=f"test:{i}",
                    recipient_id=people[i % PEOPLE].id,
                    subject_type="official",
                    subject_id=people[i % PEOPLE].id,
                    kind="nudge",
                    # A slot each, a millisecond apart: every row is its own message (rows of
                    # one person and one slot would be bundled into one).
                    slot_at=now - timedelta(milliseconds=i),
                    due_at=now - timedelta(milliseconds=i),
                    payload={"text": text},
                )
                for i, text in enumerate(texts)
            ],
        )
        await session.commit()
    await engine.dispose()
    return texts


def delivered(server: FakeBotApi) -> Counter[str]:
    return Counter(
        m.plain_text for chat in range(PEOPLE) for m in server.sent_messages(FIRST_CHAT + chat)
    )


async def statuses(database_url: str) -> Counter[ReminderStatus]:
    engine = make_engine(database_url)
    async with make_sessionmaker(engine)() as session:
        found = Counter(await session.scalars(select(Reminder.status)))
    await engine.dispose()
    return found


async def wait_all_sent(database_url: str) -> None:
    """Wait until every row is marked sent. Leases keep a row from being claimed twice while
    it is in flight, so from then on no worker has anything left to send."""
    engine = make_engine(database_url)
    sessionmaker = make_sessionmaker(engine)

    async def all_sent() -> bool:
        async with sessionmaker() as session:
            found = set(await session.scalars(select(Reminder.status).distinct()))
        return found == {ReminderStatus.SENT}

    try:
        await wait_until(all_sent, timeout=30, what="every reminder marked sent")
    finally:
        await engine.dispose()


async def start_worker(
    database_url: str, server: FakeBotApi, tmp_path: Path, *extra: str
) -> asyncio.subprocess.Process:
    return await start_cli(
        database_url,
        "reminders",
        "worker",
        "--rate",
        str(SPEED / 2),
        *extra,
        env={
            "TELEGRAM_TOKEN": server.token,
            "TELEGRAM_API_URL": server.url,
            "DATA_DIR": str(tmp_path),
        },
    )


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode in (0, -signal.SIGKILL), err.decode()


@pytest.fixture
async def server() -> FakeBotApi:
    async with FakeBotApi() as fake:
        for i in range(PEOPLE):
            fake.add_user(FIRST_CHAT + i, f"Người {i}")
        fake.enforce_limits(per_chat_per_second=1, global_per_second=30, scale=SPEED)
        yield fake


async def test_two_workers_deliver_every_reminder_exactly_once(
    backend: str, database_url: str, server: FakeBotApi, tmp_path: Path
) -> None:
    texts = await fill_outbox(database_url)
    workers = [await start_worker(database_url, server, tmp_path) for _ in range(2)]
    try:
        await server.wait_for(lambda: sum(delivered(server).values()) >= MESSAGES, timeout=90)
        # SIGTERM lets a worker finish the batch it has claimed, so a row sent twice is in
        # `delivered` once both have stopped.
        await wait_all_sent(database_url)
    finally:
        for worker in workers:
            await stop(worker)
    assert delivered(server) == Counter(texts)
    assert (await statuses(database_url)) == Counter({ReminderStatus.SENT: MESSAGES})
    # Each person has five messages, spread over the batches both workers claim: a worker
    # leaves a person the other one holds or wrote to a moment ago, so no chat gets two
    # messages within Telegram's per-chat interval and nothing meets a 429.
    assert [r for r in server.requests if r.status == 429] == []
    sends: dict[int, list[float]] = {}
    for r in server.requests_for("sendMessage"):
        sends.setdefault(int(r.params["chat_id"]), []).append(r.at)
    closest = min(b - a for times in sends.values() for a, b in itertools.pairwise(times))
    assert closest >= 1 / SPEED, closest


async def test_a_worker_killed_mid_send_loses_nothing(
    backend: str, database_url: str, server: FakeBotApi, tmp_path: Path
) -> None:
    texts = await fill_outbox(database_url)
    worker = await start_worker(database_url, server, tmp_path, "--lease", "2")
    await server.wait_for(lambda: sum(delivered(server).values()) >= 100, timeout=60)
    worker.kill()  # SIGKILL: no clean-up, claimed rows stay leased
    await stop(worker)
    before = sum(delivered(server).values())
    assert before < MESSAGES

    worker = await start_worker(database_url, server, tmp_path, "--lease", "2")
    try:
        await server.wait_for(lambda: set(delivered(server)) == set(texts), timeout=90)
        await wait_all_sent(database_url)  # the rows of the killed worker's lease included
    finally:
        await stop(worker)
    counts = delivered(server)
    duplicates = {text: n for text, n in counts.items() if n > 1}
    # Only rows claimed but not yet marked when the process died may go out twice: at most
    # one batch, and each at most twice.
    assert set(counts) == set(texts)
    assert len(duplicates) <= 100 and set(duplicates.values()) <= {2}
    assert (await statuses(database_url)) == Counter({ReminderStatus.SENT: MESSAGES})
