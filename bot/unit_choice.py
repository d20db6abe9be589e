"""Which unit a command-line command is about (`--unit CODE`), or why none can be chosen."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.command_error import CommandError
from db.models import Unit
from db.units import UnitAmbiguous, UnitNotFound, find_unit
from handlers.catalog import t

# The clerk's console speaks Vietnamese, like every command's own messages.
LANGUAGE = "vi"


async def chosen_unit(session: AsyncSession, unit_code: str | None) -> Unit:
    """The unit named by `--unit`, or the only one; a `CommandError` that says why not."""
    try:
        return await find_unit(session, unit_code)
    except UnitAmbiguous as exc:
        units = ", ".join(exc.known)
        raise CommandError(t("cli.unit.which", LANGUAGE, units=units)) from None
    except UnitNotFound as exc:
        if exc.code is None:
            raise CommandError(t("cli.unit.none", LANGUAGE)) from None
        units = ", ".join(exc.known)
        raise CommandError(t("cli.unit.unknown", LANGUAGE, code=exc.code, units=units)) from None
