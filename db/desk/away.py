"""Who is away on a day, and until when: the desk's one reading of leave ("nghỉ phép").

The plan's leave periods and leave approved in the chat, read through `db.leaves`, the same
stretches that keep the reminders quiet, so every view that marks someone away agrees with
the reminders.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from db.leaves import leave_days_of
from db.models import Official


async def away_until(
    session: AsyncSession, official_ids: Collection[int], day: date
) -> dict[int, date]:
    """The last day of the leave each of `official_ids` is on on `day` (absent: not away)."""
    if not official_ids:
        return {}
    found: dict[int, date] = {}
    ids = sorted(official_ids)
    for start in range(0, len(ids), 500):
        stretches = await leave_days_of(session, Official.id.in_(ids[start : start + 500]))
        for official_id, spans in stretches.items():
            ends = [end for first, end in spans if first <= day <= end]
            if ends:
                found[official_id] = max(ends)
    return found
