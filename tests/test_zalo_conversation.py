"""The conversation for a chat without buttons or documents (Zalo), on both databases.

Typed numbers and words answer the latest numbered prompt; documents go through the one-time
upload link; the bare invite code registers; /kenh chooses where reminders go. The channel's
part (numbering choices as it sends them) is played here by `offered`, which records a
reply's choices exactly as the Zalo transport does after delivering it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import chat_prompts
from db.clock import FixedClock
from db.files import FileStore
from db.invites import create_invite
from db.models import (
    AuditEntry,
    Channel,
    ChannelIdentity,
    Official,
    StatusUpdate,
    TaskState,
    UploadLink,
)
from db.web_links import LinkState, upload_target
from handlers.conversation import Conversation
from handlers.numbered_choices import flat_choices, numbered_lines, typed_choice, typed_number
from handlers.types import (
    ZALO_TRAITS,
    CommandSent,
    FilesSent,
    Reply,
    Sender,
    TextSent,
    UnfetchableFile,
    UnreadableMessage,
)
from tests.factories import Commune
from tests.test_conversation import TZ, a_file
from tests.wording import pattern, state, vi

AN_ZALO = Sender(Channel.ZALO, "zalo-an", "An", None, ZALO_TRAITS)
AN_TELEGRAM = Sender(Channel.TELEGRAM, "1001", "An")
BASE = "https://nhacviec.example.vn"


def upload_url(token: str) -> str:
    return f"{BASE}/u/{token}"


@pytest.fixture
def conversation(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> Conversation:
    return Conversation(
        sessionmaker, clock, FileStore(tmp_path / "data"), TZ, upload_url=upload_url
    )


async def register(
    conversation: Conversation, session: AsyncSession, official: Official, sender: Sender
) -> list[Reply]:
    code = await create_invite(session, official, conversation.clock.now())
    await session.commit()
    return await conversation.handle(sender, TextSent(code))


async def offered(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    replies: list[Reply],
    sender: Sender = AN_ZALO,
) -> list[str]:
    """Record the last reply's choices as the chat's prompt; return them as numbered lines."""
    reply = next(r for r in reversed(replies) if r.choices)
    choices = [(c.label, c.data) for c in flat_choices(reply.choices)]
    async with sessionmaker() as session, session.begin():
        await chat_prompts.remember(
            session, sender.channel, sender.external_id, choices, clock.now()
        )
    return numbered_lines(reply.choices)


def test_numbers_and_words_are_read_forgivingly() -> None:
    assert [typed_number(x) for x in ("2", " 2 ", "2.", "2)", "02")] == [2, 2, 2, 2, 2]
    assert [typed_number(x) for x in ("2 ngày", "hai", "", "1234")] == [None] * 4
    labels = ["Hoàn thành", "Đang thực hiện", "Vướng mắc", "Gửi báo cáo"]
    assert typed_choice("hoan thanh", labels) == 1
    assert typed_choice("  VƯỚNG   MẮC ", labels) == 3
    assert typed_choice("dang thuc hien", labels) == 2
    assert typed_choice("xong", labels) is None
    assert typed_choice("", labels) is None


async def test_the_bare_code_registers_and_a_stranger_learns_how(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    replies = await conversation.handle(AN_ZALO, TextSent("xin chào"))
    assert replies[0].text == vi("register.how", office=vi("office.default"))
    replies = await register(conversation, session, commune.an, AN_ZALO)
    assert replies[0].text.startswith(
        vi("register.welcome", name=commune.an.full_name, unit=commune.unit.name)
    )
    await session.commit()
    identity = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.external_id == AN_ZALO.external_id)
    )
    assert identity is not None and identity.channel == Channel.ZALO
    # `/start CODE` works too, and a wrong code is refused politely.
    replies = await conversation.handle(
        Sender(Channel.ZALO, "zalo-x", "X", None, ZALO_TRAITS), TextSent("A" * 22)
    )
    assert replies[0].text == vi("register.bad_code", office=vi("office.default"))


async def test_a_status_answered_by_number_then_a_reason(
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await register(conversation, session, commune.an, AN_ZALO)
    replies = await conversation.handle(AN_ZALO, CommandSent("status", "2.4"))
    lines = await offered(sessionmaker, clock, replies)
    assert lines == [
        f"1. {vi('button.done')}",
        f"2. {vi('button.in_progress')}",
        f"3. {vi('button.blocked')}",
        f"4. {vi('button.report')}",
    ]
    replies = await conversation.handle(AN_ZALO, TextSent("3"))
    assert state("blocked") in replies[0].text
    assert replies[-1].text == vi("status.ask_reason", code="2.4")
    await offered(sessionmaker, clock, replies)  # the prompt comes again with the answer
    # While a reason is awaited, words are the reason, even a choice's words.
    replies = await conversation.handle(AN_ZALO, TextSent("Vướng mắc kinh phí"))
    assert replies[0].text == vi("status.reason_saved", code="2.4")
    await session.commit()
    update = await session.scalar(select(StatusUpdate).order_by(StatusUpdate.id.desc()))
    assert update is not None and update.state == TaskState.BLOCKED
    assert update.note == "Vướng mắc kinh phí"
    # A word answers the new prompt; a second answer to it is stale and changes nothing.
    replies = await conversation.handle(AN_ZALO, TextSent("hoan thanh"))
    assert state("done") in replies[0].text
    replies = await conversation.handle(AN_ZALO, TextSent("2"))
    assert replies[0].text == vi("choice.stale")
    await session.commit()
    states = list(await session.scalars(select(StatusUpdate.state).order_by(StatusUpdate.id)))
    assert states == [TaskState.BLOCKED, TaskState.DONE]


async def test_numbers_out_of_range_expired_or_without_a_prompt_say_so(
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await register(conversation, session, commune.an, AN_ZALO)
    replies = await conversation.handle(AN_ZALO, TextSent("1"))
    assert replies[0].text == vi("choice.none")
    await offered(sessionmaker, clock, await conversation.handle(AN_ZALO, CommandSent("nop")))
    replies = await conversation.handle(AN_ZALO, TextSent("9"))
    assert replies[0].text == vi("choice.out_of_range", count=3)
    # Words that are no choice are ordinary text, kept in the audit log.
    replies = await conversation.handle(AN_ZALO, TextSent("cảm ơn"))
    assert replies[0].text == vi("unknown.text")
    clock.set(clock.now() + timedelta(hours=25))
    replies = await conversation.handle(AN_ZALO, TextSent("1"))
    assert replies[0].text == vi("choice.expired")
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(UploadLink)) == 0


async def test_a_report_chosen_on_zalo_gets_a_one_time_upload_link(
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await register(conversation, session, commune.an, AN_ZALO)
    lines = await offered(
        sessionmaker, clock, await conversation.handle(AN_ZALO, CommandSent("nop"))
    )
    assert lines[0].startswith(f"1. {commune.q1.title}")
    replies = await conversation.handle(AN_ZALO, TextSent("1"))
    text = replies[0].text
    assert text.startswith(vi("upload.why_zalo"))
    match = pattern("upload.link", title=commune.q1.title, hours=24)
    found = re.search(match, text)
    assert found is not None, text
    url = found.group("url")
    assert url.startswith(f"{BASE}/u/")
    await session.commit()
    target = await upload_target(session, url.rsplit("/", 1)[1], clock.now())
    assert target.state is LinkState.VALID
    assert target.link is not None and target.link.official_id == commune.an.id
    assert target.subject is not None and target.subject.id == commune.q1.id


async def test_an_unfetchable_file_gets_the_link_or_the_reports_to_choose(
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await register(conversation, session, commune.an, AN_ZALO)
    replies = await conversation.handle(AN_ZALO, UnfetchableFile())
    assert replies[0].text.startswith(vi("upload.why_unfetchable"))
    assert vi("upload.choose_first") in replies[0].text
    await offered(sessionmaker, clock, replies)
    replies = await conversation.handle(AN_ZALO, TextSent("1"))
    assert "/u/" in replies[0].text
    # Now a report is awaited: a second unsupported file gets its link at once.
    replies = await conversation.handle(AN_ZALO, UnfetchableFile())
    assert replies[0].text.startswith(vi("upload.why_unfetchable"))
    assert "/u/" in replies[0].text and not replies[0].choices
    await session.commit()
    actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions.count("files.unfetchable") == 2


async def test_a_photo_on_zalo_is_a_submission_as_on_telegram(
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await register(conversation, session, commune.an, AN_ZALO)
    await offered(sessionmaker, clock, await conversation.handle(AN_ZALO, CommandSent("nop")))
    await conversation.handle(AN_ZALO, TextSent("1"))
    photo = a_file("anh-1.jpg", b"\xff\xd8\xff jpeg")
    replies = await conversation.handle(AN_ZALO, FilesSent([photo]))
    receipt = pattern("report.receipt", title=commune.q1.title, version=1)
    assert re.fullmatch(receipt, replies[0].text), replies[0].text
    assert "anh-1.jpg" in replies[0].text


async def test_a_telegram_file_over_20_mb_gets_the_link(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_TELEGRAM)
    big = a_file("bao-cao.pdf", size=30 * 1024 * 1024)
    replies = await conversation.handle(AN_TELEGRAM, FilesSent([big]))
    assert replies[0].text.startswith(vi("upload.why_large", name="bao-cao.pdf"))
    assert replies[0].choices  # which report it is for, then the link
    # A file of the wrong type is still refused, however large.
    replies = await conversation.handle(AN_TELEGRAM, FilesSent([a_file("x.exe", size=30 << 20)]))
    assert replies[0].text == vi("report.refused", reasons=vi("report.refused_type", name="x.exe"))


async def test_stickers_and_voice_get_a_polite_answer_and_are_logged(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_ZALO)
    replies = await conversation.handle(AN_ZALO, UnreadableMessage("voice"))
    assert replies[0].text == vi("unreadable.message")
    await session.commit()
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "message.unreadable")
    )
    assert entry is not None and entry.details == {"kind": "voice"}


async def test_kenh_chooses_among_the_channels_registered(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_ZALO)
    replies = await conversation.handle(AN_ZALO, CommandSent("kenh", "telegram"))
    assert replies[0].text == vi(
        "channel.not_bound", channel="Telegram", office=vi("office.default")
    )
    await register(conversation, session, commune.an, AN_TELEGRAM)
    replies = await conversation.handle(AN_ZALO, CommandSent("kenh", "telegram"))
    assert replies[0].text == vi("channel.set", channel="Telegram")
    await session.commit()
    await session.refresh(commune.an)
    assert commune.an.preferred_channel == Channel.TELEGRAM
    replies = await conversation.handle(AN_ZALO, CommandSent("kenh"))
    assert replies[0].text == vi(
        "channel.show", channels="Telegram, Zalo", now=vi("channel.now_fixed", channel="Telegram")
    )
    replies = await conversation.handle(AN_ZALO, CommandSent("kenh", "tudong"))
    assert replies[0].text == vi("channel.set_automatic")
    replies = await conversation.handle(AN_ZALO, CommandSent("kenh", "fax"))
    assert replies[0].text == vi("channel.usage")


async def test_writing_marks_the_chat_as_the_one_used_last(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.an, AN_ZALO)
    clock.set(clock.now() + timedelta(minutes=5))
    await conversation.handle(AN_ZALO, CommandSent("nhiemvu"))
    await session.commit()
    identity = await session.scalar(select(ChannelIdentity))
    assert identity is not None and identity.last_seen_at == clock.now()
