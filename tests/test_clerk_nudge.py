"""/remind (/nhac): nudges through the outbox, once per request, confirmed out of hours."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import FixedClock
from db.models import ChannelIdentity, Reminder, ReminderStatus, TaskState
from handlers.callbacks import nudge_data, status_data
from handlers.clerk.notices import notice_reply
from handlers.conversation import Conversation
from handlers.types import ChoiceTapped, CommandSent
from tests.test_clerk_scenario import BaBich, desk, fetch, local, story
from tests.wording import BA_BICH_OFFICE, days_late, due_part, vi

__all__ = ["desk", "story"]  # fixtures


async def nudges(session: AsyncSession) -> list[Reminder]:
    return await fetch(
        session, select(Reminder).where(Reminder.kind == "nudge").order_by(Reminder.recipient_id)
    )


def q1_sent_to_four() -> str:
    """The answer to /nhac CCHC-Q1 on 11/03: four nudged, Hồng on leave."""
    return "\n".join(
        [
            vi("clerk.remind.sent", code="CCHC-Q1-2024", count=4),
            "• Phạm Văn Dũng\n• Phạm Thị Lan\n• Nguyễn Thị Mai\n• Đinh Văn Sơn",
            vi("clerk.remind.skipped_leave", names="Lê Thị Hồng"),
        ]
    )


async def test_remind_in_working_hours_nudges_those_who_owe_it(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("nhac", "CCHC-Q1"))
    assert reply.text == q1_sent_to_four()
    rows = await nudges(session)
    people = {story.people[k].id: k for k in story.people}
    assert sorted(people[r.recipient_id] for r in rows) == ["dung", "lan", "mai", "son"]
    assert all(r.status is ReminderStatus.PENDING and r.due_at == local(11, 3, 9) for r in rows)
    assert all(
        r.idempotency_key.endswith(":obligation:" + f"{story.q1.id}:nudge:202403110200")
        for r in rows
    )
    lan = next(r for r in rows if people[r.recipient_id] == "lan")
    message = notice_reply(lan)
    assert message.text == vi(
        "clerk.notice.nudge_report",
        title="Báo cáo CCHC Quý I năm 2024",
        due_part=due_part("10/03/2024", days_late(1)),
    )
    assert [c.data for row in message.choices for c in row] == [f"ob:{story.q1.id}"]

    # The same request in the same minute (a double send) queues nothing more.
    await desk.handle(story.chats["nhut"], CommandSent("remind", "CCHC-Q1"))
    assert len(await nudges(session)) == 4


async def test_remind_one_person_by_name(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    (one,) = await desk.handle(story.chats["luong"], CommandSent("remind", "CCHC-Q1 lan"))
    assert one.text == vi("clerk.remind.sent", code="CCHC-Q1-2024", count=1) + "\n• Phạm Thị Lan"
    (done,) = await desk.handle(story.chats["luong"], CommandSent("remind", "CCHC-Q1 Hoa"))
    assert done.text == vi("clerk.remind.done_already", code="CCHC-Q1-2024")
    (many,) = await desk.handle(story.chats["luong"], CommandSent("remind", "CCHC-Q1 Nguyễn"))
    assert many.text == vi(
        "clerk.remind.ambiguous",
        name="Nguyễn",
        candidates="• Nguyễn Thị Hoa (Văn phòng - Thống kê)\n"
        "• Nguyễn Thị Mai (Tài chính - Kế toán)",
    )
    (nobody,) = await desk.handle(story.chats["luong"], CommandSent("remind", "CCHC-Q1 Bình"))
    assert nobody.text == vi("clerk.remind.not_assigned", name="Bình", code="CCHC-Q1-2024")
    assert len(await nudges(session)) == 1


async def test_unreachable_people_are_named_not_nudged(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    await session.execute(
        update(ChannelIdentity)
        .where(ChannelIdentity.official_id == story.people["son"].id)
        .values(reachable=False)
    )
    await session.commit()
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("nhac", "CCHC-Q1 Sơn"))
    assert reply.text == "\n".join(
        [
            vi("clerk.remind.none_sent", code="CCHC-Q1-2024"),
            vi("clerk.remind.skipped_unreachable", names="Đinh Văn Sơn"),
        ]
    )
    assert await nudges(session) == []


async def test_out_of_hours_asks_first_and_sends_once_on_the_tap(
    desk: Conversation, story: BaBich, session: AsyncSession, clock: FixedClock
) -> None:
    clock.set(local(11, 3, 18, 30))
    (ask,) = await desk.handle(story.chats["nhut"], CommandSent("nhac", "CCHC-Q1"))
    assert ask.text == vi("clerk.remind.confirm", code="CCHC-Q1-2024", count=4)
    ((button,),) = ask.choices
    assert button.label == vi("clerk.button.send_now")
    minute = int(local(11, 3, 18, 30).timestamp()) // 60
    assert button.data == nudge_data(False, story.q1.id, None, minute)
    assert len(button.data.encode()) <= 64
    assert await nudges(session) == []

    clock.set(local(11, 3, 18, 32))
    (sent,) = await desk.handle(story.chats["nhut"], ChoiceTapped(button.data))
    assert sent.edit and sent.notice == vi("clerk.remind.sent_notice")
    assert sent.text == q1_sent_to_four()
    rows = await nudges(session)
    assert len(rows) == 4
    assert all(r.idempotency_key.endswith(":nudge:202403111130") for r in rows)
    assert all(r.due_at == local(11, 3, 18, 32) for r in rows)

    await desk.handle(story.chats["nhut"], ChoiceTapped(button.data))  # a second tap
    assert len(await nudges(session)) == 4

    # An official who forwards or forges the button is refused.
    (refused,) = await desk.handle(story.chats["hoa"], ChoiceTapped(button.data))
    assert refused.text == vi("clerk.refuse", office=BA_BICH_OFFICE)


async def test_a_saturday_is_out_of_hours_and_tasks_can_be_nudged(
    desk: Conversation, story: BaBich, session: AsyncSession, clock: FixedClock
) -> None:
    clock.set(local(16, 3, 10))  # Saturday
    (ask,) = await desk.handle(story.chats["nhut"], CommandSent("nhac", "2.4"))
    assert ask.text == vi("clerk.remind.confirm", code="2.4", count=3)
    clock.set(local(18, 3, 8))  # Monday
    (sent,) = await desk.handle(story.chats["nhut"], CommandSent("nhac", "2.4"))
    assert sent.text == "\n".join(
        [
            vi("clerk.remind.sent", code="2.4", count=3),
            "• Lê Thị Hồng\n• Võ Văn Hùng\n• Đinh Văn Sơn",
        ]
    )
    task = story.tasks["2.4"]
    rows = await nudges(session)
    assert {r.subject_type for r in rows} == {"task"}
    message = notice_reply(rows[0])
    assert message.text == vi(
        "clerk.notice.nudge_task",
        code="2.4",
        title="Số hóa hồ sơ TTHC, hạn chế trễ hẹn; kết nối CSDL quốc gia về dân cư",
        due_part=vi("when.no_due").capitalize(),
    )
    assert message.choices[0][0].data == status_data(task.id, TaskState.DONE)


async def test_remind_with_bad_input(desk: Conversation, story: BaBich) -> None:
    (usage,) = await desk.handle(story.chats["nhut"], CommandSent("nhac"))
    assert usage.text == vi("clerk.remind.usage")
    (unknown,) = await desk.handle(story.chats["nhut"], CommandSent("nhac", "Q7"))
    assert unknown.text == vi("clerk.unknown_subject", code="Q7")
    (forged,) = await desk.handle(story.chats["nhut"], ChoiceTapped("nd:o999999:0:28500000"))
    assert forged.notice and forged.text == vi("refuse.bad_choice")
