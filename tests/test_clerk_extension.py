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
from tests.wording import BA_BICH_OFFICE, overdue_person, summary_line, vi

__all__ = ["desk", "story"]  # fixtures

Q1_TITLE = "Báo cáo CCHC Quý I năm 2024"


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
    assert sent.text == vi(
        "clerk.extension.sent",
        code="CCHC-Q1-2024",
        title=Q1_TITLE,
        start="10/03/2024",
        end="20/03/2024",
        reason="Chờ số liệu từ thôn",
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
    assert message.text == vi(
        "clerk.extension.ask",
        name="Phạm Thị Lan",
        department="Văn hóa - Xã hội",
        code="CCHC-Q1-2024",
        title=Q1_TITLE,
        start="10/03/2024",
        end="20/03/2024",
        reason="Chờ số liệu từ thôn",
    )
    assert message.choices == [
        [
            Choice(vi("clerk.button.approve"), extension_data(request.id, True)),
            Choice(vi("clerk.button.refuse"), extension_data(request.id, False)),
        ]
    ]

    await pending_deadline_reminder(sessionmaker, story, "lan")
    clock.set(local(11, 3, 9, 40))
    (decided,) = await desk.handle(story.chats["nhut"], ChoiceTapped(f"xa:{request.id}"))
    assert decided.edit and decided.notice == vi("clerk.button.approve")
    approved = vi(
        "clerk.extension.approved", end="20/03/2024", name="Trần Văn Nhứt", time="11/03/2024 09:40"
    )
    assert decided.text == f"{message.text}\n\n{approved}"
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
    assert notice_reply(told).text == vi(
        "clerk.notice.extension_approved",
        code="CCHC-Q1-2024",
        title=Q1_TITLE,
        name="Trần Văn Nhứt",
        end="20/03/2024",
    )

    # /overdue still counts her among those who have not handed in, as /tonghop does, but
    # not as late: her extended date has not passed. From 21/03 she is one day late.
    text = await _say(desk, story, "nhut", "quahan")
    q1_head = vi(
        "clerk.overdue.report",
        code="CCHC-Q1-2024",
        title=Q1_TITLE,
        due="10/03/2024",
        share="5/10",
        rate="chiếm 50,0%",
    )
    waiting = overdue_person(
        "Phạm Thị Lan",
        "Văn hóa - Xã hội",
        vi("clerk.overdue.extended", due="20/03/2024"),
        vi("clerk.overdue.reminded", count=1),
        vi("clerk.not_submitted"),
    )
    assert q1_head in text and f"\n{waiting}\n" in f"{text}\n"
    clock.set(local(21, 3, 9))
    text = await _say(desk, story, "nhut", "quahan")
    lan = overdue_person(
        "Phạm Thị Lan",
        "Văn hóa - Xã hội",
        vi("desk.state.overdue", days=1),
        vi("clerk.overdue.extended", due="20/03/2024"),
        vi("clerk.overdue.reminded", count=1),
        vi("clerk.not_submitted"),
    )
    assert f"\n{lan}\n" in f"{text}\n"
    # Handed in on her extended date: on time in the matrix.
    await hand_in(sessionmaker, story, "lan", story.q1, local(20, 3, 16))
    summary = await _say(desk, story, "nhut", "tonghop", "CCHC-Q1")
    assert summary_line("clerk.report.on_time", 5, 10, "đạt 50,0%") in summary.splitlines()


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
    outcome = vi("clerk.extension.refused", name="Phạm Văn Mạnh", time="11/03/2024 10:00")
    assert refused.text.endswith(f"\n\n{outcome}")
    (late,) = await desk.handle(story.chats["nhut"], ChoiceTapped(f"xa:{request.id}"))
    assert late.edit and late.notice == vi("clerk.extension.already_notice")
    assert late.text == refused.text
    (request,) = await requests(session)
    assert request.state is ExtensionState.REFUSED
    assert request.decided_by_id == story.people["manh"].id
    groups = await overdue(session, story.q1.unit_id, date(2024, 3, 12))
    assert any(row.full_name == "Đinh Văn Sơn" for row in groups[0].rows)
    (told,) = await fetch(session, select(Reminder).where(Reminder.kind == "extension_decided"))
    assert notice_reply(told).text == vi(
        "clerk.notice.extension_refused",
        code="CCHC-Q1-2024",
        title=Q1_TITLE,
        name="Phạm Văn Mạnh",
        start="10/03/2024",
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
    assert own.text == vi("clerk.extension.own")
    (official,) = await desk.handle(story.chats["hoa"], ChoiceTapped(f"xa:{request.id}"))
    assert official.text == vi("clerk.refuse", office=BA_BICH_OFFICE)
    (forged,) = await desk.handle(story.chats["luong"], ChoiceTapped("xa:999999"))
    assert forged.text == vi("refuse.bad_choice")
    (request,) = await requests(session)
    assert request.state is ExtensionState.PENDING


@pytest.mark.parametrize(
    ("key", "args", "expected"),
    [
        ("lan", "", vi("clerk.extension.usage")),
        ("lan", "CCHC-Q1 31/02/2024 ốm", vi("clerk.extension.bad_date", text="31/02/2024")),
        ("lan", "CCHC-Q1 2024-03-20 ốm", vi("clerk.extension.bad_date", text="2024-03-20")),
        ("lan", "CCHC-Q1 10/03/2024 ốm", vi("clerk.extension.too_early", due="10/03/2024")),
        ("lan", "CCHC-Q1 20/03/2024", vi("clerk.extension.no_reason")),
        (
            "lan",
            "CCHC-Q1 20/03/2024 " + "x" * 501,
            vi("free_text.reason_too_long", limit=500, length=501),
        ),
        ("lan", "2.1 20/03/2024 bận", vi("clerk.extension.not_yours", code="2.1")),
        ("hong", "2.4 20/03/2024 bận", vi("clerk.extension.no_due", code="2.4")),
        ("hoa", "CCHC-Q1 20/03/2024 bận", vi("clerk.extension.finished", code="CCHC-Q1-2024")),
        ("luong", "CCHC-Q1 20/03/2024 bận", vi("clerk.extension.not_yours", code="CCHC-Q1")),
    ],
    ids=[
        "usage",
        "no-such-day",
        "iso-date",
        "not-later",
        "no-reason",
        "long-reason",
        "not-assigned",
        "no-due",
        "finished",
        "leader-not-assigned",
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
    assert again.text == vi("clerk.extension.pending", code="CCHC-Q1-2024", due="18/03/2024")
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


async def test_giahan_alone_lists_what_waits_for_the_clerk_with_one_tap_each(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    (nothing,) = await desk.handle(story.chats["nhut"], CommandSent("giahan"))
    assert nothing.text == vi("clerk.extension.none_pending")
    await ask_extension(desk, story, "son", "CCHC-Q1 15/03/2024 Trực bầu cử")
    reply = await ask_extension(desk, story, "lan", "CCHC-Q1 14/03/2024 Chờ số liệu một cửa")
    assert "14/03/2024" in reply.text, reply.text
    first, second = await requests(session)

    (waiting,) = await desk.handle(story.chats["nhut"], CommandSent("giahan"))

    assert waiting.text.startswith(vi("clerk.extension.pending_header", count=2) + "\n\n")
    assert "Trực bầu cử" in waiting.text and "Chờ số liệu một cửa" in waiting.text
    assert [[c.data for c in row] for row in waiting.choices] == [
        [f"xa:{first.id}", f"xr:{first.id}"],
        [f"xa:{second.id}", f"xr:{second.id}"],
    ]
    # One tap decides, as on the request's own message; the list then has one left.
    await desk.handle(story.chats["nhut"], ChoiceTapped(f"xa:{first.id}"))
    (left,) = await desk.handle(story.chats["nhut"], CommandSent("giahan"))
    assert left.text.startswith(vi("clerk.extension.pending_header", count=1))
    # An official's /giahan alone still explains how to ask.
    (usage,) = await desk.handle(story.chats["hoa"], CommandSent("giahan"))
    assert usage.text == vi("clerk.extension.usage")
