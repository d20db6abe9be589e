"""One demo session: the lines a newcomer types, answered as the office would answer them.

`/as` chooses who speaks, `/time` and `/tick` move the simulated clock (the real sweep and the
real dispatcher run at each step), `/plan` prints the plan, `/zalo` and `/telegram` choose how
the phones behave; anything else goes to the same `Conversation` as Telegram's, through the
console channel.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.console_channel import ConsoleChannel, to_terminal_text
from bot.demo_clock import MAX_TICK, next_step, parse_span
from bot.demo_input import ReadLine
from bot.demo_seed import SAMPLE_FILE, bind_phone
from bot.demo_state import STATE_FILE, DemoState
from bot.settings import Settings
from db import identities, sweep_marks, units
from db.clock import FixedClock, format_datetime, parse_local_datetime
from db.models import Channel, Official, Unit
from db.names import find_officials, fold_name
from handlers.catalog import t
from handlers.conversation import Conversation
from handlers.types import Reply
from scheduler.dispatch import Dispatcher
from scheduler.next_slot import next_working_slot
from scheduler.policy import window_may_hold_slots
from scheduler.service import ReminderSweeper
from scheduler.sweep import policy_config

log = logging.getLogger(__name__)

# In a line, stands for the last registration code the bot showed (scripts cannot know it).
CODE_TOKEN = "$CODE"
# `/as` with one of these (accents and case ignored) speaks from a chat nobody registered yet.
STRANGER_WORDS = frozenset({"stranger", "guest", "nguoi la", "khach", "nguoi moi"})
QUIT_COMMANDS = frozenset({"quit", "exit", "thoat"})
PLAN_COMMANDS = frozenset({"plan", "kehoach"})

# The bundled plan's Quý I report is due 10/03/2024: from 08:00 on 11/03 it is overdue, and
# the hint to jump there gives way to the desk's views.
OVERDUE_HINT_AT = (2024, 3, 11, 7, 59)
# A reminder slot this close is reached with a short /tick; a farther one with /time.
NEAR_SLOT = timedelta(hours=2)

_START_CODE = re.compile(r"/start\s+([A-Za-z0-9_-]{8,64})")
# On Zalo the invitation shows the bare code, to be sent as a message (no /start there).
_BARE_CODE = re.compile(r"<code>([A-Za-z0-9_-]{16,64})</code>")

Write = Callable[[str], None]


def short_name(full_name: str) -> str:
    """How colleagues call each other: the given name, the last word ("Hoa", "Nhứt")."""
    words = full_name.split()
    return words[-1] if words else full_name


class DemoSession:
    """One demo: the console channel, the simulated clock, the sweep and the dispatcher."""

    def __init__(
        self,
        *,
        directory: Path,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        conversation: Conversation,
        channel: ConsoleChannel,
        dispatcher: Dispatcher[Reply],
        sweeper: ReminderSweeper,
        state: DemoState,
        unit: Unit,
        resumed: bool,
        write: Write,
    ) -> None:
        self.directory = directory
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.conversation = conversation
        self.channel = channel
        self.dispatcher = dispatcher
        self.sweeper = sweeper
        self.state = state
        self.unit_id = unit.id
        self.unit_name = unit.name
        self.tz = ZoneInfo(unit.timezone)
        self.policy = policy_config(unit)
        self.resumed = resumed
        self.write = write
        self.last_code: str | None = None
        self._undelivered = True
        # How /invite explains a code on the Telegram-like phones, kept for `/telegram`.
        self._invite_ways = (conversation.telegram, conversation.zalo_bot)
        self._use_zalo(state.zalo)

    @property
    def lang(self) -> str:
        return self.state.lang

    @property
    def zalo(self) -> bool:
        """Whether the phones are Zalo chats."""
        return self.state.zalo

    # --- the first screen -------------------------------------------------------------

    async def welcome(self) -> None:
        """Say what the demo is, where its data is, and three things to try."""
        async with self.sessionmaker() as session:
            size = await units.unit_size(session, self.unit_id)
        full, short, position = await self._speaker()
        lang = self.lang
        key = "demo.welcome.resumed" if self.resumed else "demo.welcome.clock"
        lines = [
            t("demo.welcome.title", lang),
            t(
                "demo.welcome.data",
                lang,
                dir=_shown(self.directory),
                unit=self.unit_name,
                officials=size.officials,
                tasks=size.tasks,
                reports=size.reports,
            ),
            t(key, lang, time=self._now(), name=full, position=position),
            *([t("demo.way.zalo", lang)] if self.zalo else []),
            *self._hints(short),
        ]
        for line in lines:
            self.write(line)
        await self.channel.pick_up(self.state.chat)

    async def hand_over(self) -> None:
        """After the tour: say it ended and what to try now, at the clock's time."""
        _, short, _ = await self._speaker()
        self.write("")
        self.write(t("demo.tour.handover", self.lang))
        for line in self._hints(short):
            self.write(line)

    def _hints(self, short: str) -> list[str]:
        """Three things to try that fit the clock: the next reminders, a one-tap answer, the
        desk (the overdue list once the bundled Quý I report is overdue)."""
        lang = self.lang
        now = self.clock.now()
        slot = next_working_slot(self.policy, now)
        if slot - now <= NEAR_SLOT:
            # A short /tick reaches the slot and a few minutes of delivery after it.
            minutes = math.ceil((slot - now) / timedelta(minutes=1)) + 5
            first = t(
                "demo.welcome.try1",
                lang,
                short=short,
                span=f"{minutes}m",
                slot=slot.astimezone(self.tz).strftime("%H:%M"),
            )
        else:
            first = t(
                "demo.welcome.try1_later",
                lang,
                short=short,
                before=format_datetime(slot - timedelta(minutes=1), self.tz),
                slot=format_datetime(slot, self.tz),
            )
        overdue = datetime(*OVERDUE_HINT_AT, tzinfo=self.tz)
        return [
            t("demo.welcome.try", lang),
            first,
            t("demo.welcome.try2", lang, file=_shown(SAMPLE_FILE)),
            t("demo.welcome.try3" if now < overdue else "demo.welcome.try3_later", lang),
            t("demo.welcome.more", lang),
        ]

    async def prompt(self) -> str:
        """`[Hoa 01/03/2024 07:55] > `: who speaks (on which app, when not Telegram's way), and
        when."""
        _, short, _ = await self._speaker()
        who = t("demo.prompt_zalo", self.lang, name=short) if self.zalo else short
        return f"[{who} {self._now()}] > "

    # --- the loop ---------------------------------------------------------------------

    async def run(
        self, next_line: ReadLine, *, echo: bool, last: bool = True, handed_over: bool = False
    ) -> None:
        """Answer lines until /quit or the end of input; `echo` prints each after its prompt.

        `last` False (the tour, before the newcomer's own lines) ends without the goodbye;
        so does `handed_over` (after the tour) when the input ends before any line: the
        hand-over already said how to go on."""
        read = 0
        while True:
            prompt = await self.prompt()
            line = await next_line(prompt)
            if line is None:
                if not last or (handed_over and read == 0):
                    return
                if not echo:
                    self.write("")
                self.write(t("demo.bye", self.lang, dir=_shown(self.directory)))
                return
            read += 1
            stripped = self._expand(line.strip())
            if echo:
                # A script's comments are its narration, printed as they are, and its blank
                # lines its paragraphs; "##" marks a note for the script's readers only.
                if not stripped.startswith("#"):
                    self.write(prompt + stripped if stripped else "")
                elif not stripped.startswith("##"):
                    self.write(line.rstrip())
                if not stripped or stripped.startswith("#"):
                    continue
            if not await self.handle(stripped):
                return

    async def handle(self, line: str) -> bool:
        """Answer one line; False when it asked to leave."""
        text = self._expand(line.strip())
        if not text or text.startswith("#"):
            return True
        head, _, args = text.partition(" ")
        name = head[1:].lower() if head.startswith("/") else ""
        try:
            if name in QUIT_COMMANDS:
                self.write(t("demo.bye", self.lang, dir=_shown(self.directory)))
                return False
            if name == "as":
                await self._as(args)
            elif name == "time":
                await self._time(args)
            elif name == "tick":
                await self._tick(args)
            elif name == "demo":
                self._say(t("demo.help", self.lang, dir=_shown(self.directory)))
            elif name in PLAN_COMMANDS:
                await self._plan(args.strip())
            elif name in ("zalo", "telegram") and not args.strip():
                self._use_zalo(name == "zalo")
                self._say(t("demo.way.zalo" if self.zalo else "demo.way.telegram", self.lang))
            else:
                await self._converse(text)
        except Exception:
            # The person sees one polite line; the detail goes to the log.
            log.exception("the demo could not answer %r", text)
            self._say(t("demo.error", self.lang))
        finally:
            self.save()
        return True

    def _expand(self, text: str) -> str:
        if CODE_TOKEN in text and self.last_code:
            return text.replace(CODE_TOKEN, self.last_code)
        return text

    # --- speaking as someone ----------------------------------------------------------

    async def _converse(self, text: str) -> None:
        _, short, _ = await self._speaker()
        replies = await self.channel.say(self.state.chat, text, short)
        for reply in replies:
            # An invitation shows `/start <code>` (on Zalo the bare code): remember it for a
            # script's `$CODE`.
            found = _START_CODE.search(to_terminal_text(reply.text)) or _BARE_CODE.search(
                reply.text
            )
            if found:
                self.last_code = found.group(1)
        # A clerk's nudge or notice goes through the outbox: deliver it now, as a bot would.
        await self._deliver()

    async def _as(self, args: str) -> None:
        query = " ".join(args.split())
        if not query:
            await self._list_people()
            return
        if fold_name(query) in STRANGER_WORDS:
            chat = await self._new_stranger()
        else:
            async with self.sessionmaker() as session:
                match = await find_officials(session, self.unit_id, query)
                official = match.official
                if official is None:
                    self._refuse_name(query, match.candidates)
                    return
                chat = await self._chat_of(session, official)
        self.state.chat = chat
        full, _, position = await self._speaker()
        self._say(t("demo.as.now", self.lang, name=full, position=position))
        await self.channel.pick_up(chat)

    def _use_zalo(self, zalo: bool) -> None:
        """Make the phones Zalo chats, or Telegram-like ones again; the clerk's /invite then
        explains the code the same way."""
        self.state.zalo = zalo
        self.channel.switch(zalo=zalo)
        telegram, zalo_bot = self._invite_ways
        if zalo:
            self.conversation.telegram = False
            self.conversation.zalo_bot = zalo_bot or ""
        else:
            self.conversation.telegram, self.conversation.zalo_bot = telegram, zalo_bot

    def _refuse_name(self, query: str, candidates: Sequence[Official]) -> None:
        if not candidates:
            self._say(t("demo.as.not_found", self.lang, name=query))
            return
        lines = [t("demo.as.ambiguous", self.lang, name=query)]
        lines += [_person_line(self.lang, o) for o in candidates]
        self._say("\n".join(lines))

    async def _list_people(self) -> None:
        async with self.sessionmaker() as session:
            people = await units.officials_of(session, self.unit_id, active_only=True)
        lines = [t("demo.as.usage", self.lang)]
        lines += [_person_line(self.lang, o) for o in people]
        lines.append(t("demo.as.stranger_hint", self.lang))
        self._say("\n".join(lines))

    async def _chat_of(self, session: AsyncSession, official: Official) -> str:
        """The official's demo phone: the chat named by their key, else their newest one."""
        chats = await identities.chats_of(session, official.id, Channel.CONSOLE)
        own = next((c for c in chats if c.external_id == official.key), None)
        if own is not None:
            return own.external_id
        if chats:
            return chats[0].external_id
        # An official added to the plan after the demo bound its chats.
        chat = await bind_phone(session, official, self.clock.now())
        await session.commit()
        return chat

    async def _new_stranger(self) -> str:
        number = self.state.strangers
        async with self.sessionmaker() as session:
            while True:
                number += 1
                chat = f"stranger-{number}"
                if await identities.identity_for(session, Channel.CONSOLE, chat) is None:
                    break
        self.state.strangers = number
        return chat

    async def _speaker(self) -> tuple[str, str, str]:
        """The current speaker's full name, short name and position."""
        chat = self.state.chat
        async with self.sessionmaker() as session:
            identity = await identities.identity_for(session, Channel.CONSOLE, chat)
        if identity is not None:
            official = identity.official
            return official.full_name, short_name(official.full_name), official.position
        number = chat.rpartition("-")[2]
        label = t("demo.stranger", self.lang, number=number)
        return label, label, t("demo.stranger_position", self.lang)

    # --- time -------------------------------------------------------------------------

    async def _time(self, args: str) -> None:
        text = args.strip()
        if not text:
            self._say(t("demo.time.now", self.lang, time=self._now()))
            return
        try:
            at = parse_local_datetime(text, self.tz)
            if not 2000 <= at.astimezone(self.tz).year <= 2100:
                raise ValueError("out of range")
        except (ValueError, OverflowError):
            self._say(t("demo.time.bad", self.lang, text=text))
            return
        self.clock.set(at)
        # A jump, not a passage of time: what falls in between is not sent (see /tick).
        async with self.sessionmaker() as session, session.begin():
            await sweep_marks.set_sweep_marks(session, at)
        self._say(t("demo.time.set", self.lang, time=self._now()))

    async def _tick(self, args: str) -> None:
        span = parse_span(args)
        if span is None:
            self._say(t("demo.tick.usage", self.lang))
            return
        if span > MAX_TICK:
            self._say(t("demo.tick.too_long", self.lang, days=MAX_TICK.days))
            return
        at = self.clock.now()
        end = at + span
        delivered = 0
        while at < end:
            start, at = at, min(next_step(at), end)
            # Quarters where no reminder can fall are swept in one go: with nothing in them,
            # a long window has nothing to coalesce. The walk stops before the next slot.
            while at < end and not window_may_hold_slots(self.policy, start, next_step(at)):
                at = min(next_step(at), end)
            self.clock.set(at)
            swept = await self.sweeper.sweep(at)
            # Most quarters of a day hold no reminder: the dispatcher is asked only when the
            # sweep queued something (or left something for later).
            if self._undelivered or any(report.enqueued for report in swept):
                delivered += await self._deliver()
        key = "demo.tick.done" if delivered else "demo.tick.quiet"
        self._say(t(key, self.lang, time=self._now(), span=args.strip(), count=delivered))

    async def _deliver(self) -> int:
        """Send what is due at the clock's time through the console transport; print it."""
        report = await self.dispatcher.drain(self.clock.now())
        self._undelivered = report.deferred + report.retrying + report.rate_limited > 0
        return await self.channel.flush()

    # --- the rest ---------------------------------------------------------------------

    async def _plan(self, file: str) -> None:
        """/kehoach: the plan of the year; /kehoach FILE.xlsx (or .yaml) loads that plan first,
        as `python -m bot plan import` does (examples/ke-hoach-mau.xlsx, the seed's)."""
        from bot.command_error import CommandError
        from bot.plan_commands import import_plan, show_plan

        if file:
            try:
                self._say(await import_plan(self.settings, Path(file), self.clock))
            except CommandError as exc:
                self._say(str(exc))
            return
        year = self.clock.now().astimezone(self.tz).year
        self._say(await show_plan(self.settings, year, self.clock))

    def _now(self) -> str:
        return format_datetime(self.clock.now(), self.tz)

    def _say(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.write(f"  {line}".rstrip())

    def save(self) -> None:
        """Remember the clock, the speaker and the language in the demo's folder."""
        self.state.clock = self.clock.now()
        try:
            self.state.write(self.directory / STATE_FILE)
        except OSError:
            log.warning("could not save the demo's state in %s", self.directory, exc_info=True)


def _person_line(lang: str, official: Official) -> str:
    return t(
        "demo.as.person",
        lang,
        name=official.full_name,
        position=official.position,
        short=short_name(official.full_name),
    )


def _shown(path: Path) -> str:
    # Relative to where the person is, when it is below it: what they would type.
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
