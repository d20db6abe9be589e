"""The clerk's desk end to end: the real bot process against the fake Bot API over HTTP."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.serve import run_bot
from bot.settings import Settings
from db.clock import FixedClock
from db.migrate import upgrade
from db.models import Submission
from db.session import make_engine, make_sessionmaker
from handlers.presenting import file_size
from tests.fakebotapi import FakeBotApi
from tests.fakebotapi.state import StoredMessage
from tests.sample_files import office_open_xml
from tests.test_clerk_cli import plain
from tests.test_clerk_desk import OVERDUE_MARCH_11
from tests.test_clerk_scenario import BaBich, local, march_story
from tests.wording import BA_BICH_OFFICE, pattern, vi

Q1_TITLE = "Báo cáo CCHC Quý I năm 2024"


@dataclass
class Office:
    """The fake Telegram, the March story in the database, and the bot running between."""

    server: FakeBotApi
    story: BaBich
    engine: AsyncEngine
    stop: asyncio.Event
    task: asyncio.Task[None]

    def chat(self, key: str) -> int:
        return int(self.story.chats[key].external_id)

    async def say(self, key: str, command: str, args: str = "") -> StoredMessage:
        update = self.server.user_sends_command(self.chat(key), command, args)
        return await self.server.wait_for_message(
            self.chat(key), after=update["message"]["message_id"], timeout=10
        )

    async def submission_id(self, key: str, version: int = 1) -> int:
        async with make_sessionmaker(self.engine)() as session:
            found = await session.scalar(
                select(Submission.id).where(
                    Submission.official_id == self.story.people[key].id,
                    Submission.version == version,
                )
            )
        assert found is not None
        return found


@pytest.fixture
async def office(database_url: str, tmp_path: Path) -> AsyncIterator[Office]:
    await upgrade(database_url)
    engine = make_engine(database_url)
    clock = FixedClock(local(11, 3, 9))
    story = await march_story(make_sessionmaker(engine), clock, tmp_path / "data")
    async with FakeBotApi() as server:
        for key, sender in story.chats.items():
            server.add_user(int(sender.external_id), story.people[key].full_name)
        settings = Settings(
            database_url=database_url,
            data_dir=tmp_path / "data",
            telegram_token=server.token,
            telegram_api_url=server.url,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(settings, clock, stop, album_wait=0.3, web=False))
        await server.wait_for(lambda: server.polling, timeout=10)
        try:
            yield Office(server, story, engine, stop, task)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=15)
    await engine.dispose()


async def test_the_clerk_asks_quahan_and_gets_a_file_back(office: Office) -> None:
    overdue = await office.say("nhut", "quahan")
    assert overdue.plain_text == plain(OVERDUE_MARCH_11)

    # Hoa's file was never seen by this bot's Telegram: its file id fails, the disk copy goes.
    hoa = await office.submission_id("hoa")
    update = office.server.user_sends_command(office.chat("nhut"), "get", str(hoa))
    messages = await office.server.wait_for_messages(
        office.chat("nhut"), 2, after=update["message"]["message_id"], timeout=10
    )
    header = vi(
        "clerk.get.header",
        id=hoa,
        name="Nguyễn Thị Hoa",
        title=Q1_TITLE,
        version=1,
        time="08/03/2024 09:00",
        count=1,
    )
    assert (messages[0].plain_text or "").startswith(plain(header))
    assert messages[1].document is not None
    assert messages[1].document["file_name"] == "BC Quý I - Nội vụ.docx"
    # Other uploads (the Monday digest's charts) may go out meanwhile: find this document's.
    (uploaded,) = [
        f for f in office.server.uploaded_files if f.file_name == "BC Quý I - Nội vụ.docx"
    ]
    assert uploaded.content.startswith(b"hoa CCHC-Q1-2024")
    failed = [r for r in office.server.requests_for("sendDocument") if not r.ok]
    assert len(failed) == 1 and failed[0].status == 400


async def test_a_file_sent_on_telegram_comes_back_by_its_file_id(office: Office) -> None:
    chat = office.chat("mai")
    xlsx = office_open_xml("xlsx", "v2")
    sent = office.server.user_sends_document(chat, "BC Quý I - TCKT v2.xlsx", xlsx)
    question = await office.server.wait_for_message(
        chat, after=sent["message"]["message_id"], timeout=10
    )
    first = question.buttons[0][0]["text"]
    assert first.startswith(Q1_TITLE)
    asked = question.text  # the message is edited in place into the receipt
    answer = office.server.user_presses(chat, question.message_id, first)
    await office.server.wait_for_answer(answer, timeout=10)
    await office.server.wait_for(
        lambda: office.server.message(chat, question.message_id).text != asked,
        timeout=10,
    )
    assert office.server.message(chat, question.message_id).text == vi(
        "report.receipt",
        title=Q1_TITLE,
        version=2,
        files=vi(
            "report.file_line", name="BC Quý I - TCKT v2.xlsx", size=file_size(len(xlsx), "vi")
        ),
        time="11/03/2024 09:00",
        timeliness=vi("report.late", days=1, due="10/03/2024"),
        start="15/12/2023",
        end="14/03/2024",
    )
    second = await office.submission_id("mai", version=2)
    update = office.server.user_sends_command(office.chat("nhut"), "get", str(second))
    messages = await office.server.wait_for_messages(
        office.chat("nhut"), 2, after=update["message"]["message_id"], timeout=10
    )
    assert messages[1].document is not None
    assert messages[1].document["file_id"] == sent["message"]["document"]["file_id"]
    # Sent by its file id, not uploaded again (the digest's charts may be uploaded meanwhile).
    assert [
        f for f in office.server.uploaded_files if not (f.file_name or "").startswith("tien-do-")
    ] == []


async def test_invite_in_chat_prints_the_deep_link(office: Office) -> None:
    reply = await office.say("nhut", "invite", "Phạm Thị Lan")
    created = pattern("clerk.invite.created", name="Phạm Thị Lan", expires="18/03/2024 09:00")
    invited = re.fullmatch(f"{created}\n(?P<rest>.*)", reply.text or "", re.DOTALL)
    assert invited is not None and invited["code"]
    link = f"https://t.me/nhacviec_test_bot?start={invited['code']}"
    assert invited["rest"] == vi("clerk.invite.link", link=link)
    assert link in (reply.plain_text or "")  # still a link once Telegram parsed the markup


async def test_an_official_is_refused_over_telegram_too(office: Office) -> None:
    reply = await office.say("hoa", "quahan")
    assert reply.plain_text == plain(vi("clerk.refuse", office=BA_BICH_OFFICE))
    assert all(r.ok for r in office.server.requests_for("sendMessage"))
