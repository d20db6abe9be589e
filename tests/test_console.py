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
    database_prompts,
    to_terminal_text,
)
from bot.console_transport import ConsoleTransport
from db import chat_prompts
from db.clock import FixedClock
from db.files import FileStore
from db.models import Channel, ChannelIdentity
from handlers.reminder_messages import OutboxRenderer
from handlers.types import (
    TELEGRAM_TRAITS,
    ZALO_TRAITS,
    Choice,
    ChoiceTapped,
    CommandSent,
    Event,
    FilesSent,
    OutgoingFile,
    Reply,
    Sender,
    TextSent,
    UnfetchableFile,
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


class Prompts:
    """A prompt book double: the choices recorded per chat, in order; `fail` makes it raise."""

    def __init__(self, *, fail: bool = False) -> None:
        self.recorded: list[tuple[str, list[tuple[str, str]]]] = []
        self.fail = fail

    async def __call__(self, chat_id: str, choices: Sequence[Choice]) -> None:
        if self.fail:
            raise RuntimeError("the database is away")
        self.recorded.append((chat_id, [(c.label, c.data) for c in choices]))


def zalo_console(
    conversation: Recorder, file_dirs: Sequence[Path] = (), prompts: Prompts | None = None
) -> tuple[ConsoleChannel, list[str], Prompts]:
    """A console channel in Zalo mode; the lines it prints and the prompts it records."""
    out: list[str] = []
    book = prompts or Prompts()
    channel = ConsoleChannel(
        conversation, out.append, tz=TZ, file_dirs=file_dirs, prompts=book, zalo=True
    )
    return channel, out, book


ZALO_STATUS_LINES = ["  1. Hoàn thành", "  2. Đang thực hiện", "  3. Vướng mắc", "  4. Gửi báo cáo"]


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
    # The plan was loaded the day before the bot first swept: its assignment notices (due at
    # that day's 08:00) are before the first sweep's window, only the reminders come.
    clock = FixedClock(datetime(2024, 3, 6, 7, 59, tzinfo=TZ))
    store = FileStore(tmp_path)
    officials = await load_example(sessionmaker, clock, store)
    clock.set(datetime(2024, 3, 7, 7, 59, tzinfo=TZ))
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


# --- Zalo mode ------------------------------------------------------------------------------


async def test_on_zalo_choices_are_numbered_lines_recorded_once_shown() -> None:
    recorder = Recorder([Reply("📌 <b>2.1</b>", STATUS_CHOICES)], [Reply("không có lựa chọn")])
    channel, out, prompts = zalo_console(recorder)

    await channel.say("hoa", "/status 2.1")

    # Zalo's layout: the text, a blank line, one numbered line per choice.
    assert out == ["  📌 2.1", "", *ZALO_STATUS_LINES]
    assert prompts.recorded == [
        ("hoa", [(c.label, c.data) for row in STATUS_CHOICES for c in row]),
    ]
    sender = recorder.events[0][0]
    assert (sender.channel, sender.external_id, sender.traits) == (
        Channel.CONSOLE,
        "hoa",
        ZALO_TRAITS,
    )
    # A reply without choices leaves the chat's prompt as it was.
    await channel.say("hoa", "xin chào")
    assert len(prompts.recorded) == 1


async def test_on_zalo_typed_numbers_and_words_go_to_the_conversation_as_text() -> None:
    recorder = Recorder([Reply("prompt", STATUS_CHOICES)])
    channel, out, _ = zalo_console(recorder)
    await channel.say("hoa", "/status 2.1")

    await channel.say("hoa", "3")
    await channel.say("hoa", "9")  # out of range: the conversation says so, not the console
    await channel.say("hoa", "  hoàn thành ")

    assert [event for _, event in recorder.events[1:]] == [
        TextSent("3"),
        TextSent("9"),
        TextSent("hoàn thành"),
    ]
    assert said("demo.console.no_choice", count=4) not in out


async def test_on_zalo_a_reply_is_a_new_message_and_a_notice_is_its_text() -> None:
    recorder = Recorder(
        [Reply("✅ Đã ghi nhận", STATUS_CHOICES, edit=True)],
        [Reply("", notice="Đã ghi nhận: Hoàn thành")],
        [Reply("tệp", files=[OutgoingFile("a.pdf", "/x/a")]), Reply("", [[Choice("Gửi", "ob:1")]])],
    )
    channel, out, prompts = zalo_console(recorder)

    await channel.say("thu", "1")
    await channel.say("thu", "2")
    await channel.say("thu", "/get 1")

    assert out == [
        "  ✅ Đã ghi nhận",
        "",
        *ZALO_STATUS_LINES,
        "  Đã ghi nhận: Hoàn thành",
        "  tệp",
        said("demo.console.file", name="a.pdf", path="/x/a"),
        "",
        "  1. Gửi",
    ]
    assert said("demo.console.edited") not in out
    # Each message's choices are numbered from 1; the latest message's make the prompt.
    assert [choices for _, choices in prompts.recorded][-1] == [("Gửi", "ob:1")]


async def test_on_zalo_send_hands_over_photos_and_documents_arrive_unreadable(
    tmp_path: Path,
) -> None:
    (tmp_path / "bao-cao.docx").write_bytes(b"PK\x03\x04 word")
    (tmp_path / "anh 1.JPG").write_bytes(b"\xff\xd8\xff photo")
    (tmp_path / "anh2.png").write_bytes(b"\x89PNG")
    recorder = Recorder()
    channel, out, _ = zalo_console(recorder, file_dirs=[tmp_path])

    await channel.say("hoa", '/send bao-cao.docx "anh 1.JPG" anh2.png')

    events = [event for _, event in recorder.events]
    # One message per file, as Zalo delivers them; a document carries nothing to read.
    assert len(events) == 3
    assert events[0] == UnfetchableFile()
    photos = [event for event in events[1:] if isinstance(event, FilesSent)]
    assert [[(f.name, f.size, f.is_photo) for f in e.files] for e in photos] == [
        [("anh 1.JPG", 9, True)],
        [("anh2.png", 4, True)],
    ]
    assert await photos[0].files[0].fetch() == b"\xff\xd8\xff photo"
    assert out == ["  ok", "  ok", "  ok"]

    await channel.say("hoa", "/send khong-co.pdf")
    assert out[-1] == said("demo.console.no_file", name="khong-co.pdf")
    assert len(recorder.events) == 3


async def test_on_zalo_pushed_messages_are_numbered_and_recorded_when_delivered() -> None:
    clock = FixedClock(AT)
    channel, out, prompts = zalo_console(Recorder())
    channel.focus = "hoa"
    transport = ConsoleTransport(channel, clock)
    reminder = Reply("⏰ Nhắc hạn: <b>Quý I</b>", [[Choice("Gửi báo cáo", "ob:1")]])

    await transport.send("hoa", reminder)
    await transport.send("thu", reminder)

    # Recorded as the message reaches the phone, before the terminal prints it.
    assert prompts.recorded == [
        ("hoa", [("Gửi báo cáo", "ob:1")]),
        ("thu", [("Gửi báo cáo", "ob:1")]),
    ]
    assert await channel.flush() == 2
    assert out[:4] == [phone("hoa"), "  │ ⏰ Nhắc hạn: Quý I", "  │", "  │ 1. Gửi báo cáo"]
    out.clear()
    await channel.pick_up("thu")
    assert out == [phone("thu"), "  │ ⏰ Nhắc hạn: Quý I", "  │", "  │ 1. Gửi báo cáo"]


async def test_switching_ways_keeps_each_ways_numbers_apart() -> None:
    recorder = Recorder([Reply("zalo", STATUS_CHOICES)], [Reply("telegram", STATUS_CHOICES)])
    channel, out, prompts = zalo_console(recorder)
    await channel.say("hoa", "/status 2.1")

    channel.switch(zalo=False)
    await channel.say("hoa", "1")  # the Zalo prompt's number taps nothing on Telegram
    await channel.say("hoa", "4")

    assert [event for _, event in recorder.events[1:]] == [TextSent("1"), ChoiceTapped("st:7:r")]
    assert recorder.events[1][0].traits == TELEGRAM_TRAITS
    assert "  [1] Hoàn thành  [2] Đang thực hiện" in out
    assert len(prompts.recorded) == 1  # Telegram's buttons are not a typed prompt

    channel.switch(zalo=True)
    await channel.say("hoa", "1")
    assert recorder.events[-1][1] == TextSent("1")


async def test_a_prompt_that_cannot_be_recorded_still_shows_the_message() -> None:
    recorder = Recorder([Reply("prompt", STATUS_CHOICES)])
    channel, out, _ = zalo_console(recorder, prompts=Prompts(fail=True))

    await channel.say("hoa", "/status 2.1")

    assert out == ["  prompt", "", *ZALO_STATUS_LINES]


async def test_database_prompts_make_the_chats_latest_prompt(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock = FixedClock(AT)
    remember = database_prompts(sessionmaker, clock)

    await remember("hoa", [Choice("Hoàn thành", "st:7:d"), Choice("Đang thực hiện", "st:7:p")])
    clock.set(AT.replace(hour=9))
    await remember("hoa", [Choice("Gửi báo cáo", "ob:1")])

    async with sessionmaker() as session:
        prompt = await chat_prompts.latest(session, Channel.CONSOLE, "hoa")
        assert await chat_prompts.latest(session, Channel.ZALO, "hoa") is None
    assert prompt is not None
    assert prompt.choices == (("Gửi báo cáo", "ob:1"),)
    assert prompt.sent_at == AT.replace(hour=9)
    assert prompt.answered_at is None
