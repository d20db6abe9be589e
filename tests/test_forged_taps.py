"""Forged button data (issue 15): parsed strictly, refused politely, never an exception.

Anybody can send any callback data. The numbers in it are ASCII digits that fit the
database's ids; anything else is not one of ours, and the conversation says the choice is
stale instead of apologising for an error.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.invites import create_invite
from db.models import AuditEntry, Channel, Official, StatusUpdate
from handlers import callbacks
from handlers.conversation import Conversation
from handlers.types import ChoiceTapped, CommandSent, Sender
from tests.factories import Commune
from tests.wording import vi

BIG = str(10**30)
FORGED = [
    f"st:{BIG}:d",
    f"ob:{BIG}",
    f"tk:{BIG}",
    f"xa:{BIG}",
    f"fa:{BIG}",
    f"tp:{BIG}",
    f"up:{BIG}",
    f"la:{BIG}",
    "st:999999999999:d",  # 12 digits: beyond PostgreSQL's integer ids
    "ob:2147483648",
    "nd:t1:0:9999999999",  # a minute past the year 9999
    "nd:o1:2147483648:1",
    "st:-1:d",
    "ob:-5",
    "st:1:x",
    "st:1:D",
    "st:1:d:extra",
    "ob:1:1",
    "cx:1",
    "lk:sick\n",
    "ob:1\n",
    "st:1:d\n",
    " ob:1",
    "ob:١٢",  # Arabic-Indic digits: int() would read them
    "st:１:d",  # fullwidth digit
    "tk:߁",
    "ob:+1",
    "ob:1_000",
    "ob:0x10",
    "lk:nope",
    "m:m:st:1:d",
    "m:",
    "",
    "\x00",
    "ob:\u200b1",
    "fz:1",
    "up:",
    "xa:1.0",
]


@pytest.mark.parametrize("data", FORGED)
def test_forged_data_is_not_one_of_ours(data: str) -> None:
    assert callbacks.parse(callbacks.unbundled(data)[0]) is None


def test_the_largest_id_still_parses() -> None:
    assert callbacks.parse(f"ob:{callbacks.MAX_NUMBER}") == callbacks.ObligationTap(
        callbacks.MAX_NUMBER
    )
    assert callbacks.parse("nd:t7:0:29000000") == callbacks.NudgeTap(True, 7, None, 29000000)


def forgeries(seed: int, count: int) -> list[str]:
    """Random mutations of real data: digits swapped for others, fields added or cut."""
    rng = random.Random(seed)
    real = ["st:1:d", "ob:1", "tk:1", "xa:1", "nd:t1:0:29000000", "fa:1", "tp:1", "up:1", "lk:sick"]
    pieces = ["١", "٢", "１", "-", ":", "9" * 13, "0", "\n", " ", "é", "d", "x", "m:", ""]
    out = []
    for _ in range(count):
        data = rng.choice(real)
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(data))
            cut = rng.randint(0, 2)
            data = data[:at] + rng.choice(pieces) + data[at + cut :]
        out.append(data[:64])
    return out


async def registered(
    conversation: Conversation, session: AsyncSession, official: Official
) -> Sender:
    sender = Sender(Channel.TELEGRAM, str(9000 + official.id), official.full_name)
    code = await create_invite(session, official, conversation.clock.now())
    await session.commit()
    await conversation.handle(sender, CommandSent("start", code))
    return sender


async def test_forged_taps_get_the_stale_choice_reply_and_change_nothing(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    official = await registered(conversation, session, commune.an)
    clerk = await registered(conversation, session, commune.clerk)
    await session.commit()
    before = await session.scalar(select(func.count()).select_from(AuditEntry))
    for sender in (official, clerk):
        for data in [*FORGED, *forgeries(15, 300)]:
            replies = await conversation.handle(sender, ChoiceTapped(data))
            texts = [r.text for r in replies]
            assert vi("error.generic") not in texts, data
            parsed = callbacks.parse(callbacks.unbundled(data)[0])
            if parsed is None:
                assert texts == [vi("refuse.bad_choice")], data
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(StatusUpdate)) == 0
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == before
