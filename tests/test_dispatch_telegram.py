"""The dispatcher through python-telegram-bot against the fake Bot API, on both databases.

Nothing inside PTB is mocked: requests go over HTTP to the fake server on 127.0.0.1, which
answers with Telegram's errors (429, 5xx, 403, chat not found, migrated groups) when told to,
and with flood control when `enforce_limits` is on.
"""

from __future__ import annotations

import asyncio
import warnings
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.message_split import split_text
from bot.telegram_transport import TelegramTransport, to_delivery_error
from db.clock import FixedClock
from db.kinds import UNREACHABLE_NOTICE
from db.models import Official, Reminder, ReminderStatus
from db.outbox import NewReminder
from db.session import make_engine, make_sessionmaker
from handlers.types import Choice, OutgoingFile, Reply
from scheduler.delivery import DeliveryError
from scheduler.dispatch import Dispatcher
from scheduler.pacing import Pacer, RateLimits
from tests.conftest import ROOT
from tests.fakebotapi import FakeBotApi
from tests.rendering import per_row
from tests.test_dispatch import (
    AN_CHAT,
    BINH_CHAT,
    CLERK_CHAT,
    LEASE,
    Office,
    add_official,
    bind_chat,
    make_office,
    render,
    row_ids,
)
from tests.test_outbox import T0, new_reminder

AN, BINH, CLERK = int(AN_CHAT), int(BINH_CHAT), int(CLERK_CHAT)
TEMPLATES = ROOT / "examples" / "templates" / "cchc"


@dataclass
class Wire:
    """The office, the fake Telegram, and the bots talking to it."""

    office: Office
    server: FakeBotApi
    bots: list[Bot] = field(default_factory=list)

    async def bot(self, read_timeout: float = 5.0) -> Bot:
        bot = Bot(
            self.server.token,
            base_url=self.server.base_url,
            base_file_url=self.server.base_file_url,
            request=HTTPXRequest(read_timeout=read_timeout),
        )
        await bot.initialize()
        self.bots.append(bot)
        return bot

    async def dispatcher(
        self,
        *,
        pacer: Pacer | None = None,
        worker: str = "w1",
        read_timeout: float = 5.0,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        **options: object,
    ) -> Dispatcher:
        transport = TelegramTransport(await self.bot(read_timeout), pacer)
        return Dispatcher(
            sessionmaker or self.office.sessionmaker,
            [transport],
            per_row(options.pop("render", render)),  # type: ignore[arg-type]
            clock=options.pop("clock", self.office.clock),  # type: ignore[arg-type]
            worker_id=worker,
            lease=LEASE,
            monotonic=self.office.time.monotonic,
            **options,  # type: ignore[arg-type]
        )

    def fake_pacer(self) -> Pacer:
        return self.office.pacer()

    def received(self, chat_id: int) -> list[int]:
        """Row ids of the bot's messages in a chat, in order."""
        return row_ids([m.text for m in self.server.sent_messages(chat_id)])

    def refused(self, status: int) -> list[int]:
        """Chat ids of the sends the fake answered with `status`."""
        return [
            int(r.params["chat_id"])
            for r in self.server.requests
            if r.method in ("sendMessage", "sendDocument") and r.status == status
        ]


@pytest.fixture
async def wire(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> AsyncIterator[Wire]:
    office = await make_office(session, sessionmaker, clock)
    async with FakeBotApi() as server:
        for chat, name in ((AN, "An"), (BINH, "Bình"), (CLERK, "Nhứt")):
            server.add_user(chat, name)
        wire = Wire(office, server)
        try:
            yield wire
        finally:
            for bot in wire.bots:
                await bot.shutdown()


def due(wire: Wire, person: Official, minutes: int = 0, kind: str = "before_1") -> NewReminder:
    return new_reminder(wire.office.commune, person, due=T0 + timedelta(minutes=minutes), kind=kind)


async def people(wire: Wire, count: int, *, groups: int = 0) -> list[tuple[Official, int]]:
    """`count` officials with a Telegram chat each; the last `groups` of them are groups."""
    found = []
    async with wire.office.sessionmaker() as session:
        for i in range(count):
            person = await add_official(session, wire.office.commune, f"p{i}", f"Công chức {i}")
            group = i >= count - groups
            chat = -(4_100_000_000 + i) if group else 7000 + i
            if group:
                wire.server.add_group(chat, f"Nhóm {i}")
            else:
                wire.server.add_user(chat, f"Công chức {i}")
            await bind_chat(session, person, str(chat))
            found.append((person, chat))
        await session.commit()
    return found


# --- what arrives ----------------------------------------------------------------------------


async def test_a_reminder_arrives_as_html_with_its_buttons_and_templates(wire: Wire) -> None:
    [row_id] = await wire.office.add(due(wire, wire.office.commune.an))
    long_text = "<b>Báo cáo CCHC Quý I năm 2024</b>\n\n" + "\n\n".join(
        f"Mục {i}: số liệu &amp; tiến độ" for i in range(400)
    )

    def with_templates(row: Reminder) -> Reply:
        return Reply(
            long_text,
            choices=[[Choice("Đã nộp", f"sub:{row.id}"), Choice("Chưa xong", f"no:{row.id}")]],
            files=[
                OutgoingFile("Đề cương báo cáo.docx", str(TEMPLATES / "de-cuong.docx")),
                OutgoingFile("Phụ lục.xlsx", str(TEMPLATES / "phu-luc.xlsx")),
            ],
        )

    dispatcher = await wire.dispatcher(pacer=wire.fake_pacer(), render=with_templates)
    assert (await dispatcher.run_once()).sent == 1

    sent = wire.server.sent_messages(AN)
    texts = [m for m in sent if m.document is None]
    documents = [m for m in sent if m.document is not None]
    assert sent[: len(texts)] == texts  # the text first, then the files
    assert len(texts) == len(split_text(long_text, 4096)) == 4
    assert texts[0].plain_text is not None
    assert texts[0].plain_text.startswith("Báo cáo CCHC Quý I năm 2024")
    assert "Mục 399: số liệu & tiến độ" in (texts[-1].plain_text or "")
    assert [m.buttons for m in texts[:-1]] == [[], [], []]  # the buttons go on the last piece
    assert [b["text"] for b in texts[-1].buttons[0]] == ["Đã nộp", "Chưa xong"]
    assert [d.document["file_name"] for d in documents if d.document] == [
        "Đề cương báo cáo.docx",
        "Phụ lục.xlsx",
    ]
    assert wire.server.uploaded_files[0].content == (TEMPLATES / "de-cuong.docx").read_bytes()
    assert (await wire.office.rows())[row_id].status == ReminderStatus.SENT


async def test_a_429_on_a_template_is_waited_out_without_repeating_the_text(wire: Wire) -> None:
    [row_id] = await wire.office.add(due(wire, wire.office.commune.an))

    def with_template(row: Reminder) -> Reply:
        return Reply(
            f"Nhắc việc #{row.id}",
            files=[OutgoingFile("Phụ lục.xlsx", str(TEMPLATES / "phu-luc.xlsx"))],
        )

    wire.server.fail_next("sendDocument", 429, retry_after=3)
    dispatcher = await wire.dispatcher(pacer=wire.fake_pacer(), render=with_template)

    assert (await dispatcher.run_once()).sent == 1
    assert wire.received(AN) == [row_id]
    assert len(wire.server.uploaded_files) == 1
    assert wire.office.time.now >= 1003  # the pause was honoured on the pacer's clock


# --- faults ------------------------------------------------------------------------------------


async def test_a_429_delays_only_that_chats_row_while_the_others_get_theirs(wire: Wire) -> None:
    commune = wire.office.commune
    rows = await wire.office.add(
        due(wire, commune.an), due(wire, commune.binh), due(wire, commune.clerk)
    )
    wire.server.fail_next("sendMessage", 429, retry_after=7)
    dispatcher = await wire.dispatcher(pacer=wire.fake_pacer())

    report = await dispatcher.run_once()

    assert (report.sent, report.rate_limited) == (2, 1)
    [limited] = wire.refused(429)
    others = {AN, BINH, CLERK} - {limited}
    assert all(len(wire.received(chat)) == 1 for chat in others)
    assert wire.received(limited) == []
    held = next(r for r in (await wire.office.rows()).values() if r.status == "pending")
    assert held.id in rows
    assert (held.attempts, held.claimed_by) == (0, None)
    # retry_after counts from the 429, a fraction of a second into the run on the fake clock.
    assert held.lease_until is not None
    assert T0 + timedelta(seconds=7) <= held.lease_until < T0 + timedelta(seconds=8)

    sends = len(wire.server.requests_for("sendMessage"))
    assert (await dispatcher.run_once(T0 + timedelta(seconds=5))).claimed == 0
    assert len(wire.server.requests_for("sendMessage")) == sends

    wire.office.time.now += 8
    assert (await dispatcher.run_once(T0 + timedelta(seconds=8))).sent == 1
    assert sorted(r for chat in (AN, BINH, CLERK) for r in wire.received(chat)) == sorted(rows)


@pytest.mark.parametrize("raw_body", [None, b"<html><body>502 Bad Gateway</body></html>"])
async def test_a_502_backs_off_and_the_retry_succeeds(wire: Wire, raw_body: bytes | None) -> None:
    [row_id] = await wire.office.add(due(wire, wire.office.commune.an))
    wire.server.fail_next("sendMessage", 502, raw_body=raw_body)
    dispatcher = await wire.dispatcher()

    assert (await dispatcher.run_once()).retrying == 1
    row = (await wire.office.rows())[row_id]
    assert (row.status, row.attempts, row.lease_until) == (
        "pending",
        1,
        T0 + timedelta(seconds=30),
    )
    assert "Bad Gateway" in (row.last_error or "")
    assert wire.server.token not in (row.last_error or "")
    assert wire.received(AN) == []

    assert (await dispatcher.run_once(T0 + timedelta(seconds=31))).sent == 1
    assert wire.received(AN) == [row_id]


async def test_a_timeout_is_retried_and_the_person_may_get_it_twice(wire: Wire) -> None:
    [row_id] = await wire.office.add(due(wire, wire.office.commune.an))
    # The fake answers after the bot stopped waiting, but the message was delivered.
    wire.server.delay_next("sendMessage", 1.0)
    dispatcher = await wire.dispatcher(read_timeout=0.2)

    assert (await dispatcher.run_once()).retrying == 1
    row = (await wire.office.rows())[row_id]
    assert row.last_error == "TimedOut: Timed out (may have been delivered)"
    assert wire.received(AN) == [row_id]

    assert (await dispatcher.run_once(T0 + timedelta(seconds=31))).sent == 1
    # The documented duplicate: Telegram has no idempotency key for sendMessage.
    assert wire.received(AN) == [row_id, row_id]
    assert (await wire.office.rows())[row_id].status == ReminderStatus.SENT


UNREACHABLE = {
    "blocked": "Forbidden: bot was blocked by the user",
    "deactivated": "Forbidden: user is deactivated",
    "never_started": "Forbidden: bot can't initiate conversation with a user",
    "chat_not_found": "BadRequest: Chat not found",
}


@pytest.mark.parametrize("how", list(UNREACHABLE))
async def test_an_unreachable_chat_fails_its_row_and_the_clerk_is_told_once(
    wire: Wire, how: str
) -> None:
    commune = wire.office.commune
    ids = await wire.office.add(*(due(wire, commune.an, m) for m in range(-3, 0)))
    if how == "blocked":
        wire.server.block(AN, notify_bot=False)
    elif how == "deactivated":
        wire.server.deactivate(AN)
    elif how == "never_started":
        wire.server.chat(AN).started = False
    else:
        wire.server.forget_chat(AN)
    dispatcher = await wire.dispatcher(pacer=wire.fake_pacer())

    report = await dispatcher.drain()

    assert (report.unreachable, report.notices, report.sent) == (1, 1, 1)
    rows = await wire.office.rows()
    assert [rows[i].status for i in ids] == ["failed", "dropped", "dropped"]
    assert rows[ids[0]].last_error == UNREACHABLE[how]
    identity = await wire.office.identity(commune.an)
    assert (identity.reachable, identity.unreachable_reason) == (False, UNREACHABLE[how])
    assert len(await wire.office.audit("identity.unreachable")) == 1
    # Only the first row was tried; the clerk got one notice.
    assert len(wire.server.requests_for("sendMessage")) == 2
    [notice] = [r for r in rows.values() if r.kind == UNREACHABLE_NOTICE]
    assert wire.received(CLERK) == [notice.id]

    # More reminders for An later: dropped, no second notice.
    await wire.office.add(due(wire, commune.an, 60, "due_day"))
    later = await dispatcher.drain(T0 + timedelta(hours=2))
    assert (later.dropped, later.notices, later.sent) == (1, 0, 0)
    assert wire.received(CLERK) == [notice.id]


async def test_a_migrated_group_gets_its_new_id_and_the_message(wire: Wire) -> None:
    commune = wire.office.commune
    wire.server.add_group(-4000000001, "Lãnh đạo UBND xã")
    async with wire.office.sessionmaker() as session:
        await bind_chat(session, commune.leader, "-4000000001")
        await session.commit()
    new_id = wire.server.migrate(-4000000001)
    [row_id] = await wire.office.add(due(wire, commune.leader, kind="digest_leaders"))
    dispatcher = await wire.dispatcher(pacer=wire.fake_pacer())

    report = await dispatcher.run_once()

    assert (report.migrated, report.sent) == (1, 1)
    assert wire.received(new_id) == [row_id]
    assert (await wire.office.identity(commune.leader)).external_id == str(new_id)
    # The next reminder goes straight to the new chat.
    [second] = await wire.office.add(due(wire, commune.leader, 1, "digest_clerk"))
    assert (await dispatcher.run_once(T0 + timedelta(minutes=1))).migrated == 0
    assert wire.received(new_id) == [row_id, second]


# --- limits and concurrency ------------------------------------------------------------------


async def test_the_dispatcher_keeps_under_telegrams_limits(wire: Wire) -> None:
    # Real time here: the fake's flood control runs on its own clock, ten times faster.
    wire.server.enforce_limits(per_chat_per_second=1, global_per_second=30, scale=10)
    chats = await people(wire, 30, groups=3)
    reminders = [
        new_reminder(wire.office.commune, person, due=T0 - timedelta(seconds=n), kind=f"k{n}")
        for n in range(10)
        for person, _ in chats
    ]
    ids = await wire.office.add(*reminders)
    pacer = Pacer(RateLimits().scaled(10))
    transport = TelegramTransport(await wire.bot(), pacer)
    dispatcher = Dispatcher(
        wire.office.sessionmaker,
        [transport],
        per_row(render),
        clock=wire.office.clock,
        worker_id="paced",
    )

    report = await dispatcher.drain()

    assert wire.refused(429) == []
    assert report.sent == 300
    for _, chat in chats:
        assert len(wire.received(chat)) == 10
    assert sorted(r for _, chat in chats for r in wire.received(chat)) == sorted(ids)
    rows = await wire.office.rows()
    assert {rows[i].status for i in ids} == {ReminderStatus.SENT}


async def test_two_dispatchers_deliver_every_reminder_exactly_once(
    wire: Wire, database_url: str
) -> None:
    chats = await people(wire, 20)
    ids = await wire.office.add(
        *(
            new_reminder(wire.office.commune, person, due=T0 - timedelta(minutes=n))
            for n in range(10)
            for person, _ in chats
        )
    )
    engine = make_engine(database_url)
    try:
        one = await wire.dispatcher(worker="one", batch_size=15)
        two = await wire.dispatcher(
            worker="two", batch_size=15, sessionmaker=make_sessionmaker(engine)
        )
        reports = await asyncio.gather(one.drain(), two.drain())
    finally:
        await engine.dispose()

    delivered = Counter(r for _, chat in chats for r in wire.received(chat))
    assert delivered == Counter(ids)  # every row once, none twice
    assert sum(r.sent for r in reports) == 200
    assert all(r.sent > 0 for r in reports)
    async with wire.office.sessionmaker() as session:
        rows = list(await session.scalars(select(Reminder)))
    assert {r.status for r in rows} == {ReminderStatus.SENT}
    assert {r.claimed_by for r in rows} == {"one", "two"}


# --- PTB errors to DeliveryError -------------------------------------------------------------


def _retry_after(value: int | float | timedelta) -> RetryAfter:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB itself warns while building one
        return RetryAfter(value)  # type: ignore[arg-type]


def test_ptb_errors_map_to_one_delivery_error() -> None:
    timed_out = TimedOut()
    connect = TimedOut()
    connect.__cause__ = httpx.ConnectTimeout("no route")

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reading retry_after must not warn
        cases = {
            "forbidden": to_delivery_error(Forbidden("Forbidden: bot was blocked by the user")),
            "not_found": to_delivery_error(BadRequest("Bad Request: chat not found")),
            "too_long": to_delivery_error(BadRequest("Bad Request: message is too long")),
            "retry_int": to_delivery_error(_retry_after(5)),
            "retry_td": to_delivery_error(_retry_after(timedelta(seconds=2.5))),
            "migrated": to_delivery_error(ChatMigrated(-1001234567890)),
            "timed_out": to_delivery_error(timed_out),
            "connect": to_delivery_error(connect),
            "bad_gateway": to_delivery_error(NetworkError("Bad Gateway")),
            "token": to_delivery_error(InvalidToken("Unauthorized")),
        }

    def flags(name: str) -> tuple[bool, bool, bool, float | None, str | None]:
        e = cases[name]
        return e.permanent, e.unreachable, e.ambiguous, e.retry_after, e.migrated_to

    assert flags("forbidden") == (True, True, False, None, None)
    assert flags("not_found") == (True, True, False, None, None)
    assert flags("too_long") == (True, False, False, None, None)
    assert flags("retry_int") == (False, False, False, 5.0, None)
    assert flags("retry_td") == (False, False, False, 2.5, None)
    assert flags("migrated") == (False, False, False, None, "-1001234567890")
    assert flags("timed_out") == (False, False, True, None, None)
    assert flags("connect") == (False, False, False, None, None)
    assert flags("bad_gateway") == (False, False, False, None, None)
    assert flags("token") == (False, False, False, None, None)
    assert cases["not_found"].message == "BadRequest: Chat not found"


def test_the_token_never_reaches_the_error_text() -> None:
    token = "123456789:AAFakeTokenForTestsOnly_nhacviec_0001"
    error = NetworkError(f"httpx.ConnectError: https://api.telegram.org/bot{token}/sendMessage")

    mapped = to_delivery_error(error, token)

    assert token not in mapped.message
    assert "bot***/sendMessage" in mapped.message


async def test_a_missing_template_fails_the_row_for_good(wire: Wire) -> None:
    [row_id] = await wire.office.add(due(wire, wire.office.commune.an))

    def missing(row: Reminder) -> Reply:
        return Reply("Nhắc việc", files=[OutgoingFile("x.docx", str(Path("/nonexistent/x.docx")))])

    dispatcher = await wire.dispatcher(render=missing)

    assert (await dispatcher.run_once()).failed == 1
    row = (await wire.office.rows())[row_id]
    assert row.status == ReminderStatus.FAILED
    assert "cannot read file 'x.docx'" in (row.last_error or "")
    assert wire.server.sent_messages(AN) == []  # not the text without its template either


# --- interactive replies on the same send path ---------------------------------------------------


async def test_a_reply_waits_out_a_429_and_arrives(wire: Wire) -> None:
    transport = TelegramTransport(await wire.bot(), wire.fake_pacer())
    wire.server.fail_next("sendMessage", 429, retry_after=2)

    await transport.send(AN_CHAT, Reply("Đã ghi nhận: Hoàn thành"), urgent=True)

    assert [m.plain_text for m in wire.server.sent_messages(AN)] == ["Đã ghi nhận: Hoàn thành"]
    assert wire.office.time.now >= 1002  # it waited the retry_after on the pacer's clock


async def test_a_reply_waits_out_a_long_429_too(wire: Wire) -> None:
    # A reply has no outbox row to be retried from: handing it back would lose it.
    transport = TelegramTransport(await wire.bot(), wire.fake_pacer())
    wire.server.fail_next("sendMessage", 429, retry_after=45)

    await transport.send(AN_CHAT, Reply("Đã ghi nhận: Hoàn thành"), urgent=True)

    assert [m.plain_text for m in wire.server.sent_messages(AN)] == ["Đã ghi nhận: Hoàn thành"]
    assert wire.office.time.now >= 1045


async def test_a_reminder_hands_a_first_429_back_to_the_dispatcher(wire: Wire) -> None:
    transport = TelegramTransport(await wire.bot(), wire.fake_pacer())
    wire.server.fail_next("sendMessage", 429, retry_after=2)

    with pytest.raises(DeliveryError) as raised:
        await transport.send(AN_CHAT, Reply("Nhắc việc"))

    assert raised.value.retry_after == 2
    assert wire.server.sent_messages(AN) == []


async def test_an_edit_replaces_the_tapped_message(wire: Wire) -> None:
    transport = TelegramTransport(await wire.bot(), wire.fake_pacer())
    await transport.send(AN_CHAT, Reply("Chọn tình trạng", [[Choice("Hoàn thành", "st:1:done")]]))
    [asked] = wire.server.sent_messages(AN)

    edited = Reply("Đã ghi nhận: Hoàn thành", edit=True)
    await transport.send(AN_CHAT, edited, tapped_message_id=asked.message_id, urgent=True)
    # The same answer tapped twice: Telegram says "not modified", which changes nothing.
    await transport.send(AN_CHAT, edited, tapped_message_id=asked.message_id, urgent=True)

    [message] = wire.server.sent_messages(AN)
    assert message.plain_text == "Đã ghi nhận: Hoàn thành"
    assert message.buttons == []
