"""`python -m bot reminders preview --from dd/mm/yyyy --to dd/mm/yyyy`: the calendar, unsent."""

from __future__ import annotations

import dataclasses
from datetime import date

from bot import wiring
from bot.settings import Settings
from bot.unit_choice import chosen_unit
from db.desk.people import desk_people
from db.units import officials_of
from handlers.reminder_preview import format_preview
from scheduler.policy import PlanSnapshot, local_days, preview, weekly_digest_slots
from scheduler.snapshot import load_snapshot
from scheduler.sweep import policy_config, weekly_digests


class PreviewError(Exception):
    """The preview cannot be made (no unit, several units and none chosen)."""


async def preview_reminders(
    settings: Settings, start: date, end: date, unit_code: str | None
) -> str:
    """The reminders the plan gives from `start` to `end` (local days), one line each, the
    weekly digests included.

    Everyone counts as reachable: the clerk checks the plan's calendar before the officials
    have all registered.
    """
    if end < start:
        raise PreviewError("--to is before --from")
    async with wiring.database(settings) as sessionmaker, sessionmaker() as session:
        unit = await chosen_unit(session, unit_code)
        snapshot = await load_snapshot(session, unit.id)
        names = {o.id: o.full_name for o in await officials_of(session, unit.id)}
        desk = [person.id for person in await desk_people(session, unit.id)]
    everyone = PlanSnapshot(
        officials={
            i: dataclasses.replace(o, reachable=True) for i, o in snapshot.officials.items()
        },
        obligations=snapshot.obligations,
        tasks=snapshot.tasks,
    )
    config = policy_config(unit)
    found = preview(everyone, config, start, end)
    after, until = local_days(config, start, end)
    found += weekly_digests(unit.id, desk, weekly_digest_slots(config, after, until))
    found.sort(key=lambda r: (r.slot_at, r.recipient_id))
    return format_preview(found, names, config.tz, "vi")
