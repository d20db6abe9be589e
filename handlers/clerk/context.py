"""What every desk answer needs: the unit, the moment, the language, and the bot's tools."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import local_date
from db.files import FileStore
from db.models import Unit
from handlers.invitation import InviteLink, no_link
from handlers.turn import Turn


class DeskInputError(Exception):
    """The clerk asked for something that cannot be answered; `text` says why, politely."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True)
class Desk:
    """One look at the desk: a unit's data at a moment, answered in a language."""

    session: AsyncSession
    unit_id: int
    tz: ZoneInfo
    now: datetime
    lang: str

    @property
    def today(self) -> date:
        """The local calendar day of `now`."""
        return local_date(self.now, self.tz)

    async def unit(self) -> Unit:
        """The desk's unit (its percentages' decimals, its office's name)."""
        unit = await self.session.get(Unit, self.unit_id)
        assert unit is not None
        return unit


@dataclass(frozen=True)
class Tools:
    """What the conversation lends the desk: the file store, and how an invite code is used
    on each channel the bot runs (Telegram's link; Zalo's bot name, "" while unknown)."""

    store: FileStore
    invite_link: InviteLink = no_link
    telegram: bool = True
    zalo_bot: str | None = None

    @property
    def data_dir(self) -> Path:
        """DATA_DIR, the parent of the file store."""
        return self.store.root.parent


def desk_of(turn: Turn) -> Desk:
    """The desk as the speaking clerk or leader sees it."""
    return Desk(turn.session, turn.official.unit_id, turn.tz, turn.now, turn.lang)
