"""Inviting an official: one registration code, found, created and audited in one place.

The clerk's `/invite` in chat and `python -m bot invite` both call `invite_official`; each
shows the result in its own words. How a code is used on a channel (Telegram's deep link) is
the channel adapter's business: it lends an `InviteLink`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from db import audit
from db.invites import DEFAULT_TTL, create_invite
from db.models import Official
from db.names import find_officials

# A code as the invited person opens it on the channel; None when the channel has no link.
InviteLink = Callable[[str], str | None]


def no_link(code: str) -> str | None:
    """The `InviteLink` of a channel without links: the person types `/start <code>`."""
    return None


@dataclass(frozen=True)
class Invitation:
    """A fresh invite: for whom, its code, until when, and its link on the channel if any."""

    official: Official
    code: str
    expires_at: datetime
    link: str | None


class NoSingleOfficial(Exception):
    """The name matches no official (`candidates` empty) or several of them."""

    def __init__(self, name: str, candidates: Sequence[Official]) -> None:
        super().__init__(name)
        self.name = name
        self.candidates = list(candidates)


async def invite_official(
    session: AsyncSession,
    unit_id: int,
    name: str,
    now: datetime,
    *,
    actor: str,
    by: Official | None = None,
    ttl: timedelta = DEFAULT_TTL,
    link: InviteLink = no_link,
) -> Invitation:
    """Create and audit an invite for the unit's one active official called `name`.

    Raises `NoSingleOfficial` when the name does not pick one person; the caller commits.
    """
    match = await find_officials(session, unit_id, name)
    official = match.official
    if official is None:
        raise NoSingleOfficial(name, match.candidates)
    code = await create_invite(session, official, now, ttl=ttl)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="invite.create",
        unit_id=unit_id,
        official=by,
        target=f"official:{official.key}",
        details={"days": ttl.days},
    )
    return Invitation(official, code, now + ttl, link(code))
