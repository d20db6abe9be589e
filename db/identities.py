"""Chat identities: which official a chat belongs to, and binding a chat to one."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from db.models import Channel, ChannelIdentity, Official


async def identity_for(
    session: AsyncSession, channel: Channel, external_id: str
) -> ChannelIdentity | None:
    """The identity of a chat, with its official, their unit and leave periods loaded."""
    # Every message and tap starts here: official and unit come in the same statement (a
    # join), the leave periods in one more, instead of one statement for each.
    official = joinedload(ChannelIdentity.official, innerjoin=True)
    return await session.scalar(
        select(ChannelIdentity)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
        .options(
            official.joinedload(Official.unit, innerjoin=True),
            official.selectinload(Official.leaves),
        )
    )


async def bind(
    session: AsyncSession, official: Official, channel: Channel, external_id: str, at: datetime
) -> ChannelIdentity:
    """Bind a chat to an official; the caller has checked the chat is not bound yet."""
    identity = ChannelIdentity(
        official_id=official.id,
        channel=channel,
        external_id=external_id,
        bound_at=at,
        reachable=True,
    )
    session.add(identity)
    await session.flush()
    identity.official = official
    return identity


async def names_of_chats(
    session: AsyncSession, channel: Channel, external_ids: Collection[str]
) -> dict[str, str]:
    """The full name of the official bound to each of these chats, in the plan's order of
    people (then of binding)."""
    rows = await session.execute(
        select(ChannelIdentity.external_id, Official.full_name)
        .join(Official, Official.id == ChannelIdentity.official_id)
        .where(
            ChannelIdentity.channel == channel,
            ChannelIdentity.external_id.in_(list(external_ids)),
        )
        .order_by(Official.id, ChannelIdentity.id)
    )
    return {chat_id: name for chat_id, name in rows}


async def chats_on(session: AsyncSession, channel: Channel) -> set[str]:
    """The external ids of every chat bound on `channel`."""
    rows = await session.scalars(
        select(ChannelIdentity.external_id).where(ChannelIdentity.channel == channel)
    )
    return set(rows)


async def chats_of(
    session: AsyncSession, official_id: int, channel: Channel
) -> list[ChannelIdentity]:
    """The official's chats on `channel`, the most recently bound first."""
    rows = await session.scalars(
        select(ChannelIdentity)
        .where(ChannelIdentity.official_id == official_id, ChannelIdentity.channel == channel)
        .order_by(ChannelIdentity.bound_at.desc(), ChannelIdentity.id.desc())
    )
    return list(rows)
