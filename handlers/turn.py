"""One turn of a conversation: who spoke, in which transaction, at what time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ChannelIdentity, Official
from handlers.types import Sender


@dataclass
class Turn:
    """Everything a flow needs to answer one event; `identity` is None for strangers."""

    session: AsyncSession
    sender: Sender
    now: datetime
    tz: ZoneInfo
    lang: str
    identity: ChannelIdentity | None

    @property
    def official(self) -> Official:
        """The registered official speaking; flows call this only after the router checked."""
        assert self.identity is not None
        return self.identity.official

    @property
    def actor(self) -> str:
        """How the audit log names whoever spoke."""
        return f"{self.sender.channel.value}:{self.sender.external_id}"
