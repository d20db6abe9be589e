"""Who sits at the desk (clerks and leaders), and who can be reached by chat at all."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ChannelIdentity, Official


async def desk_people(session: AsyncSession, unit_id: int) -> list[Official]:
    """The unit's active clerks and leaders, clerks first."""
    rows = await session.scalars(
        select(Official)
        .where(
            Official.unit_id == unit_id,
            Official.active.is_(True),
            or_(Official.is_clerk.is_(True), Official.is_leader.is_(True)),
        )
        .order_by(Official.is_clerk.desc(), Official.id)
    )
    return list(rows)


async def reachable(session: AsyncSession, official_ids: Collection[int]) -> set[int]:
    """Those of `official_ids` with at least one chat that still works."""
    if not official_ids:
        return set()
    rows = await session.scalars(
        select(ChannelIdentity.official_id).where(
            ChannelIdentity.official_id.in_(list(official_ids)),
            ChannelIdentity.reachable.is_(True),
        )
    )
    return set(rows)
