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

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import build_parser
from bot.console_channel import to_terminal_text
from bot.demo import DATABASE_FILE, run_demo
from bot.demo_clock import next_step, parse_span
from bot.demo_input import narrated
from bot.demo_seed import SAMPLE_FILE
from bot.demo_state import STATE_FILE, DemoState
from db import chat_prompts
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
from db.web_links import LinkState, upload_target
from tests.cli import cli_env, run_cli
from tests.conftest import ROOT
from tests.wording import days_left, en, overdue_person, state, vi

PROMPT = re.compile(r"^\[(?P<who>[^\]]+) \d\d/\d\d/\d{4} \d\d:\d\d\] > (?P<line>.*)$")
# The upload link the demo prints on Zalo: the web app's address (not served by the demo).
UPLOAD_URL = r"http://127\.0\.0\.1:8080/u/[A-Za-z0-9_-]{16,64}"
PDF = b"%PDF-1.4\n" + b"bao cao quy I " * 100
Q1 = "Báo cáo CCHC Quý I năm 2024"
HOA_POSITION = "Công chức Văn phòng - Thống kê (phụ trách Nội vụ, Thi đua - Khen thưởng)"
NHUT_POSITION = "Công chức Văn phòng - Thống kê"
# The reminder three days before the Quý I report, and its first line (a brief shows only it).
Q1_BEFORE = vi("remind.before", title=Q1, due="10/03/2024", when=days_left(3))
Q1_BEFORE_FIRST = to_terminal_text(Q1_BEFORE).splitlines()[0]


async def demo(
    directory: Path, lines: Sequence[str], lang: str | None = None, *, zalo: bool | None = None
) -> str:
    """Run the demo in-process on a script of `lines`; the transcript."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    script = directory.parent / f"{directory.name}-script.txt"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    assert await run_demo(directory, script, lang, zalo=zalo, stdout=out) == 0
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


def shown(text: str) -> str:
    """A bot message (catalog HTML) as the console prints it: plain, every line indented."""
    return "\n".join(("  " + line).rstrip() for line in to_terminal_text(text).splitlines())


def on_phone(name: str, time: str, text: str) -> str:
    """A pushed message shown in full on the phone on screen: a header, then barred lines."""
    header = vi("demo.console.phone", name=name, time=time)
    lines = [("  │ " + line).rstrip() for line in to_terminal_text(text).splitlines()]
    return "\n".join([f"  {header}", *lines])


def brief(name: str, time: str, first_line: str) -> str:
    """A pushed message of another phone, in one line (there is more of it)."""
    return "  " + vi("demo.console.brief", name=name, time=time, text=f"{first_line} …")


def tick(time: str, span: str, count: int) -> str:
    return "  " + vi("demo.tick.done", time=time, span=span, count=count)


def status_choices() -> str:
    """The four status buttons of a task prompt, numbered as the console lays them out."""
    done, progress, blocked, report = (
        vi(f"button.{key}") for key in ("done", "in_progress", "blocked", "report")
    )
    return f"  [1] {done}  [2] {progress}\n  [3] {blocked}  [4] {report}"


def marked(text: str, **parts: str) -> str:
    """A regular expression for `text`, where each marker ⟨name⟩ matches the regular expression
    `parts[name]` (captured as `name`); a marker seen again must repeat what it matched."""
    regex = re.escape(text)
    for name, part in parts.items():
        marker = re.escape(f"⟨{name}⟩")
        regex = regex.replace(marker, f"(?P<{name}>{part})", 1).replace(marker, f"(?P={name})")
    return regex


def q1_receipt(files: str, time: str) -> str:
    """The receipt of a first, on-time Quý I submission, as the console prints it."""
    return shown(
        vi(
            "report.receipt",
            title=Q1,
            version=1,
            files=files,
            time=time,
            timeliness=vi("report.on_time", due="10/03/2024"),
            start="15/12/2023",
            end="14/03/2024",
        )
    )


def has_tour_receipt(out: str) -> bool:
    """Whether `out` shows the tour's receipt for the filled appendix at 07/03/2024 08:01 (the
    file's size is the example file's: matched, not spelled), its figures recorded, and the
    clerk's compiled report with the seed's ratios."""
    receipt = q1_receipt(
        vi("report.file_line", name="phu-luc-quy-1-hoa.xlsx", size="⟨size⟩"), "07/03/2024 08:01"
    )
    if re.search(marked(receipt, size=r"\d+(,\d)? [KM]?B"), out) is None:
        return False
    saved = shown(vi("figures.saved", title=Q1, version=1, lines=""))
    sent_up = shown(vi("compile.forward.carried", to="Sở Nội vụ tỉnh Quảng Ngãi", count=7))
    return all(part in out for part in (saved.rstrip(), "162/376", "13,56%", sent_up.strip()))


def welcome(name: str) -> str:
    return shown(vi("register.welcome", name=name, unit="UBND xã Ba Bích"))


SEND_Q1 = shown(
    vi("report.send_files", title=Q1, start="15/12/2023", end="14/03/2024"),
)
OVERDUE_HEADER = shown(vi("clerk.overdue.header", when="11/03/2024 08:01", scope=""))


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
            "/status 2.7",
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
    invite = shown(
        vi("clerk.invite.created", name="Võ Văn Hùng", code="⟨code⟩", expires="08/03/2024 07:55")
        + "\n"
        + vi("clerk.invite.no_username", code="⟨code⟩")
    )
    code = re.fullmatch(marked(invite, code=r"[\w-]+"), steps[1][2])
    assert code is not None
    assert said["/nhiemvu"] == shown(vi("register.how", office=vi("office.default")))
    assert "Ba Bích" not in said["/nhiemvu"]
    assert steps[4][1] == f"/start {code['code']}"
    assert steps[4][2].startswith(welcome("Võ Văn Hùng") + "\n")
    assert who[5] == "Hùng"
    # 08:00 on 07/03: the reminder three days before the Quý I report reaches Hoa's phone.
    first_tick = steps[7][2]
    assert first_tick.startswith(on_phone("Nguyễn Thị Hoa", "07/03/2024 08:00", Q1_BEFORE) + "\n")
    assert f"  │ [1] {vi('button.report')}" in first_tick
    assert brief("Võ Văn Hùng", "07/03/2024 08:00", Q1_BEFORE_FIRST) in first_tick
    assert "Lê Thị Hồng" not in first_tick  # on leave
    assert first_tick.endswith(tick("07/03/2024 08:01", "2m", 9))
    # A status tap, by number.
    assert status_choices() in steps[8][2]
    recorded = shown(vi("status.recorded", state=state("done"), time="07/03/2024 08:01"))
    assert f"{recorded}\n{status_choices()}" in steps[9][2]
    # A submission: choose the report, send the file, get the receipt.
    assert "  [1] Báo cáo CCHC Quý I năm 2024 (10/03/2024)" in said["/nop"]
    assert steps[11][2] == f"  {vi('demo.console.edited')}\n{SEND_Q1}"
    file_line = vi("report.file_line", name="bao-cao-quy-1.pdf", size="1,4 KB")
    # The receipt, then the report's figures are asked for, one at a time.
    assert steps[12][2].startswith(q1_receipt(file_line, "07/03/2024 08:01") + "\n")
    assert shown(vi("figures.intro", title=Q1, count=7)) in steps[12][2]
    # 11/03: overdue reminders for everyone but Hoa; the clerk's own, his digest and the weekly
    # digest come as one message (issue 14).
    overdue_tick = steps[14][2]
    assert brief("Trần Văn Nhứt", "11/03/2024 08:00", vi("bundle.head", count=3)) in overdue_tick
    assert "Nguyễn Thị Hoa" not in overdue_tick
    # The clerk's desk.
    assert steps[16][0] == "Nhứt"
    overdue = said["/quahan"]
    assert overdue.startswith(OVERDUE_HEADER + "\n")
    block = vi(
        "clerk.overdue.report",
        code="CCHC-Q1-2024",
        title=Q1,
        due="10/03/2024",
        share="9/10",
        rate="chiếm 90,0%",
    )
    assert shown(block) in overdue
    thu = overdue_person(
        "Huỳnh Thị Thu",
        "Bộ phận một cửa",
        vi("desk.state.overdue", days=1),
        vi("clerk.overdue.reminded", count=2),
        vi("clerk.not_submitted"),
    )
    assert shown(thu) in overdue
    assert "Nguyễn Thị Hoa" not in overdue
    assert "Traceback" not in transcript

    async with database(directory) as session:
        hoa = await session.scalar(select(Official).where(Official.key == "hoa"))
        assert hoa is not None
        answer = await session.scalar(
            select(StatusUpdate)
            .join(Task, Task.id == StatusUpdate.task_id)
            .where(StatusUpdate.official_id == hoa.id, Task.code == "2.7")
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
        vi("demo.stranger", number=1),
        vi("demo.stranger", number=1),
        vi("demo.stranger", number=1),
        "Mai",
        "Mai",
        vi("demo.stranger", number=2),
    ]
    assert steps[1][2] == shown(vi("register.how", office=vi("office.default")))
    assert steps[2][2] == shown(vi("register.bad_code", office=vi("office.default")))
    assert steps[3][2].startswith(welcome("Nguyễn Thị Mai") + "\n")
    assert steps[4][2].startswith(shown(vi("tasks.header", date="01/03/2024")) + "\n")
    bye = vi("demo.bye", dir=str(directory))
    assert steps[6][2] == shown(vi("register.bad_code", office=vi("office.default"))) + "\n" + bye


async def test_a_fresh_folder_gets_a_database_and_a_second_run_reuses_it(tmp_path: Path) -> None:
    directory = tmp_path / "nested" / "demo"

    first = await demo(directory, ["/tick 10m", "/as Nhứt"])

    assert (directory / DATABASE_FILE).is_file()
    # The plan's first load gives everyone notices of their open subjects (issue 14), and the
    # 08:00 reminders come with them: one message per person.
    assert tick("01/03/2024 08:05", "10m", 10) in first.splitlines()
    async with database(directory) as session:
        before = [
            await count(session, model)
            for model in (Official, Task, Obligation, ChannelIdentity, Reminder)
        ]
    # Ba Bích's 12 people, 9 tasks and 4 reports, and its province's officer and 4 reports
    # (the tour hands the compiled report up there); phones for Ba Bích's people only.
    assert before[:4] == [13, 9, 8, 12]

    second = await demo(directory, ["/tick 10m", "/nhiemvu"])

    assert second.splitlines()[2] == vi(
        "demo.welcome.resumed",
        time="01/03/2024 08:05",
        name="Trần Văn Nhứt",
        position=NHUT_POSITION,
    )
    steps = turns(second)
    assert steps[0][:2] == ("Nhứt", "/tick 10m")
    # The 08:00 reminders went out in the first run and are not sent again.
    assert steps[0][2] == "  " + vi("demo.tick.quiet", time="01/03/2024 08:15", span="10m")
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
    assert steps[1][2].startswith(on_phone("Nguyễn Thị Hoa", "07/03/2024 08:00", Q1_BEFORE))
    assert steps[1][2].endswith(tick("07/03/2024 12:00", "1d", 9))
    # The reminder's own button, typed as its number, opens the submission.
    assert steps[2][2] == f"  {vi('demo.console.edited')}\n{SEND_Q1}"
    file_line = vi("report.file_line", name="bao-cao.pdf", size="1,4 KB")
    bye = vi("demo.bye", dir=str(tmp_path / "demo"))
    assert steps[3][2].startswith(q1_receipt(file_line, "07/03/2024 12:00") + "\n")
    assert steps[3][2].endswith("\n" + bye)


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
            "/status 2.7",
            "7",
            "/time",
        ],
    )

    said = [after for _, _, after in turns(transcript)]
    assert said[:7] == [
        "  " + vi("demo.time.bad", text="31/02/2024 08:00"),
        "  " + vi("demo.time.bad", text="hôm qua"),
        "  " + vi("demo.tick.usage"),
        "  " + vi("demo.tick.usage"),
        "  " + vi("demo.tick.too_long", days=31),
        "  " + vi("demo.tick.too_long", days=31),
        "  " + vi("demo.as.not_found", name="Không Có Ai"),
    ]
    assert said[7].splitlines() == [
        "  " + vi("demo.as.ambiguous", name="Nguyễn"),
        "  " + vi("demo.as.person", name="Nguyễn Thị Hoa", position=HOA_POSITION, short="Hoa"),
        "  "
        + vi(
            "demo.as.person",
            name="Nguyễn Thị Mai",
            position="Công chức Tài chính - Kế toán",
            short="Mai",
        ),
    ]
    assert said[8] == "  " + vi("demo.console.send_usage")
    assert said[9] == "  " + vi("demo.console.no_file", name="khong-co.pdf")
    assert said[11] == "  " + vi("demo.console.no_choice", count=4)
    bye = vi("demo.bye", dir=str(tmp_path / "demo"))
    assert said[12] == "  " + vi("demo.time.now", time="01/03/2024 07:55") + "\n" + bye
    assert all(speaker == "Hoa" for speaker, _, _ in turns(transcript))


async def test_quit_stops_the_script(tmp_path: Path) -> None:
    transcript = await demo(tmp_path / "demo", ["/as Thu", "/quit", "/as Hoa"])

    assert [typed for _, typed, _ in turns(transcript)] == ["/as Thu", "/quit"]


async def test_english(tmp_path: Path) -> None:
    transcript = await demo(tmp_path / "demo", ["/tasks", "/as Nhứt", "/overdue"], lang="en")

    assert transcript.startswith(en("demo.welcome.title") + "\n")
    clock = en(
        "demo.welcome.clock", time="01/03/2024 07:55", name="Nguyễn Thị Hoa", position=HOA_POSITION
    )
    assert clock in transcript.splitlines()
    said = [after for _, _, after in turns(transcript)]
    assert said[0].startswith(shown(en("tasks.header", date="01/03/2024")) + "\n")
    assert said[1] == "  " + en("demo.as.now", name="Trần Văn Nhứt", position=NHUT_POSITION)


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
    assert welcome("Võ Văn Hùng") in out
    assert on_phone("Nguyễn Thị Hoa", "07/03/2024 08:00", Q1_BEFORE) in out
    assert shown(vi("status.recorded", state=state("done"), time="07/03/2024 08:01")) in out
    assert has_tour_receipt(out)
    assert OVERDUE_HEADER in out
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
    resumed = vi(
        "demo.welcome.resumed",
        time="11/03/2024 08:01",
        name="Trần Văn Nhứt",
        position=NHUT_POSITION,
    )
    assert resumed in text.splitlines()
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
    # A reminder arriving, an official answering, a receipt, the clerk's view.
    assert on_phone("Nguyễn Thị Hoa", "07/03/2024 08:00", Q1_BEFORE) in first
    assert shown(vi("status.recorded", state=state("done"), time="07/03/2024 08:01")) in first
    assert has_tour_receipt(first)
    assert OVERDUE_HEADER in first
    assert "[Nhứt 11/03/2024 08:01] > /nhiemvu" in first  # then the newcomer types

    second = await run_tour()
    assert vi("register.welcome", name="Võ Văn Hùng", unit="UBND xã Ba Bích") not in second
    assert welcome("Võ Văn Hùng") not in second
    assert "[Nhứt 11/03/2024 08:01] > /nhiemvu" in second


# --- the Zalo way ---------------------------------------------------------------------------


def zalo_status_choices() -> str:
    """The four status choices of a task prompt as numbered lines, after a blank line."""
    keys = ("done", "in_progress", "blocked", "report")
    return "\n".join(["", *(f"  {i}. {vi(f'button.{key}')}" for i, key in enumerate(keys, 1))])


def upload_offer(why: str, lang: str = "vi") -> str:
    """A regular expression for the reason and the Quý I upload link, capturing its `url`."""
    words = vi if lang == "vi" else en
    text = shown(words(why) + "\n" + words("upload.link", title=Q1, url="⟨url⟩", hours=24))
    return marked(text, url=UPLOAD_URL)


async def test_the_zalo_way_typed_answers_and_upload_links(tmp_path: Path) -> None:
    (tmp_path / "bao-cao.docx").write_bytes(b"PK\x03\x04 word")
    (tmp_path / "anh-bao-cao.jpg").write_bytes(b"\xff\xd8\xff" + b"photo" * 100)
    directory = tmp_path / "demo"

    transcript = await demo(
        directory,
        [
            "/status 2.7",
            "1",
            "/status 2.5",
            "dang thuc hien",
            "/nop",
            "1",
            "1",
            "/send bao-cao.docx",
            "/time 07/03/2024 07:59",
            "/tick 2m",
            "1",
            "/send anh-bao-cao.jpg",
        ],
        zalo=True,
    )

    assert vi("demo.way.zalo").splitlines()[0] in transcript.splitlines()
    steps = turns(transcript)
    assert {who for who, _, _ in steps} == {vi("demo.prompt_zalo", name="Hoa")}
    # A task prompt: numbered lines, answered by typing the number.
    assert steps[0][2].endswith(zalo_status_choices())
    done = shown(vi("status.recorded", state=state("done"), time="01/03/2024 07:55"))
    assert done in steps[1][2]
    # …or the choice's words, accents and case aside.
    progress = vi("status.recorded", state=state("in_progress"), time="01/03/2024 07:55")
    assert shown(progress) in steps[3][2]
    # /nop: the report by number, then the one-time link instead of "send the files".
    assert "\n  1. Báo cáo CCHC Quý I năm 2024 (10/03/2024)\n" in steps[4][2]
    first = re.fullmatch(upload_offer("upload.why_zalo"), steps[5][2])
    assert first is not None
    # The same number again: that prompt is answered.
    assert steps[6][2] == shown(vi("choice.stale"))
    # A document sent in the chat does not reach the bot: the link again, with the reason.
    second = re.fullmatch(upload_offer("upload.why_unfetchable"), steps[7][2])
    assert second is not None
    # The reminder's choice is a numbered line too, and typing it answers the reminder.
    reminder = on_phone("Nguyễn Thị Hoa", "07/03/2024 08:00", Q1_BEFORE)
    assert steps[9][2].startswith(reminder + "\n")
    assert f"\n  │\n  │ 1. {vi('button.report')}\n" in steps[9][2]
    third = re.fullmatch(upload_offer("upload.why_zalo"), steps[10][2])
    assert third is not None
    # A photo still goes in the chat, and hands the report in.
    assert "anh-bao-cao.jpg" in steps[11][2]
    assert "[1]" not in transcript
    assert vi("demo.console.edited") not in transcript
    assert "Traceback" not in transcript

    async with database(directory) as session:
        hoa = await session.scalar(select(Official).where(Official.key == "hoa"))
        assert hoa is not None
        answers = {
            code: answer_state
            for code, answer_state in (
                await session.execute(
                    select(Task.code, StatusUpdate.state)
                    .join(Task, Task.id == StatusUpdate.task_id)
                    .where(StatusUpdate.official_id == hoa.id)
                )
            ).all()
        }
        assert answers == {"2.7": TaskState.DONE, "2.5": TaskState.IN_PROGRESS}
        # Each link opens the Quý I upload page for Hoa, for a day from when it was given.
        given = [datetime(2024, 3, 1, 1, 0, tzinfo=UTC)] * 2 + [
            datetime(2024, 3, 7, 1, 1, tzinfo=UTC)
        ]
        for offer, at in zip((first, second, third), given, strict=True):
            target = await upload_target(session, offer["url"].rpartition("/")[2], at)
            assert target.state is LinkState.VALID
            assert target.link is not None and target.link.official_id == hoa.id
            assert isinstance(target.subject, Obligation) and target.subject.title == Q1
        prompt = await chat_prompts.latest(session, Channel.CONSOLE, "hoa")
        assert prompt is not None and prompt.answered_at is not None
        stored = await session.scalar(
            select(StoredFile).where(StoredFile.original_name == "anh-bao-cao.jpg")
        )
        assert stored is not None and stored.submission_id is not None


async def test_zalo_registration_by_code_and_switching_ways(tmp_path: Path) -> None:
    directory = tmp_path / "demo"

    transcript = await demo(
        directory,
        ["/as Nhứt", "/invite Hùng", "/as khách", "$CODE", "/telegram", "/status 2.4", "1"],
        zalo=True,
    )

    steps = turns(transcript)
    # On Zalo the clerk's invitation tells how to send the code; there is no /start link.
    invite = shown(
        vi("clerk.invite.created", name="Võ Văn Hùng", code="⟨code⟩", expires="08/03/2024 07:55")
        + "\n"
        + vi("invite.zalo", bot=vi("invite.zalo_unnamed"), code="⟨code⟩")
    )
    code = re.fullmatch(marked(invite, code=r"[\w-]+"), steps[1][2])
    assert code is not None
    # The newcomer sends the bare code as a message.
    assert steps[3][0] == vi("demo.prompt_zalo", name=vi("demo.stranger", number=1))
    assert steps[3][1] == code["code"]
    assert steps[3][2].startswith(welcome("Võ Văn Hùng") + "\n")
    # Back to Telegram's way: buttons, a number taps one.
    assert steps[4][2] == shown(vi("demo.way.telegram"))
    assert steps[5][0] == "Hùng"
    assert status_choices() in steps[5][2]
    assert (
        # Hùng coordinates 2.4: his tap is his part, the status is its lead's (Thu).
        shown(
            vi(
                "assign.part_recorded",
                state=state("done"),
                time="01/03/2024 07:55",
                leads="Huỳnh Thị Thu",
            )
        )
        in (steps[6][2])
    )
    state_file = DemoState.read(directory / STATE_FILE)
    assert state_file is not None and not state_file.zalo

    # The way is kept between runs; /zalo switches again and is kept too.
    second = await demo(directory, ["/zalo", "/status 2.4"])
    assert vi("demo.way.zalo").splitlines()[0] not in second.splitlines()[:8]
    steps = turns(second)
    assert steps[0][0] == "Hùng"
    assert steps[0][2] == shown(vi("demo.way.zalo"))
    assert steps[1][0] == vi("demo.prompt_zalo", name="Hùng")
    assert zalo_status_choices() in steps[1][2]
    third = await demo(directory, ["/nhiemvu"])
    assert vi("demo.way.zalo").splitlines()[0] in third.splitlines()
    assert turns(third)[0][0] == vi("demo.prompt_zalo", name="Hùng")


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_the_zalo_tour(tmp_path: Path, lang: str) -> None:
    """`python -m bot demo --zalo --tour`: the Zalo way once, then the newcomer's own turn."""
    out = io.StringIO()
    directory = tmp_path / "demo"

    code = await run_demo(
        directory, None, lang, tour=True, zalo=True, stdin=io.StringIO("/nhiemvu\n"), stdout=out
    )

    assert code == 0
    transcript = out.getvalue()
    words = vi if lang == "vi" else en
    assert "Traceback" not in transcript
    # The tour's headings are in the demo's language.
    if lang == "vi":
        assert "# 0. Các máy là khung chat Zalo" in transcript
    else:
        assert "# 0. The phones are Zalo chats" in transcript
        assert "Các máy là khung chat Zalo" not in transcript
    assert shown(words("register.welcome", name="Võ Văn Hùng", unit="UBND xã Ba Bích")) in (
        transcript
    )
    assert f"  │ 1. {words('button.report')}" in transcript
    done = words("status.recorded", state=words("state.done"), time="07/03/2024 08:01")
    assert shown(done) in transcript
    assert re.search(upload_offer("upload.why_zalo", lang), transcript)
    assert shown(words("choice.stale")) in transcript
    assert re.search(upload_offer("upload.why_unfetchable", lang), transcript)
    # The newcomer types after the tour, and the goodbye comes once, at the end.
    steps = turns(transcript)
    assert steps[-1][:2] == (words("demo.prompt_zalo", name="Hoa"), "/nhiemvu")
    assert transcript.count(words("demo.bye", dir=str(directory))) == 1


def test_the_command_line_takes_zalo() -> None:
    args = build_parser().parse_args(["demo", "--zalo", "--tour"])
    assert (args.zalo, args.tour) == (True, True)
    assert build_parser().parse_args(["demo"]).zalo is False


# --- the tour hands over; hints that fit the clock ------------------------------------------


async def test_the_tour_hands_over_the_prompt_with_hints_for_its_clock(tmp_path: Path) -> None:
    """The tour ends with what to try at 11/03/2024 08:01, not with a goodbye."""
    out = io.StringIO()
    directory = tmp_path / "demo"

    assert await run_demo(directory, None, None, tour=True, stdin=io.StringIO(""), stdout=out) == 0

    transcript = out.getvalue()
    assert vi("demo.bye", dir=str(directory)) not in transcript
    cwd = Path.cwd()
    sample_shown = str(
        SAMPLE_FILE.relative_to(cwd) if SAMPLE_FILE.is_relative_to(cwd) else SAMPLE_FILE
    )
    after = transcript.split(vi("demo.tour.handover") + "\n", 1)[1].splitlines()
    assert after == [
        vi("demo.welcome.try"),
        vi(
            "demo.welcome.try1_later",
            short="Nhứt",
            before="12/03/2024 07:59",
            slot="12/03/2024 08:00",
        ),
        vi("demo.welcome.try2", file=sample_shown),
        vi("demo.welcome.try3_later"),
        vi("demo.welcome.more"),
    ]
    # The jump to the overdue morning is not offered once it has passed.
    assert vi("demo.welcome.try3") not in after


async def test_resumed_hints_fit_the_clock(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    first = await demo(directory, ["/time 08/03/2024 16:00"])
    # A fresh demo at 07:55: the reminders are five minutes away.
    assert vi("demo.welcome.try1", short="Hoa", span="10m", slot="08:00") in first
    assert vi("demo.welcome.try3") in first

    second = await demo(directory, ["/time 11/03/2024 10:00"])
    # Friday 16:00: the next reminders are on Monday 11/03 at 08:00; the overdue hint still helps.
    assert (
        vi(
            "demo.welcome.try1_later",
            short="Hoa",
            before="11/03/2024 07:59",
            slot="11/03/2024 08:00",
        )
        in second
    )
    assert vi("demo.welcome.try3") in second

    third = await demo(directory, ["/quit"])
    assert vi("demo.welcome.try3_later") in third
    assert vi("demo.welcome.try3") not in third


def test_script_narration_in_english() -> None:
    lines = [
        "## a note",
        "# 1. Văn phòng",
        "#    mời",
        "#en 1. The office",
        "#en    invites",
        "/as Nhứt",
    ]
    assert narrated(lines, "vi") == ["## a note", "# 1. Văn phòng", "#    mời", "/as Nhứt"]
    assert narrated(lines, "en") == ["## a note", "# 1. The office", "#    invites", "/as Nhứt"]
    # Narration without a translation stays as it is.
    assert narrated(["# 2. Chị Hoa", "/as Hoa"], "en") == ["# 2. Chị Hoa", "/as Hoa"]


async def test_the_english_tour_has_english_headings(tmp_path: Path) -> None:
    out = io.StringIO()
    await run_demo(tmp_path / "demo", None, "en", tour=True, stdin=io.StringIO(""), stdout=out)
    transcript = out.getvalue()
    headings = [line for line in transcript.splitlines() if re.match(r"# \d\.", line)]
    assert (
        headings[0]
        == "# 1. The office gives Mr Hùng a registration code; he registers on a new phone."
    )
    assert len(headings) == 6
    assert not any("Văn phòng" in line or "Chị Hoa" in line for line in headings)
    assert en("demo.tour.handover") in transcript
