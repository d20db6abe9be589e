"""Issue 14, "Smaller things found": a task's report is an answer, no deadline is never on
time, /nhac spares running extensions and a repeat, a reason typed too late is told so."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.models import ObligationAssignee, Reminder, StatusUpdate, TaskAssignee, TaskState
from handlers.callbacks import status_data
from handlers.clerk.digest import weekly_digest
from handlers.conversation import Conversation
from handlers.types import ChoiceTapped, CommandSent, FilesSent, TextSent
from tests.factories import Commune
from tests.test_clerk_nudge import nudges
from tests.test_clerk_scenario import BaBich, desk, fetch, local, story
from tests.test_conversation import AN_CHAT, a_file, register
from tests.wording import pattern, summary_line, vi

__all__ = ["desk", "story"]  # fixtures


async def answers_of(session: AsyncSession, official_id: int, task_id: int) -> list[TaskState]:
    return await fetch(
        session,
        select(StatusUpdate.state)
        .where(StatusUpdate.official_id == official_id, StatusUpdate.task_id == task_id)
        .order_by(StatusUpdate.id),
    )


# 1. A report handed in through a task's "Gửi báo cáo" is an answer; no deadline, no "on time".


async def test_a_task_report_is_in_progress_and_tonghop_shows_it(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    task = story.tasks["2.4"]
    hung = story.people["hung"]
    await desk.handle(story.chats["hung"], ChoiceTapped(status_data(task.id, None)))
    (receipt,) = await desk.handle(story.chats["hung"], FilesSent([a_file("tien-do-2.4.pdf")]))
    assert re.fullmatch(pattern("report.receipt_task", code="2.4", version=1), receipt.text)
    assert await answers_of(session, hung.id, task.id) == [TaskState.IN_PROGRESS]

    # Thu said "done" already: her report afterwards does not reopen the task.
    thu = story.people["thu"]
    await desk.handle(story.chats["thu"], ChoiceTapped(status_data(task.id, None)))
    await desk.handle(story.chats["thu"], FilesSent([a_file("ket-qua-2.4.pdf")]))
    assert await answers_of(session, thu.id, task.id) == [TaskState.DONE]

    (summary,) = await desk.handle(story.chats["nhut"], CommandSent("tonghop", "2.4"))
    lines = summary.text.split("\n")
    assert summary_line("clerk.task.in_progress", 2, 4, "chiếm 50,0%") in lines
    assert summary_line("clerk.task.not_started", 0, 4, "chiếm 0,0%") in lines
    # 2.4 has no deadline: Thu's "done" is neither on time nor late.
    assert summary_line("clerk.task.done", 1, 4, "đạt 25,0%") in lines
    assert vi("clerk.task.done_on_time") not in summary.text
    assert vi("clerk.task.overdue") not in summary.text


async def test_a_dated_task_still_counts_on_time(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    dated = next(task for task in story.tasks.values() if task.due_date is not None)
    (summary,) = await desk.handle(story.chats["nhut"], CommandSent("tonghop", dated.code))
    assert vi("clerk.task.done_on_time") in summary.text
    assert vi("clerk.task.done") + ":" not in summary.text


# 2. /nhac: a running extension is skipped and said; a repeat in the same minute is said.


async def extend(
    sessionmaker: async_sessionmaker[AsyncSession], story: BaBich, key: str, until: date
) -> None:
    async with sessionmaker() as session:
        await session.execute(
            update(ObligationAssignee)
            .where(
                ObligationAssignee.obligation_id == story.q1.id,
                ObligationAssignee.official_id == story.people[key].id,
            )
            .values(extended_due=until)
        )
        await session.commit()


async def test_remind_skips_a_running_extension_and_says_so(
    desk: Conversation,
    story: BaBich,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await extend(sessionmaker, story, "lan", date(2024, 3, 15))
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("nhac", "CCHC-Q1"))
    assert reply.text == "\n".join(
        [
            vi("clerk.remind.sent", code="CCHC-Q1-2024", count=3),
            "• Phạm Văn Dũng\n• Nguyễn Thị Mai\n• Đinh Văn Sơn",
            vi("clerk.remind.skipped_leave", names="Lê Thị Hồng"),
            vi("clerk.remind.skipped_extended", count=1),
        ]
    )
    assert len(await nudges(session)) == 3

    # The same request within the same minute: the first is still on its way.
    (again,) = await desk.handle(story.chats["nhut"], CommandSent("nhac", "CCHC-Q1"))
    assert again.text == vi("clerk.remind.already_on_its_way", code="CCHC-Q1-2024")
    assert len(await nudges(session)) == 3

    # Named alone, the extended person is skipped too.
    clock.set(local(11, 3, 9, 5))
    (lan,) = await desk.handle(story.chats["nhut"], CommandSent("nhac", "CCHC-Q1 Lan"))
    assert lan.text == "\n".join(
        [
            vi("clerk.remind.none_sent", code="CCHC-Q1-2024"),
            vi("clerk.remind.skipped_extended", count=1),
        ]
    )
    # Out of hours, the confirmation counts only those who would be nudged.
    clock.set(local(11, 3, 19))
    (ask,) = await desk.handle(story.chats["nhut"], CommandSent("nhac", "CCHC-Q1"))
    assert ask.text == vi("clerk.remind.confirm", code="CCHC-Q1-2024", count=3)

    # Once the extension has run out, she is nudged again.
    clock.set(local(18, 3, 9))
    (later,) = await desk.handle(story.chats["nhut"], CommandSent("nhac", "CCHC-Q1 Lan"))
    assert later.text == vi("clerk.remind.sent", code="CCHC-Q1-2024", count=1) + "\n• Phạm Thị Lan"
    assert len(await nudges(session)) == 4


async def test_a_second_tap_of_the_confirmation_says_it_is_on_its_way(
    desk: Conversation, story: BaBich, session: AsyncSession, clock: FixedClock
) -> None:
    clock.set(local(11, 3, 18, 30))
    (ask,) = await desk.handle(story.chats["nhut"], CommandSent("nhac", "CCHC-Q1"))
    ((button,),) = ask.choices
    await desk.handle(story.chats["nhut"], ChoiceTapped(button.data))
    (second,) = await desk.handle(story.chats["nhut"], ChoiceTapped(button.data))
    assert second.text == vi("clerk.remind.already_on_its_way", code="CCHC-Q1-2024")
    rows = await fetch(session, select(Reminder).where(Reminder.kind == "nudge"))
    assert len(rows) == 4


# 3. A reason typed after the 30 minutes: tap "Vướng mắc" again.


async def notes(session: AsyncSession) -> list[str]:
    return await fetch(session, select(StatusUpdate.note).order_by(StatusUpdate.id))


async def test_a_reason_after_30_minutes_is_told_to_tap_again(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    blocked = ChoiceTapped(status_data(commune.task_24.id, TaskState.BLOCKED))
    await conversation.handle(AN_CHAT, blocked)
    clock.set(clock.now() + timedelta(minutes=31))
    (late,) = await conversation.handle(AN_CHAT, TextSent("Thiếu máy scan"))
    assert late.text == vi("status.reason_too_late", code="2.4")
    assert [c.data for row in late.choices for c in row][2] == blocked.data
    assert await notes(session) == [""]  # nothing recorded

    # Tapped again, the reason is taken.
    await conversation.handle(AN_CHAT, blocked)
    (saved,) = await conversation.handle(AN_CHAT, TextSent("Thiếu máy scan"))
    assert saved.text == vi("status.reason_saved", code="2.4")
    assert await notes(session) == ["", "Thiếu máy scan"]

    # A blocked answer that has its reason: later words are just words.
    clock.set(clock.now() + timedelta(minutes=45))
    (words,) = await conversation.handle(AN_CHAT, TextSent("cảm ơn"))
    assert words.text == vi("unknown.text")


async def test_a_day_later_or_a_slash_is_not_taken_for_a_late_reason(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await conversation.handle(
        AN_CHAT, ChoiceTapped(status_data(commune.task_24.id, TaskState.BLOCKED))
    )
    clock.set(clock.now() + timedelta(hours=2))
    (slash,) = await conversation.handle(AN_CHAT, TextSent("/xoa"))
    assert slash.text == vi("unknown.text")
    clock.set(clock.now() + timedelta(days=1))
    (old,) = await conversation.handle(AN_CHAT, TextSent("Thiếu máy scan"))
    assert old.text == vi("unknown.text")
    # A later answer that is not "blocked" is the latest word.
    await conversation.handle(
        AN_CHAT, ChoiceTapped(status_data(commune.task_24.id, TaskState.BLOCKED))
    )
    await conversation.handle(
        AN_CHAT, ChoiceTapped(status_data(commune.task_24.id, TaskState.IN_PROGRESS))
    )
    clock.set(clock.now() + timedelta(minutes=40))
    (words,) = await conversation.handle(AN_CHAT, TextSent("Thiếu máy scan"))
    assert words.text == vi("unknown.text")
    count = await fetch(session, select(func.count()).select_from(StatusUpdate))
    assert count == [3] and await notes(session) == ["", "", ""]


# 4. The weekly digest of the week an extended deadline falls in lists it.


async def test_the_digest_lists_extended_deadlines_of_its_week(
    story: BaBich, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await extend(sessionmaker, story, "lan", date(2024, 3, 15))
    await extend(sessionmaker, story, "dung", date(2024, 3, 20))
    task = story.tasks["2.3"]  # due 30/11/2024, Hồng leads
    async with sessionmaker() as writing:
        await writing.execute(
            update(TaskAssignee)
            .where(
                TaskAssignee.task_id == task.id,
                TaskAssignee.official_id == story.people["hong"].id,
            )
            .values(extended_due=date(2024, 12, 4))
        )
        await writing.commit()
    unit_id = story.q1.unit_id

    def line(code: str, name: str, due: str, state: str) -> str:
        return vi("clerk.digest.due_extended", code=code, name=name, due=due, state=vi(state))

    lan = line("CCHC-Q1-2024", "Phạm Thị Lan", "15/03/2024", "clerk.digest.extended_owing")
    dung = line("CCHC-Q1-2024", "Phạm Văn Dũng", "20/03/2024", "clerk.digest.extended_owing")
    text, _ = await weekly_digest(session, unit_id, local(11, 3, 8))
    assert lan in text.split("\n") and dung not in text
    assert vi("clerk.digest.due_none") not in text
    text, _ = await weekly_digest(session, unit_id, local(18, 3, 8))
    assert dung in text.split("\n") and lan not in text
    text, _ = await weekly_digest(session, unit_id, local(2, 12, 8))
    hong = line("2.3", "Lê Thị Hồng", "04/12/2024", "clerk.digest.extended_not_done")
    assert hong in text.split("\n")
