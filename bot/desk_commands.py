"""`overdue`, `summary` and `export`: the clerk's desk on the command line, any day with --at."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot import wiring
from bot.command_error import CommandError
from bot.settings import Settings
from bot.unit_choice import chosen_unit
from db.clock import Clock
from handlers.catalog import t
from handlers.clerk.context import Desk, DeskInputError
from handlers.clerk.export import export_to
from handlers.clerk.matrix import summary_text
from handlers.clerk.overdue import overdue_text

# The clerk's console speaks Vietnamese, like the other commands.
LANGUAGE = "vi"
T = TypeVar("T")
_TAGS = re.compile(r"</?(?:b|i|u|s|code|pre)>")


def plain(text: str) -> str:
    """A reply's HTML subset as terminal text: tags dropped, entities decoded."""
    return html.unescape(_TAGS.sub("", text))


async def overdue(settings: Settings, query: str, unit_code: str | None, clock: Clock) -> str:
    """What is overdue at the clock's time, for a code, a department or everything."""
    async with _desk(settings, unit_code, clock) as desk:
        return plain(await _answer(overdue_text(desk, query)))


async def summary(settings: Settings, query: str, unit_code: str | None, clock: Clock) -> str:
    """The matrix of one report or task at the clock's time."""
    async with _desk(settings, unit_code, clock) as desk:
        return plain(await _answer(summary_text(desk, query)))


async def export(
    settings: Settings, query: str, out: Path, unit_code: str | None, clock: Clock
) -> str:
    """Write the Excel workbook of a report or a year to `out`."""
    async with _desk(settings, unit_code, clock) as desk:
        count = await _answer(export_to(desk, query, out))
    return t("clerk.cli.exported", LANGUAGE, file=str(out), count=count)


async def _answer(pending: Awaitable[T]) -> T:
    try:
        return await pending
    except DeskInputError as exc:
        raise CommandError(plain(exc.text)) from None


@asynccontextmanager
async def _desk(settings: Settings, unit_code: str | None, clock: Clock) -> AsyncIterator[Desk]:
    async with wiring.database(settings) as sessionmaker, sessionmaker() as session:
        unit = await chosen_unit(session, unit_code)
        yield Desk(session, unit.id, ZoneInfo(unit.timezone), clock.now(), LANGUAGE)
