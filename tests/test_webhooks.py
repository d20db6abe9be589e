"""The channels' webhooks: only a request with the platform's secret header is handled.

Telegram's goes through a real python-telegram-bot Application built with `.updater(None)`
(PTB's customwebhookbot example) against the fake Bot API, so an update posted to the webhook
reaches a handler, whose answer reaches the fake Telegram.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.channel_health import ChannelHealth
from bot.settings import Settings
from bot.web import (
    MAX_WEBHOOK_BYTES,
    TELEGRAM_SECRET_HEADER,
    ZALO_SECRET_HEADER,
    WebhookRoute,
    create_app,
    telegram_route,
    telegram_update_feed,
    zalo_route,
)
from db.clock import FixedClock
from db.files import FileStore
from db.session import make_engine, make_sessionmaker
from tests.fakebotapi import DEFAULT_TOKEN, FakeBotApi

AN = 5001
PTBApp = Application[Any, Any, Any, Any, Any, Any]
SETTINGS = Settings(telegram_token=DEFAULT_TOKEN, zalo_token="1234567890:zalo-secret-token")
ZALO_UPDATE = {
    "event_name": "message.text.received",
    "message": {
        "message_id": "a1b2c3",
        "from": {"id": "6ede9afa66b88fe6a5a9", "display_name": "Trần Văn An", "is_bot": False},
        "chat": {"id": "6ede9afa66b88fe6a5a9", "chat_type": "PRIVATE"},
        "date": 1709859600000,
        "text": "/nhiemvu",
    },
}


def web_client(
    tmp_path: Path,
    clock: FixedClock,
    telegram: WebhookRoute | None = None,
    zalo: WebhookRoute | None = None,
) -> httpx.AsyncClient:
    """A client of the web app with the given webhooks (no database needed for them)."""
    app = create_app(
        sessionmaker=make_sessionmaker(make_engine("sqlite+aiosqlite://")),
        clock=clock,
        store=FileStore(tmp_path / "data"),
        health=ChannelHealth(clock.now),
        telegram_webhook=telegram,
        zalo_webhook=zalo,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


class Recorder:
    """A webhook `handle` that keeps what it was given."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    async def __call__(self, payload: dict[str, Any]) -> None:
        self.payloads.append(payload)


# ---------------------------------------------------------------------- Telegram


@pytest.fixture
async def telegram_bot() -> AsyncIterator[tuple[FakeBotApi, PTBApp]]:
    """A started PTB Application without an updater, against the fake Bot API; its one handler
    answers every text with "đã nhận: <text>"."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"đã nhận: {update.effective_message.text}")

    async with FakeBotApi() as server:
        server.add_user(AN)
        application = server.application_builder().updater(None).build()
        application.add_handler(MessageHandler(filters.TEXT, echo))
        async with application:
            await application.start()
            yield server, application
            await application.stop()


async def test_a_telegram_update_with_the_secret_reaches_the_bots_handler(
    telegram_bot: tuple[FakeBotApi, PTBApp],
    tmp_path: Path,
    clock: FixedClock,
) -> None:
    server, application = telegram_bot
    route = telegram_route(SETTINGS, telegram_update_feed(application))
    assert route.path == f"/telegram/{SETTINGS.webhook_path('telegram')}"
    assert route.header == "X-Telegram-Bot-Api-Secret-Token"
    update = server.user_sends_text(AN, "xin chào")
    async with web_client(tmp_path, clock, route) as client:
        response = await client.post(
            route.path,
            json=update,
            headers={TELEGRAM_SECRET_HEADER: SETTINGS.webhook_secret("telegram")},
        )
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    answer = await server.wait_for_message(AN, after=update["message"]["message_id"], timeout=10)
    assert answer.text == "đã nhận: xin chào"


async def test_an_unreadable_telegram_update_is_skipped_with_200_not_sent_again(
    telegram_bot: tuple[FakeBotApi, PTBApp],
    tmp_path: Path,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, application = telegram_bot
    route = telegram_route(SETTINGS, telegram_update_feed(application))
    headers = {TELEGRAM_SECRET_HEADER: SETTINGS.webhook_secret("telegram")}
    chat = {"id": AN, "type": "private"}
    unreadable = {"update_id": 1, "message": {"message_id": 1, "date": "x", "chat": chat}}
    update = server.user_sends_text(AN, "xin chào")
    async with web_client(tmp_path, clock, route) as client:
        skipped = await client.post(route.path, json=unreadable, headers=headers)
        read = await client.post(route.path, json=update, headers=headers)
    # A 500 would make Telegram deliver it again and again.
    assert skipped.status_code == 200 and read.status_code == 200
    answer = await server.wait_for_message(AN, after=update["message"]["message_id"], timeout=10)
    assert answer.text == "đã nhận: xin chào"
    assert "skipped a Telegram update the bot cannot read (update_id 1, message)" in caplog.text


@pytest.mark.parametrize("secret", [None, "", "wrong", "x" * 64])
async def test_a_telegram_update_without_the_secret_is_403_and_not_handled(
    telegram_bot: tuple[FakeBotApi, PTBApp],
    tmp_path: Path,
    clock: FixedClock,
    secret: str | None,
) -> None:
    server, application = telegram_bot
    route = telegram_route(SETTINGS, telegram_update_feed(application))
    update = server.user_sends_text(AN, "xin chào")
    headers = {} if secret is None else {TELEGRAM_SECRET_HEADER: secret}
    async with web_client(tmp_path, clock, route) as client:
        response = await client.post(route.path, json=update, headers=headers)
        # Zalo's header name with Telegram's secret is no key either.
        crossed = await client.post(
            route.path,
            json=update,
            headers={ZALO_SECRET_HEADER: SETTINGS.webhook_secret("telegram")},
        )
    assert response.status_code == 403
    assert crossed.status_code == 403
    await asyncio.sleep(0.3)
    assert server.sent_messages(AN) == []
    assert application.update_queue.empty()


# ---------------------------------------------------------------------- Zalo


@pytest.mark.parametrize(
    "payload", [ZALO_UPDATE, {"ok": True, "result": ZALO_UPDATE}], ids=["bare", "wrapped"]
)
async def test_a_zalo_update_with_the_secret_is_handed_over_as_sent(
    tmp_path: Path, clock: FixedClock, payload: dict[str, Any]
) -> None:
    handled = Recorder()
    route = zalo_route(SETTINGS, handled)
    assert route.path == f"/zalo/{SETTINGS.webhook_path('zalo')}"
    assert route.header == "X-Bot-Api-Secret-Token"
    async with web_client(tmp_path, clock, None, route) as client:
        response = await client.post(
            route.path, json=payload, headers={ZALO_SECRET_HEADER: SETTINGS.webhook_secret("zalo")}
        )
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert handled.payloads == [payload]


@pytest.mark.parametrize("secret", [None, "", "wrong", "sếp"])
async def test_a_zalo_update_without_the_secret_is_403_and_not_handled(
    tmp_path: Path, clock: FixedClock, secret: str | None
) -> None:
    handled = Recorder()
    route = zalo_route(SETTINGS, handled)
    # Raw bytes: a header is not always ASCII.
    headers = {} if secret is None else {ZALO_SECRET_HEADER.encode(): secret.encode()}
    async with web_client(tmp_path, clock, None, route) as client:
        response = await client.post(route.path, json=ZALO_UPDATE, headers=headers)
        # Telegram's secret does not open Zalo's door.
        crossed = await client.post(
            route.path,
            json=ZALO_UPDATE,
            headers={ZALO_SECRET_HEADER: SETTINGS.webhook_secret("telegram")},
        )
    assert response.status_code == 403
    assert crossed.status_code == 403
    assert handled.payloads == []


async def test_the_two_webhooks_live_side_by_side(tmp_path: Path, clock: FixedClock) -> None:
    telegram, zalo = Recorder(), Recorder()
    t_route, z_route = telegram_route(SETTINGS, telegram), zalo_route(SETTINGS, zalo)
    async with web_client(tmp_path, clock, t_route, z_route) as client:
        ok_t = await client.post(
            t_route.path,
            json={"update_id": 1},
            headers={TELEGRAM_SECRET_HEADER: SETTINGS.webhook_secret("telegram")},
        )
        ok_z = await client.post(
            z_route.path,
            json=ZALO_UPDATE,
            headers={ZALO_SECRET_HEADER: SETTINGS.webhook_secret("zalo")},
        )
        # A guessed path is just a page that does not exist.
        unknown = await client.post("/zalo/guess", json=ZALO_UPDATE)
    assert (ok_t.status_code, ok_z.status_code, unknown.status_code) == (200, 200, 404)
    assert telegram.payloads == [{"update_id": 1}]
    assert zalo.payloads == [ZALO_UPDATE]


# ---------------------------------------------------------------------- what is not an update


@pytest.fixture
def zalo() -> tuple[Recorder, WebhookRoute, dict[str, str]]:
    handled = Recorder()
    route = zalo_route(SETTINGS, handled)
    return handled, route, {ZALO_SECRET_HEADER: SETTINGS.webhook_secret("zalo")}


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"", b"\xff\xfe"])
async def test_a_body_that_is_not_a_json_object_is_400(
    tmp_path: Path,
    clock: FixedClock,
    zalo: tuple[Recorder, WebhookRoute, dict[str, str]],
    body: bytes,
) -> None:
    handled, route, headers = zalo
    async with web_client(tmp_path, clock, None, route) as client:
        response = await client.post(route.path, content=body, headers=headers)
    assert response.status_code == 400
    assert handled.payloads == []


async def test_a_body_far_larger_than_an_update_is_413(
    tmp_path: Path, clock: FixedClock, zalo: tuple[Recorder, WebhookRoute, dict[str, str]]
) -> None:
    handled, route, headers = zalo
    body = b'{"text": "' + b"a" * MAX_WEBHOOK_BYTES + b'"}'
    async with web_client(tmp_path, clock, None, route) as client:
        response = await client.post(route.path, content=body, headers=headers)
    assert response.status_code == 413
    assert handled.payloads == []


async def test_a_failing_handle_is_500_so_the_platform_sends_again(
    tmp_path: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def failing(payload: dict[str, Any]) -> None:
        raise RuntimeError("queue closed")

    route = zalo_route(SETTINGS, failing)
    async with web_client(tmp_path, clock, None, route) as client:
        response = await client.post(
            route.path, json=ZALO_UPDATE, headers={ZALO_SECRET_HEADER: route.secret}
        )
    assert response.status_code == 500
    assert response.json() == {"ok": False}
    assert "handling an update failed" in caplog.text


def test_a_webhook_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        WebhookRoute(path="/zalo/x", secret="", header=ZALO_SECRET_HEADER, handle=Recorder())
