"""/giahan: an official asks, a clerk or leader decides with one tap, the due date moves."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import FixedClock
from db.desk.overdue import overdue
from db.models import (
    AuditEntry,
    ExtensionRequest,
    ExtensionState,
    ObligationAssignee,
    Reminder,
    ReminderStatus,
    Unit,
)
from handlers.callbacks import extension_data
from handlers.clerk.notices import notice_reply
from handlers.conversation import Conversation
from handlers.types import Choice, ChoiceTapped, CommandSent, Reply
from scheduler.policy import preview
from scheduler.snapshot import load_snapshot
from scheduler.sweep import policy_config
from tests.test_clerk_scenario import (
    TZ,
    BaBich,
    Sessions,
    desk,
    fetch,
    hand_in,
    local,
    story,
)

__all__ = ["desk", "story"]  # fixtures


async def ask_extension(desk: Conversation, story: BaBich, key: str, args: str) -> Reply:
    (reply,) = await desk.handle(story.chats[key], CommandSent("giahan", args))
    return reply


async def requests(session: AsyncSession) -> list[ExtensionRequest]:
    return await fetch(session, select(ExtensionRequest).order_by(ExtensionRequest.id))


async def pending_deadline_reminder(sessions: Sessions, story: BaBich, key: str) -> None:
    """An overdue reminder for the old date, already queued by the sweep."""
    async with sessions() as session:
        session.add(
            Reminder(
                unit_id=story.q1.unit_id,
                idempotency_key=f"{story.people[key].id}:obligation:{story.q1.id}:overdue:x",
                recipient_id=story.people[key].id,
                subject_type="obligation",
                subject_id=story.q1.id,
                kind="overdue",
                slot_at=local(13, 3, 8),
                due_at=local(13, 3, 8),
                payload={},
                status=ReminderStatus.PENDING,
            )
        )
        await session.commit()


async def test_an_approved_extension_moves_that_officials_due_date(
    desk: Conversation,
    story: BaBich,
    session: AsyncSession,
    sessionmaker: Sessions,
    clock: FixedClock,
) -> None:
    sent = await ask_extension(desk, story, "lan", "CCHC-Q1 20/3/2024  Chờ số liệu   từ thôn")
    assert sent.text == (
        "📨 Đã gửi đề nghị gia hạn <b>CCHC-Q1-2024</b> Báo cáo CCHC Quý I năm 2024\n"
        "Từ 10/03/2024 đến 20/03/2024.\n"
        "Lý do: Chờ số liệu từ thôn\n"
        "Bot sẽ báo khi văn phòng hoặc lãnh đạo quyết định."
    )
    (request,) = await requests(session)
    assert request.state is ExtensionState.PENDING
    assert (request.current_due, request.requested_due) == (date(2024, 3, 10), date(2024, 3, 20))

    # The clerk and both leaders get the request with the two buttons.
    asks = await fetch(
        session,
        select(Reminder).where(Reminder.kind == "extension_request").order_by(Reminder.id),
    )
    keys = {o.id: k for k, o in story.people.items()}
    assert [keys[r.recipient_id] for r in asks] == ["nhut", "luong", "manh"]
    message = notice_reply(asks[0])
    assert message.text == (
        "📨 <b>Phạm Thị Lan</b> (Văn hóa - Xã hội) xin gia hạn <b>CCHC-Q1-2024</b> "
        "Báo cáo CCHC Quý I năm 2024\nTừ 10/03/2024 đến 20/03/2024\nLý do: Chờ số liệu từ thôn"
    )
    assert message.choices == [
        [
            Choice("Đồng ý", extension_data(request.id, True)),
            Choice("Từ chối", extension_data(request.id, False)),
        ]
    ]

    await pending_deadline_reminder(sessionmaker, story, "lan")
    clock.set(local(11, 3, 9, 40))
    (decided,) = await desk.handle(story.chats["nhut"], ChoiceTapped(f"xa:{request.id}"))
    assert decided.edit and decided.notice == "Đồng ý"
    assert decided.text == (
        f"{message.text}\n\n✅ Đã đồng ý gia hạn đến 20/03/2024 — Trần Văn Nhứt, 11/03/2024 09:40."
    )
    (request,) = await requests(session)
    assert request.state is ExtensionState.APPROVED
    assert request.decided_by_id == story.people["nhut"].id
    assert request.decided_at == local(11, 3, 9, 40)
    (extended,) = await fetch(
        session,
        select(ObligationAssignee.extended_due).where(
            ObligationAssignee.obligation_id == story.q1.id,
            ObligationAssignee.official_id == story.people["lan"].id,
        ),
    )
    assert extended == date(2024, 3, 20)
    (entry,) = await fetch(
        session, select(AuditEntry).where(AuditEntry.action == "extension.approve")
    )
    assert entry.actor_official_id == story.people["nhut"].id
    assert entry.details["to"] == "2024-03-20"

    # The reminder queued for the old date is dropped; Lan is told.
    (old,) = await fetch(
        session, select(Reminder).where(Reminder.kind == "overdue").where(Reminder.status != "sent")
    )
    assert old.status is ReminderStatus.DROPPED
    (told,) = await fetch(session, select(Reminder).where(Reminder.kind == "extension_decided"))
    assert told.recipient_id == story.people["lan"].id
    assert notice_reply(told).text == (
        "✅ Đề nghị gia hạn <b>CCHC-Q1-2024</b> Báo cáo CCHC Quý I năm 2024 "
        "đã được Trần Văn Nhứt đồng ý.\nHạn mới của anh/chị: 20/03/2024."
    )

    # /overdue no longer lists her until 21/03; then she is one day late against her date.
    text = await _say(desk, story, "nhut", "quahan")
    assert "Phạm Thị Lan" not in text and "4/10 chưa nộp, chiếm 40,0%" in text
    clock.set(local(21, 3, 9))
    text = await _say(desk, story, "nhut", "quahan")
    assert (
        "• <b>Phạm Thị Lan</b> (Văn hóa - Xã hội)\n"
        "  trễ 1 ngày · gia hạn đến 20/03/2024 · đã nhắc 1 lần · chưa nộp"
    ) in text
    # Handed in on her extended date: on time in the matrix.
    await hand_in(sessionmaker, story, "lan", story.q1, local(20, 3, 16))
    summary = await _say(desk, story, "nhut", "tonghop", "CCHC-Q1")
    assert "Nộp đúng hạn: 5/10, chiếm 50,0%" in summary


async def _say(desk: Conversation, story: BaBich, key: str, command: str, args: str = "") -> str:
    (reply,) = await desk.handle(story.chats[key], CommandSent(command, args))
    return reply.text


async def test_the_first_decision_wins_and_refusal_tells_the_official(
    desk: Conversation, story: BaBich, session: AsyncSession, clock: FixedClock
) -> None:
    await ask_extension(desk, story, "son", "CCHC-Q1 15/03/2024 Trực bầu cử")
    (request,) = await requests(session)
    clock.set(local(11, 3, 10))
    (refused,) = await desk.handle(story.chats["manh"], ChoiceTapped(f"xr:{request.id}"))
    assert refused.text.endswith("\n\n❌ Không đồng ý gia hạn — Phạm Văn Mạnh, 11/03/2024 10:00.")
    (late,) = await desk.handle(story.chats["nhut"], ChoiceTapped(f"xa:{request.id}"))
    assert late.edit and late.notice == "Đề nghị này đã được quyết định trước đó."
    assert late.text == refused.text
    (request,) = await requests(session)
    assert request.state is ExtensionState.REFUSED
    assert request.decided_by_id == story.people["manh"].id
    groups = await overdue(session, story.q1.unit_id, date(2024, 3, 12))
    assert any(row.full_name == "Đinh Văn Sơn" for row in groups[0].rows)
    (told,) = await fetch(session, select(Reminder).where(Reminder.kind == "extension_decided"))
    assert notice_reply(told).text.endswith(
        "không được Phạm Văn Mạnh đồng ý.\nHạn vẫn là 10/03/2024."
    )


async def test_no_one_decides_their_own_request_and_officials_cannot_decide(
    desk: Conversation, story: BaBich, session: AsyncSession, sessionmaker: Sessions
) -> None:
    # The clerk hands in late and asks for himself: only the leaders are asked.
    await ask_extension(desk, story, "nhut", "CCHC-6T 20/06/2024 Tập huấn dài ngày")
    (request,) = await requests(session)
    asks = await fetch(
        session, select(Reminder.recipient_id).where(Reminder.kind == "extension_request")
    )
    assert sorted(asks) == sorted([story.people["luong"].id, story.people["manh"].id])
    (own,) = await desk.handle(story.chats["nhut"], ChoiceTapped(f"xa:{request.id}"))
    assert own.text == "Anh/chị không thể tự quyết định đề nghị gia hạn của mình."
    (official,) = await desk.handle(story.chats["hoa"], ChoiceTapped(f"xa:{request.id}"))
    assert official.text.startswith("Lệnh này chỉ dành cho công chức Văn phòng - Thống kê")
    (forged,) = await desk.handle(story.chats["luong"], ChoiceTapped("xa:999999"))
    assert "không hợp lệ" in forged.text
    (request,) = await requests(session)
    assert request.state is ExtensionState.PENDING


@pytest.mark.parametrize(
    ("key", "args", "expected"),
    [
        (
            "lan",
            "",
            "Dùng: /giahan &lt;mã báo cáo hoặc nhiệm vụ&gt; &lt;ngày dd/mm/yyyy&gt; &lt;lý do&gt;, "
            "ví dụ /giahan CCHC-Q1 20/03/2024 Đang nghỉ phép",
        ),
        (
            "lan",
            "CCHC-Q1 31/02/2024 ốm",
            "«31/02/2024» không phải ngày hợp lệ. Anh/chị viết ngày theo dạng dd/mm/yyyy, "
            "ví dụ 20/03/2024.",
        ),
        (
            "lan",
            "CCHC-Q1 2024-03-20 ốm",
            "«2024-03-20» không phải ngày hợp lệ. Anh/chị viết ngày theo dạng dd/mm/yyyy, "
            "ví dụ 20/03/2024.",
        ),
        (
            "lan",
            "CCHC-Q1 10/03/2024 ốm",
            "Ngày xin gia hạn phải sau hạn hiện tại của anh/chị (10/03/2024) "
            "và không trước hôm nay.",
        ),
        (
            "lan",
            "CCHC-Q1 20/03/2024",
            "Anh/chị ghi thêm lý do sau ngày, ví dụ: /giahan CCHC-Q1 20/03/2024 Đang nghỉ phép",
        ),
        (
            "lan",
            "CCHC-Q1 20/03/2024 " + "x" * 501,
            "Lý do dài quá 500 ký tự. Anh/chị viết ngắn gọn hơn.",
        ),
        (
            "lan",
            "2.1 20/03/2024 bận",
            "«2.1» không phải báo cáo hay nhiệm vụ được giao cho anh/chị. Gõ /nhiemvu để xem mã.",
        ),
        ("hong", "2.4 20/03/2024 bận", "2.4 không có hạn nên không cần gia hạn."),
        (
            "hoa",
            "CCHC-Q1 20/03/2024 bận",
            "Anh/chị đã nộp hoặc hoàn thành CCHC-Q1-2024, không cần gia hạn.",
        ),
        (
            "luong",
            "CCHC-Q1 20/03/2024 bận",
            "«CCHC-Q1» không phải báo cáo hay nhiệm vụ được giao cho anh/chị. "
            "Gõ /nhiemvu để xem mã.",
        ),
    ],
)
async def test_bad_requests_are_refused_politely_and_change_nothing(
    desk: Conversation, story: BaBich, session: AsyncSession, key: str, args: str, expected: str
) -> None:
    reply = await ask_extension(desk, story, key, args)
    assert reply.text == expected
    assert await requests(session) == []
    assert (
        await fetch(session, select(Reminder.id).where(Reminder.kind == "extension_request")) == []
    )


async def test_one_pending_request_at_a_time(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    await ask_extension(desk, story, "dung", "CCHC-Q1 18/03/2024 Huấn luyện")
    again = await ask_extension(desk, story, "dung", "CCHC-Q1 25/03/2024 Huấn luyện")
    assert again.text == (
        "Anh/chị đã có đề nghị gia hạn CCHC-Q1-2024 đến 18/03/2024 đang chờ quyết định. "
        "Vui lòng chờ trả lời."
    )
    assert len(await requests(session)) == 1


async def test_approval_moves_that_officials_reminders(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    async def lan_reminders() -> list[tuple[str, str]]:
        await session.commit()
        unit = await session.get(Unit, story.q1.unit_id)
        assert unit is not None
        snapshot = await load_snapshot(session, unit.id)
        return [
            (r.kind, r.slot_at.astimezone(TZ).strftime("%d/%m %H:%M"))
            for r in preview(snapshot, policy_config(unit), date(2024, 3, 11), date(2024, 3, 22))
            if r.recipient_id == story.people["lan"].id and r.subject_id == story.q1.id
        ]

    assert await lan_reminders() == [
        ("overdue", "11/03 08:00"),
        ("overdue", "13/03 08:00"),
        ("overdue", "15/03 08:00"),
        ("overdue", "19/03 08:00"),
        ("overdue", "21/03 08:00"),
    ]
    await ask_extension(desk, story, "lan", "CCHC-Q1 20/03/2024 Chờ số liệu")
    (request,) = await requests(session)
    await desk.handle(story.chats["luong"], ChoiceTapped(extension_data(request.id, True)))
    assert await lan_reminders() == [
        ("before_7", "13/03 08:00"),
        ("before_3", "15/03 08:00"),
        ("before_1", "19/03 08:00"),
        ("due_day", "20/03 08:00"),
        ("overdue", "21/03 08:00"),
    ]
