"""The console channel: lines typed in a terminal in, `handlers` replies out as plain text.

A real adapter beside the Telegram one, on the same `handlers.conversation.Conversation`.
One terminal holds many chats (the demo speaks as anyone), so every line says which chat it
comes from. Where Telegram has buttons, the console numbers the choices
(`[1] Hoàn thành  [2] Đang thực hiện …`) and a typed number taps one; where Telegram has
documents, `/send a.pdf b.xlsx` sends files from disk (several at once are one album).
Reply text is the small HTML subset of `handlers.types`: tags are dropped (bold kept as
terminal bold when colours are on) and entities unescaped.

In Zalo mode (`zalo`) the chats behave as Zalo chats do, and the conversation does the rest:
the sender carries `ZALO_TRAITS`, choices are numbered lines (`1. Hoàn thành`) recorded as the
chat's prompt once shown, typed text (a number too) goes as it is, and `/send` hands over
photos only: any other file arrives as `UnfetchableFile`, one message per file.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import re
import shlex
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.plain_text import to_terminal_text as to_terminal_text
from db import chat_prompts
from db.clock import Clock, format_datetime
from db.identities import names_of_chats
from db.models import Channel
from handlers.catalog import t
from handlers.numbered_choices import flat_choices as flat_choices
from handlers.numbered_choices import numbered_lines
from handlers.types import (
    TELEGRAM_TRAITS,
    ZALO_TRAITS,
    Choice,
    ChoiceTapped,
    CommandSent,
    Event,
    FilesSent,
    IncomingFile,
    OutgoingFile,
    Reply,
    Sender,
    TextSent,
    UnfetchableFile,
)

log = logging.getLogger(__name__)

INDENT = "  "
PHONE_BAR = "  │ "
# A chat picked up after a long absence shows its newest messages, not a whole day's backlog.
UNREAD_SHOWN = 3

_NUMBER = re.compile(r"\d{1,3}")
# What a Zalo chat hands the bot as a photo; any other file comes as "unsupported", unread.
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})


class Answerer(Protocol):
    """What the channel talks to: `handlers.conversation.Conversation` (or a test double)."""

    async def handle(self, sender: Sender, event: Event) -> list[Reply]:
        """The replies to one event from one chat."""
        ...


# Chat ids to the names shown on their "phone", in the order the chats are printed.
PhoneBook = Callable[[Collection[str]], Awaitable[Mapping[str, str]]]
# Records the choices just shown on a chat as its latest prompt (Zalo mode).
PromptBook = Callable[[str, Sequence[Choice]], Awaitable[None]]


def choice_lines(rows: Sequence[Sequence[Choice]], first: int = 1) -> list[str]:
    """One line per row of choices, numbered from `first`: `[1] Hoàn thành  [2] …`."""
    lines = []
    number = first
    for row in rows:
        cells = []
        for choice in row:
            cells.append(f"[{number}] {choice.label}")
            number += 1
        lines.append("  ".join(cells))
    return lines


def _local_file(path: Path, *, is_photo: bool = False) -> IncomingFile:
    async def fetch() -> bytes:
        return await asyncio.to_thread(path.read_bytes)

    mime_type, _ = mimetypes.guess_type(path.name)
    return IncomingFile(
        name=path.name,
        mime_type=mime_type or "application/octet-stream",
        size=path.stat().st_size,
        fetch=fetch,
        is_photo=is_photo,
    )


@dataclass
class _Pushed:
    """An outbox message that reached a chat and is waiting to be shown."""

    message: Reply
    at: datetime


@dataclass
class _Chat:
    choices: list[Choice] = field(default_factory=list)
    unread: list[_Pushed] = field(default_factory=list)


class ConsoleChannel:
    """Translates between lines of a terminal and the channel-agnostic conversation."""

    def __init__(
        self,
        conversation: Answerer,
        write: Callable[[str], None],
        *,
        tz: ZoneInfo,
        language: str = "vi",
        ansi: bool = False,
        file_dirs: Sequence[Path] = (),
        phonebook: PhoneBook | None = None,
        prompts: PromptBook | None = None,
        zalo: bool = False,
    ) -> None:
        self.conversation = conversation
        self.write = write
        self.tz = tz
        # The language of the channel's own lines (a file not found, a number out of range).
        self.language = language
        self.ansi = ansi
        # Where `/send` looks for a relative path after the working directory.
        self.file_dirs = list(file_dirs)
        self.phonebook = phonebook or _no_names
        self.prompts = prompts
        # Zalo mode: see the module's docstring; `switch` changes it.
        self.zalo = zalo
        # The chat on screen: its pushed messages are shown in full, others in one line.
        self.focus: str | None = None
        self._chats: dict[str, _Chat] = {}
        self._pushed: list[tuple[str, _Pushed]] = []

    # --- lines in ---------------------------------------------------------------------

    def switch(self, *, zalo: bool) -> None:
        """Make the chats Zalo chats (`zalo`) or Telegram-like ones from the next line on."""
        self.zalo = zalo
        # Numbers shown the other way answer nothing now: each way keeps its own.
        for chat in self._chats.values():
            chat.choices = []

    def sender(self, chat_id: str, display_name: str = "") -> Sender:
        """Who speaks from `chat_id`: a console chat, with Zalo's traits in Zalo mode."""
        traits = ZALO_TRAITS if self.zalo else TELEGRAM_TRAITS
        return Sender(Channel.CONSOLE, chat_id, display_name, self.language, traits)

    async def say(self, chat_id: str, line: str, display_name: str = "") -> list[Reply]:
        """Hand one typed line from `chat_id` to the conversation and print the replies."""
        parsed = self.parse(chat_id, line)
        if isinstance(parsed, str):
            self._print_lines([parsed])
            return []
        replies: list[Reply] = []
        for event in parsed:
            answer = await self.conversation.handle(self.sender(chat_id, display_name), event)
            self.show(chat_id, answer)
            await self.remember(chat_id, answer)
            replies += answer
        return replies

    def parse(self, chat_id: str, line: str) -> list[Event] | str:
        """The events a typed line stands for (on Zalo, one per file sent), or the polite line
        that explains why none."""
        text = line.strip()
        chat = self._chat(chat_id)
        if _NUMBER.fullmatch(text) and chat.choices and not self.zalo:
            number = int(text)
            if not 1 <= number <= len(chat.choices):
                return t("demo.console.no_choice", self.language, count=len(chat.choices))
            return [ChoiceTapped(chat.choices[number - 1].data)]
        if text.startswith("/") and len(text) > 1:
            head, _, args = text.partition(" ")
            name = head[1:].split("@", 1)[0].lower()
            if name == "send":
                return self._files(args)
            return [CommandSent(name, args.strip())]
        # On Zalo a number is text too: the conversation reads it against the chat's prompt.
        return [TextSent(text)]

    def _files(self, args: str) -> list[Event] | str:
        try:
            names = shlex.split(args)
        except ValueError:
            return t("demo.console.send_usage", self.language)
        if not names:
            return t("demo.console.send_usage", self.language)
        files: list[IncomingFile] = []
        events: list[Event] = []
        for name in names:
            path = self._find(name)
            if path is None:
                return t("demo.console.no_file", self.language, name=name)
            if self.zalo and path.suffix.lower() not in PHOTO_SUFFIXES:
                # Zalo hands a document to the bot as nothing but "something unsupported
                # arrived": no name, no bytes.
                events.append(UnfetchableFile())
                continue
            try:
                incoming = _local_file(path, is_photo=self.zalo)
            except OSError:
                return t("demo.console.no_file", self.language, name=name)
            # Zalo delivers each photo as a message of its own; Telegram sends one album.
            if self.zalo:
                events.append(FilesSent([incoming]))
            else:
                files.append(incoming)
        return events if self.zalo else [FilesSent(files)]

    def _find(self, name: str) -> Path | None:
        path = Path(name).expanduser()
        candidates = [path] if path.is_absolute() else [path, *(d / path for d in self.file_dirs)]
        return next((c for c in candidates if c.is_file()), None)

    # --- replies out ------------------------------------------------------------------

    def show(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Print the replies of one turn; their choices become what a typed number answers."""
        if self.zalo:
            self._show_zalo(replies)
            return
        lines: list[str] = []
        choices: list[Choice] = []
        for reply in replies:
            if lines:
                lines.append("")
            if reply.edit:
                # Telegram edits the message whose button was tapped; a terminal cannot.
                lines.append(t("demo.console.edited", self.language))
            lines += self._message_lines(reply.text, reply.choices, len(choices) + 1)
            lines += self._file_lines(reply.files)
            choices += flat_choices(reply.choices)
        if not lines:
            # A tap answered with a notice only (a toast on Telegram).
            lines = [to_terminal_text(r.notice, ansi=self.ansi) for r in replies if r.notice]
        self._chat(chat_id).choices = choices
        self._print_lines(lines)

    def _show_zalo(self, replies: Sequence[Reply]) -> None:
        lines: list[str] = []
        for reply in replies:
            body = self._zalo_lines(reply)
            if lines and body:
                lines.append("")
            lines += body
        self._print_lines(lines)

    async def remember(self, chat_id: str, messages: Sequence[Reply]) -> None:
        """In Zalo mode, record the choices of the messages that reached `chat_id` as its
        latest prompt, as the Zalo transport does once a message is sent."""
        if not self.zalo or self.prompts is None:
            return
        for message in messages:
            if not message.choices:
                continue
            try:
                await self.prompts(chat_id, flat_choices(message.choices))
            except Exception:
                # The message is shown; a number typed in answer is read against the
                # previous prompt, or asked again — as on Zalo.
                log.exception("could not record the choices shown on a console chat")

    def deliver(self, chat_id: str, message: Reply, at: datetime) -> None:
        """Take an outbox message for `chat_id`; it is printed by `flush`."""
        self._pushed.append((chat_id, _Pushed(message, at)))

    async def flush(self) -> int:
        """Print the messages delivered since the last flush, as the phones would show them.

        The chat on screen comes first, in full; every other chat gets one line per message
        and keeps the messages until it is picked up. Returns how many messages there were.
        """
        pushed, self._pushed = self._pushed, []
        if not pushed:
            return 0
        by_chat: dict[str, list[_Pushed]] = {}
        for chat_id, item in pushed:
            by_chat.setdefault(chat_id, []).append(item)
        names = await self.phonebook(by_chat)
        order = [c for c in names if c in by_chat] + sorted(c for c in by_chat if c not in names)
        if self.focus in by_chat:
            order.remove(self.focus)
            order.insert(0, self.focus)
        for chat_id in order:
            name = names.get(chat_id, chat_id)
            if chat_id == self.focus:
                self._print_phone(chat_id, name, by_chat[chat_id])
                continue
            self._chat(chat_id).unread += by_chat[chat_id]
            for item in by_chat[chat_id]:
                self._print_lines([self._brief(name, item)])
        return len(pushed)

    async def pick_up(self, chat_id: str) -> None:
        """Make `chat_id` the chat on screen and show what arrived on it meanwhile."""
        self.focus = chat_id
        chat = self._chat(chat_id)
        unread, chat.unread = chat.unread, []
        if not unread:
            return
        names = await self.phonebook([chat_id])
        name = names.get(chat_id, chat_id)
        older = len(unread) - UNREAD_SHOWN
        if older > 0:
            self._print_lines([t("demo.console.older", self.language, count=older)])
        self._print_phone(chat_id, name, unread[-UNREAD_SHOWN:])

    def _print_phone(self, chat_id: str, name: str, items: Sequence[_Pushed]) -> None:
        choices: list[Choice] = []
        for item in items:
            message = item.message
            header = t(
                "demo.console.phone",
                self.language,
                name=name,
                time=format_datetime(item.at, self.tz),
            )
            if self.zalo:
                body = self._zalo_lines(message)
            else:
                body = self._message_lines(message.text, message.choices, len(choices) + 1)
                body += self._file_lines(message.files)
                choices += flat_choices(message.choices)
            self.write(INDENT + header)
            for line in body:
                self.write((PHONE_BAR + line).rstrip())
        self._chat(chat_id).choices = choices

    def _brief(self, name: str, item: _Pushed) -> str:
        lines = to_terminal_text(item.message.text).splitlines() or [""]
        more = len(lines) > 1 or bool(item.message.choices) or bool(item.message.files)
        return t(
            "demo.console.brief",
            self.language,
            name=name,
            time=format_datetime(item.at, self.tz),
            text=lines[0] + (" …" if more else ""),
        )

    def _message_lines(
        self, text: str, choices: Sequence[Sequence[Choice]], first: int
    ) -> list[str]:
        lines = to_terminal_text(text, ansi=self.ansi).splitlines() if text else []
        return lines + choice_lines(choices, first)

    def _zalo_lines(self, message: Reply) -> list[str]:
        """A message as a Zalo chat shows it: never an edit, a notice only when there is no
        text, the choices numbered after a blank line (they are answered by number)."""
        text = message.text if message.text.strip() else (message.notice or "")
        lines = to_terminal_text(text, ansi=self.ansi).splitlines() if text else []
        numbered = numbered_lines(message.choices)
        if lines and numbered:
            lines.append("")
        return lines + numbered + self._file_lines(message.files)

    def _file_lines(self, files: Sequence[OutgoingFile]) -> list[str]:
        return [
            t("demo.console.file", self.language, name=f.name, path=_shown_path(f.path))
            for f in files
        ]

    def _print_lines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.write((INDENT + line).rstrip())

    def _chat(self, chat_id: str) -> _Chat:
        return self._chats.setdefault(chat_id, _Chat())


def _shown_path(path: str) -> str:
    # Relative to where the person is, when it is below it: shorter, and easy to open.
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


async def _no_names(chat_ids: Collection[str]) -> Mapping[str, str]:
    return {}


def database_phonebook(sessionmaker: async_sessionmaker[AsyncSession]) -> PhoneBook:
    """Names of console chats from their bound officials, in the plan's order of people."""

    async def names(chat_ids: Collection[str]) -> Mapping[str, str]:
        async with sessionmaker() as session:
            return await names_of_chats(session, Channel.CONSOLE, chat_ids)

    return names


def database_prompts(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> PromptBook:
    """Records a console chat's choices in `db.chat_prompts`, each in its own transaction."""

    async def remember(chat_id: str, choices: Sequence[Choice]) -> None:
        offered = [(choice.label, choice.data) for choice in choices]
        async with sessionmaker() as session, session.begin():
            await chat_prompts.remember(session, Channel.CONSOLE, chat_id, offered, clock.now())

    return remember
