"""Issue 15: guessing invite codes. Five wrong codes from one chat within ten minutes, and the
chat's next codes are refused untried (a right one too) until the first of them is ten
minutes old; every refusal is in the audit log, which is also where the count is kept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.files import FileStore
from db.invites import (
    LOCKED_OUT_ACTION,
    WRONG_CODE_ACTION,
    create_invite,
    hash_code,
    locked_until,
)
from db.models import AuditEntry, Channel, ChannelIdentity, Invite
from handlers.conversation import Conversation
from handlers.types import CommandSent, Sender, TextSent
from tests.factories import Commune
from tests.test_conversation import count, fetch_one
from tests.wording import vi

GUESSER = Sender(Channel.TELEGRAM, "7777", "Kẻ đoán mã")
ZALO_GUESSER = Sender(Channel.ZALO, "zalo-7777", "Kẻ đoán mã")
OTHER_CHAT = Sender(Channel.TELEGRAM, "8888", "Người khác")
WRONG = "SaiMaDangKy0000000000"


async def right_code(session: AsyncSession, commune: Commune, clock: FixedClock) -> str:
    code = await create_invite(session, commune.an, clock.now())
    await session.commit()
    return code


async def start(conversation: Conversation, sender: Sender, code: str) -> str:
    (reply,) = await conversation.handle(sender, CommandSent("start", code))
    return reply.text


async def invite_used(session: AsyncSession, code: str) -> bool:
    invite = await fetch_one(session, select(Invite).where(Invite.code_hash == hash_code(code)))
    assert invite is not None
    return invite.used_at is not None


async def actions(session: AsyncSession, actor: str) -> list[str]:
    await session.commit()
    rows = await session.scalars(
        select(AuditEntry.action).where(AuditEntry.actor == actor).order_by(AuditEntry.id)
    )
    return list(rows)


async def test_the_sixth_code_is_refused_untried_even_when_right(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    code = await right_code(session, commune, clock)
    for n in range(5):
        clock.set(clock.now() + timedelta(seconds=1))
        assert await start(conversation, GUESSER, f"{WRONG}{n}") == vi(
            "register.bad_code", office=vi("office.default")
        )
    locked = vi("register.locked_out", minutes=10)
    assert locked == "Anh/chị đã nhập sai mã quá nhiều lần, xin thử lại sau 10 phút."
    assert await start(conversation, GUESSER, f"{WRONG}5") == locked
    # The right code, seventh: not even tried.
    assert await start(conversation, GUESSER, code) == locked
    assert not await invite_used(session, code)
    assert await count(session, ChannelIdentity) == 0
    assert (
        await actions(session, "telegram:7777") == [WRONG_CODE_ACTION] * 5 + [LOCKED_OUT_ACTION] * 2
    )
    # Another chat is not held back by this one's guesses.
    other = await right_code(session, commune, clock)
    assert (await start(conversation, OTHER_CHAT, other)).startswith(
        vi("register.welcome", name=commune.an.full_name, unit=commune.unit.name)
    )


async def test_the_wait_counts_down_and_ten_minutes_later_the_right_code_works(
    sessionmaker: async_sessionmaker[AsyncSession],
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    code = await right_code(session, commune, clock)
    first = clock.now()
    for n in range(5):
        clock.set(first + timedelta(minutes=n))
        await start(conversation, GUESSER, f"{WRONG}{n}")
    clock.set(first + timedelta(minutes=6, seconds=30))
    # Until the first wrong code is ten minutes old: 3½ minutes, said as 4.
    assert await start(conversation, GUESSER, code) == vi("register.locked_out", minutes=4)
    # A restart forgets nothing: the count is in the database.
    restarted = Conversation(
        sessionmaker, clock, FileStore(tmp_path / "data2"), ZoneInfo("Asia/Ho_Chi_Minh")
    )
    clock.set(first + timedelta(minutes=9, seconds=59))
    assert await start(restarted, GUESSER, code) == vi("register.locked_out", minutes=1)
    clock.set(first + timedelta(minutes=10))
    welcome = vi("register.welcome", name=commune.an.full_name, unit=commune.unit.name)
    assert (await start(restarted, GUESSER, code)).startswith(welcome)
    assert await invite_used(session, code)


async def test_bare_codes_on_zalo_count_too_and_plain_words_do_not(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    code = await right_code(session, commune, clock)
    for _ in range(10):
        # Not a code at all: the stranger learns how to register, nothing is counted.
        (reply,) = await conversation.handle(ZALO_GUESSER, TextSent("xin chào"))
        assert reply.text == vi("register.how", office=vi("office.default"))
    for n in range(5):
        (reply,) = await conversation.handle(ZALO_GUESSER, TextSent(f"{WRONG}{n}"))
        assert reply.text == vi("register.bad_code", office=vi("office.default"))
    (reply,) = await conversation.handle(ZALO_GUESSER, TextSent(code))
    assert reply.text == vi("register.locked_out", minutes=10)
    assert not await invite_used(session, code)


async def test_the_count_is_an_indexed_read_of_the_audit_log(
    session: AsyncSession, clock: FixedClock, backend: str
) -> None:
    assert await locked_until(session, "telegram:7777", clock.now()) is None
    if backend != "sqlite":
        return
    # The query plan uses the audit log's (unit_id, at) index, not a scan of the table.
    compiled = (
        select(AuditEntry.at)
        .where(
            AuditEntry.unit_id.is_(None),
            AuditEntry.at > clock.now(),
            AuditEntry.action == WRONG_CODE_ACTION,
            AuditEntry.actor == "telegram:7777",
        )
        .order_by(AuditEntry.at.desc())
        .limit(5)
        .compile(compile_kwargs={"literal_binds": True})
    )
    plan = (await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))).all()
    assert any("ix_audit_entries_unit_at" in str(row) for row in plan), plan
