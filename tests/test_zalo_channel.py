"""Zalo updates in: translation into events, what is dropped, duplicates, polling.

A stub conversation stands in for the real one (tests/test_zalo_e2e.py has that): it records
what it was handed and answers with one reply, which must reach the chat over the fake API.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import zalo_channel
from bot.channel_health import ChannelHealth
from bot.zalo_api import ZaloApi
from bot.zalo_channel import ZaloChannel, next_backoff, photo_fetcher
from bot.zalo_transport import ZaloTransport
from db import received_updates
from db.clock import FixedClock
from db.models import Channel, ReceivedUpdate
from handlers.types import (
    ZALO_TRAITS,
    CommandSent,
    Event,
    FilesSent,
    Reply,
    Sender,
    TextSent,
    UnfetchableFile,
    UnreadableMessage,
)
from tests.fakezaloapi import JPEG, FakeZaloApi, FakeZaloUser
from tests.wording import vi

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class StubConversation:
    """Answers every event with one reply naming it; remembers what it was handed."""

    heard: list[tuple[Sender, Event]] = field(default_factory=list)

    async def handle(self, sender: Sender, event: Event) -> list[Reply]:
        self.heard.append((sender, event))
        return [Reply(f"<b>Đã nhận</b> {type(event).__name__}")]

    @property
    def events(self) -> list[Event]:
        return [event for _, event in self.heard]


@dataclass
class Bench:
    server: FakeZaloApi
    channel: ZaloChannel
    conversation: StubConversation
    health: ChannelHealth
    sessionmaker: Sessions
    an: FakeZaloUser

    async def receive(self, update: dict[str, Any]) -> None:
        """Hand the update to the channel as a webhook would."""
        await self.channel.handle_update(update)

    async def recorded(self) -> int:
        async with self.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(ReceivedUpdate)) or 0)


@pytest.fixture
async def bench(sessionmaker: Sessions, clock: FixedClock) -> AsyncIterator[Bench]:
    async with FakeZaloApi(max_poll_wait=0.2) as server, ZaloApi(server.token, server.url) as api:
        health = ChannelHealth()
        conversation = StubConversation()
        transport = ZaloTransport(api, sessionmaker, clock, health=health)
        channel = ZaloChannel(conversation, transport, sessionmaker, clock, server.bot_id, health)
        an = server.add_user(display_name="Trần Văn An")
        yield Bench(server, channel, conversation, health, sessionmaker, an)


ANSWER = "Đã nhận {}"


async def test_text_and_commands(bench: Bench) -> None:
    for text in ("Chào bot", "/Start  MaMoi123 ", "/nhiemvu", "  /nop", "/", "2"):
        await bench.receive(bench.server.user_sends_text(bench.an, text))
    assert bench.conversation.events == [
        TextSent("Chào bot"),
        CommandSent("start", "MaMoi123"),
        CommandSent("nhiemvu", ""),
        CommandSent("nop", ""),
        TextSent("/"),
        TextSent("2"),
    ]
    sender = bench.conversation.heard[0][0]
    assert sender == Sender(Channel.ZALO, bench.an.id, "Trần Văn An", None, ZALO_TRAITS)
    # The reply went back to the chat as plain text.
    assert bench.server.texts(bench.an.id)[0] == ANSWER.format("TextSent")
    assert len(bench.server.texts(bench.an.id)) == 6


async def test_a_photo_becomes_a_file_fetched_from_its_url(bench: Bench) -> None:
    update = bench.server.user_sends_image(bench.an, caption="Biên bản họp")
    await bench.receive(update)
    [event] = bench.conversation.events
    assert isinstance(event, FilesSent)
    assert event.caption == "Biên bản họp"
    [photo] = event.files
    message_id = update["message"]["message_id"]
    assert (photo.name, photo.mime_type, photo.size) == (
        f"anh-{message_id}.jpg",
        "image/jpeg",
        None,
    )
    assert photo.is_photo
    assert bench.server.photo_downloads == []  # fetched only when the conversation wants it
    assert await photo.fetch() == JPEG
    assert len(bench.server.photo_downloads) == 1

    await bench.receive(bench.server.user_sends_image(bench.an))
    last = bench.conversation.events[-1]
    assert isinstance(last, FilesSent) and last.caption == ""


async def test_a_photo_over_the_limit_is_not_read_to_its_end(bench: Bench) -> None:
    update = bench.server.user_sends_image(bench.an, content=b"\xff" * 300_000)
    fetch = photo_fetcher(update["message"]["photo_url"], 1000)
    content = await fetch()
    # One byte over: enough for the conversation to refuse it as too large.
    assert len(content) == 1001


async def test_what_cannot_be_read_or_fetched(bench: Bench) -> None:
    await bench.receive(bench.server.user_sends_unsupported(bench.an))
    await bench.receive(bench.server.user_sends_sticker(bench.an))
    await bench.receive(bench.server.user_sends_voice(bench.an))
    assert bench.conversation.events == [
        UnfetchableFile(),
        UnreadableMessage("sticker"),
        UnreadableMessage("voice"),
    ]
    update = bench.server.user_sends_text(bench.an, "x")
    update["event_name"] = "message.location.received"
    await bench.receive(update)
    assert len(bench.conversation.events) == 3  # an unknown kind is dropped


async def test_a_group_is_refused_politely_and_nothing_is_kept(bench: Bench) -> None:
    group = bench.server.add_group()
    await bench.receive(bench.server.user_sends_text(bench.an, "/nhiemvu", group=group))
    assert bench.server.texts(group.id) == [vi("zalo.group_refused")]
    assert bench.conversation.events == []
    assert await bench.recorded() == 0
    # A busy group is not answered on every message.
    await bench.receive(bench.server.user_sends_image(bench.an, group=group))
    assert bench.server.texts(group.id) == [vi("zalo.group_refused")]
    assert bench.server.texts(bench.an.id) == []


async def test_the_bots_own_messages_are_dropped(bench: Bench) -> None:
    bench.server.echo_bot_messages = True
    api = bench.channel.transport.api
    bench.server.user_sends_text(bench.an, "Chào")
    update = await api.get_updates(timeout=1)
    assert update is not None
    await bench.receive(update)
    [answer] = bench.server.sent_messages(bench.an.id)
    echoed = await api.get_updates(timeout=1)
    assert echoed is not None and echoed["message"]["from"]["id"] == bench.server.bot_id
    echoed["message"]["from"]["is_bot"] = False  # the id alone is enough
    await bench.receive(echoed)
    assert bench.conversation.events == [TextSent("Chào")]
    assert await bench.recorded() == 1
    assert answer.text == ANSWER.format("TextSent")


async def test_the_same_update_twice_is_answered_once(bench: Bench) -> None:
    update = bench.server.user_sends_text(bench.an, "Hoàn thành")
    await bench.receive(update)
    await bench.receive(update)
    await bench.receive({"ok": True, "result": update})
    assert bench.conversation.events == [TextSent("Hoàn thành")]
    assert bench.server.texts(bench.an.id) == [ANSWER.format("TextSent")]
    async with bench.sessionmaker() as session:
        message_id = update["message"]["message_id"]
        assert await received_updates.was_received(session, Channel.ZALO, message_id)


async def test_two_processes_given_the_same_update_answer_it_once(
    bench: Bench, sessionmaker: Sessions, clock: FixedClock
) -> None:
    other = ZaloChannel(
        bench.conversation, bench.channel.transport, sessionmaker, clock, bench.server.bot_id
    )
    update = bench.server.user_sends_text(bench.an, "/nhiemvu")
    await asyncio.gather(bench.receive(update), other.handle_update(update))
    assert bench.conversation.events == [CommandSent("nhiemvu")]


async def test_wrapped_and_bare_updates_are_both_accepted(bench: Bench) -> None:
    await bench.receive(bench.server.user_sends_text(bench.an, "bare"))
    await bench.receive({"ok": True, "result": bench.server.user_sends_text(bench.an, "wrapped")})
    assert bench.conversation.events == [TextSent("bare"), TextSent("wrapped")]


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "text",
        {},
        {"ok": False, "error_code": 408, "description": "Request timeout"},
        {"ok": True, "result": None},
        {"event_name": "message.text.received"},
        {"event_name": "message.text.received", "message": {"text": "no ids"}},
        {
            "event_name": "message.text.received",
            "message": {"message_id": "ab", "from": {"id": "1"}, "chat": {}, "text": "x"},
        },
        {
            "event_name": "message.text.received",
            "message": {"message_id": "", "from": {"id": "1"}, "chat": {"id": "1"}},
        },
        {
            "event_name": "message.text.received",
            "message": {"message_id": "cd", "from": {"id": "1"}, "chat": {"id": "1"}},
        },
        {
            "event_name": "message.image.received",
            "message": {
                "message_id": "ef",
                "from": {"id": "1"},
                "chat": {"id": "1"},
                "photo_url": "file:///etc/passwd",
            },
        },
    ],
)
async def test_malformed_updates_are_dropped_without_raising(bench: Bench, payload: Any) -> None:
    await bench.receive(payload)
    assert bench.conversation.events == []
    assert bench.server.requests_for("sendMessage") == []


async def test_a_failed_answer_is_apologised_for(bench: Bench) -> None:
    bench.server.fail_next("sendMessage", 502)
    await bench.receive(bench.server.user_sends_text(bench.an, "/huongdan"))
    assert bench.server.texts(bench.an.id) == [vi("reply.not_delivered")]
    # A refusal about the chat is not apologised for (nobody could read it).
    stranger = "00aa11bb22cc33dd44ee"
    update = bench.server.user_sends_text(stranger, "chào")
    bench.server.users[stranger].wrote = False
    await bench.receive(update)
    assert bench.server.texts(stranger) == []


# --- polling -----------------------------------------------------------------------------


def failing(health: ChannelHealth) -> bool:
    status = health.snapshot().get("zalo")
    return status is not None and status.failing


def test_the_backoff_doubles_up_to_thirty_seconds() -> None:
    waits = [0.0]
    for _ in range(7):
        waits.append(next_backoff(waits[-1]))
    assert waits[1:] == [1, 2, 4, 8, 16, 30, 30]


async def test_polling_idles_through_408_and_handles_what_comes(bench: Bench) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(bench.channel.poll(stop, timeout=1))
    try:
        # Several empty long polls (408) come and go: the loop keeps polling.
        await bench.server.wait_for(
            lambda: len([r for r in bench.server.requests_for("getUpdates") if not r.ok]) >= 2
        )
        assert all(r.error_code == 408 for r in bench.server.requests_for("getUpdates"))
        assert not bench.health.snapshot()["zalo"].failing
        first = bench.server.user_sends_text(bench.an, "/nhiemvu")
        bench.server.deliver_again(first)
        second = bench.server.user_sends_unsupported(bench.an)
        await bench.server.wait_for_message(bench.an.id, 2, after=first)
        await bench.server.wait_for(lambda: bench.server.pending_updates == 0)
        await bench.server.wait_for(lambda: bench.server.polling)
        assert bench.conversation.events == [CommandSent("nhiemvu"), UnfetchableFile()]
        assert second["message"]["message_id"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 2)


async def test_polling_backs_off_after_errors_and_recovers(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zalo_channel, "FIRST_BACKOFF_SECONDS", 0.1)
    bench.server.fail_next("getUpdates", 502, times=3)
    stop = asyncio.Event()
    started = time.monotonic()
    task = asyncio.create_task(bench.channel.poll(stop, timeout=1))
    try:
        await bench.server.wait_for(lambda: len(bench.server.requests_for("getUpdates")) >= 3)
        assert bench.health.snapshot()["zalo"].failing
        update = bench.server.user_sends_text(bench.an, "chào")
        await bench.server.wait_for_message(bench.an.id, after=update)
        # 0.1 + 0.2 + 0.4 s of waiting between the four calls.
        assert time.monotonic() - started >= 0.7
        assert not bench.health.snapshot()["zalo"].failing
    finally:
        stop.set()
        await asyncio.wait_for(task, 2)


async def test_a_webhook_makes_polling_fail_until_deleted(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zalo_channel, "FIRST_BACKOFF_SECONDS", 0.05)
    api = bench.channel.transport.api
    await api.set_webhook("https://bot.example.vn/zalo/hook", "bi-mat-dai-8")
    stop = asyncio.Event()
    task = asyncio.create_task(bench.channel.poll(stop, timeout=1))
    try:
        await bench.server.wait_for(lambda: bench.server.requests_for("getUpdates"))
        assert bench.server.requests_for("getUpdates")[0].error_code == 409
        await bench.server.wait_for(lambda: failing(bench.health))
        await api.delete_webhook()
        await bench.server.wait_for(lambda: bench.server.polling)
        await bench.server.wait_for(lambda: not failing(bench.health))
    finally:
        stop.set()
        await asyncio.wait_for(task, 2)


async def test_polling_stops_promptly_in_the_middle_of_a_long_poll(bench: Bench) -> None:
    bench.server.max_poll_wait = 30
    stop = asyncio.Event()
    task = asyncio.create_task(bench.channel.poll(stop, timeout=30))
    await bench.server.wait_for(lambda: bench.server.polling)
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 2)
    assert time.monotonic() - started < 1


async def test_the_webhook_way_records_first_and_answers_in_the_background(
    bench: Bench,
) -> None:
    update = bench.server.user_sends_text(bench.an, "Chào bot")
    await bench.channel.receive(update)
    await bench.channel.receive(update)  # Zalo sent it again: recorded once, answered once
    await bench.channel.finish()
    assert bench.conversation.events == [TextSent("Chào bot")]
    assert bench.server.texts(bench.an.id) == [ANSWER.format("TextSent")]
    assert await bench.recorded() == 1


async def test_the_webhook_way_raises_when_the_update_cannot_be_recorded(bench: Bench) -> None:
    # The database is gone: the web app must answer 500 so that Zalo sends the update again.
    class Broken:
        def __call__(self) -> AsyncSession:
            raise ConnectionRefusedError("database down")

    bench.channel.sessionmaker = Broken()  # type: ignore[assignment]
    with pytest.raises(ConnectionRefusedError):
        await bench.channel.receive(bench.server.user_sends_text(bench.an, "Chào bot"))
    await bench.channel.finish()
    assert bench.conversation.events == []
