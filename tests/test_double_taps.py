"""A choice tapped twice (issue 15): one answer recorded, one flow, the same end state.

A double tap, or a tap repeated while the first was on its way, reaches the bot as two
callback queries with the same data.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import answers
from db.clock import FixedClock
from db.models import AuditEntry, ConversationState, Reminder, StatusUpdate, Submission, TaskState
from handlers.callbacks import status_data
from handlers.conversation import Conversation
from handlers.types import ChoiceTapped, FilesSent, Reply, TextSent
from tests.factories import Commune
from tests.test_conversation import AN_CHAT, a_file, count, fetch_all, register
from tests.wording import vi


async def test_the_same_answer_within_seconds_is_recorded_once(
    session: AsyncSession, commune: Commune, clock: FixedClock
) -> None:
    at = clock.now()
    first = await answers.record_status(
        session, commune.an, commune.task_24, TaskState.DONE, at, actor="test"
    )
    again = await answers.record_status(
        session,
        commune.an,
        commune.task_24,
        TaskState.DONE,
        at + answers.REPEAT_WINDOW,
        actor="test",
    )
    assert again.id == first.id
    # Another answer, another person, or the same answer later: each is recorded.
    other = await answers.record_status(
        session, commune.an, commune.task_24, TaskState.IN_PROGRESS, at, actor="test"
    )
    binh = await answers.record_status(
        session, commune.binh, commune.task_24, TaskState.IN_PROGRESS, at, actor="test"
    )
    later = await answers.record_status(
        session,
        commune.an,
        commune.task_24,
        TaskState.IN_PROGRESS,
        at + answers.REPEAT_WINDOW + timedelta(seconds=1),
        actor="test",
    )
    assert len({first.id, other.id, binh.id, later.id}) == 4
    await session.commit()
    assert await count(session, StatusUpdate) == 4
    audited = await session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "status.answer")
    )
    assert audited == 4


async def taps(conversation: Conversation, data: str, clock: FixedClock) -> list[list[Reply]]:
    first = await conversation.handle(AN_CHAT, ChoiceTapped(data))
    clock.set(clock.now() + timedelta(seconds=3))
    return [first, await conversation.handle(AN_CHAT, ChoiceTapped(data))]


async def test_a_double_tap_of_a_status_answer_is_one_answer(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    first, second = await taps(conversation, status_data(commune.task_24.id, TaskState.DONE), clock)
    assert second == first  # the same friendly reply: the prompt edited to the same text
    assert await count(session, StatusUpdate) == 1


async def test_a_double_tap_of_blocked_asks_for_one_reason(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    first, second = await taps(
        conversation, status_data(commune.task_24.id, TaskState.BLOCKED), clock
    )
    assert second == first
    assert await count(session, StatusUpdate) == 1
    (saved,) = await conversation.handle(AN_CHAT, TextSent("Thiếu máy scan"))
    assert saved.text == vi("status.reason_saved", code="2.4")
    notes = await fetch_all(session, select(StatusUpdate.note))
    assert notes == ["Thiếu máy scan"]
    assert await count(session, ConversationState) == 0


async def end_state(session: AsyncSession) -> tuple[object, ...]:
    states = await fetch_all(session, select(ConversationState.kind, ConversationState.data))
    versions = await fetch_all(session, select(Submission.id).order_by(Submission.id))
    rows = await fetch_all(session, select(Reminder.idempotency_key).order_by(Reminder.id))
    return (states, versions, rows)


async def test_a_double_tap_on_which_report_leaves_no_flow_open(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    (question,) = await conversation.handle(AN_CHAT, FilesSent([a_file("q1.pdf")]))
    data = question.choices[0][0].data
    (receipt,) = await conversation.handle(AN_CHAT, ChoiceTapped(data))
    assert receipt.edit and receipt.text.startswith(vi("report.receipt", **RECEIPT).split("\n")[0])
    once = await end_state(session)

    clock.set(clock.now() + timedelta(seconds=2))
    (again,) = await conversation.handle(AN_CHAT, ChoiceTapped(data))
    assert not again.edit  # the receipt stays as it is
    assert again.text == vi("report.choice_done")
    assert await end_state(session) == once
    assert await count(session, Submission) == 1

    # The next words are not taken for a file awaited by a stale flow.
    (reply,) = await conversation.handle(AN_CHAT, TextSent("cảm ơn"))
    assert reply.text == vi("unknown.text")


RECEIPT = {
    "title": "Báo cáo CCHC Quý I năm 2024",
    "version": 1,
    "files": "",
    "time": "08/03/2024 08:00",
    "timeliness": "",
    "start": "",
    "end": "",
}
