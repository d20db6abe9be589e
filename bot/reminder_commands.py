"""`python -m bot reminders preview --from dd/mm/yyyy --to dd/mm/yyyy`: the calendar, unsent."""

from __future__ import annotations

import dataclasses
from datetime import date

from sqlalchemy import select

from bot import wiring
from bot.settings import Settings
from db.models import Official, Unit
from handlers.reminder_preview import format_preview
from scheduler.policy import PlanSnapshot, preview
from scheduler.snapshot import load_snapshot
from scheduler.sweep import policy_config


class PreviewError(Exception):
    """The preview cannot be made (no unit, several units and none chosen)."""


async def preview_reminders(
    settings: Settings, start: date, end: date, unit_code: str | None
) -> str:
    """The reminders the plan gives from `start` to `end` (local days), one line each.

    Everyone counts as reachable: the clerk checks the plan's calendar before the officials
    have all registered.
    """
    if end < start:
        raise PreviewError("--to is before --from")
    async with wiring.database(settings) as sessionmaker, sessionmaker() as session:
        query = select(Unit).order_by(Unit.code)
        if unit_code:
            query = query.where(Unit.code == unit_code)
        units = list(await session.scalars(query))
        if len(units) != 1:
            raise PreviewError(
                "no unit: load a plan first"
                if not units
                else f"several units ({', '.join(u.code for u in units)}): choose one with --unit"
            )
        unit = units[0]
        snapshot = await load_snapshot(session, unit.id)
        rows = await session.execute(
            select(Official.id, Official.full_name).where(Official.unit_id == unit.id)
        )
        names = {official_id: name for official_id, name in rows}
    everyone = PlanSnapshot(
        officials={
            i: dataclasses.replace(o, reachable=True) for i, o in snapshot.officials.items()
        },
        obligations=snapshot.obligations,
        tasks=snapshot.tasks,
    )
    config = policy_config(unit)
    return format_preview(preview(everyone, config, start, end), names, config.tz, "vi")
