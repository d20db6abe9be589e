"""`python -m bot demo`: the product in a terminal, with no token, no phone and no network.

The demo keeps a SQLite database of its own in a folder (`.demo/` by default), loads the
bundled Ba Bích plan into it and gives every official a console chat, their "phone". The
newcomer then speaks as anyone (`/as Hoa`), on a simulated clock (`/time`, `/tick`): the
real sweep and the real dispatcher run at each step, so reminders land on the phones as
they would on Telegram. Everything else typed goes to the same `Conversation` as Telegram's.

A second run on the same folder continues where the first stopped: same database (the plan
load is idempotent, chats are bound once), same simulated time and speaker (`demo.json`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import logging
import os
import queue
import re
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import wiring
from bot.command_error import CommandError
from bot.console_channel import ConsoleChannel, database_phonebook, to_terminal_text
from bot.console_transport import ConsoleTransport
from bot.settings import Settings
from db.clock import FixedClock, format_datetime, parse_local_datetime
from db.files import FileStore
from db.migrate import upgrade
from db.models import (
    Channel,
    ChannelIdentity,
    Obligation,
    Official,
    SweepMark,
    Task,
    Unit,
)
from db.names import find_officials, fold_name
from db.plan import Plan, PlanError, load_plan, read_plan
from handlers.catalog import DEFAULT_LANGUAGE, t
from scheduler.dispatch import Dispatcher
from scheduler.policy import window_may_hold_slots
from scheduler.service import ReminderSweeper, outbox_renderer
from scheduler.sweep import CATCH_UP_AFTER, policy_config

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_PLAN = REPO_ROOT / "examples" / "ba-bich-2024.yaml"
# Played by `--tour` on a fresh demo, so `make run` alone shows the whole story once.
TOUR_SCRIPT = REPO_ROOT / "examples" / "demo-script.txt"
SAMPLE_FILE = REPO_ROOT / "examples" / "templates" / "cchc" / "phu-luc.xlsx"
DEFAULT_DIR = Path(".demo")
DATABASE_FILE = "nhacviec.db"
STATE_FILE = "demo.json"
# 07:55 on Friday 01/03/2024: five minutes before the first reminders of the Quý I report.
DEFAULT_START = (2024, 3, 1, 7, 55)
# A sweep over more than CATCH_UP_AFTER coalesces its reminders (one per person and subject,
# as after downtime). Steps no longer than that deliver each reminder at its own slot.
STEP = min(timedelta(minutes=15), CATCH_UP_AFTER)
MAX_TICK = timedelta(days=31)
# In a line, stands for the last registration code the bot showed (scripts cannot know it).
CODE_TOKEN = "$CODE"
# `/as` with one of these (accents and case ignored) speaks from a chat nobody registered yet.
STRANGER_WORDS = frozenset({"stranger", "guest", "nguoi la", "khach", "nguoi moi"})
QUIT_COMMANDS = frozenset({"quit", "exit", "thoat"})
PLAN_COMMANDS = frozenset({"plan", "kehoach"})

_SPAN_PART = re.compile(r"(\d+)\s*([dhm])", re.IGNORECASE)
_SPAN = re.compile(r"(?:\d+\s*[dhm]\s*)+", re.IGNORECASE)
_MINUTES = {"d": 24 * 60, "h": 60, "m": 1}
_START_CODE = re.compile(r"/start\s+([A-Za-z0-9_-]{8,64})")

Write = Callable[[str], None]
ReadLine = Callable[[str], Awaitable[str | None]]


@dataclass
class DemoState:
    """What a demo folder remembers between runs besides its database."""

    clock: datetime
    chat: str
    lang: str
    strangers: int = 0

    @classmethod
    def read(cls, path: Path) -> DemoState | None:
        """The saved state, or None when there is none (or it cannot be read)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            clock = datetime.fromisoformat(data["clock"])
            if clock.tzinfo is None:
                return None
            lang = data.get("lang", DEFAULT_LANGUAGE)
            return cls(
                clock.astimezone(UTC),
                str(data["chat"]),
                lang if lang in ("vi", "en") else DEFAULT_LANGUAGE,
                int(data.get("strangers", 0)),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, path: Path) -> None:
        """Save the state; written aside and renamed so a crash never leaves half a file."""
        data = {
            "clock": self.clock.isoformat(),
            "chat": self.chat,
            "lang": self.lang,
            "strangers": self.strangers,
        }
        spare = path.with_suffix(".tmp")
        spare.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        spare.replace(path)


def parse_span(text: str) -> timedelta | None:
    """ "1d", "2h", "30m", "1d 2h": the time a /tick lets pass; None when not understood."""
    cleaned = text.strip()
    if not _SPAN.fullmatch(cleaned):
        return None
    minutes = sum(int(n) * _MINUTES[unit.lower()] for n, unit in _SPAN_PART.findall(cleaned))
    if minutes <= 0:
        return None
    # A huge number would overflow timedelta: anything beyond the limit is just "too long".
    return timedelta(minutes=min(minutes, int(MAX_TICK / timedelta(minutes=1)) + 1))


def next_step(at: datetime) -> datetime:
    """The next quarter-hour boundary after `at`: slots at 08:00 are swept at 08:00 sharp."""
    step_minutes = int(STEP / timedelta(minutes=1))
    floor = at.replace(second=0, microsecond=0) - timedelta(minutes=at.minute % step_minutes)
    return floor + STEP


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
        channel: ConsoleChannel,
        dispatcher: Dispatcher,
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

    @property
    def lang(self) -> str:
        return self.state.lang

    # --- the first screen -------------------------------------------------------------

    async def welcome(self) -> None:
        """Say what the demo is, where its data is, and three things to try."""
        unit = self.unit_id
        async with self.sessionmaker() as session:
            officials = await session.scalar(
                select(func.count(Official.id)).where(
                    Official.unit_id == unit, Official.active.is_(True)
                )
            )
            tasks = await session.scalar(
                select(func.count(Task.id)).where(Task.unit_id == unit, Task.active.is_(True))
            )
            reports = await session.scalar(
                select(func.count(Obligation.id)).where(
                    Obligation.unit_id == unit, Obligation.active.is_(True)
                )
            )
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
                officials=officials,
                tasks=tasks,
                reports=reports,
            ),
            t(key, lang, time=self._now(), name=full, position=position),
            t("demo.welcome.try", lang),
            t("demo.welcome.try1", lang, short=short),
            t("demo.welcome.try2", lang, file=_shown(SAMPLE_FILE)),
            t("demo.welcome.try3", lang),
            t("demo.welcome.more", lang),
        ]
        for line in lines:
            self.write(line)
        await self.channel.pick_up(self.state.chat)

    async def prompt(self) -> str:
        """`[Hoa 01/03/2024 07:55] > `: who speaks, and when."""
        _, short, _ = await self._speaker()
        return f"[{short} {self._now()}] > "

    # --- the loop ---------------------------------------------------------------------

    async def run(self, next_line: ReadLine, *, echo: bool) -> None:
        """Answer lines until /quit or the end of input; `echo` prints each after its prompt."""
        while True:
            prompt = await self.prompt()
            line = await next_line(prompt)
            if line is None:
                if not echo:
                    self.write("")
                self.write(t("demo.bye", self.lang, dir=_shown(self.directory)))
                return
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
                await self._plan()
            else:
                await self._converse(text)
        except Exception:
            # The person sees one polite line; the detail goes to the log.
            log.exception("the demo could not answer %r", text)
            self._say(t("demo.error", self.lang))
        finally:
            self._save()
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
            # An invitation shows `/start <code>`: remember it for a script's `$CODE`.
            found = _START_CODE.search(to_terminal_text(reply.text))
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

    def _refuse_name(self, query: str, candidates: Sequence[Official]) -> None:
        if not candidates:
            self._say(t("demo.as.not_found", self.lang, name=query))
            return
        lines = [t("demo.as.ambiguous", self.lang, name=query)]
        lines += [_person_line(self.lang, o) for o in candidates]
        self._say("\n".join(lines))

    async def _list_people(self) -> None:
        async with self.sessionmaker() as session:
            people = list(
                await session.scalars(
                    select(Official)
                    .where(Official.unit_id == self.unit_id, Official.active.is_(True))
                    .order_by(Official.id)
                )
            )
        lines = [t("demo.as.usage", self.lang)]
        lines += [_person_line(self.lang, o) for o in people]
        lines.append(t("demo.as.stranger_hint", self.lang))
        self._say("\n".join(lines))

    async def _chat_of(self, session: AsyncSession, official: Official) -> str:
        """The official's demo phone: the chat named by their key, else their newest one."""
        chats = list(
            await session.scalars(
                select(ChannelIdentity)
                .where(
                    ChannelIdentity.official_id == official.id,
                    ChannelIdentity.channel == Channel.CONSOLE,
                )
                .order_by(ChannelIdentity.bound_at.desc(), ChannelIdentity.id.desc())
            )
        )
        own = next((c for c in chats if c.external_id == official.key), None)
        if own is not None:
            return own.external_id
        if chats:
            return chats[0].external_id
        # An official added to the plan after the demo bound its chats.
        await _bind(session, official, self.clock.now())
        await session.commit()
        return official.key

    async def _new_stranger(self) -> str:
        number = self.state.strangers
        async with self.sessionmaker() as session:
            while True:
                number += 1
                chat = f"stranger-{number}"
                taken = await session.scalar(
                    select(ChannelIdentity.id).where(
                        ChannelIdentity.channel == Channel.CONSOLE,
                        ChannelIdentity.external_id == chat,
                    )
                )
                if taken is None:
                    break
        self.state.strangers = number
        return chat

    async def _speaker(self) -> tuple[str, str, str]:
        """The current speaker's full name, short name and position."""
        chat = self.state.chat
        async with self.sessionmaker() as session:
            official = await session.scalar(
                select(Official)
                .join(ChannelIdentity, ChannelIdentity.official_id == Official.id)
                .where(
                    ChannelIdentity.channel == Channel.CONSOLE,
                    ChannelIdentity.external_id == chat,
                )
            )
        if official is not None:
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
            await _set_sweep_marks(session, at)
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

    async def _plan(self) -> None:
        from bot.plan_commands import show_plan

        year = self.clock.now().astimezone(self.tz).year
        self._say(await show_plan(self.settings, year, self.clock))

    def _now(self) -> str:
        return format_datetime(self.clock.now(), self.tz)

    def _say(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.write(f"  {line}".rstrip())

    def _save(self) -> None:
        self.state.clock = self.clock.now()
        try:
            self.state.write(self.directory / STATE_FILE)
        except OSError:
            log.warning("could not save the demo's state in %s", self.directory, exc_info=True)


@asynccontextmanager
async def open_demo(
    directory: Path,
    write: Write,
    *,
    lang: str | None = None,
    ansi: bool = False,
    file_dirs: Sequence[Path] = (),
) -> AsyncIterator[DemoSession]:
    """Create or reuse the demo in `directory` and yield a session ready for lines."""
    directory = _prepare(directory)
    state = DemoState.read(directory / STATE_FILE)
    resumed = state is not None
    language = lang or (state.lang if state else DEFAULT_LANGUAGE)
    url = URL.create("sqlite+aiosqlite", database=str(directory / DATABASE_FILE))
    settings = Settings(
        database_url=url.render_as_string(hide_password=False), data_dir=directory / "data"
    )
    await upgrade(settings.database_url)
    async with wiring.database(settings) as sessionmaker:
        first = datetime(*DEFAULT_START, tzinfo=settings.tz)
        clock = FixedClock(state.clock if state else first)
        store = FileStore(settings.data_dir)
        async with sessionmaker() as session:
            await load_plan(session, _bundled_plan(language), clock, store)
        async with sessionmaker() as session, session.begin():
            unit, speaker = await _set_up_people(session, clock.now())
            if await session.get(SweepMark, unit.id) is None:
                await _set_sweep_marks(session, clock.now())
        if state is None:
            state = DemoState(clock.now(), speaker, language)
        state.lang = language
        channel = ConsoleChannel(
            wiring.conversation(settings, sessionmaker, clock),
            write,
            tz=ZoneInfo(unit.timezone),
            language=language,
            ansi=ansi,
            file_dirs=file_dirs,
            phonebook=database_phonebook(sessionmaker),
        )
        channel.focus = state.chat
        dispatcher = Dispatcher(
            sessionmaker,
            [ConsoleTransport(channel, clock)],
            outbox_renderer(sessionmaker, store),
            clock=clock,
            worker_id="demo",
        )
        demo = DemoSession(
            directory=directory,
            settings=settings,
            sessionmaker=sessionmaker,
            clock=clock,
            channel=channel,
            dispatcher=dispatcher,
            sweeper=ReminderSweeper(sessionmaker, clock),
            state=state,
            unit=unit,
            resumed=resumed,
            write=write,
        )
        try:
            yield demo
        finally:
            demo._save()


async def run_demo(
    directory: Path = DEFAULT_DIR,
    script: Path | None = None,
    lang: str | None = None,
    *,
    tour: bool = False,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Run the demo: the lines of `script`, else of stdin; interactive when stdin is a terminal.

    With `tour`, a fresh demo first plays the bundled script (invitation, reminder, one-tap
    answer, submission, the clerk's overdue list); a resumed one goes straight on.
    """
    source = stdin or sys.stdin
    sink = stdout or sys.stdout

    def write(line: str) -> None:
        print(line, file=sink, flush=True)

    lines, file_dirs = _read_script(script, lang) if script is not None else (None, [])
    interactive = lines is None and source.isatty()
    ansi = interactive and sink.isatty() and "NO_COLOR" not in os.environ
    if tour:
        file_dirs = [*file_dirs, REPO_ROOT]  # the tour sends the bundled template files
    async with open_demo(directory, write, lang=lang, ansi=ansi, file_dirs=file_dirs) as demo:
        await demo.welcome()
        if tour and not demo.resumed:
            tour_lines, _ = _read_script(TOUR_SCRIPT, lang)
            await demo.run(_from_lines(tour_lines), echo=True)
        if lines is not None:
            await demo.run(_from_lines(lines), echo=True)
        elif interactive:
            with suppress(ImportError):
                importlib.import_module("readline")  # line editing and history for input()
            await demo.run(_ThreadReader(_keyboard), echo=False)
        else:
            await demo.run(_ThreadReader(lambda prompt: source.readline() or None), echo=True)
    return 0


class _ThreadReader:
    """Reads lines in a daemon thread, so that Ctrl-C never waits for a blocked read."""

    def __init__(self, read: Callable[[str], str | None]) -> None:
        self._read = read
        self._loop = asyncio.get_running_loop()
        self._requests: queue.Queue[tuple[str, asyncio.Future[str | None]]] = queue.Queue()
        threading.Thread(target=self._serve, name="demo-input", daemon=True).start()

    async def __call__(self, prompt: str) -> str | None:
        future: asyncio.Future[str | None] = self._loop.create_future()
        self._requests.put((prompt, future))
        return await future

    def _serve(self) -> None:
        while True:
            prompt, future = self._requests.get()
            try:
                line = self._read(prompt)
            except (OSError, ValueError, UnicodeDecodeError):
                line = None
            with suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting
                self._loop.call_soon_threadsafe(_settle, future, line)


def _settle(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)


def _keyboard(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


def _from_lines(lines: Sequence[str]) -> ReadLine:
    remaining: Iterator[str] = iter(lines)

    async def next_line(prompt: str) -> str | None:
        return next(remaining, None)

    return next_line


def _read_script(script: Path, lang: str | None) -> tuple[list[str], list[Path]]:
    """The script's lines, and its folder: `/send` also looks for files there."""
    try:
        lines = script.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(t("demo.no_script", lang, file=str(script))) from exc
    return lines, [script.resolve().parent]


def _prepare(directory: Path) -> Path:
    try:
        directory = directory.expanduser().resolve()
        (directory / "data").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(t("demo.no_dir", None, dir=str(directory))) from exc
    return directory


def _bundled_plan(language: str) -> Plan:
    try:
        plan = read_plan(BUNDLED_PLAN)
    except PlanError as exc:
        raise CommandError(str(exc)) from exc
    if all(o.language == language for o in plan.spec.officials):
        return plan
    # The demo speaks one language throughout: the bot's messages follow --lang too.
    officials = [o.model_copy(update={"language": language}) for o in plan.spec.officials]
    return dataclasses.replace(plan, spec=plan.spec.model_copy(update={"officials": officials}))


async def _set_up_people(session: AsyncSession, now: datetime) -> tuple[Unit, str]:
    """Bind a console chat to every official who has none; the unit and the first speaker."""
    unit = await session.scalar(select(Unit).order_by(Unit.id).limit(1))
    if unit is None:
        raise CommandError(t("demo.no_unit", None))
    people = list(
        await session.scalars(
            select(Official).where(Official.unit_id == unit.id).order_by(Official.id)
        )
    )
    bound = set(
        await session.scalars(
            select(ChannelIdentity.external_id).where(ChannelIdentity.channel == Channel.CONSOLE)
        )
    )
    for official in people:
        if official.key not in bound:
            await _bind(session, official, now)
    # Someone who gets reminders and is neither the clerk nor a leader: the usual newcomer.
    plain = [o for o in people if o.active and o.is_official and not (o.is_clerk or o.is_leader)]
    speaker = (plain or people)[0].key if people else ""
    return unit, speaker


async def _bind(session: AsyncSession, official: Official, now: datetime) -> None:
    session.add(
        ChannelIdentity(
            official_id=official.id,
            channel=Channel.CONSOLE,
            external_id=official.key,
            bound_at=now,
            reachable=True,
        )
    )
    await session.flush()


async def _set_sweep_marks(session: AsyncSession, at: datetime) -> None:
    for unit_id in list(await session.scalars(select(Unit.id))):
        mark = await session.get(SweepMark, unit_id)
        if mark is None:
            session.add(SweepMark(unit_id=unit_id, swept_until=at))
        else:
            mark.swept_until = at


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
