"""Issue 15: an invite that binds one more chat to an official already registered is not
silent: the official hears of it on each earlier chat, and the unit's clerk hears of it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import FixedClock
from db.files import FileStore
from db.kinds import CHAT_ADDED_NOTICE, IDENTITY, OFFICIAL, TO_CHAT
from db.models import Channel, ChannelIdentity, Reminder, ReminderStatus
from handlers.conversation import Conversation
from handlers.reminder_messages import reminder_reply
from handlers.types import Sender
from tests.factories import Commune
from tests.test_conversation import AN_CHAT, fetch_all, register
from tests.wording import vi

AN_ZALO = Sender(Channel.ZALO, "zalo-an", "An")
AN_SECOND_TELEGRAM = Sender(Channel.TELEGRAM, "1002", "An (máy mới)")
AT = "08/03/2024 08:00"


async def notices(session: AsyncSession) -> list[Reminder]:
    return await fetch_all(
        session,
        select(Reminder).where(Reminder.kind == CHAT_ADDED_NOTICE).order_by(Reminder.id),
    )


async def chat_of(session: AsyncSession, sender: Sender) -> ChannelIdentity:
    (identity,) = await fetch_all(
        session, select(ChannelIdentity).where(ChannelIdentity.external_id == sender.external_id)
    )
    return identity


async def test_a_first_chat_tells_nobody(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    assert await notices(session) == []


async def test_a_second_chat_is_told_on_the_first_and_to_the_clerk(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    first = await chat_of(session, AN_CHAT)
    (welcome,) = await register(conversation, session, commune.an, AN_ZALO)
    assert welcome.text.startswith(
        vi("register.welcome", name=commune.an.full_name, unit=commune.unit.name)
    )
    queued = await notices(session)
    to_an = [r for r in queued if r.recipient_id == commune.an.id]
    to_clerk = [r for r in queued if r.recipient_id == commune.clerk.id]
    assert len(queued) == 2 and len(to_an) == 1 and len(to_clerk) == 1
    # An hears of it on the Telegram chat they had, not on the new Zalo chat.
    (row,) = to_an
    assert (row.subject_type, row.subject_id) == (IDENTITY, first.id)
    assert row.payload[TO_CHAT] == first.id
    assert row.payload["text"] == vi(
        "chat_added.to_official", channel="Zalo", time=AT, office=vi("office.default")
    )
    assert row.payload["text"].startswith(
        "🔔 Tài khoản của anh/chị vừa được liên kết thêm với một cuộc trò chuyện khác"
    )
    (row,) = to_clerk
    assert (row.subject_type, row.subject_id) == (OFFICIAL, commune.an.id)
    assert row.payload["text"] == vi(
        "chat_added.to_clerk", name=commune.an.full_name, channel="Zalo", time=AT, count=1
    )
    # Due at once, not at the next reminder slot.
    assert all(r.status is ReminderStatus.PENDING and r.due_at == r.slot_at for r in queued)


async def test_a_third_chat_is_told_on_both_earlier_chats(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await register(conversation, session, commune.an, AN_ZALO)
    earlier = {(await chat_of(session, s)).id for s in (AN_CHAT, AN_ZALO)}
    before = {r.id for r in await notices(session)}
    await register(conversation, session, commune.an, AN_SECOND_TELEGRAM)
    new = [r for r in await notices(session) if r.id not in before]
    assert {r.payload[TO_CHAT] for r in new if r.recipient_id == commune.an.id} == earlier
    (to_clerk,) = [r for r in new if r.recipient_id == commune.clerk.id]
    assert to_clerk.payload["text"] == vi(
        "chat_added.to_clerk", name=commune.an.full_name, channel="Telegram", time=AT, count=2
    )


async def test_a_clerk_adding_a_chat_is_told_on_their_own_earlier_chat_only(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    clerk_chat = Sender(Channel.TELEGRAM, "2001", "Nhứt")
    await register(conversation, session, commune.clerk, clerk_chat)
    await register(conversation, session, commune.clerk, Sender(Channel.ZALO, "zalo-nhut", "Nhứt"))
    queued = await notices(session)
    assert [(r.recipient_id, r.subject_type) for r in queued] == [(commune.clerk.id, IDENTITY)]


async def test_the_notice_renders_as_its_text(
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await register(conversation, session, commune.an, AN_ZALO)
    row = next(r for r in await notices(session) if r.recipient_id == commune.an.id)
    reply = await reminder_reply(session, row, FileStore(tmp_path / "data"))
    assert reply is not None
    assert reply.text == vi(
        "chat_added.to_official", channel="Zalo", time=AT, office=vi("office.default")
    )
