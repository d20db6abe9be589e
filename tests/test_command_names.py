"""The commands' names: one table, Vietnamese everywhere, and forgiving input (issue 16)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import FixedClock
from db.models import Channel, StatusUpdate, TaskState
from handlers import command_names
from handlers.callbacks import status_data
from handlers.catalog import _messages, message_keys, placeholders, t
from handlers.command_names import COMMANDS, bare_command, edit_distance, resolve, suggestion
from handlers.conversation import Conversation
from handlers.types import ChoiceTapped, CommandSent, Sender, TextSent
from tests.factories import Commune
from tests.test_clerk_scenario import BaBich, desk, story
from tests.test_conversation import AN_CHAT, fetch_one, register
from tests.wording import days_left, due_part, en, vi

__all__ = ["desk", "story"]  # fixtures

ROOT = Path(__file__).resolve().parent.parent
# A command named in a message: "/tiepnhan 12", "Gõ /nhiemvu", "\n/xuat" (not a path or a URL).
_NAMED = re.compile(r"(?:(?<=\n)|(?<![\w/.:<]))/([a-z]+)\b")


# --- the table ------------------------------------------------------------------------------


def test_every_name_belongs_to_one_command_and_is_typeable() -> None:
    names = [name for command in COMMANDS for name in command.names]
    assert len(names) == len(set(names))
    # Telegram's commands are 1–32 lower-case letters, digits or underscores.
    assert all(re.fullmatch(r"[a-z0-9_]{1,32}", name) for name in names)


def test_the_vietnamese_names_and_their_aliases() -> None:
    expected = {
        "accept": "tiepnhan",
        "return": "tralai",
        "export": "xuat",
        "submissions": "danhsach",
        "get": "laytep",
        "invite": "moi",
        "cancel": "huy",
        "extend": "giahan",
    }
    for key, name in expected.items():
        assert command_names.shown(key, "vi") == name
        assert command_names.shown(key, "en") == key
        assert resolve(name) == resolve(key) == command_names.command(key)
    # Accents and capitals do not matter.
    assert resolve("NỘP") == resolve("nop") == command_names.command("report")
    assert resolve("nhiệmvụ") == command_names.command("tasks")


def test_the_menu_lists_what_every_official_uses_giahan_included() -> None:
    menu = [command.vi for command in command_names.menu()]
    assert menu == [
        "nhiemvu",
        "nop",
        "tiendo",
        "giahan",
        "nghiphep",
        "huongdan",
        "huy",
        "kenh",
        "ngonngu",
    ]
    for name in menu:
        assert t(f"menu.{name}", "vi") and t(f"menu.{name}", "en")


def test_the_telegram_menu_comes_from_the_table() -> None:
    from bot.telegram_channel import MENU_COMMANDS

    assert [command.vi for command in command_names.menu()] == list(MENU_COMMANDS)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_message_names_commands_in_its_own_language(lang: str) -> None:
    """Help, usage lines and footers: /tiepnhan in Vietnamese, /accept in English."""
    wrong = []
    for key in sorted(message_keys(lang)):
        template = _messages(lang)[key]
        text = t(key, lang, **{name: "1" for name in placeholders(template)})
        for typed in _NAMED.findall(text):
            command = resolve(typed)
            if command is not None and typed != command.shown(lang):
                wrong.append(f"{key}: /{typed} (say /{command.shown(lang)})")
    assert wrong == []


def test_help_and_footers_use_the_vietnamese_names() -> None:
    desk_help = vi("clerk.help.desk")
    for name in ("tiepnhan", "tralai", "xuat", "danhsach", "laytep", "moi"):
        assert f"/{name} " in desk_help
    for name in ("accept", "return", "export", "submissions", "get", "invite"):
        assert f"/{name} " not in desk_help
    assert vi("clerk.submissions.footer", id=12).count("/") == 3
    assert "/tiepnhan 12" in vi("clerk.submissions.footer", id=12)
    assert "/tiendo 2.4" in vi("help.body") and "/huy" in vi("help.body")
    assert "/accept 12" in en("clerk.submissions.footer", id=12)
    assert "/extend" in en("clerk.help.extension") and "/leave" in en("leave.help")


def test_the_readme_table_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {
        match.group(1): match.group(2)
        for match in re.finditer(r"^\| `/(\w+)` \| ([^|]*) \|", readme, re.MULTILINE)
    }
    for command in COMMANDS:
        if command.key == "start":
            continue
        assert command.vi in rows, command.vi
        aliases = set(re.findall(r"`/(\w+)`", rows[command.vi]))
        assert aliases == {command.key, *command.aliases}, command.vi


# --- forgiving input ------------------------------------------------------------------------


def test_typos_are_near_a_name_accents_ignored() -> None:
    assert edit_distance("nhiemuv", "nhiemvu") == 1  # two letters swapped
    assert suggestion("nhiemv", desk=False) == "nhiemvu"
    assert suggestion("nhiêmvụ", desk=False) == "nhiemvu"
    assert suggestion("tiepnahn", desk=True) == "tiepnhan"
    assert suggestion("tiepnahn", desk=False) is None  # not the desk: its names are not offered
    assert suggestion("xoa", desk=True) is None
    assert suggestion("hi", desk=True) is None  # two letters are near too much to guess


def test_a_command_word_without_its_slash() -> None:
    assert bare_command("nhiemvu") == (command_names.command("tasks"), "")
    assert bare_command(" Nộp ") == (command_names.command("report"), "")
    assert bare_command("/nộp") == (command_names.command("report"), "")
    assert bare_command("tiendo 2,4") == (command_names.command("status"), "2,4")
    # A sentence that happens to start with a command's word stays a sentence.
    assert bare_command("Mới nộp rồi") is None
    assert bare_command("Anh Nhứt ơi") is None
    assert bare_command("start ABC") is None


async def test_a_typo_gets_the_nearest_command(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    (reply,) = await conversation.handle(AN_CHAT, CommandSent("nhiemv"))
    assert reply.text == vi("commands.did_you_mean", name="nhiemv", suggestion="nhiemvu")
    assert "Có phải anh/chị muốn gõ /nhiemvu?" in reply.text
    (far,) = await conversation.handle(AN_CHAT, CommandSent("xoa"))
    assert far.text == vi("unknown.command", name="xoa")


async def test_the_desk_gets_its_own_commands_suggested(desk: Conversation, story: BaBich) -> None:
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("tiepnahn", "12"))
    assert reply.text == vi("commands.did_you_mean", name="tiepnahn", suggestion="tiepnhan")
    (usage,) = await desk.handle(story.chats["nhut"], CommandSent("danhsach"))
    assert usage.text == vi("clerk.submissions.usage")
    assert "/danhsach" in usage.text
    (english,) = await desk.handle(story.chats["nhut"], CommandSent("submissions"))
    assert english.text == usage.text


async def test_a_bare_word_is_the_command(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    (by_slash,) = await conversation.handle(AN_CHAT, CommandSent("nhiemvu"))
    (bare,) = await conversation.handle(AN_CHAT, TextSent("nhiemvu"))
    assert bare.text == by_slash.text
    (report,) = await conversation.handle(AN_CHAT, TextSent("nộp"))
    (report_slash,) = await conversation.handle(AN_CHAT, CommandSent("nop"))
    assert report.text == report_slash.text
    (prompt,) = await conversation.handle(AN_CHAT, TextSent("tiendo 2,4"))
    (prompt_slash,) = await conversation.handle(AN_CHAT, CommandSent("status", "2.4"))
    assert prompt.text == prompt_slash.text


async def test_a_reason_awaited_takes_the_word_first(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await conversation.handle(
        AN_CHAT, ChoiceTapped(status_data(commune.task_24.id, TaskState.BLOCKED))
    )
    (saved,) = await conversation.handle(AN_CHAT, TextSent("nhiemvu"))
    assert saved.text == vi("status.reason_saved", code="2.4")
    update = await fetch_one(session, select(StatusUpdate))
    assert update is not None and update.note == "nhiemvu"


async def test_a_zalo_typed_answer_takes_the_word_first(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    """On Zalo "huy" after a numbered prompt is still read against the prompt first; with
    nothing to answer it is the command."""
    zalo = Sender(Channel.ZALO, "z-1", "An")
    await register(conversation, session, commune.an, zalo)
    (cancelled,) = await conversation.handle(zalo, TextSent("huy"))
    assert cancelled.text == vi("cancel.nothing")


async def test_status_reads_a_decimal_comma(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    (dot,) = await conversation.handle(AN_CHAT, CommandSent("status", "2.4"))
    (comma,) = await conversation.handle(AN_CHAT, CommandSent("tiendo", "2,4"))
    assert comma.text == dot.text
    assert due_part("30/06/2024", days_left(114)) in comma.text


async def test_giahan_without_the_year_means_this_year(
    desk: Conversation, story: BaBich, clock: FixedClock
) -> None:
    (sent,) = await desk.handle(
        story.chats["lan"], CommandSent("giahan", "CCHC-Q1 20/03 Chờ số liệu")
    )
    assert sent.text == vi(
        "clerk.extension.sent",
        code="CCHC-Q1-2024",
        title="Báo cáo CCHC Quý I năm 2024",
        start="10/03/2024",
        end="20/03/2024",
        reason="Chờ số liệu",
    )
    # 01/03 of this year is past (today is 11/03/2024): next year or a slip? The year is asked.
    (which,) = await desk.handle(story.chats["son"], CommandSent("giahan", "CCHC-Q1 01/03 Ốm"))
    assert which.text == vi("clerk.extension.which_year", text="01/03", next_year="01/03/2025")


# --- English --------------------------------------------------------------------------------


def test_english_counts_one_day_and_two_days() -> None:
    assert en("when.left", days=1) == "1 day left"
    assert en("when.left", days=2) == "2 days left"
    assert en("when.late", days=1) == "1 day late"
    assert en("clerk.overdue.reminded", count=1) == "reminded 1 time"
    assert en("report.which", count=1).startswith("You sent 1 file.")
    assert en("demo.tick.done", time="x", span="1d", count=1).endswith("1 message was sent.")
    # Vietnamese has no plural: the same words for one and many.
    assert vi("when.left", days=1) == "còn 1 ngày"


async def test_english_mode_names_the_english_commands(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await conversation.handle(AN_CHAT, CommandSent("ngonngu", "en"))
    (help_text,) = await conversation.handle(AN_CHAT, CommandSent("huongdan"))
    for name in ("/tasks", "/report", "/status 2.4", "/cancel", "/channel", "/extend", "/leave"):
        assert name in help_text.text
    for name in ("/nhiemvu", "/nop ", "/kenh", "/giahan", "/nghiphep"):
        assert name not in help_text.text
    (typo,) = await conversation.handle(AN_CHAT, CommandSent("taks"))
    assert typo.text == en("commands.did_you_mean", name="taks", suggestion="tasks")
