"""One-time registration codes: the clerk hands one out, the official opens the deep link.

The plain code travels only to the official (in the channel's deep link); the database keeps
its sha256, so a copy of the database cannot be used to take over someone's registration.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from db.models import AuditEntry, Invite, Official

DEFAULT_TTL = timedelta(days=7)
# 16 random bytes give a 22-character code: short enough to type, far too many to guess.
CODE_BYTES = 16
MAX_CODE_LENGTH = 32
# token_urlsafe's alphabet, which is also everything a Telegram deep-link payload may contain.
_CODE_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_CODE_LENGTH}}}")
# Guessing codes: after this many wrong codes from one chat within the window, the chat's
# codes are refused untried until the oldest of them leaves the window. The count is the
# audit log's (shared by every process, kept across restarts): no table of its own.
MAX_WRONG_CODES = 5
WRONG_CODE_WINDOW = timedelta(minutes=10)
WRONG_CODE_ACTION = "invite.wrong_code"
LOCKED_OUT_ACTION = "invite.locked_out"


@dataclass(frozen=True)
class RedeemedInvite:
    """A successfully claimed invite: which one (to record the chat bound) and for whom."""

    invite_id: int
    official: Official


def hash_code(code: str) -> str:
    """The sha256 hex digest under which an invite code is stored."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def is_well_formed(code: str) -> bool:
    """Whether `code` could be one of our codes at all (alphabet and length)."""
    return _CODE_PATTERN.fullmatch(code) is not None


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("invite times must be aware datetimes")


async def create_invite(
    session: AsyncSession, official: Official, now: datetime, ttl: timedelta = DEFAULT_TTL
) -> str:
    """Create an invite for `official` valid for `ttl` from `now`; return the plain code.

    The code is not kept anywhere: show it to the clerk now or create a new one later.
    The caller commits.
    """
    _require_aware(now)
    if ttl <= timedelta(0):
        raise ValueError("an invite must stay valid for some time")
    if official.id is None:
        await session.flush()  # the invite row needs the official's id and unit
    code = secrets.token_urlsafe(CODE_BYTES)
    session.add(
        Invite(
            unit_id=official.unit_id,
            official_id=official.id,
            code_hash=hash_code(code),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return code


async def redeem_invite(session: AsyncSession, code: str, now: datetime) -> RedeemedInvite | None:
    """Claim the invite with this code at `now`; None when the code is wrong, used or expired.

    Surrounding whitespace is ignored (people copy codes by hand); anything else that is not
    a possible code is refused before the database is asked. The claim is one conditional
    UPDATE, so of two concurrent redemptions exactly one wins. An inactive official's invite
    is refused and left unclaimed. The caller binds the chat (see `mark_used_by`) and commits;
    rolling back releases the claim.
    """
    _require_aware(now)
    code = code.strip()
    if not is_well_formed(code):
        return None
    invite = await session.scalar(
        select(Invite)
        .options(joinedload(Invite.official))
        .where(Invite.code_hash == hash_code(code))
    )
    if invite is None or not invite.official.active:
        return None
    # The WHERE clause, not the row read above, decides: another process may have claimed the
    # invite in between, and the database serialises the two UPDATEs on the row.
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Invite)
            .where(
                Invite.id == invite.id,
                Invite.used_at.is_(None),
                Invite.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        return None
    return RedeemedInvite(invite_id=invite.id, official=invite.official)


async def mark_used_by(session: AsyncSession, invite_id: int, identity_id: int) -> None:
    """Record which chat identity a redeemed invite was bound to (for the audit trail)."""
    await session.execute(
        update(Invite)
        .where(Invite.id == invite_id)
        .values(used_by_identity_id=identity_id)
        .execution_options(synchronize_session=False)
    )


async def locked_until(session: AsyncSession, actor: str, now: datetime) -> datetime | None:
    """Until when the chat `actor` (as the audit log names it) may not try a code, or None
    when it may: `MAX_WRONG_CODES` wrong codes within `WRONG_CODE_WINDOW` before `now`."""
    _require_aware(now)
    # A chat that is not registered has no unit: its entries are the (unit_id NULL, at)
    # range of the audit log's (unit_id, at) index, the last ten minutes of it.
    recent = list(
        await session.scalars(
            select(AuditEntry.at)
            .where(
                AuditEntry.unit_id.is_(None),
                AuditEntry.at > now - WRONG_CODE_WINDOW,
                AuditEntry.action == WRONG_CODE_ACTION,
                AuditEntry.actor == actor,
            )
            .order_by(AuditEntry.at.desc())
            .limit(MAX_WRONG_CODES)
        )
    )
    if len(recent) < MAX_WRONG_CODES:
        return None
    return recent[-1] + WRONG_CODE_WINDOW
