"""A claimed batch renders in a few queries, to exactly what row-by-row rendering says."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.files import FileStore
from db.models import Official, Reminder, Submission, SweepMark
from handlers.reminder_messages import reminder_replies, reminder_reply
from scheduler.service import ReminderSweeper
from tests.plans import bind_chats, load_example

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
Sessions = async_sessionmaker[AsyncSession]


async def fortnight_outbox(sessionmaker: Sessions, store: FileStore) -> list[Reminder]:
    """The seed's outbox after sweeping 01–15/03/2024: reports, tasks, digests, the weekly."""
    clock = FixedClock(datetime(2024, 2, 29, 23, 0, tzinfo=TZ))
    people = await load_example(sessionmaker, clock, store)
    await bind_chats(sessionmaker, people, clock.now())
    sweeper = ReminderSweeper(sessionmaker, clock)
    at = clock.now()
    while at < datetime(2024, 3, 15, 18, 0, tzinfo=TZ):
        at += timedelta(hours=1)
        await sweeper.sweep(at)
    async with sessionmaker() as session:
        assert await session.scalar(select(SweepMark.swept_until)) is not None
        return list(await session.scalars(select(Reminder).order_by(Reminder.id)))


async def test_a_batch_renders_what_each_row_renders_alone(
    sessionmaker: Sessions, tmp_path: Path
) -> None:
    store = FileStore(tmp_path / "data")
    rows = await fortnight_outbox(sessionmaker, store)
    kinds = {row.kind for row in rows}
    assert {"before_7", "due_day", "checkin", "weekly_digest"} <= kinds and len(rows) > 60

    async with sessionmaker() as session:
        together = await reminder_replies(session, rows, store)
    alone = []
    for row in rows:
        async with sessionmaker() as session:
            alone.append(await reminder_reply(session, row, store))

    assert together == alone
    assert sum(reply is not None for reply in together) > 60


async def test_a_batch_of_report_reminders_costs_the_same_few_queries_at_any_size(
    sessionmaker: Sessions, engine: AsyncEngine, tmp_path: Path
) -> None:
    store = FileStore(tmp_path / "data")
    rows = [
        r for r in await fortnight_outbox(sessionmaker, store) if r.subject_type == "obligation"
    ]
    rows = [r for r in rows if not r.kind.startswith("digest")]
    assert len(rows) > 40
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        counts = []
        for size in (5, 40):
            statements.clear()
            async with sessionmaker() as session:
                replies = await reminder_replies(session, rows[:size], store)
            assert all(not isinstance(r, Exception) for r in replies)
            counts.append(len(statements))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    assert counts[0] == counts[1] <= 4


async def test_a_row_handed_in_after_it_was_queued_renders_to_nothing_in_a_batch(
    sessionmaker: Sessions, tmp_path: Path
) -> None:
    store = FileStore(tmp_path / "data")
    rows = [
        r
        for r in await fortnight_outbox(sessionmaker, store)
        if r.subject_type == "obligation" and not r.kind.startswith("digest")
    ]
    first = rows[0]
    async with sessionmaker() as session:
        person = await session.get(Official, first.recipient_id)
        assert person is not None
        session.add(
            Submission(
                unit_id=person.unit_id,
                obligation_id=first.subject_id,
                official_id=person.id,
                version=1,
                submitted_at=datetime(2024, 3, 9, 9, 0, tzinfo=TZ),
            )
        )
        await session.commit()

    async with sessionmaker() as session:
        replies = await reminder_replies(session, rows, store)

    mine = [
        reply
        for row, reply in zip(rows, replies, strict=True)
        if (row.subject_id, row.recipient_id) == (first.subject_id, first.recipient_id)
    ]
    assert mine and all(reply is None for reply in mine)
    others = [
        reply
        for row, reply in zip(rows, replies, strict=True)
        if row.recipient_id != first.recipient_id
    ]
    assert any(reply is not None for reply in others)
