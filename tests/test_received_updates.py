"""Recording updates before acting on them: a repeat is recognised, on both databases, even
when two processes are handed the same update at once; old records are dropped."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.models import Channel, ReceivedUpdate
from db.received_updates import forget_before, record_once, was_received

UPDATE = {"event_name": "message.text.received", "message": {"message_id": "ab12", "text": "1"}}


async def test_the_first_delivery_wins_and_a_repeat_changes_nothing(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with sessionmaker() as session, session.begin():
        assert await record_once(session, Channel.ZALO, "ab12", UPDATE, clock.now())
    async with sessionmaker() as session, session.begin():
        assert not await record_once(session, Channel.ZALO, "ab12", {}, clock.now())
        # The same id on another channel is another update.
        assert await record_once(session, Channel.TELEGRAM, "ab12", {}, clock.now())
    async with sessionmaker() as session:
        assert await was_received(session, Channel.ZALO, "ab12")
        kept = await session.scalar(
            select(ReceivedUpdate.payload).where(ReceivedUpdate.channel == Channel.ZALO)
        )
    assert kept == UPDATE


async def test_two_sessions_handed_the_same_update_record_it_once(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async def claim() -> bool:
        async with sessionmaker() as session, session.begin():
            return await record_once(session, Channel.ZALO, "cd34", UPDATE, clock.now())

    results = await asyncio.gather(*(claim() for _ in range(4)))
    assert sorted(results) == [False, False, False, True]


async def test_old_records_are_forgotten(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with sessionmaker() as session, session.begin():
        await record_once(session, Channel.ZALO, "old", {}, clock.now() - timedelta(days=40))
        await record_once(session, Channel.ZALO, "new", {}, clock.now())
    async with sessionmaker() as session, session.begin():
        assert await forget_before(session, clock.now() - timedelta(days=30)) == 1
    async with sessionmaker() as session:
        left = await session.scalars(select(ReceivedUpdate.update_id))
        assert list(left) == ["new"]
        assert await session.scalar(select(func.count()).select_from(ReceivedUpdate)) == 1
