"""Zalo's send path: plain text, numbered choices, file links, splitting, errors, pacing.

The transport talks over HTTP to the strict fake Zalo Bot API; the recorded prompts are read
back from the database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import zalo_api
from bot.channel_health import ChannelHealth
from bot.zalo_api import ZaloApi, ZaloApiError, ZaloNetworkError, to_delivery_error
from bot.zalo_transport import (
    MAX_TEXT_LENGTH,
    ZaloTransport,
    zalo_pacer,
    zalo_pieces,
    zalo_rate_limits,
    zalo_text,
)
from db import chat_prompts
from db.clock import FixedClock
from db.models import Channel
from handlers.types import Choice, OutgoingFile, Reply
from scheduler.delivery import DeliveryError, Transport
from scheduler.pacing import RateLimits
from tests.fakezaloapi import FakeZaloApi, FakeZaloUser
from tests.wording import vi

Sessions = async_sessionmaker[AsyncSession]
TOKEN_SECRET = "FakeZaloSecretForTestsOnly_nhacviec_01"

DONE = Choice("Hoàn thành", "st:7:d")
IN_PROGRESS = Choice("Đang thực hiện", "st:7:p")
BLOCKED = Choice("Vướng mắc", "st:7:b")


@pytest.fixture
async def server() -> AsyncIterator[FakeZaloApi]:
    async with FakeZaloApi() as fake:
        yield fake


@pytest.fixture
async def api(server: FakeZaloApi) -> AsyncIterator[ZaloApi]:
    async with ZaloApi(server.token, server.url) as client:
        yield client


@pytest.fixture
def an(server: FakeZaloApi) -> FakeZaloUser:
    return server.add_user(display_name="An", wrote=True)


def transport_for(
    api: ZaloApi,
    sessionmaker: Sessions,
    clock: FixedClock,
    *,
    health: ChannelHealth | None = None,
    links: dict[str, str] | None = None,
    pacer: bool = False,
) -> ZaloTransport:
    async def file_url(file: OutgoingFile) -> str | None:
        return (links or {}).get(file.name)

    return ZaloTransport(
        api,
        sessionmaker,
        clock,
        zalo_pacer(50) if pacer else None,
        file_url=file_url if links is not None else None,
        health=health,
    )


# --- rendering ------------------------------------------------------------------------


def test_the_html_subset_becomes_plain_text_with_numbered_choices() -> None:
    reply = Reply(
        "<b>2.4</b> Cập nhật <i>TTHC</i> &lt;mới&gt; &amp; <code>CCHC</code>\nChọn trạng thái:",
        choices=[[DONE, IN_PROGRESS], [BLOCKED]],
    )
    assert zalo_text(reply) == (
        "2.4 Cập nhật TTHC <mới> & CCHC\nChọn trạng thái:\n\n"
        "1. Hoàn thành\n2. Đang thực hiện\n3. Vướng mắc"
    )


def test_files_become_link_lines() -> None:
    reply = Reply(
        "Mẫu báo cáo:",
        files=[OutgoingFile("de-cuong.docx", "/x/1"), OutgoingFile("phu-luc.xlsx", "/x/2")],
    )
    text = zalo_text(reply, ["https://bot.example.vn/f/abc", None])
    assert text == "\n\n".join(
        [
            "Mẫu báo cáo:",
            vi("zalo.file_link", name="de-cuong.docx", url="https://bot.example.vn/f/abc")
            + "\n"
            + vi("zalo.file_no_link", name="phu-luc.xlsx"),
        ]
    )
    assert text.endswith("📎 phu-luc.xlsx")


def test_edit_and_notice_do_not_apply_but_a_lone_notice_is_said() -> None:
    assert zalo_text(Reply("Đã ghi nhận", edit=True, notice="Xong")) == "Đã ghi nhận"
    assert zalo_text(Reply("", notice="Đã ghi nhận <b>xong</b>")) == "Đã ghi nhận xong"
    assert zalo_pieces(zalo_text(Reply(""))) == []


def test_long_text_is_cut_at_line_breaks_into_non_empty_pieces() -> None:
    lines = [f"{n}. Nhiệm vụ số {n}: " + "cập nhật thủ tục hành chính " * 3 for n in range(80)]
    text = "\n".join(lines) + "\n\n\n\n" + "\n".join(["1. Hoàn thành", "2. Vướng mắc"])
    pieces = zalo_pieces(text)
    assert len(pieces) >= 3
    assert all(0 < len(p) <= MAX_TEXT_LENGTH and p.strip() for p in pieces)
    kept = [line for p in pieces for line in p.split("\n") if line]
    assert kept == [*lines, "1. Hoàn thành", "2. Vướng mắc"]
    assert pieces[-1].endswith("1. Hoàn thành\n2. Vướng mắc")
    # A word longer than a message is cut hard rather than refused.
    hard = zalo_pieces("x" * 4500)
    assert len(hard) == 3 and all(len(p) <= 2000 for p in hard) and "".join(hard) == "x" * 4500


def test_pacing_defaults() -> None:
    limits = zalo_rate_limits(5)
    assert (limits.global_per_second, limits.per_chat_per_second) == (5, 1)
    assert limits.group_per_minute == 20
    assert zalo_pacer(2).limits.global_per_second == 2


@pytest.mark.parametrize("rate", [1, 2, 3, 5, 8, 10, 20, 30])
def test_no_second_can_hold_more_calls_than_the_rate(rate: int) -> None:
    # The pacer's bound on any one-second window (scheduler/pacing.py): rate × headroom + 1.5.
    limits = zalo_rate_limits(rate)
    assert int(limits.global_per_second * limits.headroom + 1.5) <= rate
    assert limits.headroom <= RateLimits.headroom


# --- error mapping ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "flags"),
    [
        (ZaloApiError(429, "Too Many Requests"), {"retry_after": 5.0}),
        (ZaloApiError(429, "slow down", {"retry_after": 12}), {"retry_after": 12.0}),
        (ZaloApiError(401, "Unauthorized"), {}),
        (ZaloApiError(403, "Forbidden: blocked"), {"unreachable": True, "permanent": True}),
        (
            ZaloApiError(400, "Forbidden: the user has not interacted with the bot"),
            {"unreachable": True, "permanent": True},
        ),
        (
            ZaloApiError(400, "Bad Request: chat not found"),
            {"unreachable": True, "permanent": True},
        ),
        (ZaloApiError(400, "The text must not be empty"), {"permanent": True}),
        (ZaloApiError(404, "Not Found"), {"permanent": True}),
        (ZaloApiError(500, "Internal Server Error"), {}),
        (ZaloApiError(502, "HTTP 502: not a Bot API answer"), {}),
        (ZaloNetworkError("ReadTimeout", may_have_arrived=True), {"ambiguous": True}),
        (ZaloNetworkError("ConnectTimeout", may_have_arrived=False), {}),
    ],
)
def test_what_each_failure_means_for_the_outbox(
    error: ZaloApiError, flags: dict[str, object]
) -> None:
    mapped = to_delivery_error(error)
    expected = {
        "permanent": False,
        "unreachable": False,
        "ambiguous": False,
        "retry_after": None,
        **flags,
    }
    assert {k: getattr(mapped, k) for k in expected} == expected
    assert mapped.migrated_to is None


def test_httpx_errors_are_mapped_and_the_token_is_masked() -> None:
    token = f"1234567890:{TOKEN_SECRET}"
    request = httpx.Request("POST", f"https://bot-api.zaloplatforms.com/bot{token}/sendMessage")
    read = httpx.ReadTimeout(f"timed out on {request.url}", request=request)
    connect = httpx.ConnectTimeout("connect timed out", request=request)
    refused = httpx.ConnectError(f"refused: {request.url}", request=request)
    assert to_delivery_error(read, token).ambiguous
    assert not to_delivery_error(connect, token).ambiguous
    mapped = to_delivery_error(refused, token)
    assert not (mapped.ambiguous or mapped.permanent)
    for error in (read, connect, refused):
        assert TOKEN_SECRET not in to_delivery_error(error, token).message
        assert TOKEN_SECRET not in repr(to_delivery_error(error, token))


def test_a_rejected_token_is_logged_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zalo_api, "_token_rejection_logged", False)
    with caplog.at_level(logging.ERROR, logger="bot.zalo_api"):
        for _ in range(3):
            to_delivery_error(ZaloApiError(401, "Unauthorized"))
    assert len([r for r in caplog.records if "token" in r.getMessage()]) == 1


# --- over the fake ---------------------------------------------------------------------


async def test_a_reply_with_choices_is_sent_then_its_prompt_recorded(
    server: FakeZaloApi, api: ZaloApi, an: FakeZaloUser, sessionmaker: Sessions, clock: FixedClock
) -> None:
    transport = transport_for(api, sessionmaker, clock)
    transport_protocol: Transport[Reply] = transport
    assert transport_protocol.channel is Channel.ZALO
    await transport.send(an.id, Reply("Nhiệm vụ <b>2.4</b>:", choices=[[DONE, IN_PROGRESS]]))
    assert server.texts(an.id) == ["Nhiệm vụ 2.4:\n\n1. Hoàn thành\n2. Đang thực hiện"]
    async with sessionmaker() as session:
        prompt = await chat_prompts.latest(session, Channel.ZALO, an.id)
    assert prompt is not None
    assert prompt.choices == (("Hoàn thành", "st:7:d"), ("Đang thực hiện", "st:7:p"))
    assert prompt.sent_at == clock.now()

    clock.set(clock.now() + timedelta(minutes=1))
    await transport.send(an.id, Reply("Không có lựa chọn"))
    await transport.send(an.id, Reply("Báo cáo nào?", choices=[[BLOCKED]]))
    async with sessionmaker() as session:
        latest = await chat_prompts.latest(session, Channel.ZALO, an.id)
    assert latest is not None and latest.choices == (("Vướng mắc", "st:7:b"),)


async def test_a_reply_without_choices_records_no_prompt(
    server: FakeZaloApi, api: ZaloApi, an: FakeZaloUser, sessionmaker: Sessions, clock: FixedClock
) -> None:
    await transport_for(api, sessionmaker, clock).send(an.id, Reply("Chào anh"))
    assert server.texts(an.id) == ["Chào anh"]
    async with sessionmaker() as session:
        assert await chat_prompts.latest(session, Channel.ZALO, an.id) is None


async def test_a_long_reply_goes_out_in_order_as_valid_messages(
    server: FakeZaloApi, api: ZaloApi, an: FakeZaloUser, sessionmaker: Sessions, clock: FixedClock
) -> None:
    lines = [f"Nhiệm vụ 9.{n} &amp; " + "rất dài " * 20 for n in range(40)]
    transport = transport_for(api, sessionmaker, clock, pacer=True)
    await transport.send(an.id, Reply("\n".join(lines), choices=[[DONE]]), urgent=True)
    texts = server.texts(an.id)
    assert len(texts) >= 3
    assert all(len(t) <= 2000 for t in texts)
    assert all(r.ok for r in server.requests_for("sendMessage"))
    joined = "\n".join(texts)
    assert [line for line in joined.split("\n") if line.startswith("Nhiệm")] == [
        line.replace("&amp;", "&") for line in lines
    ]
    assert texts[-1].endswith("1. Hoàn thành")


async def test_file_lines_carry_the_web_apps_links(
    server: FakeZaloApi, api: ZaloApi, an: FakeZaloUser, sessionmaker: Sessions, clock: FixedClock
) -> None:
    links = {"de-cuong.docx": "https://bot.example.vn/f/tok123"}
    transport = transport_for(api, sessionmaker, clock, links=links)
    files = [OutgoingFile("de-cuong.docx", "/data/a"), OutgoingFile("phu-luc.xlsx", "/data/b")]
    await transport.send(an.id, Reply("Nhắc hạn báo cáo", files=files))
    assert server.texts(an.id) == [
        "Nhắc hạn báo cáo\n\n"
        + vi("zalo.file_link", name="de-cuong.docx", url="https://bot.example.vn/f/tok123")
        + "\n"
        + vi("zalo.file_no_link", name="phu-luc.xlsx")
    ]
    assert server.requests_for("sendDocument") == []


async def test_refusals_and_outages_become_delivery_errors(
    server: FakeZaloApi, api: ZaloApi, an: FakeZaloUser, sessionmaker: Sessions, clock: FixedClock
) -> None:
    health = ChannelHealth()
    transport = transport_for(api, sessionmaker, clock, health=health)
    stranger = server.add_user(display_name="Chưa nhắn")
    with pytest.raises(DeliveryError) as never_wrote:
        await transport.send(stranger.id, Reply("Nhắc việc"))
    assert never_wrote.value.unreachable
    assert "zalo" not in health.snapshot()  # a refusal about one chat says nothing of Zalo

    server.fail_next("sendMessage", 500)
    with pytest.raises(DeliveryError) as outage:
        await transport.send(an.id, Reply("Nhắc việc"))
    assert not (outage.value.permanent or outage.value.ambiguous)
    assert health.snapshot()["zalo"].failing

    await transport.send(an.id, Reply("Nhắc việc"))
    assert not health.snapshot()["zalo"].failing

    server.fail_next("sendMessage", http_status=502, raw_body=b"<html>502 Bad Gateway</html>")
    with pytest.raises(DeliveryError) as proxy:
        await transport.send(an.id, Reply("Nhắc việc"))
    assert not proxy.value.permanent
    assert health.snapshot()["zalo"].failing
    assert TOKEN_SECRET not in (health.snapshot()["zalo"].last_error or "")


async def test_a_refusal_about_one_chat_leaves_the_health_alone(
    server: FakeZaloApi, api: ZaloApi, an: FakeZaloUser, sessionmaker: Sessions, clock: FixedClock
) -> None:
    health = ChannelHealth()
    transport = transport_for(api, sessionmaker, clock, health=health)
    await transport.send(an.id, Reply("Chào"))
    server.fail_next("sendMessage", 400, "The text is invalid")
    with pytest.raises(DeliveryError) as bad:
        await transport.send(an.id, Reply("Chào"))
    assert bad.value.permanent and not bad.value.unreachable
    assert not health.snapshot()["zalo"].failing


async def test_a_timeout_after_sending_is_ambiguous(
    server: FakeZaloApi, an: FakeZaloUser, sessionmaker: Sessions, clock: FixedClock
) -> None:
    async with (
        # Only the answer times out: a connect or write slowed by a loaded machine is not
        # "after sending" (it was a ConnectTimeout once in CI, four test workers on two cores).
        httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=0.3)) as client,
        ZaloApi(server.token, server.url, client) as api,
    ):
        server.delay_next("sendMessage", 1.0)
        with pytest.raises(DeliveryError) as timed_out:
            await transport_for(api, sessionmaker, clock).send(an.id, Reply("Nhắc việc"))
    assert timed_out.value.ambiguous
    assert server.texts(an.id) == ["Nhắc việc"]  # it was delivered after all
    assert TOKEN_SECRET not in timed_out.value.message


async def test_a_server_that_is_down_is_a_transient_failure(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    async with FakeZaloApi() as server:
        url, token = server.url, server.token
    async with ZaloApi(token, url) as api:
        with pytest.raises(DeliveryError) as down:
            await transport_for(api, sessionmaker, clock).send("abc", Reply("Nhắc việc"))
    assert not (down.value.permanent or down.value.ambiguous or down.value.retry_after)
    assert TOKEN_SECRET not in down.value.message


async def test_a_429_pauses_only_that_chat(
    server: FakeZaloApi,
    api: ZaloApi,
    an: FakeZaloUser,
    sessionmaker: Sessions,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(zalo_api, "DEFAULT_RETRY_AFTER", 30.0)
    binh = server.add_user(display_name="Bình", wrote=True)
    transport = transport_for(api, sessionmaker, clock, pacer=True)
    assert transport.pacer is not None
    server.fail_next("sendMessage", 429)
    with pytest.raises(DeliveryError) as limited:
        await transport.send(an.id, Reply("Nhắc việc"))
    assert limited.value.retry_after == 30.0
    assert transport.pacer.delay(an.id) > 25
    assert transport.pacer.delay(binh.id) == 0
    await asyncio.wait_for(transport.send(binh.id, Reply("Nhắc việc")), 2)
    assert server.texts(binh.id) == ["Nhắc việc"]


async def test_a_short_429_is_waited_out_for_a_person_waiting(
    server: FakeZaloApi,
    api: ZaloApi,
    an: FakeZaloUser,
    sessionmaker: Sessions,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(zalo_api, "DEFAULT_RETRY_AFTER", 0.2)
    for pacer in (True, False):
        server.fail_next("sendMessage", 429)
        transport = transport_for(api, sessionmaker, clock, pacer=pacer)
        await transport.send(an.id, Reply(f"Trả lời {pacer}"), urgent=True)
    assert server.texts(an.id) == ["Trả lời True", "Trả lời False"]
    assert [r.error_code for r in server.requests_for("sendMessage")] == [429, None, 429, None]


async def test_one_messages_parts_are_not_interleaved_with_another(
    server: FakeZaloApi, api: ZaloApi, an: FakeZaloUser, sessionmaker: Sessions, clock: FixedClock
) -> None:
    transport = transport_for(api, sessionmaker, clock, pacer=True)
    long = "\n".join(f"A{n} " + "dài " * 60 for n in range(30))
    await asyncio.gather(
        transport.send(an.id, Reply(long)),
        transport.send(an.id, Reply("B nhắc việc"), urgent=True),
    )
    texts = server.texts(an.id)
    firsts = [t[0] for t in texts]
    assert firsts.count("B") == 1
    assert firsts in (["A"] * (len(texts) - 1) + ["B"], ["B"] + ["A"] * (len(texts) - 1))
