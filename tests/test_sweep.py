"""The sweep on the bundled Ba Bích plan: what lands in the outbox, and when."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.files import FileStore
from db.models import (
    ChannelIdentity,
    Obligation,
    Official,
    Reminder,
    ReviewState,
    Submission,
    SweepMark,
    Unit,
)
from handlers.reminder_messages import reminder_reply
from scheduler.sweep import sweep_all
from tests.plans import bind_chats, load_example

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
Sessions = async_sessionmaker[AsyncSession]


def local(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M").replace(tzinfo=TZ)


@pytest.fixture
async def people(sessionmaker: Sessions, clock: FixedClock) -> dict[str, Official]:
    officials = await load_example(sessionmaker, clock)
    await bind_chats(sessionmaker, officials, clock.now())
    return officials


async def sweep(sessionmaker: Sessions, at: str) -> None:
    async with sessionmaker() as session, session.begin():
        await sweep_all(session, local(at))


async def set_mark(sessionmaker: Sessions, at: str) -> None:
    async with sessionmaker() as session, session.begin():
        unit = await session.scalar(select(Unit))
        assert unit is not None
        await session.execute(delete(SweepMark))
        session.add(SweepMark(unit_id=unit.id, swept_until=local(at)))


async def outbox(sessionmaker: Sessions) -> list[Reminder]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(Reminder).order_by(Reminder.id)))


async def q1_id(sessionmaker: Sessions) -> int:
    async with sessionmaker() as session:
        found = await session.scalar(select(Obligation.id).where(Obligation.code == "CCHC-Q1-2024"))
    assert found is not None
    return found


def keys_of(people: dict[str, Official]) -> dict[int, str]:
    return {o.id: key for key, o in people.items()}


async def test_the_first_sweep_sends_the_week_before_reminder_on_friday(
    sessionmaker: Sessions, people: dict[str, Official]
) -> None:
    # Q1 is due Sunday 10/03/2024: "7 days before" (Sun 03/03) moves back to Fri 01/03 08:00.
    await sweep(sessionmaker, "01/03/2024 08:00")
    rows = await outbox(sessionmaker)
    q1 = await q1_id(sessionmaker)
    names = keys_of(people)
    report_rows = [r for r in rows if r.subject_type == "obligation"]
    assert {r.kind for r in report_rows} == {"before_7"}
    assert all(r.subject_id == q1 for r in report_rows)
    assert all(r.slot_at == local("01/03/2024 08:00") for r in rows)
    submitters = {names[r.recipient_id] for r in report_rows}
    assert "hong" in submitters  # her leave starts on 04/03
    assert not submitters & {"luong", "manh"}  # leaders submit nothing
    assert all(r.payload["first"] for r in report_rows)
    assert all(len(r.payload["templates"]) == 2 for r in report_rows)
    # Task 2.8 asks for progress every Friday from 01/03/2024.
    assert {r.kind for r in rows if r.subject_type == "task"} == {"checkin"}


async def test_sweeping_again_adds_nothing(
    sessionmaker: Sessions, people: dict[str, Official]
) -> None:
    await sweep(sessionmaker, "01/03/2024 08:00")
    first = len(await outbox(sessionmaker))
    await set_mark(sessionmaker, "01/03/2024 07:00")  # as if another process swept it too
    await sweep(sessionmaker, "01/03/2024 08:00")
    assert len(await outbox(sessionmaker)) == first > 0


async def test_a_quiet_minute_reads_nothing_and_moves_the_mark(
    sessionmaker: Sessions, people: dict[str, Official]
) -> None:
    await set_mark(sessionmaker, "07/03/2024 09:59")
    await sweep(sessionmaker, "07/03/2024 10:00")
    assert await outbox(sessionmaker) == []
    async with sessionmaker() as session:
        mark = await session.scalar(select(SweepMark))
    assert mark is not None and mark.swept_until == local("07/03/2024 10:00")


async def test_after_downtime_each_person_gets_one_message_per_subject(
    sessionmaker: Sessions, people: dict[str, Official]
) -> None:
    await set_mark(sessionmaker, "01/03/2024 08:01")
    await sweep(sessionmaker, "15/03/2024 09:00")
    rows = await outbox(sessionmaker)
    q1 = await q1_id(sessionmaker)
    names = keys_of(people)
    per_person = Counter(
        (r.recipient_id, r.subject_type, r.subject_id)
        for r in rows
        if not r.kind.startswith("digest")
    )
    assert set(per_person.values()) == {1}
    q1_rows = [r for r in rows if r.subject_id == q1 and r.subject_type == "obligation"]
    reminders = [r for r in q1_rows if not r.kind.startswith("digest")]
    assert {r.kind for r in reminders} == {"overdue"}
    assert {r.slot_at for r in reminders} == {local("15/03/2024 08:00")}
    assert "hong" not in {names[r.recipient_id] for r in reminders}  # on leave 04–15/03
    digests = [r for r in q1_rows if r.kind.startswith("digest")]
    assert sorted((names[r.recipient_id], r.kind) for r in digests) == [
        ("luong", "digest_leaders"),
        ("manh", "digest_leaders"),
        ("nhut", "digest_clerk"),
    ]
    missing = {names[m["official_id"]]: m["on_leave"] for m in digests[0].payload["missing"]}
    assert missing["hong"] is True and missing["thu"] is False


async def test_who_submitted_gets_no_more_and_a_return_restarts_them(
    sessionmaker: Sessions, people: dict[str, Official]
) -> None:
    q1 = await q1_id(sessionmaker)
    thu = people["thu"]
    async with sessionmaker() as session:
        session.add(
            Submission(
                unit_id=thu.unit_id,
                obligation_id=q1,
                official_id=thu.id,
                version=1,
                submitted_at=local("05/03/2024 10:00"),
                late_days=0,
            )
        )
        await session.commit()
    await set_mark(sessionmaker, "07/03/2024 07:59")
    await sweep(sessionmaker, "07/03/2024 08:00")
    recipients = {r.recipient_id for r in await outbox(sessionmaker) if r.subject_id == q1}
    assert thu.id not in recipients and people["hoa"].id in recipients

    async with sessionmaker() as session:
        submission = await session.scalar(select(Submission))
        assert submission is not None
        submission.review_state = ReviewState.RETURNED
        submission.reviewed_at = local("07/03/2024 15:00")
        await session.commit()
    await sweep(sessionmaker, "08/03/2024 08:00")
    latest = [
        r for r in await outbox(sessionmaker) if r.recipient_id == thu.id and r.subject_id == q1
    ]
    assert [(r.kind, r.payload["first"]) for r in latest] == [("due_day", True)]


async def test_officials_without_a_chat_get_nothing(
    sessionmaker: Sessions, people: dict[str, Official]
) -> None:
    async with sessionmaker() as session:
        await session.execute(
            delete(ChannelIdentity).where(ChannelIdentity.official_id == people["son"].id)
        )
        await session.commit()
    await sweep(sessionmaker, "01/03/2024 08:00")
    assert people["son"].id not in {r.recipient_id for r in await outbox(sessionmaker)}


async def test_two_processes_sweeping_together_write_each_reminder_once(
    sessionmaker: Sessions, people: dict[str, Official]
) -> None:
    await set_mark(sessionmaker, "07/03/2024 07:00")
    await asyncio.gather(
        sweep(sessionmaker, "07/03/2024 08:00"), sweep(sessionmaker, "07/03/2024 08:00")
    )
    rows = await outbox(sessionmaker)
    assert rows and len({r.idempotency_key for r in rows}) == len(rows)
    assert {r.kind for r in rows if r.subject_type == "obligation"} == {"before_3"}


async def test_the_mark_only_moves_forward(
    sessionmaker: Sessions, people: dict[str, Official]
) -> None:
    await set_mark(sessionmaker, "07/03/2024 09:00")
    await sweep(sessionmaker, "07/03/2024 08:00")  # a late process with an older clock
    async with sessionmaker() as session:
        mark = await session.scalar(select(SweepMark))
    assert mark is not None and mark.swept_until == local("07/03/2024 09:00")
    assert timedelta(0) == mark.swept_until - local("07/03/2024 09:00")


async def test_a_three_day_outage_sends_only_the_newest_reminder(
    sessionmaker: Sessions, people: dict[str, Official]
) -> None:
    # Down from Wednesday 06/03 09:00 to Saturday 09/03 09:00: the before_3 (Thu 07/03) and
    # the due-day reminder (Fri 08/03) both fell due meanwhile; only the newer one is sent.
    await set_mark(sessionmaker, "06/03/2024 09:00")
    await sweep(sessionmaker, "09/03/2024 09:00")
    q1 = await q1_id(sessionmaker)
    rows = [r for r in await outbox(sessionmaker) if r.subject_id == q1]
    per_person = Counter(r.recipient_id for r in rows)
    assert rows and set(per_person.values()) == {1}
    assert {(r.kind, r.slot_at) for r in rows} == {("due_day", local("08/03/2024 08:00"))}


async def test_the_weekly_digest_goes_to_the_clerk_and_leaders_on_monday(
    sessionmaker: Sessions, people: dict[str, Official], tmp_path: Path
) -> None:
    await set_mark(sessionmaker, "11/03/2024 07:59")
    await sweep(sessionmaker, "11/03/2024 08:00")
    weekly = [r for r in await outbox(sessionmaker) if r.kind == "weekly_digest"]
    names = keys_of(people)
    assert sorted(names[r.recipient_id] for r in weekly) == ["luong", "manh", "nhut"]
    assert {r.slot_at for r in weekly} == {local("11/03/2024 08:00")}
    async with sessionmaker() as session:
        reply = await reminder_reply(session, weekly[0], FileStore(tmp_path))
    assert reply is not None and reply.files
    png = await asyncio.to_thread(Path(reply.files[0].path).read_bytes)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # A Tuesday sweep adds no second digest for that week.
    await sweep(sessionmaker, "12/03/2024 08:00")
    assert len([r for r in await outbox(sessionmaker) if r.kind == "weekly_digest"]) == 3
