"""Units in a tree (province → communes; a district between them in the 2024 seed).

A unit's level is implied by the tree: a unit with children is the level above them. A child's
report feeds a report of its parent when its `forward_to` names that report's code; the
instance of the same year is the one fed (`CCHC-Q1-2024` feeds the parent's `CCHC-Q1-2024`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Obligation, Official, Unit


async def children_of(session: AsyncSession, unit_id: int) -> list[Unit]:
    """The units directly below `unit_id`, by code."""
    return list(
        await session.scalars(select(Unit).where(Unit.parent_id == unit_id).order_by(Unit.code))
    )


async def parent_of(session: AsyncSession, unit_id: int) -> Unit | None:
    """The unit directly above `unit_id`, or None at the top of the tree."""
    unit = await session.get(Unit, unit_id)
    if unit is None or unit.parent_id is None:
        return None
    return await session.get(Unit, unit.parent_id)


async def ancestors(session: AsyncSession, unit_id: int) -> list[Unit]:
    """The units above `unit_id`, nearest first."""
    found: list[Unit] = []
    seen = {unit_id}
    parent = await parent_of(session, unit_id)
    # `seen` stops at a loop, which the loader refuses but a hand-edited database may hold.
    while parent is not None and parent.id not in seen:
        found.append(parent)
        seen.add(parent.id)
        parent = await parent_of(session, parent.id)
    return found


async def descendants(session: AsyncSession, unit_id: int) -> list[Unit]:
    """Every unit below `unit_id`, level by level, each level by code."""
    found: list[Unit] = []
    seen = {unit_id}
    level = [unit_id]
    while level:
        below = list(
            await session.scalars(select(Unit).where(Unit.parent_id.in_(level)).order_by(Unit.code))
        )
        below = [unit for unit in below if unit.id not in seen]
        seen.update(unit.id for unit in below)
        found += below
        level = [unit.id for unit in below]
    return found


def fed_report_code(forward_to: str, code: str, report_code: str) -> str:
    """The code of the parent's report instance a child's instance feeds, if `forward_to`
    names a report: the same year's (`CCHC-Q1` for `CCHC-Q1-2024` gives `CCHC-Q1-2024`)."""
    return f"{forward_to}{code.removeprefix(report_code)}"


async def fed_report(session: AsyncSession, obligation: Obligation) -> Obligation | None:
    """The parent unit's report that `obligation` feeds, or None (its `forward_to` is free
    text, or names no report of the parent)."""
    unit = await session.get(Unit, obligation.unit_id)
    if unit is None or unit.parent_id is None or not obligation.forward_to:
        return None
    code = fed_report_code(obligation.forward_to, obligation.code, obligation.report_code)
    return await session.scalar(
        select(Obligation).where(Obligation.unit_id == unit.parent_id, Obligation.code == code)
    )


async def feeding_reports(session: AsyncSession, obligation: Obligation) -> list[Obligation]:
    """The active child reports that feed `obligation`, by unit."""
    rows = await session.scalars(
        select(Obligation)
        .join(Unit, Unit.id == Obligation.unit_id)
        .where(
            Unit.parent_id == obligation.unit_id,
            Obligation.active.is_(True),
            Obligation.forward_to.is_not(None),
        )
        .order_by(Unit.code, Obligation.code)
    )
    return [
        child
        for child in rows
        if child.forward_to is not None
        and fed_report_code(child.forward_to, child.code, child.report_code) == obligation.code
    ]


async def unit_names_of(session: AsyncSession, official_ids: Sequence[int]) -> dict[int, str]:
    """The name of each official's unit (a commune, for the clerks who owe a province report)."""
    rows = await session.execute(
        select(Official.id, Unit.name)
        .join(Unit, Unit.id == Official.unit_id)
        .where(Official.id.in_(list(official_ids)))
    )
    return {official_id: name for official_id, name in rows}
