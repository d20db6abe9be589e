"""When officials are away: the plan's leave and the leave approved in the chat, read together.

The plan's leave (`LeavePeriod`) is replaced on every plan load; leave asked for with
/nghiphep (`LeaveRequest`) lives beside it and counts once approved. Whoever asks "is this
person away?" (the reminders, the desk) reads both through `leave_days_of`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ExtensionState, LeavePeriod, LeaveRequest, Official

Stretch = tuple[date, date]  # first and last day away, inclusive


async def leave_days_of(
    session: AsyncSession, people: ColumnElement[bool]
) -> dict[int, list[Stretch]]:
    """The stretches away of the officials `people` selects (a condition on `Official`), by
    official id, sorted: the plan's leave and approved chat leave together."""
    found: dict[int, list[Stretch]] = defaultdict(list)
    plan = (
        select(LeavePeriod.official_id, LeavePeriod.starts_on, LeavePeriod.ends_on)
        .join(Official, Official.id == LeavePeriod.official_id)
        .where(people)
    )
    chat = (
        select(LeaveRequest.official_id, LeaveRequest.starts_on, LeaveRequest.ends_on)
        .join(Official, Official.id == LeaveRequest.official_id)
        .where(people, LeaveRequest.state == ExtensionState.APPROVED)
    )
    for statement in (plan, chat):
        for official_id, start, end in await session.execute(statement):
            found[official_id].append((start, end))
    return {official_id: sorted(stretches) for official_id, stretches in found.items()}
