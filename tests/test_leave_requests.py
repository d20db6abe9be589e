"""/nghiphep: an official asks for leave, a clerk or leader decides with one tap; approved
leave silences the reminders on those days and moves a deadline inside it to the first
working day after it, shown as an extension.

The Ba Bích March story (tests/test_clerk_scenario.py): Monday 11/03/2024 09:00, the Quý I
report was due Sunday 10/03; Lan has not handed it in; Hồng is on the plan's leave 04–15/03.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import chat_prompts
from db.clock import FixedClock
from db.leaves import leave_days_of
from db.models import (
    AuditEntry,
    Channel,
    ChannelIdentity,
    ExtensionRequest,
    ExtensionState,
    LeaveKind,
    LeaveRequest,
    ObligationAssignee,
    Official,
    Reminder,
    TaskAssignee,
    Unit,
)
from handlers.callbacks import extension_data, leave_data, leave_kind_data
from handlers.clerk.notices import notice_reply
from handlers.conversation import Conversation
from handlers.numbered_choices import flat_choices, numbered_lines
from handlers.types import ZALO_TRAITS, Choice, ChoiceTapped, CommandSent, Reply, Sender, TextSent
from scheduler.policy import preview
from scheduler.snapshot import load_snapshot
from scheduler.sweep import policy_config
from tests.test_clerk_scenario import TZ, BaBich, Sessions, desk, fetch, local, story
from tests.wording import BA_BICH_OFFICE, vi

__all__ = ["desk", "story"]  # fixtures

Q1_TITLE = "Báo cáo CCHC Quý I năm 2024"


async def ask(desk: Conversation, story: BaBich, key: str, args: str) -> Reply:
    (reply,) = await desk.handle(story.chats[key], CommandSent("nghiphep", args))
    return reply


async def tap(desk: Conversation, story: BaBich, key: str, data: str) -> Reply:
    (reply,) = await desk.handle(story.chats[key], ChoiceTapped(data))
    return reply


async def leaves(session: AsyncSession) -> list[LeaveRequest]:
    return await fetch(session, select(LeaveRequest).order_by(LeaveRequest.id))


async def notices(session: AsyncSession, kind: str) -> list[Reminder]:
    return await fetch(session, select(Reminder).where(Reminder.kind == kind).order_by(Reminder.id))


async def reminder_days(session: AsyncSession, story: BaBich, key: str) -> list[tuple[str, str]]:
    """Everything the reminder policy would send `key` from 11/03 to 22/03, as (kind, when)."""
    await session.commit()
    unit = await session.get(Unit, story.q1.unit_id)
    assert unit is not None
    snapshot = await load_snapshot(session, unit.id)
    return [
        (r.kind, r.slot_at.astimezone(TZ).strftime("%d/%m %H:%M"))
        for r in preview(snapshot, policy_config(unit), date(2024, 3, 11), date(2024, 3, 22))
        if r.recipient_id == story.people[key].id
    ]


async def say(desk: Conversation, story: BaBich, key: str, command: str) -> str:
    (reply,) = await desk.handle(story.chats[key], CommandSent(command))
    return reply.text


async def test_leave_asked_then_approved_by_the_clerk_silences_reminders_and_moves_the_deadline(
    desk: Conversation, story: BaBich, session: AsyncSession, clock: FixedClock
) -> None:
    # Lan was ill since Friday: she asks, and is asked which kind of leave it is.
    question = await ask(desk, story, "lan", "08/03/2024 15/03/2024  Sốt   xuất huyết")
    assert question.text == vi("leave.ask_kind", start="08/03/2024", end="15/03/2024")
    assert [c.data for c in flat_choices(question.choices)] == [
        leave_kind_data(k)
        for k in (LeaveKind.LEAVE, LeaveKind.SICK, LeaveKind.MISSION, LeaveKind.STUDY)
    ]
    assert await leaves(session) == []
    sent = await tap(desk, story, "lan", leave_kind_data(LeaveKind.SICK))
    assert sent.edit
    assert sent.text == "\n".join(
        [
            vi("leave.sent", kind=vi("leave.kind.sick"), start="08/03/2024", end="15/03/2024"),
            vi("leave.reason", reason="Sốt xuất huyết"),
            vi("leave.sent_next"),
        ]
    )
    (request,) = await leaves(session)
    assert (request.kind, request.state) == (LeaveKind.SICK, ExtensionState.PENDING)
    assert (request.starts_on, request.ends_on) == (date(2024, 3, 8), date(2024, 3, 15))

    # The clerk and both leaders get it with one-tap approve and refuse.
    asks = await notices(session, "leave_request")
    keys = {o.id: k for k, o in story.people.items()}
    assert [keys[r.recipient_id] for r in asks] == ["nhut", "luong", "manh"]
    message = notice_reply(asks[0])
    assert message.text == "\n".join(
        [
            vi(
                "leave.ask",
                name="Phạm Thị Lan",
                department="Văn hóa - Xã hội",
                kind=vi("leave.kind.sick"),
                start="08/03/2024",
                end="15/03/2024",
            ),
            vi("leave.reason", reason="Sốt xuất huyết"),
        ]
    )
    assert message.choices == [
        [
            Choice(vi("clerk.button.approve"), leave_data(request.id, True)),
            Choice(vi("clerk.button.refuse"), leave_data(request.id, False)),
        ]
    ]
    # Pending leave changes nothing yet: she is chased for the Quý I report this week.
    before = await reminder_days(session, story, "lan")
    assert any(when.endswith("/03 08:00") and when < "16/03" for _, when in before), before

    clock.set(local(11, 3, 9, 30))
    decided = await tap(desk, story, "nhut", leave_data(request.id, True))
    moved = "\n".join(
        [
            vi("leave.moved", back="18/03/2024"),
            vi(
                "leave.moved_item",
                code="CCHC-Q1-2024",
                title=Q1_TITLE,
                was="10/03/2024",
                now="18/03/2024",
            ),
        ]
    )
    approved = vi("leave.approved", name="Trần Văn Nhứt", time="11/03/2024 09:30")
    assert decided.edit and decided.notice == vi("clerk.button.approve")
    assert decided.text == f"{message.text}\n\n{approved}\n{moved}"

    # Lan is told, with the deadline that moved.
    (told,) = await notices(session, "leave_decided")
    assert told.recipient_id == story.people["lan"].id
    assert notice_reply(told).text == "\n".join(
        [
            vi(
                "leave.notice.approved",
                kind=vi("leave.kind.sick"),
                start="08/03/2024",
                end="15/03/2024",
                name="Trần Văn Nhứt",
            ),
            moved,
        ]
    )
    # The deadline moved to Monday 18/03, recorded as an approved extension.
    (extended,) = await fetch(
        session,
        select(ObligationAssignee.extended_due).where(
            ObligationAssignee.obligation_id == story.q1.id,
            ObligationAssignee.official_id == story.people["lan"].id,
        ),
    )
    assert extended == date(2024, 3, 18)
    (granted,) = await fetch(session, select(ExtensionRequest))
    assert (granted.state, granted.current_due, granted.requested_due) == (
        ExtensionState.APPROVED,
        date(2024, 3, 10),
        date(2024, 3, 18),
    )
    assert granted.decided_by_id == story.people["nhut"].id
    (entry,) = await fetch(session, select(AuditEntry).where(AuditEntry.action == "leave.approve"))
    assert entry.details["moved"] == ["obligation:CCHC-Q1-2024:2024-03-18"]

    # No reminders on her leave days; her reminders follow her new date.
    after = await reminder_days(session, story, "lan")
    assert all(when >= "18/03" for _, when in after), after
    assert ("due_day", "18/03 08:00") in after
    away = await leave_days_of(session, Official.id == story.people["lan"].id)
    assert away == {story.people["lan"].id: [(date(2024, 3, 8), date(2024, 3, 15))]}

    # The desk counts her among those who have not handed in (one definition for every view),
    # marked with her new date and her leave, not as late; from 19/03 late against that date.
    text = await say(desk, story, "nhut", "quahan")
    lan = text[text.index("Phạm Thị Lan") :].split("\n")[1]
    assert vi("clerk.overdue.extended", due="18/03/2024") in lan
    assert "quá hạn" not in lan
    clock.set(local(19, 3, 9))
    text = await say(desk, story, "nhut", "quahan")
    lan = text[text.index("Phạm Thị Lan") :].split("\n")[1]
    assert vi("clerk.overdue.extended", due="18/03/2024") in lan
    assert vi("desk.state.overdue", days=1) in lan


async def test_a_refusal_tells_the_official_and_the_first_decision_wins(
    desk: Conversation, story: BaBich, session: AsyncSession, clock: FixedClock
) -> None:
    # The kind may be given in the command: then it goes straight to the deciders.
    sent = await ask(desk, story, "son", "phép 12/03/2024 13/03/2024 Việc gia đình")
    assert sent.text.startswith(
        vi("leave.sent", kind=vi("leave.kind.leave"), start="12/03/2024", end="13/03/2024")
    )
    (request,) = await leaves(session)
    assert request.kind is LeaveKind.LEAVE
    clock.set(local(11, 3, 10))
    refused = await tap(desk, story, "manh", leave_data(request.id, False))
    outcome = vi("leave.refused", name="Phạm Văn Mạnh", time="11/03/2024 10:00")
    assert refused.text.endswith(f"\n\n{outcome}")
    late = await tap(desk, story, "nhut", leave_data(request.id, True))
    assert late.edit and late.notice == vi("clerk.extension.already_notice")
    assert late.text == refused.text
    (request,) = await leaves(session)
    assert request.state is ExtensionState.REFUSED
    assert request.decided_by_id == story.people["manh"].id
    (told,) = await notices(session, "leave_decided")
    assert told.recipient_id == story.people["son"].id
    assert notice_reply(told).text == vi(
        "leave.notice.refused",
        kind=vi("leave.kind.leave"),
        start="12/03/2024",
        end="13/03/2024",
        name="Phạm Văn Mạnh",
    )
    # Refused leave is no leave: reminders and deadlines stay.
    assert await leave_days_of(session, Official.id == story.people["son"].id) == {}
    assert await fetch(session, select(ExtensionRequest)) == []
    assert any(
        when.startswith(("12/03", "13/03"))
        for _, when in await reminder_days(session, story, "son")
    )


async def test_a_leader_approves_and_a_task_deadline_moves(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    # Hồng leads task 2.3 (due Saturday 30/11/2024) and goes on a training course.
    await ask(desk, story, "hong", "đi học tập 25/11/2024 06/12/2024 Lớp bồi dưỡng")
    (request,) = await leaves(session)
    assert request.kind is LeaveKind.STUDY
    decided = await tap(desk, story, "luong", leave_data(request.id, True))
    assert decided.notice == vi("clerk.button.approve")
    # Back on Monday 09/12, the first working day after the leave.
    (extended,) = await fetch(
        session,
        select(TaskAssignee.extended_due).where(
            TaskAssignee.task_id == story.tasks["2.3"].id,
            TaskAssignee.official_id == story.people["hong"].id,
        ),
    )
    assert extended == date(2024, 12, 9)
    (told,) = await notices(session, "leave_decided")
    item = vi(
        "leave.moved_item",
        code="2.3",
        title=story.tasks["2.3"].title,
        was="30/11/2024",
        now="09/12/2024",
    )
    assert notice_reply(told).text.endswith(f"{vi('leave.moved', back='09/12/2024')}\n{item}")


async def test_no_one_decides_their_own_leave_and_officials_cannot_decide(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    # The clerk asks for himself: only the leaders are asked.
    await ask(desk, story, "nhut", "công tác 18/03/2024 20/03/2024 Tập huấn ở huyện")
    (request,) = await leaves(session)
    asks = await notices(session, "leave_request")
    assert sorted(r.recipient_id for r in asks) == sorted(
        [story.people["luong"].id, story.people["manh"].id]
    )
    own = await tap(desk, story, "nhut", leave_data(request.id, True))
    assert own.text == vi("leave.own")
    official = await tap(desk, story, "hoa", leave_data(request.id, True))
    assert official.text == vi("clerk.refuse", office=BA_BICH_OFFICE)
    forged = await tap(desk, story, "luong", leave_data(999999, True))
    assert forged.text == vi("refuse.bad_choice")
    (request,) = await leaves(session)
    assert request.state is ExtensionState.PENDING
    assert await notices(session, "leave_decided") == []


@pytest.mark.parametrize(
    ("key", "args", "expected"),
    [
        ("lan", "", vi("leave.usage")),
        ("lan", "ốm 12/03/2024", vi("leave.usage")),
        ("lan", "31/02/2024 05/03/2024 ốm", vi("leave.bad_date", text="31/02/2024")),
        ("lan", "12/03/2024 2024-03-15 ốm", vi("leave.bad_date", text="2024-03-15")),
        (
            "lan",
            "15/03/2024 12/03/2024",
            vi("leave.end_before_start", start="15/03/2024", end="12/03/2024"),
        ),
        (
            "lan",
            "01/03/2024 12/03/2024",
            vi("leave.too_far_back", earliest="04/03/2024", days=7),
        ),
        ("lan", "12/03/2024 31/12/2024", vi("leave.too_long", days=186)),
        ("lan", "nghỉ mát 12/03/2024 13/03/2024", vi("leave.unknown_kind", text="nghỉ mát")),
        (
            "lan",
            "12/03/2024 13/03/2024 " + "x" * 501,
            vi("free_text.reason_too_long", limit=500, length=501),
        ),
        (
            "hong",
            "ốm 14/03/2024 18/03/2024",
            vi("leave.overlap", start="04/03/2024", end="15/03/2024"),
        ),
    ],
    ids=[
        "usage",
        "one-date",
        "no-such-day",
        "iso-date",
        "end-before-start",
        "too-far-back",
        "too-long",
        "unknown-kind",
        "long-reason",
        "overlaps-plan-leave",
    ],
)
async def test_bad_requests_are_refused_politely_and_change_nothing(
    desk: Conversation, story: BaBich, session: AsyncSession, key: str, args: str, expected: str
) -> None:
    reply = await ask(desk, story, key, args)
    assert reply.text == expected
    assert not reply.choices
    assert await leaves(session) == []
    assert await notices(session, "leave_request") == []


async def test_leave_overlapping_a_pending_request_is_refused(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    await ask(desk, story, "dung", "phép 18/03/2024 22/03/2024")
    again = await ask(desk, story, "dung", "ốm 22/03/2024 25/03/2024")
    assert again.text == vi("leave.overlap", start="18/03/2024", end="22/03/2024")
    assert len(await leaves(session)) == 1
    # The kind asked after the command is checked again when chosen.
    await ask(desk, story, "thu", "18/03/2024 19/03/2024")
    await ask(desk, story, "thu", "phép 19/03/2024 20/03/2024")
    late = await tap(desk, story, "thu", leave_kind_data(LeaveKind.SICK))
    assert late.text == vi("leave.overlap", start="19/03/2024", end="20/03/2024")
    assert [r.kind for r in await leaves(session)] == [LeaveKind.LEAVE, LeaveKind.LEAVE]
    # The question is answered once: a second tap finds nothing waiting.
    stale = await tap(desk, story, "thu", leave_kind_data(LeaveKind.SICK))
    assert stale.text == vi("leave.expired")


async def test_giahan_alone_lists_pending_leave_with_one_tap_each(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    assert await say(desk, story, "nhut", "giahan") == vi("clerk.extension.none_pending")
    await desk.handle(story.chats["son"], CommandSent("giahan", "CCHC-Q1 15/03/2024 Trực bầu cử"))
    await ask(desk, story, "lan", "ốm 12/03/2024 14/03/2024 Sốt")
    (extension,) = await fetch(session, select(ExtensionRequest))
    (request,) = await leaves(session)

    (waiting,) = await desk.handle(story.chats["luong"], CommandSent("giahan"))

    leave_block = "\n".join(
        [
            vi(
                "leave.ask",
                name="Phạm Thị Lan",
                department="Văn hóa - Xã hội",
                kind=vi("leave.kind.sick"),
                start="12/03/2024",
                end="14/03/2024",
            ),
            vi("leave.reason", reason="Sốt"),
        ]
    )
    assert waiting.text.startswith(vi("clerk.extension.pending_header", count=1) + "\n\n")
    assert waiting.text.endswith(f"\n\n{vi('leave.pending_header', count=1)}\n\n{leave_block}")
    assert [[c.data for c in row] for row in waiting.choices] == [
        [extension_data(extension.id, True), extension_data(extension.id, False)],
        [leave_data(request.id, True), leave_data(request.id, False)],
    ]
    # A tap in the list decides, as on the request's own message.
    await desk.handle(story.chats["luong"], ChoiceTapped(leave_data(request.id, True)))
    (left,) = await desk.handle(story.chats["luong"], CommandSent("giahan"))
    assert vi("leave.pending_header", count=1) not in left.text
    # Only leave waiting: the list holds it alone.
    await desk.handle(story.chats["nhut"], ChoiceTapped(extension_data(extension.id, False)))
    await ask(desk, story, "dung", "phép 18/03/2024 18/03/2024")
    (only,) = await desk.handle(story.chats["nhut"], CommandSent("giahan"))
    assert only.text.startswith(vi("leave.pending_header", count=1) + "\n\n")
    assert len(only.choices) == 1


async def test_the_kind_is_chosen_by_a_typed_number_on_a_chat_without_buttons(
    desk: Conversation,
    story: BaBich,
    session: AsyncSession,
    sessionmaker: Sessions,
    clock: FixedClock,
) -> None:
    lan = story.people["lan"]
    zalo = Sender(Channel.ZALO, "zalo-lan", lan.full_name, None, ZALO_TRAITS)
    async with sessionmaker() as writing, writing.begin():
        writing.add(
            ChannelIdentity(
                official_id=lan.id,
                channel=Channel.ZALO,
                external_id=zalo.external_id,
                bound_at=local(15, 1),
                reachable=True,
            )
        )
    (question,) = await desk.handle(zalo, CommandSent("nghiphep", "12/03/2024 13/03/2024"))
    # The channel numbers the choices as it sends them and remembers them as the prompt.
    async with sessionmaker() as writing, writing.begin():
        await chat_prompts.remember(
            writing,
            zalo.channel,
            zalo.external_id,
            [(c.label, c.data) for c in flat_choices(question.choices)],
            clock.now(),
        )
    assert numbered_lines(question.choices)[1] == f"2. {vi('leave.kind.sick')}"
    (sent,) = await desk.handle(zalo, TextSent("2"))
    assert sent.text.startswith(
        vi("leave.sent", kind=vi("leave.kind.sick"), start="12/03/2024", end="13/03/2024")
    )
    (request,) = await leaves(session)
    assert request.kind is LeaveKind.SICK and request.state is ExtensionState.PENDING
    (again,) = await desk.handle(zalo, TextSent("2"))
    assert again.text == vi("choice.stale")
    assert len(await leaves(session)) == 1


async def test_help_tells_officials_and_the_desk_how_to_ask_for_leave(
    desk: Conversation, story: BaBich
) -> None:
    assert vi("leave.help") in await say(desk, story, "hoa", "huongdan")
    assert vi("leave.help") in await say(desk, story, "nhut", "huongdan")


async def test_an_extension_decided_after_the_leave_does_not_shorten_it(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    await desk.handle(story.chats["lan"], CommandSent("giahan", "CCHC-Q1 14/03/2024 Chờ số liệu"))
    await ask(desk, story, "lan", "ốm 08/03/2024 15/03/2024")
    (request,) = await leaves(session)
    await tap(desk, story, "nhut", leave_data(request.id, True))
    asked = (await fetch(session, select(ExtensionRequest).order_by(ExtensionRequest.id)))[0]
    await tap(desk, story, "luong", extension_data(asked.id, True))
    (extended,) = await fetch(
        session,
        select(ObligationAssignee.extended_due).where(
            ObligationAssignee.obligation_id == story.q1.id,
            ObligationAssignee.official_id == story.people["lan"].id,
        ),
    )
    assert extended == date(2024, 3, 18)
