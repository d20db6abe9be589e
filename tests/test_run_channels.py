"""`python -m bot run` with both channels: one process answers Telegram and Zalo, serves the
web app, and in webhook mode registers both webhooks and takes updates through them.

Against the fake Bot API and the fake Zalo Bot API over real HTTP, with the web app on a real
socket.
"""

from __future__ import annotations

import asyncio
import gc
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.command_error import CommandError
from bot.serve import run_bot
from bot.settings import Settings
from db.clock import FixedClock
from db.invites import create_invite
from db.migrate import upgrade
from db.models import Official
from db.session import make_engine, make_sessionmaker
from tests.factories import Commune, build_commune
from tests.fakebotapi import FakeBotApi
from tests.fakezaloapi.server import FakeZaloApi
from tests.local_server import free_port
from tests.waiting import wait_until
from tests.wording import vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BINH_TELEGRAM = 5002


@dataclass
class Office:
    telegram: FakeBotApi
    zalo: FakeZaloApi
    settings: Settings
    clock: FixedClock
    commune: Commune
    sessionmaker: async_sessionmaker[AsyncSession]
    web: httpx.AsyncClient

    async def code_for(self, official: Official) -> str:
        async with self.sessionmaker() as session:
            code = await create_invite(session, official, self.clock.now())
            await session.commit()
        return code


@asynccontextmanager
async def running(database_url: str, tmp_path: Path, *, webhook: bool) -> AsyncIterator[Office]:
    await upgrade(database_url)
    engine = make_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session:
        commune = await build_commune(session)
    clock = FixedClock(datetime(2024, 3, 8, 9, 0, tzinfo=TZ))
    port = free_port()
    async with (
        FakeBotApi(allow_insecure_webhook=True) as telegram,
        FakeZaloApi(allow_insecure_webhook=True, bot_name="Nhắc việc Ba Bích") as zalo,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as web,
    ):
        telegram.add_user(BINH_TELEGRAM, "Bình")
        settings = Settings(
            database_url=database_url,
            data_dir=tmp_path / "data",
            telegram_token=telegram.token,
            telegram_api_url=telegram.url,
            zalo_token=zalo.token,
            zalo_api_url=zalo.url,
            web_port=port,
            public_url=f"http://127.0.0.1:{port}",
        )
        stop, started = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(
            run_bot(
                settings,
                clock,
                stop,
                album_wait=0.3,
                reminders=False,
                webhook=webhook,
                web_started=started,
            )
        )
        try:
            await asyncio.wait_for(started.wait(), timeout=15)
            yield Office(telegram, zalo, settings, clock, commune, sessionmaker, web)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=20)
            await engine.dispose()


async def test_one_process_answers_both_channels_and_serves_the_upload_page(
    database_url: str, tmp_path: Path
) -> None:
    gc.unfreeze()  # an earlier test of this process may have started a bot
    async with running(database_url, tmp_path, webhook=False) as office:
        # Once started, what start-up built is out of the collector's way (the wave's taps).
        await wait_until(lambda: gc.get_freeze_count() > 0, timeout=10)
        await office.telegram.wait_for(lambda: office.telegram.polling, timeout=10)
        await office.zalo.wait_for(lambda: office.zalo.polling, timeout=10)
        # An official registers on Zalo with the bare code, another on Telegram with /start.
        an = office.zalo.add_user(display_name="Trần Văn An")
        update = office.zalo.user_sends_text(an, await office.code_for(office.commune.an))
        welcome = await office.zalo.wait_for_message(an.id, after=update, timeout=10)
        assert welcome.text is not None and office.commune.an.full_name in welcome.text
        sent = office.telegram.user_sends_command(
            BINH_TELEGRAM, "start", await office.code_for(office.commune.binh)
        )
        reply = await office.telegram.wait_for_message(
            BINH_TELEGRAM, after=sent["message"]["message_id"], timeout=10
        )
        assert office.commune.binh.full_name in reply.text

        # On Zalo, /nop and the report's number give an upload link the web app serves.
        update = office.zalo.user_sends_text(an, "/nop")
        await office.zalo.wait_for_message(an.id, after=update, timeout=10)
        update = office.zalo.user_sends_text(an, "1")
        answer = await office.zalo.wait_for_message(an.id, after=update, timeout=10)
        assert answer.text is not None
        found = re.search(r"http://127\.0\.0\.1:\d+/u/[A-Za-z0-9_-]+", answer.text)
        assert found is not None, answer.text
        page = await office.web.get(found.group(0).split(str(office.settings.web_port), 1)[1])
        assert page.status_code == 200
        assert office.commune.q1.title in page.text

        health = await office.web.get("/healthz")
        body = health.json()
        assert set(body["channels"]) == {"telegram", "zalo"}
        assert all(c["last_ok"] for c in body["channels"].values())
        assert office.telegram.token not in health.text and office.zalo.token not in health.text


async def test_webhook_mode_registers_both_and_takes_updates_through_the_web_app(
    database_url: str, tmp_path: Path
) -> None:
    async with running(database_url, tmp_path, webhook=True) as office:
        base = office.settings.base_url
        assert office.telegram.webhook_url.startswith(f"{base}/telegram/")
        assert office.telegram.webhook_secret == office.settings.webhook_secret("telegram")
        assert office.zalo.webhook_url.startswith(f"{base}/zalo/")
        assert not office.telegram.polling and not office.zalo.polling

        an = office.zalo.add_user(display_name="Trần Văn An")
        update = office.zalo.user_sends_text(an, await office.code_for(office.commune.an))
        welcome = await office.zalo.wait_for_message(an.id, after=update, timeout=10)
        assert welcome.text is not None and office.commune.an.full_name in welcome.text

        sent = office.telegram.user_sends_command(BINH_TELEGRAM, "huongdan")
        reply = await office.telegram.wait_for_message(
            BINH_TELEGRAM, after=sent["message"]["message_id"], timeout=10
        )
        assert reply.text == vi("register.how", office=vi("office.default"))
        assert office.telegram.webhook_answers == [200]

        # A request without the secret is refused and not processed.
        forged = await office.web.post(
            office.telegram.webhook_url.removeprefix(base), json={"update_id": 1}
        )
        assert forged.status_code == 403


async def test_run_without_any_token_says_how_to_get_one(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(CommandError) as refused:
        await run_bot(settings, FixedClock(datetime(2024, 3, 8, 9, 0, tzinfo=TZ)))
    assert str(refused.value) == vi("cli.run.no_token")


async def test_webhooks_need_a_public_url(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", zalo_token="1:abc")
    with pytest.raises(CommandError) as refused:
        await run_bot(settings, FixedClock(datetime(2024, 3, 8, 9, 0, tzinfo=TZ)), webhook=True)
    assert str(refused.value) == vi("cli.run.webhook_needs_url")
