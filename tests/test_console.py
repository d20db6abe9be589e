"""The console channel and transport: typed lines in, replies and reminders out as text."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.console_channel import (
    ConsoleChannel,
    PhoneBook,
    database_phonebook,
    to_terminal_text,
)
from bot.console_transport import ConsoleTransport
from db.clock import FixedClock
from db.files import FileStore
from db.models import Channel, ChannelIdentity
from handlers.reminder_messages import OutboxRenderer
from handlers.types import (
    Choice,
    ChoiceTapped,
    CommandSent,
    Event,
    FilesSent,
    OutgoingFile,
    Reply,
    Sender,
    TextSent,
)
from scheduler.dispatch import Dispatcher
from scheduler.service import ReminderSweeper
from tests.plans import load_example
from tests.wording import days_left, vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AT = datetime(2024, 3, 7, 8, 0, tzinfo=TZ)
STATUS_CHOICES = [
    [Choice("Hoàn thành", "st:7:d"), Choice("Đang thực hiện", "st:7:p")],
    [Choice("Vướng mắc", "st:7:b"), Choice("Gửi báo cáo", "st:7:r")],
]


class Recorder:
    """A conversation double: records events, answers with the next canned replies."""

    def __init__(self, *answers: list[Reply]) -> None:
        self.events: list[tuple[Sender, Event]] = []
        self.answers = list(answers)

    async def handle(self, sender: Sender, event: Event) -> list[Reply]:
        self.events.append((sender, event))
        return self.answers.pop(0) if self.answers else [Reply("ok")]


def said(key: str, /, **params: object) -> str:
    """A console message as printed: indented, from the catalog."""
    return "  " + vi(key, **params)


def phone(name: str, time: str = "07/03/2024 08:00") -> str:
    """The header of a message shown on the phone on screen."""
    return said("demo.console.phone", name=name, time=time)


def console(
    conversation: Recorder, file_dirs: Sequence[Path] = (), phonebook: PhoneBook | None = None
) -> tuple[ConsoleChannel, list[str]]:
    """A console channel on `conversation`; the lines it prints."""
    out: list[str] = []
    channel = ConsoleChannel(
        conversation, out.append, tz=TZ, file_dirs=file_dirs, phonebook=phonebook
    )
    return channel, out


def test_html_subset_becomes_readable_text() -> None:
    text = "⏰ <b>Báo cáo &amp; phụ lục</b> <i>ước</i> <code>/start ab</code> &lt;b&gt;"
    assert to_terminal_text(text) == "⏰ Báo cáo & phụ lục ước /start ab <b>"
    bold = to_terminal_text("<b>2.1</b> xong", ansi=True)
    assert bold == "\x1b[1m2.1\x1b[0m xong"


async def test_choices_are_numbered_and_a_number_taps_one() -> None:
    recorder = Recorder([Reply("📌 <b>2.1</b>", STATUS_CHOICES)], [Reply("✅ Đã ghi nhận")])
    channel, out = console(recorder)

    await channel.say("hoa", "/status 2.1")
    assert out == [
        "  📌 2.1",
        "  [1] Hoàn thành  [2] Đang thực hiện",
        "  [3] Vướng mắc  [4] Gửi báo cáo",
    ]
    await channel.say("hoa", "3")

    assert [event for _, event in recorder.events] == [
        CommandSent("status", "2.1"),
        ChoiceTapped("st:7:b"),
    ]
    sender = recorder.events[0][0]
    assert (sender.channel, sender.external_id) == (Channel.CONSOLE, "hoa")


async def test_a_number_out_of_range_is_refused_and_without_choices_is_text() -> None:
    recorder = Recorder([Reply("prompt", STATUS_CHOICES)], [Reply("lý do?")])
    channel, out = console(recorder)
    await channel.say("hoa", "/status 2.1")

    await channel.say("hoa", "9")
    assert out[-1] == said("demo.console.no_choice", count=4)
    assert len(recorder.events) == 1

    await channel.say("hoa", "3")  # "Vướng mắc": the bot asks for a reason, no choices
    await channel.say("hoa", "2")  # so a number is just text now
    assert recorder.events[-1][1] == TextSent("2")


async def test_choices_belong_to_their_own_chat() -> None:
    recorder = Recorder([Reply("prompt", STATUS_CHOICES)])
    channel, _ = console(recorder)
    await channel.say("hoa", "/status 2.1")

    await channel.say("thu", "1")

    assert recorder.events[-1][1] == TextSent("1")


async def test_commands_and_plain_text() -> None:
    recorder = Recorder()
    channel, _ = console(recorder)

    await channel.say("hoa", "/Status@nhacviec_bot   2.4 ")
    await channel.say("hoa", "  xin chào  ")

    assert [event for _, event in recorder.events] == [
        CommandSent("status", "2.4"),
        TextSent("xin chào"),
    ]


async def test_send_makes_one_album_of_the_files(tmp_path: Path) -> None:
    (tmp_path / "bao cao.pdf").write_bytes(b"%PDF-1.4 quy I")
    (tmp_path / "phu-luc.xlsx").write_bytes(b"PK\x03\x04")
    recorder = Recorder()
    channel, _ = console(recorder, file_dirs=[tmp_path])

    await channel.say("hoa", f'/send "{tmp_path / "bao cao.pdf"}" phu-luc.xlsx')

    event = recorder.events[0][1]
    assert isinstance(event, FilesSent)
    assert [(f.name, f.size) for f in event.files] == [("bao cao.pdf", 14), ("phu-luc.xlsx", 4)]
    assert event.files[0].mime_type == "application/pdf"
    assert await event.files[1].fetch() == b"PK\x03\x04"


async def test_send_refuses_politely_and_sends_nothing(tmp_path: Path) -> None:
    recorder = Recorder()
    channel, out = console(recorder)

    await channel.say("hoa", "/send")
    await channel.say("hoa", "/send khong-co.pdf")
    await channel.say("hoa", '/send "mở ngoặc')
    await channel.say("hoa", f"/send {tmp_path}")  # a folder is not a file

    assert recorder.events == []
    assert out == [
        said("demo.console.send_usage"),
        said("demo.console.no_file", name="khong-co.pdf"),
        said("demo.console.send_usage"),
        said("demo.console.no_file", name=str(tmp_path)),
    ]


async def test_edits_files_and_notices() -> None:
    recorder = Recorder(
        [Reply("✅ Đã ghi nhận", edit=True), Reply("tệp", files=[OutgoingFile("a.pdf", "/x/a")])],
        [Reply("", notice="Đã ghi nhận: Hoàn thành")],
    )
    channel, out = console(recorder)

    await channel.say("thu", "/get 1")
    await channel.say("thu", "/x")

    assert out == [
        said("demo.console.edited"),
        "  ✅ Đã ghi nhận",
        "",
        "  tệp",
        said("demo.console.file", name="a.pdf", path="/x/a"),
        "  Đã ghi nhận: Hoàn thành",
    ]


async def test_pushed_messages_the_chat_on_screen_first_and_others_in_one_line() -> None:
    async def names(chat_ids: Collection[str]) -> Mapping[str, str]:
        known = {"nhut": "Trần Văn Nhứt", "hoa": "Nguyễn Thị Hoa"}
        return {c: known[c] for c in ("nhut", "hoa") if c in chat_ids}

    channel, out = console(Recorder(), phonebook=names)
    channel.focus = "hoa"
    reminder = Reply("⏰ Nhắc hạn: <b>Quý I</b>\nHạn: 10/03/2024", [[Choice("Gửi", "ob:1")]])
    channel.deliver("nhut", reminder, AT)
    channel.deliver("hoa", reminder, AT)

    assert await channel.flush() == 2
    assert out == [
        phone("Nguyễn Thị Hoa"),
        "  │ ⏰ Nhắc hạn: Quý I",
        "  │ Hạn: 10/03/2024",
        "  │ [1] Gửi",
        said(
            "demo.console.brief",
            name="Trần Văn Nhứt",
            time="07/03/2024 08:00",
            text="⏰ Nhắc hạn: Quý I …",
        ),
    ]
    assert await channel.flush() == 0


async def test_picking_up_a_phone_shows_its_newest_messages_and_their_choices() -> None:
    recorder = Recorder()
    channel, out = console(recorder)
    channel.focus = "hoa"
    for day in range(1, 6):
        message = Reply(f"nhắc {day}", [[Choice("Gửi", f"ob:{day}")]])
        channel.deliver("thu", message, AT.replace(day=day))
    await channel.flush()
    out.clear()

    await channel.pick_up("thu")

    assert out[0] == said("demo.console.older", count=2)
    assert [line for line in out if "nhắc" in line] == ["  │ nhắc 3", "  │ nhắc 4", "  │ nhắc 5"]
    assert "  │ [3] Gửi" in out
    await channel.say("thu", "3")
    assert recorder.events[-1][1] == ChoiceTapped("ob:5")


async def test_the_transport_brings_swept_reminders_to_the_console(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    clock = FixedClock(datetime(2024, 3, 7, 7, 59, tzinfo=TZ))
    store = FileStore(tmp_path)
    officials = await load_example(sessionmaker, clock, store)
    async with sessionmaker() as session:
        for key, official in officials.items():
            session.add(
                ChannelIdentity(
                    official_id=official.id,
                    channel=Channel.CONSOLE,
                    external_id=key,
                    bound_at=clock.now(),
                    reachable=True,
                )
            )
        await session.commit()
    await ReminderSweeper(sessionmaker, clock).sweep()
    channel, out = console(Recorder(), phonebook=database_phonebook(sessionmaker))
    channel.focus = "hoa"
    transport = ConsoleTransport(channel, clock)
    render = OutboxRenderer(sessionmaker, store)
    dispatcher = Dispatcher(sessionmaker, [transport], render, clock=clock)
    clock.set(AT)
    await ReminderSweeper(sessionmaker, clock).sweep()
    report = await dispatcher.drain()

    assert report.sent == await channel.flush() == 9  # Hồng is on leave
    reminder = to_terminal_text(
        vi(
            "remind.before",
            title="Báo cáo CCHC Quý I năm 2024",
            due="10/03/2024",
            when=days_left(3),
        )
    ).splitlines()
    assert out[: 1 + len(reminder)] == [phone("Nguyễn Thị Hoa")] + [
        f"  │ {line}" for line in reminder
    ]
    brief = said(
        "demo.console.brief",
        name="Trần Văn Nhứt",
        time="07/03/2024 08:00",
        text=f"{reminder[0]} …",
    )
    assert brief in out
    assert not any("Lê Thị Hồng" in line for line in out)
