"""`compile`: the commune's report compiled on the command line, as /baocao does in the chat."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from bot import wiring
from bot.command_error import CommandError
from bot.desk_commands import plain
from bot.settings import Settings
from bot.unit_choice import chosen_unit
from db.clock import Clock
from handlers.clerk.compile_command import CompiledFiles, compile_into, named_report
from handlers.clerk.context import Desk, DeskInputError

# The clerk's console speaks Vietnamese, like the other commands.
LANGUAGE = "vi"


async def compile_report(
    settings: Settings, query: str, out: Path, unit_code: str | None, clock: Clock
) -> CompiledFiles:
    """Write the appendix (.xlsx) and the draft (.docx) of a report into the folder `out`."""
    async with wiring.database(settings) as sessionmaker, sessionmaker() as session:
        unit = await chosen_unit(session, unit_code)
        desk = Desk(session, unit.id, ZoneInfo(unit.timezone), clock.now(), LANGUAGE)
        try:
            obligation = await named_report(desk, query)
            return await compile_into(desk, obligation, out)
        except DeskInputError as exc:
            raise CommandError(plain(exc.text)) from None
