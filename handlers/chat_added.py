"""When an invite binds one more chat to an official who already has one: the official hears
of it on each earlier chat, and the unit's clerks hear of it too.

A code that reached the wrong hands binds a stranger's chat silently otherwise. The notices go
through the outbox (`handlers.clerk.notices`), due at once; the official's names the earlier
chat it must reach (`db.kinds.TO_CHAT`), since the chat that reaches them best is now likely
the new one.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.people import desk_people
from db.kinds import CHAT_ADDED_NOTICE, IDENTITY, OFFICIAL, TO_CHAT
from db.models import ChannelIdentity, Official
from handlers.catalog import t
from handlers.channel_choice import channel_name
from handlers.clerk.notices import Notice, queue
from handlers.office import office_name
from handlers.presenting import h, moment


async def earlier_chats(
    session: AsyncSession, official_id: int, new: ChannelIdentity
) -> list[ChannelIdentity]:
    """The official's chats other than `new`, on any channel, oldest first."""
    rows = await session.scalars(
        select(ChannelIdentity)
        .where(ChannelIdentity.official_id == official_id, ChannelIdentity.id != new.id)
        .order_by(ChannelIdentity.bound_at, ChannelIdentity.id)
    )
    return list(rows)


async def chat_added(
    session: AsyncSession, official: Official, new: ChannelIdentity, now: datetime
) -> int:
    """Queue the notices of `new` for the official's earlier chats and the unit's clerks (none
    when `new` is their first chat); how many were queued."""
    earlier = await earlier_chats(session, official.id, new)
    if not earlier:
        return 0
    tz = ZoneInfo(official.unit.timezone)
    ref = str(new.id)
    notices = [
        Notice(
            unit_id=official.unit_id,
            recipient_id=official.id,
            kind=CHAT_ADDED_NOTICE,
            subject_type=IDENTITY,
            subject_id=chat.id,
            ref=ref,
            text=t(
                "chat_added.to_official",
                official.language,
                channel=channel_name(new.channel, official.language),
                time=moment(now, tz),
                office=office_name(official.unit, official.language),
            ),
            details={TO_CHAT: chat.id},
        )
        for chat in earlier
    ]
    for clerk in await desk_people(session, official.unit_id):
        if not clerk.is_clerk or clerk.id == official.id:
            continue  # a clerk's own new chat is told on their earlier chats already
        text = t(
            "chat_added.to_clerk",
            clerk.language,
            name=h(official.full_name),
            channel=channel_name(new.channel, clerk.language),
            time=moment(now, tz),
            count=len(earlier),
        )
        notices.append(
            Notice(
                unit_id=official.unit_id,
                recipient_id=clerk.id,
                kind=CHAT_ADDED_NOTICE,
                subject_type=OFFICIAL,
                subject_id=official.id,
                ref=ref,
                text=text,
            )
        )
    return await queue(session, notices, now)
