"""The fake Zalo Bot API behaves as Zalo's documentation says (and as it assumes where silent).

Spoken to over raw HTTP, not through the bot's client: these tests pin the fake itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.fakezaloapi import JPEG, SECRET_HEADER, FakeZaloApi


@pytest.fixture
async def server() -> AsyncIterator[FakeZaloApi]:
    async with FakeZaloApi(max_poll_wait=0.3) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def call(
    http: httpx.AsyncClient,
    server: FakeZaloApi,
    method: str,
    token: str | None = None,
    **params: Any,
) -> dict[str, Any]:
    """POST the method as the bot does; every answer must be HTTP 200."""
    response = await http.post(f"{server.url}/bot{token or server.token}/{method}", json=params)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def refused(body: dict[str, Any], code: int) -> str:
    assert body["ok"] is False, body
    assert body["error_code"] == code, body
    description: str = body["description"]
    return description


async def test_errors_come_as_http_200_with_ok_false(
    server: FakeZaloApi, http: httpx.AsyncClient
) -> None:
    refused(await call(http, server, "getMe", token="1234567890:wrong"), 401)
    refused(await call(http, server, "noSuchMethod"), 404)
    refused(await call(http, server, "sendDocument", chat_id="x", document="a.pdf"), 404)
    me = await call(http, server, "getMe")
    assert me["ok"] is True
    assert set(me["result"]) == {"id", "account_name", "account_type", "can_join_groups"}
    assert me["result"]["id"] == server.bot_id == server.token.split(":")[0]
    response = await http.post(
        f"{server.url}/bot{server.token}/getMe", content=b"a=b", headers={"content-type": "x"}
    )
    assert response.status_code == 200
    refused(response.json(), 400)


async def test_get_updates_hands_out_one_update_per_call_then_408(
    server: FakeZaloApi, http: httpx.AsyncClient
) -> None:
    an = server.add_user(display_name="An")
    first = server.user_sends_text(an, "xin chào")
    second = server.user_sends_text(an, "/nhiemvu")
    got = [await call(http, server, "getUpdates", timeout=1) for _ in range(2)]
    assert [g["result"] for g in got] == [first, second]
    message = got[0]["result"]["message"]
    assert got[0]["result"]["event_name"] == "message.text.received"
    assert message["chat"] == {"id": an.id, "chat_type": "PRIVATE"}
    assert message["from"] == {"id": an.id, "display_name": "An", "is_bot": False}
    assert int(message["message_id"], 16) >= 0
    assert abs(message["date"] - time.time() * 1000) < 60_000  # milliseconds

    started = time.monotonic()
    idle = await call(http, server, "getUpdates", timeout=30)
    assert refused(idle, 408)
    assert 0.25 <= time.monotonic() - started < 5  # the test-shortened wait, not 30 s
    assert server.handed_out == 2


async def test_a_long_poll_returns_when_an_update_arrives(
    server: FakeZaloApi, http: httpx.AsyncClient
) -> None:
    server.max_poll_wait = 5
    waiting = asyncio.create_task(call(http, server, "getUpdates", timeout=5))
    await server.wait_for(lambda: server.polling)
    update = server.user_sends_text(server.add_user(), "1")
    assert (await asyncio.wait_for(waiting, 2))["result"] == update


async def test_an_update_can_be_delivered_twice(
    server: FakeZaloApi, http: httpx.AsyncClient
) -> None:
    update = server.user_sends_text(server.add_user(), "Hoàn thành")
    server.deliver_again(update)
    got = [(await call(http, server, "getUpdates"))["result"] for _ in range(2)]
    assert got == [update, update]


async def test_send_message_checks_chat_and_text(
    server: FakeZaloApi, http: httpx.AsyncClient
) -> None:
    an = server.add_user()
    server.user_sends_text(an, "chào")
    assert "chat_id" in refused(await call(http, server, "sendMessage", text="a"), 400)
    refused(await call(http, server, "sendMessage", chat_id=an.id, text=""), 400)
    refused(await call(http, server, "sendMessage", chat_id=an.id, text="  \n"), 400)
    refused(await call(http, server, "sendMessage", chat_id=an.id, text="ạ" * 2001), 400)
    sent = await call(http, server, "sendMessage", chat_id=an.id, text="ạ" * 2000)
    assert sent["ok"] is True
    assert set(sent["result"]) == {"message_id", "date"}
    assert server.texts(an.id) == ["ạ" * 2000]
    refused(await call(http, server, "sendMessage", chat_id="ffff0000", text="a"), 400)


async def test_the_bot_may_not_write_first(server: FakeZaloApi, http: httpx.AsyncClient) -> None:
    binh = server.add_user(display_name="Bình")
    description = refused(await call(http, server, "sendMessage", chat_id=binh.id, text="a"), 403)
    assert "not interacted" in description
    server.user_sends_text(binh, "chào bot")
    assert (await call(http, server, "sendMessage", chat_id=binh.id, text="a"))["ok"] is True


async def test_photos_go_by_public_url_only(server: FakeZaloApi, http: httpx.AsyncClient) -> None:
    an = server.add_user(wrote=True)
    refused(await call(http, server, "sendPhoto", chat_id=an.id, photo="/tmp/a.jpg"), 400)
    refused(await call(http, server, "sendPhoto", chat_id=an.id, photo="ftp://x/a.jpg"), 400)
    ok = await call(http, server, "sendPhoto", chat_id=an.id, photo="https://x.vn/a.jpg")
    assert ok["ok"] is True
    assert server.sent_messages(an.id)[-1].photo == "https://x.vn/a.jpg"
    assert (await call(http, server, "sendChatAction", chat_id=an.id, action="typing"))["ok"]
    refused(await call(http, server, "sendChatAction", chat_id=an.id, action="dancing"), 400)


async def test_a_users_photo_is_served_locally(
    server: FakeZaloApi, http: httpx.AsyncClient
) -> None:
    an = server.add_user()
    update = server.user_sends_image(an, caption="Biên bản")
    message = update["message"]
    assert update["event_name"] == "message.image.received"
    assert message["caption"] == "Biên bản"
    response = await http.get(message["photo_url"])
    assert response.content == JPEG
    assert len(server.photo_downloads) == 1


async def test_each_kind_of_update(server: FakeZaloApi) -> None:
    an = server.add_user()
    group = server.add_group()
    assert server.user_sends_sticker(an)["event_name"] == "message.sticker.received"
    voice = server.user_sends_voice(an)
    assert voice["event_name"] == "message.voice.received"
    assert voice["message"]["voice_url"].startswith("http")
    unsupported = server.user_sends_unsupported(an)
    assert unsupported["event_name"] == "message.unsupported.received"
    assert not {"text", "photo_url", "document"} & set(unsupported["message"])
    in_group = server.user_sends_text(an, "chào cả nhà", group=group)
    assert in_group["message"]["chat"] == {"id": group.id, "chat_type": "GROUP"}
    assert server.pending_updates == 4


async def test_over_the_rate_the_answer_is_429(
    server: FakeZaloApi, http: httpx.AsyncClient
) -> None:
    an, binh = server.add_user(wrote=True), server.add_user(wrote=True)
    server.enforce_limits(per_chat_per_second=1, global_per_second=30)
    assert (await call(http, server, "sendMessage", chat_id=an.id, text="1"))["ok"]
    limited = await call(http, server, "sendMessage", chat_id=an.id, text="2")
    refused(limited, 429)
    assert "parameters" not in limited  # Zalo says nothing of how long to wait
    assert (await call(http, server, "sendMessage", chat_id=binh.id, text="1"))["ok"]
    assert server.texts(an.id) == ["1"]


async def test_injected_failures(server: FakeZaloApi, http: httpx.AsyncClient) -> None:
    an = server.add_user(wrote=True)
    server.fail_next("sendMessage", 500)
    refused(await call(http, server, "sendMessage", chat_id=an.id, text="a"), 500)
    server.fail_next("sendMessage", http_status=502, raw_body=b"<html>Bad Gateway</html>")
    response = await http.post(
        f"{server.url}/bot{server.token}/sendMessage", json={"chat_id": an.id, "text": "a"}
    )
    assert response.status_code == 502
    assert server.texts(an.id) == []
    assert [r.ok for r in server.requests_for("sendMessage")] == [False, False]
    assert all(server.token not in str(r.params) for r in server.requests)


async def test_webhook_and_polling_are_exclusive(
    server: FakeZaloApi, http: httpx.AsyncClient
) -> None:
    hook = "https://bot.example.vn/zalo/hook"
    for secret in ("short", "x" * 257):
        refused(await call(http, server, "setWebhook", url=hook, secret_token=secret), 400)
    refused(await call(http, server, "setWebhook", url="http://x.vn/h", secret_token="s" * 8), 400)
    assert (await call(http, server, "setWebhook", url=hook, secret_token="s" * 8))["ok"]
    assert (await call(http, server, "getWebhookInfo"))["result"]["url"] == hook
    refused(await call(http, server, "getUpdates", timeout=1), 409)
    assert (await call(http, server, "deleteWebhook"))["ok"]
    refused(await call(http, server, "getUpdates", timeout=1), 408)


async def test_updates_are_posted_to_the_webhook_with_the_secret() -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    url = f"http://{host}:{port}/hook"
    try:
        async with (
            FakeZaloApi(allow_insecure_webhook=True) as server,
            httpx.AsyncClient() as http,
        ):
            assert (await call(http, server, "setWebhook", url=url, secret_token="bi-mat-123"))[
                "ok"
            ]
            update = server.user_sends_text(server.add_user(), "chào")
            await server.wait_for(lambda: server.webhook_deliveries)
            assert received == [("bi-mat-123", update)]
            assert server.webhook_deliveries[0].status == 200
            assert server.pending_updates == 0

            status, _ = await server.post_to_webhook(url, update, wrapped=True)
            assert status == 200
            assert received[-1] == (None, {"ok": True, "result": update})
    finally:
        await runner.cleanup()


async def test_the_bots_own_messages_can_come_back(
    server: FakeZaloApi, http: httpx.AsyncClient
) -> None:
    server.echo_bot_messages = True
    an = server.add_user(wrote=True)
    await call(http, server, "sendMessage", chat_id=an.id, text="Nhắc việc")
    echoed = (await call(http, server, "getUpdates"))["result"]
    assert echoed["message"]["from"]["id"] == server.bot_id
    assert echoed["message"]["text"] == "Nhắc việc"


async def test_waiting_for_the_bots_answer_to_an_update(
    server: FakeZaloApi, http: httpx.AsyncClient
) -> None:
    an = server.add_user(wrote=True)
    earlier = server.user_sends_text(an, "1")
    await call(http, server, "sendMessage", chat_id=an.id, text="trả lời cũ")
    update = server.user_sends_text(an, "2")
    waiting = asyncio.create_task(server.wait_for_message(an.id, after=update, timeout=2))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await call(http, server, "sendMessage", chat_id=an.id, text="trả lời mới")
    assert (await waiting).text == "trả lời mới"
    assert [m.text for m in await server.wait_for_messages(an.id, 2, after=earlier)] == [
        "trả lời cũ",
        "trả lời mới",
    ]
