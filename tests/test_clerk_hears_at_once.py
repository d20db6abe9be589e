"""What the clerk must hear at once: a "vướng mắc" with its reason, a late submission and a
resubmission after /tralai, each an outbox notice at the unit's next working slot, where the
dispatcher bundles it with that slot's reminders (one row per answer or submission)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import FixedClock
from db.desk.review import review
from db.kinds import BLOCKED_NOTICE, SUBMISSION_NOTICE
from db.models import Official, Reminder, ReviewState, Submission, TaskState
from handlers.callbacks import obligation_data, status_data
from handlers.conversation import Conversation
from handlers.types import Channel, ChoiceTapped, FilesSent, Sender, TextSent
from tests.factories import Commune
from tests.test_conversation import AN_CHAT, a_file, register
from tests.wording import vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BINH_CHAT = Sender(Channel.TELEGRAM, "1002", "Bình")


def local(day: int, month: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=TZ)


async def notices(session: AsyncSession, kind: str) -> list[Reminder]:
    await session.commit()  # a fresh snapshot: the bot wrote in its own transactions
    rows = await session.scalars(
        select(Reminder).where(Reminder.kind == kind).order_by(Reminder.id)
    )
    return list(rows)


def slot(row: Reminder) -> datetime:
    return row.slot_at.astimezone(UTC)


async def test_a_coordinators_vuong_mac_reaches_the_clerk_and_the_lead_at_the_next_slot(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.binh, BINH_CHAT)
    task = commune.task_24  # An leads it, Bình coordinates
    clock.set(local(8, 3, 10))  # Friday, after the morning slot
    await conversation.handle(BINH_CHAT, ChoiceTapped(status_data(task.id, TaskState.BLOCKED)))
    await conversation.handle(BINH_CHAT, TextSent("Chờ số liệu của xã"))

    rows = await notices(session, BLOCKED_NOTICE)
    # One row each for the clerk and the lead, not one per tap and reason.
    assert sorted(r.recipient_id for r in rows) == sorted([commune.clerk.id, commune.an.id])
    # Monday 11/03 08:00, the next working slot: bundled with that morning's reminders.
    assert {slot(r) for r in rows} == {local(11, 3, 8).astimezone(UTC)}
    reason = vi("desk.state.blocked", reason="Chờ số liệu của xã")
    for row in rows:
        assert row.payload is not None
        assert "Lê Thị Bình" in row.payload["text"] and reason in row.payload["text"]


async def test_a_leads_vuong_mac_before_the_slot_goes_out_that_morning(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    clock.set(local(11, 3, 7, 30))  # Monday, before the 08:00 slot
    task = commune.task_24
    await conversation.handle(AN_CHAT, ChoiceTapped(status_data(task.id, TaskState.BLOCKED)))

    (row,) = await notices(session, BLOCKED_NOTICE)
    # The lead is stuck: the clerk hears it; nobody else leads the task.
    assert row.recipient_id == commune.clerk.id
    assert slot(row) == local(11, 3, 8).astimezone(UTC)
    assert row.payload is not None
    assert vi("desk.state.blocked_no_reason") in row.payload["text"]


async def hand_in(conversation: Conversation, who: Sender, obligation_id: int, name: str) -> None:
    await conversation.handle(who, ChoiceTapped(obligation_data(obligation_id)))
    await conversation.handle(who, FilesSent([a_file(name)]))


async def test_late_submissions_and_resubmissions_are_reported_to_the_clerk(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await register(conversation, session, commune.binh, BINH_CHAT)
    q1 = commune.q1  # due Sunday 10/03/2024

    clock.set(local(8, 3, 9))
    await hand_in(conversation, AN_CHAT, q1.id, "an-q1.pdf")  # on time: nothing to report
    assert await notices(session, SUBMISSION_NOTICE) == []

    clock.set(local(12, 3, 9))  # Tuesday, two days late
    await hand_in(conversation, BINH_CHAT, q1.id, "binh-q1.pdf")
    (late,) = await notices(session, SUBMISSION_NOTICE)
    assert late.recipient_id == commune.clerk.id
    assert slot(late) == local(13, 3, 8).astimezone(UTC)
    assert late.payload is not None
    assert late.payload["text"] == vi(
        "desk.notice.late",
        name="Lê Thị Bình",
        title="Báo cáo CCHC Quý I năm 2024",
        version=1,
        time="12/03/2024 09:00",
        late=vi("desk.notice.late_part", days=2),
    )

    # The clerk sends An's report back; An's second version is reported too.
    await session.commit()
    async with session.begin():
        first = await session.scalar(
            select(Submission).where(Submission.official_id == commune.an.id)
        )
        clerk = await session.get(Official, commune.clerk.id)
        assert first is not None and clerk is not None
        await review(session, first, ReviewState.RETURNED, clerk, local(12, 3, 10), actor="test")
    clock.set(local(12, 3, 15))
    await hand_in(conversation, AN_CHAT, q1.id, "an-q1-v2.pdf")
    rows = await notices(session, SUBMISSION_NOTICE)
    assert len(rows) == 2  # one row per submission
    again = rows[-1]
    assert again.recipient_id == commune.clerk.id
    assert slot(again) == local(13, 3, 8).astimezone(UTC)
    assert again.payload is not None
    assert again.payload["text"] == vi(
        "desk.notice.resubmitted",
        name="Trần Văn An",
        title="Báo cáo CCHC Quý I năm 2024",
        version=2,
        time="12/03/2024 15:00",
        late=vi("desk.notice.late_part", days=2),
    )
