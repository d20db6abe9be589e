"""Floods against the deployed process, `python -m bot run`, with the fake Bot API enforcing
Telegram's flood limits (issue 15): every reply is delivered, paced, without a 429 or a
traceback; a chat sending faster than anyone types is told once to slow down; one chat's flood
does not hold up the others. The fake's windows are shortened ten times (scale=10) and the bot
told so (TELEGRAM_RATE_SCALE=10), so a 50-second flood takes five.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.fakebotapi import FakeBotApi
from tests.test_faults_process import USER, bot_process, clean, loaded, telegram_env
from tests.wording import vi

__all__ = ["loaded"]  # the fixture, imported for these tests

SCALE = 10


def flood_env(server: FakeBotApi, tmp_path: Path) -> dict[str, str]:
    return {**telegram_env(server, tmp_path), "TELEGRAM_RATE_SCALE": str(SCALE)}


def refused_for_flood(server: FakeBotApi) -> list[str]:
    return [f"{r.method} {r.description}" for r in server.requests if r.status == 429]


async def test_a_burst_of_50_messages_into_one_chat_gets_every_reply_paced(
    loaded: str, tmp_path: Path
) -> None:
    other = USER + 1
    async with FakeBotApi() as server:
        server.enforce_limits(scale=SCALE)
        server.add_user(USER, "Người gửi dồn dập")
        server.add_user(other, "Người khác")
        async with bot_process(loaded, flood_env(server, tmp_path)) as bot:
            await server.wait_for(lambda: server.polling, timeout=30)
            for _ in range(50):
                server.user_sends_command(USER, "start")
            # Someone else writes during the flood: answered before the flood is.
            server.user_sends_command(other, "start")
            await server.wait_for_messages(other, 1, timeout=30)
            assert len(server.sent_messages(USER)) < 50
            replies = await server.wait_for_messages(USER, 50, timeout=60)
            assert await bot.stop() == 0
    assert [m.text for m in replies] == [vi("register.how", office=vi("office.default"))] * 50
    assert refused_for_flood(server) == []
    # Paced a (scaled) second apart: Telegram's one message a second to a chat.
    sends = [r.at for r in server.requests_for("sendMessage") if int(r.params["chat_id"]) == USER]
    assert all(b - a >= 1 / SCALE * 0.9 for a, b in itertools.pairwise(sends))
    clean(bot, server.token)


async def test_a_hundred_chats_writing_at_once_all_get_their_reply(
    loaded: str, tmp_path: Path
) -> None:
    chats = range(USER, USER + 100)
    async with FakeBotApi() as server:
        server.enforce_limits()  # Telegram's own: 30 a second overall
        for chat in chats:
            server.add_user(chat, f"Người {chat}")
        async with bot_process(loaded, telegram_env(server, tmp_path)) as bot:
            await server.wait_for(lambda: server.polling, timeout=30)
            for chat in chats:
                server.user_sends_command(chat, "start")
            for chat in chats:
                [reply] = await server.wait_for_messages(chat, 1, timeout=60)
                assert reply.text == vi("register.how", office=vi("office.default"))
            assert await bot.stop() == 0
    assert refused_for_flood(server) == []
    clean(bot, server.token)


async def test_a_chat_sending_100_messages_is_told_once_to_slow_down(
    loaded: str, tmp_path: Path
) -> None:
    async with FakeBotApi() as server:
        server.enforce_limits(scale=SCALE)
        server.add_user(USER, "Người gửi dồn dập")
        async with bot_process(loaded, flood_env(server, tmp_path)) as bot:
            await server.wait_for(lambda: server.polling, timeout=30)
            for _ in range(100):
                server.user_sends_command(USER, "start")
            await server.wait_for_messages(USER, 61, timeout=60)
            await bot.wait_for_lines("told once to slow down")
            assert await bot.stop() == 0
    texts = [m.text for m in server.sent_messages(USER)]
    # The budget's sixty answered, one notice, the rest dropped on purpose: none lost to a 429.
    assert texts.count(vi("register.how", office=vi("office.default"))) == 60
    assert texts.count(vi("flood.slow_down")) == 1
    assert len(texts) == 61
    assert refused_for_flood(server) == []
    assert len(bot.matching("told once to slow down")) == 1
    clean(bot, server.token)
