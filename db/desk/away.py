"""Who is away on a day, and until when: the desk's one reading of leave ("nghỉ phép").

Today the plan's leave periods (`LeavePeriod`); leave asked for in the chat and approved will
be read here too, so every view that marks someone "nghỉ phép" agrees.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import LeavePeriod


async def away_until(
    session: AsyncSession, official_ids: Collection[int], day: date
) -> dict[int, date]:
    """The last day of the leave each of `official_ids` is on on `day` (absent: not away)."""
    if not official_ids:
        return {}
    found: dict[int, date] = {}
    ids = sorted(official_ids)
    for start in range(0, len(ids), 500):
        rows = await session.execute(
            select(LeavePeriod.official_id, func.max(LeavePeriod.ends_on))
            .where(
                LeavePeriod.official_id.in_(ids[start : start + 500]),
                LeavePeriod.starts_on <= day,
                LeavePeriod.ends_on >= day,
            )
            .group_by(LeavePeriod.official_id)
        )
        found.update({official_id: ends_on for official_id, ends_on in rows})
    return found
