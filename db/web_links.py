"""One-time upload links and download links of the web app: random tokens, stored hashed.

The plain token travels only in the link sent to the official; the database keeps its
sha256, so a copy of the database opens nothing.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from db.models import FileLink, Obligation, Official, Task, UploadLink

UPLOAD_TTL = timedelta(hours=24)
FILE_TTL = timedelta(days=7)
TOKEN_BYTES = 24
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def hash_token(token: str) -> str:
    """The sha256 hex digest under which a link token is stored."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _well_formed(token: str) -> bool:
    return _TOKEN.fullmatch(token) is not None


class LinkState(enum.StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class UploadTarget:
    """What an upload link is for; `link` is None unless the state is VALID or USED."""

    state: LinkState
    link: UploadLink | None = None
    subject: Obligation | Task | None = None


async def create_upload_link(
    session: AsyncSession,
    official: Official,
    subject: Obligation | Task,
    now: datetime,
    ttl: timedelta = UPLOAD_TTL,
) -> str:
    """A new upload link for `official` and `subject`, valid `ttl`; returns the plain token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = UploadLink(
        token_hash=hash_token(token),
        official_id=official.id,
        obligation_id=subject.id if isinstance(subject, Obligation) else None,
        task_id=subject.id if isinstance(subject, Task) else None,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(link)
    await session.flush()
    return token


async def upload_target(session: AsyncSession, token: str, now: datetime) -> UploadTarget:
    """What the token opens at `now`: valid, unknown, used up or expired."""
    if not _well_formed(token):
        return UploadTarget(LinkState.UNKNOWN)
    link = await session.scalar(
        select(UploadLink)
        .where(UploadLink.token_hash == hash_token(token))
        .options(joinedload(UploadLink.official).joinedload(Official.unit))
    )
    if link is None:
        return UploadTarget(LinkState.UNKNOWN)
    subject: Obligation | Task | None
    if link.obligation_id is not None:
        subject = await session.get(Obligation, link.obligation_id)
    else:
        assert link.task_id is not None
        subject = await session.get(Task, link.task_id)
    if link.used_at is not None:
        return UploadTarget(LinkState.USED, link, subject)
    if link.expires_at <= now:
        return UploadTarget(LinkState.EXPIRED, link, subject)
    return UploadTarget(LinkState.VALID, link, subject)


async def use_upload_link(
    session: AsyncSession, link_id: int, submission_id: int | None, now: datetime
) -> bool:
    """Mark the link used (by `submission_id`, when known); False when another request used
    it first or it has expired."""
    result = await session.execute(
        update(UploadLink)
        .where(
            UploadLink.id == link_id,
            UploadLink.used_at.is_(None),
            UploadLink.expires_at > now,
        )
        .values(used_at=now, submission_id=submission_id)
        .returning(UploadLink.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def create_file_link(
    session: AsyncSession, name: str, path: str, now: datetime, ttl: timedelta = FILE_TTL
) -> str:
    """A download link to the file at `path`, shown as `name`; returns the plain token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        FileLink(
            token_hash=hash_token(token),
            name=name,
            path=path,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return token


async def linked_file(session: AsyncSession, token: str, now: datetime) -> FileLink | None:
    """The file a download token opens at `now`, or None (unknown or expired)."""
    if not _well_formed(token):
        return None
    link = await session.scalar(select(FileLink).where(FileLink.token_hash == hash_token(token)))
    if link is None or link.expires_at <= now:
        return None
    return link
