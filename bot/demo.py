"""`python -m bot demo`: the product in a terminal, with no token, no phone and no network.

The demo keeps a SQLite database of its own in a folder (`.demo/` by default), loads the
bundled Ba Bích plan into it and gives every official a console chat, their "phone". The
newcomer then speaks as anyone (`/as Hoa`), on a simulated clock (`/time`, `/tick`): the
real sweep and the real dispatcher run at each step, so reminders land on the phones as
they would on Telegram. Everything else typed goes to the same `Conversation` as Telegram's.
With `--zalo` (or `/zalo`) the phones behave as Zalo chats: numbered choices answered by
typing, and upload links for documents (printed; `python -m bot run` serves them for real).

A second run on the same folder continues where the first stopped: same database (the plan
load is idempotent, chats are bound once), same simulated time and speaker (`demo.json`).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.engine import URL

from bot import wiring
from bot.command_error import CommandError
from bot.console_channel import ConsoleChannel, database_phonebook, database_prompts
from bot.console_transport import ConsoleTransport
from bot.demo_input import ThreadReader, from_lines, keyboard, narrated, read_script
from bot.demo_seed import REPO_ROOT, TOUR_SCRIPT, ZALO_TOUR_SCRIPT, seed
from bot.demo_session import DemoSession, Write
from bot.demo_state import STATE_FILE, DemoState
from bot.settings import Settings
from db.clock import FixedClock
from db.files import FileStore
from db.migrate import upgrade
from handlers.catalog import DEFAULT_LANGUAGE, t
from handlers.reminder_messages import OutboxRenderer
from scheduler.dispatch import Dispatcher
from scheduler.service import ReminderSweeper

DEFAULT_DIR = Path(".demo")
DATABASE_FILE = "nhacviec.db"
# 07:55 on Friday 01/03/2024: five minutes before the first reminders of the Quý I report.
DEFAULT_START = (2024, 3, 1, 7, 55)


@asynccontextmanager
async def open_demo(
    directory: Path,
    write: Write,
    *,
    lang: str | None = None,
    ansi: bool = False,
    file_dirs: Sequence[Path] = (),
    zalo: bool | None = None,
) -> AsyncIterator[DemoSession]:
    """Create or reuse the demo in `directory` and yield a session ready for lines; `zalo`
    True or False sets the phones' way, None keeps the last run's."""
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
        unit, speaker = await seed(sessionmaker, clock, store, language)
        if state is None:
            state = DemoState(clock.now(), speaker, language)
        state.lang = language
        if zalo is not None:
            state.zalo = zalo
        # Upload links at the web app's address: on Zalo the demo prints them; it serves no page.
        conversation = wiring.conversation(settings, sessionmaker, clock, web=True)
        channel = ConsoleChannel(
            conversation,
            write,
            tz=ZoneInfo(unit.timezone),
            language=language,
            ansi=ansi,
            file_dirs=file_dirs,
            phonebook=database_phonebook(sessionmaker),
            prompts=database_prompts(sessionmaker, clock),
        )
        channel.focus = state.chat
        renderer = OutboxRenderer(sessionmaker, store)
        dispatcher = Dispatcher(
            sessionmaker,
            [ConsoleTransport(channel, clock)],
            renderer,
            bundle=renderer.bundle,
            clock=clock,
            worker_id="demo",
        )
        demo = DemoSession(
            directory=directory,
            settings=settings,
            sessionmaker=sessionmaker,
            clock=clock,
            conversation=conversation,
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
            demo.save()


async def run_demo(
    directory: Path = DEFAULT_DIR,
    script: Path | None = None,
    lang: str | None = None,
    *,
    tour: bool = False,
    zalo: bool | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Run the demo: the lines of `script`, else of stdin; interactive when stdin is a terminal.

    With `tour`, a fresh demo first plays the bundled script (invitation, reminder, one-tap
    answer, submission, the clerk's overdue list; on Zalo, typed answers and upload links); a
    resumed one goes straight on. `zalo` True makes the phones Zalo chats; None keeps the way
    of the last run.
    """
    source = stdin or sys.stdin
    sink = stdout or sys.stdout

    def write(line: str) -> None:
        print(line, file=sink, flush=True)

    lines, file_dirs = read_script(script, lang) if script is not None else (None, [])
    interactive = lines is None and source.isatty()
    ansi = interactive and sink.isatty() and "NO_COLOR" not in os.environ
    if tour:
        file_dirs = [*file_dirs, REPO_ROOT]  # the tour sends the bundled template files
    async with open_demo(
        directory, write, lang=lang, ansi=ansi, file_dirs=file_dirs, zalo=zalo
    ) as demo:
        await demo.welcome()
        toured = tour and not demo.resumed
        if toured:
            tour_lines, _ = read_script(ZALO_TOUR_SCRIPT if demo.zalo else TOUR_SCRIPT, lang)
            await demo.run(from_lines(narrated(tour_lines, demo.lang)), echo=True, last=False)
            # The tour hands the prompt over: the newcomer goes on from where it stopped.
            await demo.hand_over()
        if lines is not None:
            await demo.run(from_lines(narrated(lines, demo.lang)), echo=True)
        elif interactive:
            with suppress(ImportError):
                importlib.import_module("readline")  # line editing and history for input()
            await demo.run(ThreadReader(keyboard), echo=False)
        else:
            await demo.run(
                ThreadReader(lambda prompt: source.readline() or None),
                echo=True,
                handed_over=toured,
            )
    return 0


def _prepare(directory: Path) -> Path:
    try:
        directory = directory.expanduser().resolve()
        (directory / "data").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(t("demo.no_dir", None, dir=str(directory))) from exc
    return directory
