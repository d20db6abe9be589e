"""Reports that feed the parent unit's: the child's collector owes the parent's report.

A child unit's report names a report code of its parent in `forward_to`; the parent's report
takes submitters from its children (`submitters: {units: children}`). Either plan may be loaded
second, so the same idempotent `relink` runs after every load: an active parent report the
children submit has, as its assignees from other units, exactly the collectors of the active
child reports that feed it, each due on the date their report gives (`forward_due`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.models import Obligation, ObligationAssignee, Official, Unit
from db.unit_tree import fed_report_code

# collector id → their own due date (None: the parent report's), per parent report code.
Wanted = dict[str, dict[int, date | None]]


@dataclass
class ForwardLinks:
    """What a relink changed: child collectors added to, re-dated on, removed from reports."""

    added: int = 0
    redated: int = 0
    removed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.redated or self.removed)


async def relink(
    session: AsyncSession, parent_ids: Iterable[int], now: datetime | None = None
) -> ForwardLinks:
    """Bring the child-submitted reports of these parent units in line with their children's
    reports; new links are stamped `assigned_at=now`. The caller commits."""
    links = ForwardLinks()
    for parent_id in sorted(set(parent_ids)):
        await _relink_parent(session, parent_id, links, now)
    return links


async def _relink_parent(
    session: AsyncSession, parent_id: int, links: ForwardLinks, now: datetime | None
) -> None:
    reports = list(
        await session.scalars(
            select(Obligation)
            .where(Obligation.unit_id == parent_id, Obligation.active.is_(True))
            .options(selectinload(Obligation.assignees))
        )
    )
    if not reports:
        return
    # The parent's own people are the plan loader's business; only other units' are linked.
    own = set(await session.scalars(select(Official.id).where(Official.unit_id == parent_id)))
    wanted = await _feeding_collectors(session, parent_id)
    for report in reports:
        want = wanted.get(report.code, {}) if report.children_submit else {}
        for row in list(report.assignees):
            if row.official_id in own:
                continue
            if row.official_id not in want:
                report.assignees.remove(row)
                links.removed += 1
            elif row.own_due != want[row.official_id]:
                row.own_due = want[row.official_id]
                links.redated += 1
        present = {row.official_id for row in report.assignees}
        for official_id in sorted(set(want) - present):
            report.assignees.append(
                ObligationAssignee(
                    official_id=official_id, own_due=want[official_id], assigned_at=now
                )
            )
            links.added += 1


async def _feeding_collectors(session: AsyncSession, parent_id: int) -> Wanted:
    """Per parent report code, the collectors of the active child reports that feed it."""
    rows = await session.execute(
        select(
            Obligation.code,
            Obligation.report_code,
            Obligation.forward_to,
            Obligation.forward_due,
            Obligation.collector_id,
        )
        .join(Unit, Unit.id == Obligation.unit_id)
        .join(Official, Official.id == Obligation.collector_id)
        .where(
            Unit.parent_id == parent_id,
            Obligation.active.is_(True),
            Obligation.forward_to.is_not(None),
            Official.active.is_(True),
        )
    )
    dues: dict[str, dict[int, list[date | None]]] = defaultdict(lambda: defaultdict(list))
    for code, report_code, forward_to, forward_due, collector_id in rows:
        if forward_to is not None and collector_id is not None:  # both filtered by the query
            dues[fed_report_code(forward_to, code, report_code)][collector_id].append(forward_due)
    # Two reports of one unit feeding the same parent report: the earlier date holds.
    return {
        code: {
            collector: min((d for d in dates if d is not None), default=None)
            for collector, dates in collectors.items()
        }
        for code, collectors in dues.items()
    }
