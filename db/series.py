"""The next report of a series: what ends the overdue chase of the one before it."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Obligation


async def series_next_due(
    session: AsyncSession, obligation_ids: Collection[int]
) -> dict[int, date]:
    """The due date of the next report of each one's series, where there is one.

    The next of a series is the unit's active report of the same kind, due later, whose data
    window covers this one's; the same kind keeps a CCHC report from being ended by an
    unrelated report with a wide window. Read per 500 reports, one row per report.
    """
    found: dict[int, date] = {}
    later = aliased(Obligation)
    ids = sorted(obligation_ids)
    for start in range(0, len(ids), 500):
        rows = await session.execute(
            select(Obligation.id, func.min(later.due_date))
            .join(
                later,
                (later.unit_id == Obligation.unit_id)
                & (later.kind == Obligation.kind)
                & (later.id != Obligation.id)
                & later.active.is_(True)
                & (later.due_date > Obligation.due_date)
                & (later.window_start <= Obligation.window_start)
                & (later.window_end >= Obligation.window_end),
            )
            .where(Obligation.id.in_(ids[start : start + 500]))
            .group_by(Obligation.id)
        )
        for obligation_id, due in rows:
            if due is not None:
                found[obligation_id] = due
    return found
