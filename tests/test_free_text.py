"""Issue 15: free text has one set of limits (handlers/free_text.py).

Stored text over its limit is refused politely and nothing changes; typed input echoed back
in a reply is cut short at a word.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import FixedClock
from db.models import LeaveRequest, StatusUpdate, TaskState
from handlers.callbacks import status_data
from handlers.conversation import Conversation
from handlers.free_text import ECHO_MOST, REASON, echo
from handlers.types import ChoiceTapped, CommandSent, TextSent
from tests.factories import Commune
from tests.test_clerk_scenario import BaBich, desk, fetch, story
from tests.test_conversation import AN_CHAT, register
from tests.wording import vi

__all__ = ["desk", "story"]  # fixtures

# Words a person might paste by mistake: 10,800 characters of them.
WALL = "Thiếu máy scan, " * 675
LONG_WORDS = "xin vui lòng cho biết báo cáo nào đang quá hạn của bộ phận một cửa trong quý này"


def test_echo_cuts_at_a_word_and_keeps_short_text() -> None:
    assert echo("CCHC-Q1") == "CCHC-Q1"
    assert echo("  hai\n dòng ") == "hai dòng"
    cut = echo(LONG_WORDS)
    assert len(cut) <= ECHO_MOST and cut.endswith("…")
    assert LONG_WORDS.startswith(cut[:-1]) and LONG_WORDS[len(cut) - 1] == " "
    assert echo("x" * 500) == "x" * (ECHO_MOST - 1) + "…"


async def test_a_blocked_reason_too_long_is_refused_and_a_shorter_one_is_taken(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    assert len(WALL) == 10_800
    await register(conversation, session, commune.an, AN_CHAT)
    await conversation.handle(
        AN_CHAT, ChoiceTapped(status_data(commune.task_24.id, TaskState.BLOCKED))
    )
    (refused,) = await conversation.handle(AN_CHAT, TextSent(WALL))
    assert refused.text == vi("free_text.reason_too_long", limit=REASON.most, length=10_799)
    notes = list(await session.scalars(select(StatusUpdate.note)))
    assert notes == [""]
    # The question is still open: the shorter reason sent next is the one recorded.
    (saved,) = await conversation.handle(AN_CHAT, TextSent("Thiếu máy scan"))
    assert saved.text == vi("status.reason_saved", code="2.4")
    session.expire_all()
    assert list(await session.scalars(select(StatusUpdate.note))) == ["Thiếu máy scan"]


async def _say(desk: Conversation, story: BaBich, key: str, command: str, args: str) -> str:
    (reply,) = await desk.handle(story.chats[key], CommandSent(command, args))
    return reply.text


async def test_extension_and_leave_reasons_share_the_limit(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    refusal = vi("free_text.reason_too_long", limit=500, length=501)
    text = await _say(desk, story, "lan", "giahan", "CCHC-Q1 20/03/2024 " + "x" * 501)
    assert text == refusal
    text = await _say(desk, story, "lan", "nghiphep", "12/03/2024 13/03/2024 " + "x" * 501)
    assert text == refusal
    assert await fetch(session, select(LeaveRequest)) == []


async def test_typed_input_echoed_back_is_cut_short(desk: Conversation, story: BaBich) -> None:
    cut = echo(LONG_WORDS)
    assert await _say(desk, story, "nhut", "quahan", LONG_WORDS) == vi(
        "clerk.overdue.unknown", query=cut
    )
    assert await _say(desk, story, "nhut", "xuat", LONG_WORDS) == vi(
        "clerk.export.unknown", query=cut
    )
    assert await _say(desk, story, "nhut", "baocao", LONG_WORDS) == vi("compile.unknown", query=cut)
    long_code = "CCHC-" + "Q" * 300
    assert await _say(desk, story, "nhut", "tonghop", long_code) == vi(
        "clerk.unknown_subject", code=echo(long_code)
    )
    assert await _say(desk, story, "nhut", "submissions", long_code) == vi(
        "clerk.unknown_subject", code=echo(long_code)
    )
    assert await _say(desk, story, "nhut", "invite", LONG_WORDS) == vi(
        "clerk.invite.not_found", name=cut
    )
    assert await _say(desk, story, "nhut", "nhac", f"CCHC-Q1 {LONG_WORDS}") == vi(
        "clerk.remind.not_assigned", name=cut, code="CCHC-Q1-2024"
    )
    # A pasted run of digits is no date (it used to overflow into the generic error).
    long_day = "20/03/" + "2" * 300
    assert await _say(desk, story, "lan", "giahan", f"CCHC-Q1 {long_day} ốm") == vi(
        "clerk.extension.bad_date", text=echo(long_day)
    )
    assert await _say(desk, story, "lan", "nghiphep", f"12/03/2024 {long_day}") == vi(
        "leave.bad_date", text=echo(long_day)
    )
    assert await _say(desk, story, "lan", "status", long_code) == vi(
        "status.unknown_task", code=echo(long_code)
    )


async def test_an_unknown_command_is_echoed_short(
    conversation: Conversation, session: AsyncSession, commune: Commune
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    [reply] = await conversation.handle(AN_CHAT, CommandSent("x" * 5000, ""))
    assert reply.text == vi("unknown.command", name="x" * (ECHO_MOST - 1) + "…")
