"""Whether a chat still reaches its official: the dispatcher's reads and writes of identities.

A chat stops working when the person blocks the bot or deletes the account (it is then marked
unreachable, once, by whichever dispatcher flips the flag first), and a Telegram group can move
to a new chat id. None of these functions commits: the caller's transaction decides.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.people import desk_people
from db.models import AuditEntry, Channel, ChannelIdentity, Official


async def candidate_chats(
    session: AsyncSession, official_ids: Collection[int], channels: Collection[Channel]
) -> list[tuple[ChannelIdentity, Channel | None]]:
    """Every chat (reachable or not) of these officials on these channels, to route by, each
    with its official's chosen channel (None: the one they used last)."""
    rows = await session.execute(
        select(ChannelIdentity, Official.preferred_channel)
        .join(Official, Official.id == ChannelIdentity.official_id)
        .where(
            ChannelIdentity.official_id.in_(list(official_ids)),
            ChannelIdentity.channel.in_(list(channels)),
        )
    )
    return [(identity, preferred) for identity, preferred in rows]


async def mark_unreachable(
    session: AsyncSession, identity_id: int, external_id: str, reason: str
) -> bool:
    """Mark the chat unreachable; True only for the caller that flipped it (so it tells once)."""
    flipped = await session.execute(
        update(ChannelIdentity)
        .where(
            ChannelIdentity.id == identity_id,
            ChannelIdentity.external_id == external_id,
            ChannelIdentity.reachable.is_(True),
        )
        .values(reachable=False, unreachable_reason=reason)
        .returning(ChannelIdentity.id)
        .execution_options(synchronize_session=False)
    )
    return flipped.first() is not None


async def times_audited(session: AsyncSession, action: str, target: str) -> int:
    """How many audit entries of `action` name `target` (e.g. how often a chat was lost)."""
    count = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == action, AuditEntry.target == target)
    )
    return int(count or 0)


async def move_chat(session: AsyncSession, identity_id: int, old_id: str, new_id: str) -> bool:
    """Point the identity at a migrated group's new chat id; False when it had moved already.

    Raises `IntegrityError` when the new chat id is bound to another identity.
    """
    moved = await session.execute(
        update(ChannelIdentity)
        .where(ChannelIdentity.id == identity_id, ChannelIdentity.external_id == old_id)
        .values(external_id=new_id)
        .returning(ChannelIdentity.id)
        .execution_options(synchronize_session=False)
    )
    return moved.first() is not None


async def who_hears_of(session: AsyncSession, unit_id: int, official_id: int) -> list[Official]:
    """Who is told that an official cannot be reached: the unit's active clerks, or its
    leaders when it has no clerk; never the official themself."""
    staff = await desk_people(session, unit_id)
    recipients = [o for o in staff if o.is_clerk and o.id != official_id]
    if not recipients:
        recipients = [o for o in staff if o.is_leader and o.id != official_id]
    return recipients
