"""The officials' flows end to end: the real bot process against the fake Bot API over HTTP.

Nothing inside python-telegram-bot is mocked: the bot polls the fake server on 127.0.0.1,
which validates every request the way Telegram does (lengths, callback data, HTML).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
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

from bot.logs import REDACTED, configure_logging
from bot.serve import run_bot
from bot.settings import Settings
from db.clock import FixedClock
from db.invites import create_invite
from db.migrate import upgrade
from db.models import (
    ChannelIdentity,
    Official,
    StatusUpdate,
    StoredFile,
    Submission,
    Task,
    TaskAssignee,
    TaskState,
)
from db.session import make_engine, make_sessionmaker
from handlers.callbacks import status_data
from handlers.presenting import file_size
from tests.factories import Commune, build_commune
from tests.fakebotapi import FakeBotApi
from tests.fakebotapi.state import StoredMessage
from tests.sample_files import office_open_xml
from tests.wording import days_left, due_part, pattern, state, vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AN = 5001
BINH = 5002
STRANGER = 5999
PDF = b"%PDF-1.4\n" + b"bao cao quy I " * 200
DOCX = office_open_xml("docx")
XLSX = office_open_xml("xlsx")


@dataclass
class Bench:
    """The fake Telegram, the database, and the bot process running between them."""

    server: FakeBotApi
    settings: Settings
    clock: FixedClock
    commune: Commune
    sessionmaker: async_sessionmaker[AsyncSession]
    stop: asyncio.Event | None = None
    task: asyncio.Task[None] | None = None
    # Off by default: the fixed clock stands on a reminder day, and these tests count replies.
    reminders: bool = False

    async def start_bot(self) -> None:
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            run_bot(
                self.settings,
                self.clock,
                self.stop,
                album_wait=0.3,
                reminders=self.reminders,
                web=False,
            )
        )
        await self.server.wait_for(lambda: self.server.polling, timeout=10)

    async def stop_bot(self) -> None:
        assert self.stop is not None and self.task is not None
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=15)
        self.task = None

    async def register(self, official: Official, chat_id: int) -> StoredMessage:
        async with self.sessionmaker() as session:
            code = await create_invite(session, official, self.clock.now())
            await session.commit()
        return await self.say(chat_id, "/start", code)

    async def say(self, chat_id: int, command: str, args: str = "") -> StoredMessage:
        """Send a command and wait for the bot's (first) answer."""
        update = self.server.user_sends_command(chat_id, command.lstrip("/"), args)
        return await self.server.wait_for_message(
            chat_id, after=update["message"]["message_id"], timeout=10
        )

    async def edited(
        self, chat_id: int, message_id: int, words: str | re.Pattern[str]
    ) -> StoredMessage:
        """Wait until the bot edited its message (as sent, HTML and all) to contain `words`, or
        to match it when it is a pattern (taps answer first)."""

        def found(text: str) -> bool:
            return words in text if isinstance(words, str) else bool(words.search(text))

        return await self.server.wait_for(
            lambda: (m := self.server.message(chat_id, message_id)) and found(m.text or "") and m,
            timeout=10,
        )

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
    async with FakeBotApi() as server:
        for user_id, name in ((AN, "An"), (BINH, "Bình"), (STRANGER, "Người lạ")):
            server.add_user(user_id, name)
        settings = Settings(
            database_url=database_url,
            data_dir=tmp_path / "data",
            telegram_token=server.token,
            telegram_api_url=server.url,
        )
        bench = Bench(server, settings, clock, commune, sessionmaker)
        await bench.start_bot()
        try:
            yield bench
        finally:
            if bench.task is not None:
                await bench.stop_bot()
    await engine.dispose()


async def test_start_up_sets_the_vietnamese_menu(bench: Bench) -> None:
    commands = {c["command"]: c["description"] for c in bench.server.my_commands}
    names = ["nhiemvu", "nop", "tiendo", "giahan", "nghiphep", "huongdan", "huy", "kenh", "ngonngu"]
    assert commands == {name: vi(f"menu.{name}") for name in names}
    assert [c["command"] for c in bench.server.my_commands] == names


async def test_registration_by_deep_link_and_refusals(bench: Bench) -> None:
    stranger = await bench.say(STRANGER, "/nhiemvu")
    assert stranger.text == vi("register.how", office=vi("office.default"))
    assert "Ba Bích" not in stranger.plain_text

    wrong = await bench.say(STRANGER, "/start", "khong-dung-ma")
    assert wrong.text == vi("register.bad_code", office=vi("office.default"))

    welcome = await bench.register(bench.commune.an, AN)
    assert welcome.text is not None
    assert welcome.text.startswith(
        vi("register.welcome", name="Trần Văn An", unit="UBND xã Ba Bích") + "\n"
    )

    again = await bench.say(AN, "/start")
    assert again.text is not None
    assert again.text.startswith(vi("summary.greeting", name="Trần Văn An") + "\n")
    assert vi("summary.counts", tasks=1, reports=2) in again.text
    assert await bench.count(ChannelIdentity) == 1


async def test_tasks_then_status_taps_edit_the_prompt(bench: Bench) -> None:
    await bench.register(bench.commune.an, AN)
    listing = await bench.say(AN, "/nhiemvu")
    assert listing.text is not None
    assert (
        vi(
            "tasks.report_line",
            code="CCHC-Q1-2024",
            title="Báo cáo CCHC Quý I năm 2024",
            due_part=due_part("10/03/2024", days_left(2)),
            role=vi("role.submit"),
            status=vi("tasks.not_submitted"),
        )
        in listing.text
    )
    assert "<TTHC> &" in listing.plain_text  # escaped on the wire, plain for the person

    prompt = await bench.say(AN, "/status", "2.4")
    assert [b["text"] for row in prompt.buttons for b in row] == [
        vi("button.done"),
        vi("button.in_progress"),
        vi("button.blocked"),
        vi("button.report"),
    ]
    update = bench.server.user_presses(AN, prompt.message_id, vi("button.in_progress"))
    answer = await bench.server.wait_for_answer(update, timeout=10)
    assert answer.text == vi("status.recorded_notice", state=state("in_progress"))
    recorded = vi("status.recorded", state=state("in_progress"), time="08/03/2024 09:00")
    edited = await bench.edited(AN, prompt.message_id, recorded)
    assert edited.text is not None and edited.text.endswith(recorded)
    assert edited.buttons  # the prompt keeps its buttons for the next answer

    # The same answer again at once: one answer (issue 15), the same reply, which Telegram
    # finds "not modified"; the bot copes.
    update = bench.server.user_presses(AN, prompt.message_id, vi("button.in_progress"))
    await bench.server.wait_for_answer(update, timeout=10)
    assert bench.server.unanswered_callbacks() == []

    update = bench.server.user_presses(AN, prompt.message_id, vi("button.blocked"))
    await bench.server.wait_for_answer(update, timeout=10)
    ask = await bench.server.wait_for_message(AN, after=prompt.message_id, timeout=10)
    assert ask.text == vi("status.ask_reason", code="2.4")
    reason = bench.server.user_sends_text(AN, "Chưa có máy scan & chữ ký số")
    saved = await bench.server.wait_for_message(
        AN, after=reason["message"]["message_id"], timeout=10
    )
    assert saved.text == vi("status.reason_saved", code="2.4")
    async with bench.sessionmaker() as session:
        states = list(await session.scalars(select(StatusUpdate).order_by(StatusUpdate.id)))
    assert [(s.state, s.note) for s in states] == [
        (TaskState.IN_PROGRESS, ""),
        (TaskState.BLOCKED, "Chưa có máy scan & chữ ký số"),
    ]


async def test_old_prompts_forged_data_and_foreign_tasks(bench: Bench) -> None:
    await bench.register(bench.commune.an, AN)
    await bench.register(bench.commune.binh, BINH)
    old = await bench.say(AN, "/status", "2.4")
    await bench.say(AN, "/nhiemvu")  # newer messages in between
    update = bench.server.user_presses(AN, old.message_id, vi("button.done"))
    await bench.server.wait_for_answer(update, timeout=10)
    await bench.edited(
        AN, old.message_id, vi("status.recorded", state=state("done"), time="08/03/2024 09:00")
    )

    before = await bench.count(StatusUpdate)
    for data, refusal in (
        ("st:99999:d", "refuse.not_assigned"),
        ("xyz", "refuse.bad_choice"),
        (status_data(bench.commune.task_25.id, TaskState.DONE), "refuse.not_assigned"),
    ):
        update = bench.server.user_taps(AN, old.message_id, data)
        answer = await bench.server.wait_for_answer(update, timeout=10)
        assert answer.text == vi(refusal)
    assert await bench.count(StatusUpdate) == before


async def test_report_submission_with_receipt(bench: Bench) -> None:
    await bench.register(bench.commune.an, AN)
    chooser = await bench.say(AN, "/nop")
    assert chooser.buttons[0][0]["text"] == "Báo cáo CCHC Quý I năm 2024 (10/03/2024)"
    update = bench.server.user_presses(AN, chooser.message_id, chooser.buttons[0][0]["text"])
    await bench.server.wait_for_answer(update, timeout=10)
    ask = vi(
        "report.send_files",
        title="Báo cáo CCHC Quý I năm 2024",
        start="15/12/2023",
        end="14/03/2024",
    )
    assert (await bench.edited(AN, chooser.message_id, ask)).text == ask

    sent = bench.server.user_sends_document(AN, "BC Quý I.pdf", PDF, "application/pdf")
    receipt = await bench.server.wait_for_message(
        AN, after=sent["message"]["message_id"], timeout=10
    )
    assert receipt.text == q1_receipt(vi("report.file_line", name="BC Quý I.pdf", size="2,7 KB"))

    async with bench.sessionmaker() as session:
        stored = await session.scalar(select(StoredFile))
    assert stored is not None
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert stored.channel_file_id == sent["message"]["document"]["file_id"]
    assert (bench.settings.data_dir / stored.path).read_bytes() == PDF
    assert bench.server.token not in stored.path


def q1_receipt(files: str | None) -> str:
    """The receipt of a first Quý I submission on 08/03/2024 09:00 with these file lines; with
    None, a pattern whose group `files` holds them."""
    values = {
        "title": "Báo cáo CCHC Quý I năm 2024",
        "version": 1,
        "time": "08/03/2024 09:00",
        "timeliness": vi("report.on_time", due="10/03/2024"),
        "start": "15/12/2023",
        "end": "14/03/2024",
    }
    if files is None:
        return pattern("report.receipt", **values)
    return vi("report.receipt", files=files, **values)


async def test_an_album_of_three_files_is_one_submission(bench: Bench) -> None:
    await bench.register(bench.commune.an, AN)
    first = bench.server.user_sends_document(
        AN, "bao-cao.docx", DOCX, "application/msword", media_group_id="alb1"
    )
    bench.server.user_sends_document(
        AN, "phu-luc.xlsx", XLSX, "application/vnd.ms-excel", media_group_id="alb1"
    )
    bench.server.user_sends_photo(AN, b"\xff\xd8\xff jpeg", media_group_id="alb1")
    question = await bench.server.wait_for_message(
        AN, after=first["message"]["message_id"], timeout=10
    )
    assert question.text == vi("report.which", count=3)
    assert question.buttons[0][0]["text"] == "Báo cáo CCHC Quý I năm 2024 (10/03/2024)"
    update = bench.server.user_presses(AN, question.message_id, question.buttons[0][0]["text"])
    await bench.server.wait_for_answer(update, timeout=10)
    # The photo's file name is Telegram's: the receipt's file lines are matched, not spelled.
    receipt = await bench.edited(AN, question.message_id, re.compile(q1_receipt(None), re.DOTALL))
    found = re.fullmatch(q1_receipt(None), receipt.text or "", re.DOTALL)
    assert found is not None
    lines = found["files"].split("\n")
    assert len(lines) == 3
    assert lines[:2] == [
        vi("report.file_line", name="bao-cao.docx", size=file_size(len(DOCX), "vi")),
        vi("report.file_line", name="phu-luc.xlsx", size=file_size(len(XLSX), "vi")),
    ]
    assert re.fullmatch(pattern("report.file_line", size="8 B"), lines[2])
    assert await bench.count(Submission) == 1
    assert await bench.count(StoredFile) == 3


async def test_a_restart_in_the_middle_of_a_submission_loses_nothing(bench: Bench) -> None:
    await bench.register(bench.commune.an, AN)
    chooser = await bench.say(AN, "/nop")
    update = bench.server.user_presses(AN, chooser.message_id, chooser.buttons[0][0]["text"])
    await bench.server.wait_for_answer(update, timeout=10)

    await bench.stop_bot()
    sent = bench.server.user_sends_document(AN, "q1.pdf", PDF, "application/pdf")  # while down
    await bench.start_bot()
    receipt = await bench.server.wait_for_message(
        AN, after=sent["message"]["message_id"], timeout=10
    )
    assert receipt.text == q1_receipt(vi("report.file_line", name="q1.pdf", size="2,7 KB"))


@pytest.mark.parametrize(
    ("name", "size", "reason"),
    [
        ("setup.exe", None, "report.refused_type"),
        ("ban-do.pdf", 21 * 1024 * 1024, "report.refused_size"),
    ],
)
async def test_unacceptable_files_are_refused_without_download(
    bench: Bench, name: str, size: int | None, reason: str
) -> None:
    await bench.register(bench.commune.an, AN)
    sent = bench.server.user_sends_document(AN, name, b"abc", file_size=size)
    reply = await bench.server.wait_for_message(AN, after=sent["message"]["message_id"], timeout=10)
    assert reply.text == vi("report.refused", reasons=vi(reason, name=name))
    assert bench.server.requests_for("getFile") == []
    assert await bench.count(StoredFile) == 0


async def test_a_long_task_list_is_split_into_valid_messages(bench: Bench) -> None:
    async with bench.sessionmaker() as session:
        for n in range(60):
            task = Task(
                unit_id=bench.commune.unit.id,
                code=f"9.{n}",
                title=f"Nhiệm vụ <thử> & kiểm tra số {n} " + "rất dài " * 12,
                detail="",
                source_ref="",
                priority=False,
                active=True,
            )
            session.add(task)
            await session.flush()
            session.add(TaskAssignee(task_id=task.id, official_id=bench.commune.an.id, role="lead"))
        await session.commit()
    await bench.register(bench.commune.an, AN)
    sent = bench.server.user_sends_command(AN, "nhiemvu")
    messages = await bench.server.wait_for_messages(
        AN, 2, after=sent["message"]["message_id"], timeout=10
    )

    def pieces() -> list[StoredMessage]:
        return [
            m
            for m in bench.server.sent_messages(AN)
            if m.message_id > sent["message"]["message_id"]
        ]

    def text() -> str:
        return "\n".join(m.plain_text for m in pieces())

    # The list is cut between tasks, so the last piece is in once every task code is.
    await bench.server.wait_for(lambda: all(f"9.{n} " in text() for n in range(60)), timeout=10)
    assert len(pieces()) >= 2 and messages
    assert all(len(m.plain_text) <= 4096 for m in pieces())
    assert all(f"9.{n} " in text() for n in range(60))
    assert all(r.ok for r in bench.server.requests_for("sendMessage"))


async def test_a_failed_send_is_reported_politely(bench: Bench) -> None:
    await bench.register(bench.commune.an, AN)
    bench.server.fail_next("sendMessage", status=502)
    sent = bench.server.user_sends_command(AN, "huongdan")
    apology = await bench.server.wait_for_message(
        AN, after=sent["message"]["message_id"], timeout=10
    )
    # The command was handled: not "nothing was recorded", but the short reply (issue 15).
    assert apology.text == vi("reply.not_delivered")
    assert "Traceback" not in apology.plain_text


async def test_a_failing_menu_does_not_stop_the_bot(bench: Bench) -> None:
    await bench.stop_bot()
    bench.server.fail_next("setMyCommands", status=500)
    await bench.start_bot()
    reply = await bench.say(STRANGER, "/start")
    assert reply.text == vi("register.how", office=vi("office.default"))


async def test_the_token_never_reaches_the_logs(bench: Bench) -> None:
    """PTB logs its token-bearing URLs at DEBUG; the bot's log handler masks them."""
    output = io.StringIO()
    await bench.stop_bot()
    handler = configure_logging(verbose=True, secrets=bench.settings.secrets, stream=output)
    try:
        await bench.start_bot()
        await bench.register(bench.commune.an, AN)
        await bench.say(AN, "/nop")
        sent = bench.server.user_sends_document(AN, "q1.pdf", PDF, "application/pdf")
        await bench.server.wait_for_message(AN, after=sent["message"]["message_id"], timeout=10)
        bench.server.fail_next("sendMessage", status=502)
        await bench.say(AN, "/huongdan")
    finally:
        logging.getLogger().removeHandler(handler)
    logged = output.getvalue()
    secret = bench.server.token.split(":", 1)[1]
    assert "getUpdates" in logged and REDACTED in logged  # the URLs were logged, masked
    assert secret not in logged
