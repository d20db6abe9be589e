"""`python -m bot demo`: scripted sessions on the console channel, asserted on the transcript."""

from __future__ import annotations

import asyncio
import io
import re
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.demo import DATABASE_FILE, run_demo
from bot.demo_clock import next_step, parse_span
from bot.demo_state import STATE_FILE, DemoState
from db.invites import create_invite
from db.models import (
    Channel,
    ChannelIdentity,
    Obligation,
    Official,
    Reminder,
    StatusUpdate,
    StoredFile,
    Submission,
    Task,
    TaskState,
)
from db.session import make_engine, make_sessionmaker
from tests.cli import cli_env, run_cli
from tests.conftest import ROOT

PROMPT = re.compile(r"^\[(?P<who>[^\]]+) \d\d/\d\d/\d{4} \d\d:\d\d\] > (?P<line>.*)$")
PDF = b"%PDF-1.4\n" + b"bao cao quy I " * 100


async def demo(directory: Path, lines: Sequence[str], lang: str | None = None) -> str:
    """Run the demo in-process on a script of `lines`; the transcript."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    script = directory.parent / f"{directory.name}-script.txt"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    assert await run_demo(directory, script, lang, stdout=out) == 0
    return out.getvalue()


def turns(transcript: str) -> list[tuple[str, str, str]]:
    """(speaker, line typed, what followed it) for every prompt of a transcript."""
    found: list[tuple[str, str, list[str]]] = []
    for line in transcript.splitlines():
        match = PROMPT.match(line)
        if match:
            found.append((match["who"], match["line"], []))
        elif found:
            found[-1][2].append(line)
    return [(who, typed, "\n".join(after)) for who, typed, after in found]


@asynccontextmanager
async def database(directory: Path) -> AsyncIterator[AsyncSession]:
    engine = make_engine(f"sqlite+aiosqlite:///{directory / DATABASE_FILE}")
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def count(session: AsyncSession, model: type[object]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_from_invitation_to_the_overdue_list(tmp_path: Path) -> None:
    report = tmp_path / "bao-cao-quy-1.pdf"
    report.write_bytes(PDF)
    directory = tmp_path / "demo"

    transcript = await demo(
        directory,
        [
            "/as Nhứt",
            "/invite Hùng",
            "/as người lạ",
            "/nhiemvu",
            "/start $CODE",
            "/as Hoa",
            "/time 07/03/2024 07:59",
            "/tick 2m",
            "/status 2.1",
            "1",
            "/nop",
            "1",
            f"/send {report}",
            "/time 11/03/2024 07:59",
            "/tick 2m",
            "/as Nhứt",
            "/quahan",
        ],
    )

    steps = turns(transcript)
    said = {typed: after for _, typed, after in steps}
    who = [speaker for speaker, _, _ in steps]
    assert who[:3] == ["Hoa", "Nhứt", "Nhứt"]
    # The invitation: the clerk's code, then a phone nobody registered opens with it.
    assert "Mã đăng ký cho Võ Văn Hùng" in steps[1][2]
    code = re.search(r"/start (\S+)", steps[1][2])
    assert code is not None
    assert "liên hệ công chức Văn phòng - Thống kê" in said["/nhiemvu"]
    assert "Ba Bích" not in said["/nhiemvu"]
    assert steps[4][1] == f"/start {code.group(1)}"
    assert "Xin chào Võ Văn Hùng! Anh/chị đã đăng ký thành công" in steps[4][2]
    assert who[5] == "Hùng"
    # 08:00 on 07/03: the reminder three days before the Quý I report reaches Hoa's phone.
    tick = steps[7][2]
    assert tick.startswith(
        "  📱 Nguyễn Thị Hoa — 07/03/2024 08:00\n"
        "  │ ⏰ Nhắc hạn: Báo cáo CCHC Quý I năm 2024\n"
        "  │ Hạn: 10/03/2024 (còn 3 ngày)."
    )
    assert "  │ [1] Gửi báo cáo" in tick
    assert "📱 Võ Văn Hùng — 07/03/2024 08:00: ⏰ Nhắc hạn" in tick
    assert "Lê Thị Hồng" not in tick  # on leave
    assert "⏱ 07/03/2024 08:01 (+2m): 9 tin nhắn đã được gửi." in tick
    # A status tap, by number.
    assert "  [1] Hoàn thành  [2] Đang thực hiện\n  [3] Vướng mắc  [4] Gửi báo cáo" in steps[8][2]
    assert "✅ Đã ghi nhận: Hoàn thành lúc 07/03/2024 08:01." in steps[9][2]
    # A submission: choose the report, send the file, get the receipt.
    assert "  [1] Báo cáo CCHC Quý I năm 2024 (10/03/2024)" in said["/nop"]
    assert "Anh/chị gửi tệp báo cáo Báo cáo CCHC Quý I năm 2024" in steps[11][2]
    receipt = steps[12][2]
    assert "✅ Đã nhận báo cáo Báo cáo CCHC Quý I năm 2024 (lần nộp 1)." in receipt
    assert "• bao-cao-quy-1.pdf — 1,4 KB" in receipt
    assert "đúng hạn (hạn 10/03/2024)" in receipt
    # 11/03: overdue reminders for everyone but Hoa, and the clerk's digest.
    overdue_tick = steps[14][2]
    assert "📱 Trần Văn Nhứt — 11/03/2024 08:00: 📋 Báo cáo CCHC Quý I năm 2024" in overdue_tick
    assert "9/10 người chưa nộp, chiếm 90,0%" in overdue_tick
    assert "Nguyễn Thị Hoa" not in overdue_tick
    # The clerk's desk.
    assert steps[16][0] == "Nhứt"
    overdue = said["/quahan"]
    assert "📄 CCHC-Q1-2024 Báo cáo CCHC Quý I năm 2024" in overdue
    assert "9/10 chưa nộp, chiếm 90,0%" in overdue
    assert "• Huỳnh Thị Thu (Bộ phận một cửa)" in overdue
    assert "Nguyễn Thị Hoa" not in overdue
    assert "Traceback" not in transcript

    async with database(directory) as session:
        hoa = await session.scalar(select(Official).where(Official.key == "hoa"))
        assert hoa is not None
        answer = await session.scalar(
            select(StatusUpdate)
            .join(Task, Task.id == StatusUpdate.task_id)
            .where(StatusUpdate.official_id == hoa.id, Task.code == "2.1")
        )
        assert answer is not None and answer.state is TaskState.DONE
        submission = await session.scalar(
            select(Submission)
            .join(Obligation, Obligation.id == Submission.obligation_id)
            .where(Submission.official_id == hoa.id, Obligation.code == "CCHC-Q1-2024")
        )
        assert submission is not None
        stored = await session.scalar(
            select(StoredFile).where(StoredFile.submission_id == submission.id)
        )
        assert stored is not None and stored.original_name == "bao-cao-quy-1.pdf"
        assert stored.channel is Channel.CONSOLE
        assert (directory / "data" / stored.path).read_bytes() == PDF
        phone = await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.external_id == "stranger-1")
        )
        assert phone is not None and phone.channel is Channel.CONSOLE
        hung = await session.get(Official, phone.official_id)
        assert hung is not None and hung.key == "hung"


async def test_registration_with_a_code_from_the_database(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    await demo(directory, ["/quit"])
    async with database(directory) as session:
        mai = await session.scalar(select(Official).where(Official.key == "mai"))
        assert mai is not None
        code = await create_invite(session, mai, datetime(2024, 3, 1, tzinfo=UTC))
        await session.commit()

    transcript = await demo(
        directory,
        [
            "/as stranger",
            "/nhiemvu",
            "/start sai-ma-dang-ky",
            f"/start {code}",
            "/nhiemvu",
            "/as khách",
            f"/start {code}",
        ],
    )

    steps = turns(transcript)
    assert [speaker for speaker, _, _ in steps] == [
        "Hoa",
        "người lạ 1",
        "người lạ 1",
        "người lạ 1",
        "Mai",
        "Mai",
        "người lạ 2",
    ]
    assert "cần đường link đăng ký riêng" in steps[1][2]
    assert "Mã đăng ký không đúng" in steps[2][2]
    assert "Xin chào Nguyễn Thị Mai!" in steps[3][2]
    assert "Việc của anh/chị" in steps[4][2]
    assert "Mã đăng ký không đúng, đã được dùng" in steps[6][2]


async def test_a_fresh_folder_gets_a_database_and_a_second_run_reuses_it(tmp_path: Path) -> None:
    directory = tmp_path / "nested" / "demo"

    first = await demo(directory, ["/tick 10m", "/as Nhứt"])

    assert (directory / DATABASE_FILE).is_file()
    assert "⏱ 01/03/2024 08:05 (+10m): 16 tin nhắn đã được gửi." in first
    async with database(directory) as session:
        before = [
            await count(session, model)
            for model in (Official, Task, Obligation, ChannelIdentity, Reminder)
        ]
    assert before[:4] == [12, 9, 4, 12]

    second = await demo(directory, ["/tick 10m", "/nhiemvu"])

    assert "Tiếp tục lần chạy trước — đồng hồ giả lập: 01/03/2024 08:05." in second
    assert "Trần Văn Nhứt" in second.splitlines()[2]
    steps = turns(second)
    assert steps[0][:2] == ("Nhứt", "/tick 10m")
    # The 08:00 reminders went out in the first run and are not sent again.
    assert "⏱ 01/03/2024 08:15 (+10m): không có tin nhắn nào." in steps[0][2]
    async with database(directory) as session:
        after = [
            await count(session, model)
            for model in (Official, Task, Obligation, ChannelIdentity, Reminder)
        ]
    assert after == before
    state = DemoState.read(directory / STATE_FILE)
    assert state is not None and state.chat == "nhut"
    assert state.clock == datetime(2024, 3, 1, 1, 15, tzinfo=UTC)


async def test_a_tick_delivers_each_reminder_at_its_own_slot(tmp_path: Path) -> None:
    # A relative path is looked for beside the script too.
    (tmp_path / "bao-cao.pdf").write_bytes(PDF)
    transcript = await demo(
        tmp_path / "demo",
        ["/time 06/03/2024 12:00", "/tick 1d", "1", "/send bao-cao.pdf"],
    )

    steps = turns(transcript)
    assert "  📱 Nguyễn Thị Hoa — 07/03/2024 08:00" in steps[1][2]
    assert "⏱ 07/03/2024 12:00 (+1d): 9 tin nhắn đã được gửi." in steps[1][2]
    # The reminder's own button, typed as its number, opens the submission.
    assert "Anh/chị gửi tệp báo cáo Báo cáo CCHC Quý I năm 2024" in steps[2][2]
    assert "✅ Đã nhận báo cáo Báo cáo CCHC Quý I năm 2024 (lần nộp 1)." in steps[3][2]


async def test_bad_lines_get_a_polite_answer_and_change_nothing(tmp_path: Path) -> None:
    transcript = await demo(
        tmp_path / "demo",
        [
            "/time 31/02/2024 08:00",
            "/time hôm qua",
            "/tick",
            "/tick 5 năm",
            "/tick 40d",
            "/tick 99999999d",
            "/as Không Có Ai",
            "/as Nguyễn",
            "/send",
            "/send khong-co.pdf",
            "/status 2.1",
            "7",
            "/time",
        ],
    )

    said = [after for _, _, after in turns(transcript)]
    assert said[0] == (
        "  Không hiểu thời điểm «31/02/2024 08:00». Gõ theo mẫu: /time 08/03/2024 07:59."
    )
    assert said[1].startswith("  Không hiểu thời điểm «hôm qua».")
    assert said[2].startswith("  Dùng: /tick 1d")
    assert said[3].startswith("  Dùng: /tick 1d")
    assert said[4].startswith("  Mỗi lần /tick nhiều nhất 31 ngày.")
    assert said[5].startswith("  Mỗi lần /tick nhiều nhất 31 ngày.")
    assert said[6] == "  Không có ai tên «Không Có Ai». Gõ /as để xem danh sách."
    assert said[7].splitlines()[1:] == [
        "  • Nguyễn Thị Hoa — Công chức Văn phòng - Thống kê (phụ trách Nội vụ, Thi đua - Khen "
        "thưởng) (/as Hoa)",
        "  • Nguyễn Thị Mai — Công chức Tài chính - Kế toán (/as Mai)",
    ]
    assert said[8].startswith("  Dùng: /send")
    assert said[9] == "  Không tìm thấy tệp «khong-co.pdf». Chưa gửi gì."
    assert said[11] == "  Chỉ có các lựa chọn từ 1 đến 4. Gõ một số trong khoảng đó."
    assert said[12].startswith("  Đồng hồ giả lập: 01/03/2024 07:55.")
    assert all(speaker == "Hoa" for speaker, _, _ in turns(transcript))
    assert "Tạm biệt" in transcript


async def test_quit_stops_the_script(tmp_path: Path) -> None:
    transcript = await demo(tmp_path / "demo", ["/as Thu", "/quit", "/as Hoa"])

    assert [typed for _, typed, _ in turns(transcript)] == ["/as Thu", "/quit"]


async def test_english(tmp_path: Path) -> None:
    transcript = await demo(tmp_path / "demo", ["/tasks", "/as Nhứt", "/overdue"], lang="en")

    assert transcript.startswith("Nhắc việc — a trial run in the terminal")
    assert "You are speaking as Nguyễn Thị Hoa" in transcript
    said = [after for _, _, after in turns(transcript)]
    assert said[0].startswith("  Your work (01/03/2024)")
    assert said[1] == "  You are now Trần Văn Nhứt (Công chức Văn phòng - Thống kê)."


def test_spans_and_steps() -> None:
    assert parse_span("1d") == timedelta(days=1)
    assert parse_span(" 2H 30m ") == timedelta(hours=2, minutes=30)
    assert parse_span("0m") is None
    assert parse_span("1w") is None
    assert parse_span("") is None
    at = datetime(2024, 3, 7, 0, 59, 30, tzinfo=UTC)
    assert next_step(at) == datetime(2024, 3, 7, 1, 0, tzinfo=UTC)
    assert next_step(datetime(2024, 3, 7, 1, 0, tzinfo=UTC)) == datetime(
        2024, 3, 7, 1, 15, tzinfo=UTC
    )


async def test_the_command_line_runs_the_example_script_then_reads_stdin(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"

    code, out, err = await run_cli(
        database_url, "demo", "--dir", str(directory), "--script", "examples/demo-script.txt"
    )

    assert code == 0, err
    assert "Traceback" not in err
    assert "# 1. Văn phòng cấp mã đăng ký cho anh Hùng" in out
    assert "Kịch bản mẫu" not in out  # "##" notes stay in the script
    assert "Xin chào Võ Văn Hùng!" in out
    assert "  📱 Nguyễn Thị Hoa — 07/03/2024 08:00" in out
    assert "✅ Đã ghi nhận: Hoàn thành" in out
    assert "✅ Đã nhận báo cáo Báo cáo CCHC Quý I năm 2024 (lần nộp 1)." in out
    assert "• phu-luc.xlsx" in out
    assert "⏰ Quá hạn — 11/03/2024 08:01" in out
    assert not (tmp_path / "unused.db").exists()

    # Without --script and with stdin not a terminal, the lines come from stdin.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "demo",
        "--dir",
        str(directory),
        cwd=ROOT,
        env=cli_env(database_url),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    piped, errors = await process.communicate(b"/as Hoa\n/nhiemvu\n")

    assert process.returncode == 0, errors.decode()
    text = piped.decode()
    assert "Tiếp tục lần chạy trước — đồng hồ giả lập: 11/03/2024 08:01." in text
    assert "[Nhứt 11/03/2024 08:01] > /as Hoa" in text
    tasks = turns(text)[1][2]
    assert "CCHC-6T-2024" in tasks
    assert "CCHC-Q1-2024" not in tasks  # submitted in the first run


async def test_the_tour_plays_once_on_a_fresh_demo(tmp_path: Path) -> None:
    """`make run` without a token: the whole story once, then the newcomer's own turn."""
    directory = tmp_path / "demo"
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"

    async def run_tour() -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "demo",
            "--tour",
            "--dir",
            str(directory),
            cwd=tmp_path,  # not the repository: the tour finds its files by itself
            env=cli_env(database_url),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate(b"/nhiemvu\n")
        assert process.returncode == 0, err.decode()
        return out.decode()

    first = await run_tour()
    assert "📱 Nguyễn Thị Hoa — 07/03/2024 08:00" in first  # a reminder arriving
    assert "✅ Đã ghi nhận: Hoàn thành" in first  # an official answering
    assert "✅ Đã nhận báo cáo Báo cáo CCHC Quý I năm 2024 (lần nộp 1)." in first
    assert "⏰ Quá hạn — 11/03/2024 08:01" in first  # the clerk's view
    assert "[Nhứt 11/03/2024 08:01] > /nhiemvu" in first  # then the newcomer types

    second = await run_tour()
    assert "Xin chào Võ Văn Hùng!" not in second
    assert "[Nhứt 11/03/2024 08:01] > /nhiemvu" in second
