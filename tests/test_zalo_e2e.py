"""The officials' flows end to end on Zalo: the real conversation polled over the fake API.

The Zalo side is composed as `bot.serve` composes it (client, transport with its pacer,
channel polling getUpdates) and talks over HTTP to the strict fake Zalo Bot API on
127.0.0.1; nothing inside is mocked. Replies are compared with the catalog's messages as a
person reads them on Zalo: plain text, choices as numbered lines answered by typing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channel_health import ChannelHealth
from bot.plain_text import to_plain_text
from bot.zalo_api import ZaloApi
from bot.zalo_channel import ZaloChannel
from bot.zalo_transport import ZaloTransport, zalo_pacer
from db.clock import FixedClock
from db.files import FileStore
from db.invites import create_invite
from db.migrate import upgrade
from db.models import (
    Channel,
    ChannelIdentity,
    Official,
    ReceivedUpdate,
    StatusUpdate,
    StoredFile,
    Submission,
    TaskState,
)
from db.session import make_engine, make_sessionmaker
from db.web_links import LinkState, upload_target
from handlers.conversation import Conversation
from handlers.reminder_messages import OutboxRenderer
from scheduler.dispatch import Dispatcher
from scheduler.service import ReminderSweeper
from tests.factories import Commune, build_commune
from tests.fakezaloapi import JPEG, FakeZaloApi, FakeZaloUser, SentMessage
from tests.wording import days_left, due_part, pattern, state, vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PUBLIC_URL = "https://nhacviec.example.vn"
Sessions = async_sessionmaker[AsyncSession]


def plain(key: str, /, **params: object) -> str:
    """The Vietnamese message `key` as Zalo shows it (plain text)."""
    return to_plain_text(vi(key, **params))


def plain_pattern(key: str, /, **params: object) -> str:
    """`wording.pattern` of the message as Zalo shows it (the messages' tags dropped)."""
    return re.sub(r"</?(?:b|i|code)>", "", pattern(key, **params))


def numbered(*labels: str) -> str:
    return "\n".join(f"{n}. {label}" for n, label in enumerate(labels, start=1))


STATUS_CHOICES = numbered(
    vi("button.done"), vi("button.in_progress"), vi("button.blocked"), vi("button.report")
)


@dataclass
class Bench:
    """The fake Zalo, the database, and the Zalo side of the bot polling between them."""

    server: FakeZaloApi
    api: ZaloApi
    transport: ZaloTransport
    channel: ZaloChannel
    clock: FixedClock
    commune: Commune
    sessionmaker: Sessions
    store: FileStore
    an: FakeZaloUser
    binh: FakeZaloUser
    stranger: FakeZaloUser
    stop: asyncio.Event | None = None
    task: asyncio.Task[None] | None = None

    async def start_polling(self) -> None:
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self.channel.poll(self.stop, timeout=30))
        await self.server.wait_for(lambda: self.server.polling, timeout=10)

    async def stop_polling(self) -> None:
        assert self.stop is not None and self.task is not None
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=10)
        self.task = None

    async def say(self, user: FakeZaloUser, text: str, count: int = 1) -> SentMessage:
        """Write `text` and wait for the bot's `count` messages in answer; the last one."""
        update = self.server.user_sends_text(user, text)
        return await self.server.wait_for_message(user.id, count, after=update, timeout=10)

    async def answers(self, user: FakeZaloUser, text: str, count: int = 1) -> list[str]:
        """Write `text`; the texts of the bot's `count` messages in answer."""
        update = self.server.user_sends_text(user, text)
        found = await self.server.wait_for_messages(user.id, count, after=update, timeout=10)
        return [m.text or "" for m in found]

    async def code_for(self, official: Official) -> str:
        async with self.sessionmaker() as session:
            code = await create_invite(session, official, self.clock.now())
            await session.commit()
        return code

    async def register(self, official: Official, user: FakeZaloUser) -> SentMessage:
        """Register by sending the bare invite code, as the clerk's note says to."""
        return await self.say(user, await self.code_for(official))

    async def count(self, model: type[object]) -> int:
        async with self.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def bench(database_url: str, tmp_path: Path) -> AsyncIterator[Bench]:
    await upgrade(database_url)
    engine = make_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session:
        commune = await build_commune(session)
    clock = FixedClock(datetime(2024, 3, 8, 9, 0, tzinfo=TZ))
    store = FileStore(tmp_path / "data")
    async with (
        FakeZaloApi(max_poll_wait=1.0) as server,
        ZaloApi(server.token, server.url) as api,
    ):
        me = await api.get_me()
        health = ChannelHealth()
        conversation = Conversation(
            sessionmaker,
            clock,
            store,
            TZ,
            upload_url=lambda token: f"{PUBLIC_URL}/u/{token}",
            zalo_bot=str(me["account_name"]),
        )
        transport = ZaloTransport(api, sessionmaker, clock, zalo_pacer(5), health=health)
        channel = ZaloChannel(conversation, transport, sessionmaker, clock, str(me["id"]), health)
        bench = Bench(
            server,
            api,
            transport,
            channel,
            clock,
            commune,
            sessionmaker,
            store,
            server.add_user(display_name="Trần Văn An"),
            server.add_user(display_name="Lê Thị Bình"),
            server.add_user(display_name="Người lạ"),
        )
        await bench.start_polling()
        try:
            yield bench
        finally:
            if bench.task is not None:
                await bench.stop_polling()
    await engine.dispose()


async def test_registration_by_the_bare_code_or_start_and_refusals(bench: Bench) -> None:
    stranger = await bench.say(bench.stranger, "/nhiemvu")
    assert stranger.text == plain("register.how", office=vi("office.default"))
    hello = await bench.say(bench.stranger, "xin chào")
    assert hello.text == plain("register.how", office=vi("office.default"))
    wrong = await bench.say(bench.stranger, "/start khong-dung-ma")
    assert wrong.text == plain("register.bad_code", office=vi("office.default"))

    welcome = await bench.register(bench.commune.an, bench.an)
    assert welcome.text is not None
    assert welcome.text.startswith(
        plain("register.welcome", name="Trần Văn An", unit="UBND xã Ba Bích") + "\n"
    )
    code = await bench.code_for(bench.commune.binh)
    binh = await bench.say(bench.binh, f"/start {code}")
    assert binh.text is not None
    assert binh.text.startswith(
        plain("register.welcome", name="Lê Thị Bình", unit="UBND xã Ba Bích") + "\n"
    )

    again = await bench.say(bench.an, "/start")
    assert again.text is not None
    assert again.text.startswith(plain("summary.greeting", name="Trần Văn An") + "\n")
    async with bench.sessionmaker() as session:
        identities = list(await session.scalars(select(ChannelIdentity)))
    assert {(i.channel, i.external_id) for i in identities} == {
        (Channel.ZALO, bench.an.id),
        (Channel.ZALO, bench.binh.id),
    }
    # Zalo shows plain text: no tag of the HTML subset reaches a person.
    for message in bench.server.sent_messages():
        assert not re.search(r"</?(?:b|i|code)>", message.text or "")


async def test_tasks_then_a_status_answered_by_number_and_words(bench: Bench) -> None:
    await bench.register(bench.commune.an, bench.an)
    listing = await bench.say(bench.an, "/nhiemvu")
    assert listing.text is not None
    assert (
        plain(
            "tasks.report_line",
            code="CCHC-Q1-2024",
            title="Báo cáo CCHC Quý I năm 2024",
            due_part=due_part("10/03/2024", days_left(2)),
            role=vi("role.submit"),
            status=vi("tasks.not_submitted"),
        )
        in listing.text
    )
    assert "<TTHC> &" in listing.text  # unescaped for the person

    prompt = await bench.say(bench.an, "/status 2.4")
    assert prompt.text is not None and prompt.text.endswith("\n\n" + STATUS_CHOICES)

    recorded = await bench.say(bench.an, "2")
    assert recorded.text is not None
    assert plain("status.recorded", state=state("in_progress"), time="08/03/2024 09:00") in (
        recorded.text
    )

    # "Vướng mắc" typed in words answers the prompt sent with that answer, then a reason.
    texts = await bench.answers(bench.an, "vuong mac", count=2)
    assert plain("status.ask_reason", code="2.4") in texts[-1]
    saved = await bench.say(bench.an, "Chưa có máy scan & chữ ký số")
    assert saved.text == plain("status.reason_saved", code="2.4")
    async with bench.sessionmaker() as session:
        states = list(await session.scalars(select(StatusUpdate).order_by(StatusUpdate.id)))
    assert [(s.state, s.note) for s in states] == [
        (TaskState.IN_PROGRESS, ""),
        (TaskState.BLOCKED, "Chưa có máy scan & chữ ký số"),
    ]
    # Each answer comes with the prompt again: "hoàn thành" answers the latest one.
    done = await bench.say(bench.an, "hoàn thành")
    assert done.text is not None and done.text.endswith("\n\n" + STATUS_CHOICES)
    assert plain("status.recorded", state=state("done"), time="08/03/2024 09:00") in done.text
    async with bench.sessionmaker() as session:
        states = list(await session.scalars(select(StatusUpdate).order_by(StatusUpdate.id)))
    assert [s.state for s in states] == [
        TaskState.IN_PROGRESS,
        TaskState.BLOCKED,
        TaskState.DONE,
    ]


async def test_nop_gives_the_upload_link_and_a_photo_gets_its_receipt(bench: Bench) -> None:
    await bench.register(bench.commune.an, bench.an)
    chooser = await bench.say(bench.an, "/nop")
    assert chooser.text is not None
    assert "1. Báo cáo CCHC Quý I năm 2024 (10/03/2024)" in chooser.text.split("\n")

    offer = await bench.say(bench.an, "1")
    assert offer.text is not None
    assert offer.text.startswith(plain("upload.why_zalo"))
    link = re.search(
        plain_pattern("upload.link", title="Báo cáo CCHC Quý I năm 2024", hours=24), offer.text
    )
    assert link is not None, offer.text
    url = link["url"]
    assert re.fullmatch(rf"{re.escape(PUBLIC_URL)}/u/[A-Za-z0-9_-]{{16,64}}", url)
    async with bench.sessionmaker() as session:
        target = await upload_target(session, url.rsplit("/", 1)[1], bench.clock.now())
    assert target.state is LinkState.VALID
    assert target.subject is not None and target.subject.id == bench.commune.q1.id
    # The list of reports was answered: a number typed again changes nothing.
    stale = await bench.say(bench.an, "1")
    assert stale.text == plain("choice.stale")

    # A photo of the report, sent in the chat, is the submission.
    sent = bench.server.user_sends_image(bench.an, caption="Bản chụp báo cáo")
    receipt = await bench.server.wait_for_message(bench.an.id, after=sent, timeout=10)
    photo_name = f"anh-{sent['message']['message_id']}.jpg"
    expected = plain(
        "report.receipt",
        title="Báo cáo CCHC Quý I năm 2024",
        version=1,
        files=plain("report.file_line", name=photo_name, size=f"{len(JPEG)} B"),
        time="08/03/2024 09:00",
        timeliness=vi("report.on_time", due="10/03/2024"),
        start="15/12/2023",
        end="14/03/2024",
    )
    assert receipt.text == expected
    assert len(bench.server.photo_downloads) == 1
    async with bench.sessionmaker() as session:
        stored = await session.scalar(select(StoredFile))
    assert stored is not None
    assert stored.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert bench.store.path_of(stored.path).read_bytes() == JPEG
    assert await bench.count(Submission) == 1


async def test_what_zalo_cannot_hand_over_is_answered(bench: Bench) -> None:
    await bench.register(bench.commune.an, bench.an)
    update = bench.server.user_sends_unsupported(bench.an)
    unfetchable = await bench.server.wait_for_message(bench.an.id, after=update, timeout=10)
    assert unfetchable.text is not None
    assert unfetchable.text.startswith(plain("upload.why_unfetchable"))
    assert plain("upload.choose_first") in unfetchable.text
    assert "\n1. Báo cáo CCHC Quý I năm 2024" in unfetchable.text

    update = bench.server.user_sends_sticker(bench.an)
    sticker = await bench.server.wait_for_message(bench.an.id, after=update, timeout=10)
    assert sticker.text == plain("unreadable.message")

    group = bench.server.add_group()
    update = bench.server.user_sends_text(bench.an, "/nhiemvu", group=group)
    refusal = await bench.server.wait_for_message(group.id, after=update, timeout=10)
    assert refusal.text == plain("zalo.group_refused")


async def test_the_same_update_delivered_twice_is_answered_once(bench: Bench) -> None:
    await bench.register(bench.commune.an, bench.an)
    update = bench.server.user_sends_text(bench.an, "/nhiemvu")
    bench.server.deliver_again(update)
    listing = await bench.server.wait_for_message(bench.an.id, after=update, timeout=10)
    # Something later, to know the repeat has been taken and passed over.
    after = await bench.say(bench.an, "/huongdan")
    assert after.text is not None and after.text.startswith(plain("help.body"))
    replies = bench.server.sent_messages(bench.an.id)
    assert [m for m in replies if m.seq > bench.server.seq_of(update)] == [listing, after]
    # The code, /nhiemvu, its repeat and /huongdan were handed out; three were recorded.
    assert bench.server.handed_out == 4
    assert await bench.count(ReceivedUpdate) == 3


async def test_a_reminder_reaches_the_zalo_chat_and_is_answered_by_number(bench: Bench) -> None:
    await bench.register(bench.commune.an, bench.an)
    before = bench.server.seq
    dispatcher = Dispatcher(
        bench.sessionmaker,
        [bench.transport],
        OutboxRenderer(bench.sessionmaker, bench.store),
        clock=bench.clock,
    )
    await ReminderSweeper(bench.sessionmaker, bench.clock).sweep()
    report = await dispatcher.drain()
    reminders = await bench.server.wait_for_messages(bench.an.id, after=before, timeout=10)
    assert (report.sent, report.failed, report.retrying) == (1, 0, 0)
    [reminder] = [m.text or "" for m in reminders]
    q1_before = plain(
        "remind.before", title="Báo cáo CCHC Quý I năm 2024", due="10/03/2024", when=days_left(2)
    )
    assert reminder.startswith(q1_before)
    assert reminder.endswith("\n\n" + numbered(vi("button.report")))
    # The reminder's choice is answered by typing its number: the upload link for Q1.
    offer = await bench.say(bench.an, "1")
    assert offer.text is not None and offer.text.startswith(plain("upload.why_zalo"))
    found = re.search(
        plain_pattern("upload.link", title="Báo cáo CCHC Quý I năm 2024", hours=24), offer.text
    )
    assert found is not None and found["url"].startswith(f"{PUBLIC_URL}/u/")


async def test_failures_are_logged_without_the_token(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    """Our own log lines never carry the token, even before bot.logs masks secrets."""
    caplog.set_level(logging.DEBUG)
    await bench.register(bench.commune.an, bench.an)
    bench.server.fail_next("getUpdates", http_status=502, raw_body=b"<html>502</html>")
    bench.server.fail_next("sendMessage", 500)
    apology = await bench.say(bench.an, "/huongdan")
    assert apology.text == plain("reply.not_delivered")
    bench.server.fail_next("sendMessage", 401, "Unauthorized")
    update = bench.server.user_sends_text(bench.an, "/nhiemvu")
    await bench.server.wait_for(
        lambda: [r for r in bench.server.requests_for("sendMessage") if r.error_code == 401]
    )
    await bench.server.wait_for_message(bench.an.id, after=update, timeout=10)
    secret = bench.server.token.split(":", 1)[1]
    ours = [r for r in caplog.records if r.name.startswith("bot.")]
    assert any("Zalo Bot API unreachable" in r.getMessage() for r in ours)
    assert any("token" in r.getMessage() for r in ours if r.levelno == logging.ERROR)
    formatter = logging.Formatter()
    assert all(secret not in formatter.format(r) for r in ours)
