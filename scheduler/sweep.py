"""The sweep: once a minute, write the reminders that fell due into the outbox.

The database is the source of truth and the sweep only ticks. Each unit remembers how far
it was swept (`SweepMark`); the next sweep covers (mark, now], so a restart picks up exactly
where it stopped. A long window (the process was down) is coalesced: one message per person
and subject, the newest, not a burst of stale ones. Writing is idempotent by key, so two
processes sweeping the same minute add nothing twice.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db import sweep_marks
from db.desk.people import desk_people
from db.kinds import UNIT, WEEKLY_DIGEST
from db.models import Unit
from db.outbox import NewReminder, enqueue
from db.unit_calendar import UnitCalendar
from db.units import all_units
from scheduler.policy import (
    DueReminder,
    PolicyConfig,
    UnitTimings,
    coalesce,
    reminders_between,
    unit_may_remind,
    weekly_digest_slots,
    window_may_hold_slots,
)
from scheduler.snapshot import load_snapshot, unit_timings

log = logging.getLogger(__name__)

# A window longer than this means the sweep did not run for a while: coalesce its reminders.
CATCH_UP_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class SweepReport:
    """What one sweep of one unit did."""

    unit_id: int
    after: datetime
    until: datetime
    found: int = 0
    enqueued: int = 0
    coalesced: bool = False


def policy_config(unit: Unit) -> PolicyConfig:
    """The reminder settings of a unit: its time zone and working calendar from the plan
    (days off, make-up days, office hours); the office defaults otherwise.

    Every part that needs a unit's working days or hours (the sweep, the preview, the desk,
    the demo) builds them here, so all of them use the unit's calendar.
    """
    calendar = UnitCalendar.of(unit)
    office = PolicyConfig(tz=ZoneInfo(unit.timezone))
    return dataclasses.replace(
        office,
        extra_days_off=calendar.days_off,
        extra_working_days=calendar.working_days,
        work_start=office.work_start if calendar.work_start is None else calendar.work_start,
        work_end=office.work_end if calendar.work_end is None else calendar.work_end,
    )


def to_outbox(unit_id: int, reminder: DueReminder) -> NewReminder:
    """The outbox row of a due reminder; it may be sent from its slot on."""
    payload = {**reminder.payload, "first": reminder.first_for_subject}
    return NewReminder(
        unit_id=unit_id,
        idempotency_key=reminder.idempotency_key,
        recipient_id=reminder.recipient_id,
        subject_type=reminder.subject_type,
        subject_id=reminder.subject_id,
        kind=reminder.kind,
        slot_at=reminder.slot_at,
        due_at=reminder.slot_at,
        payload=payload,
    )


async def sweep_unit(session: AsyncSession, unit: Unit, now: datetime) -> SweepReport:
    """Enqueue the unit's reminders with a slot in (last sweep, now]; the caller commits."""
    swept = await sweep_marks.swept_until(session, unit.id)
    return await _sweep_window(session, unit, policy_config(unit), swept, now)


async def _sweep_window(
    session: AsyncSession, unit: Unit, config: PolicyConfig, swept: datetime | None, now: datetime
) -> SweepReport:
    """Enqueue the unit's reminders in (swept, now] and advance its mark; `swept` is its mark."""
    after = _after(swept, now, config)
    if now <= after:
        return SweepReport(unit.id, after, now)
    found: list[DueReminder] = []
    if window_may_hold_slots(config, after, now):
        snapshot = await load_snapshot(session, unit.id, due_until=_horizon(config, now))
        found = reminders_between(snapshot, config, after, now)
    catch_up = now - after > CATCH_UP_AFTER
    if catch_up:
        found = coalesce(found)
    rows = [to_outbox(unit.id, r) for r in found]
    digests = weekly_digest_slots(config, after, now)
    if digests:
        # After downtime only the latest week's digest is worth sending.
        people = [person.id for person in await desk_people(session, unit.id)]
        rows += [to_outbox(unit.id, r) for r in weekly_digests(unit.id, people, digests[-1:])]
    enqueued = await enqueue(session, rows)
    await sweep_marks.advance(session, unit.id, now, exists=swept is not None)
    if enqueued:
        log.info("unit %s: %d reminders enqueued for (%s, %s]", unit.code, enqueued, after, now)
    return SweepReport(unit.id, after, now, len(found), enqueued, catch_up)


def weekly_digests(
    unit_id: int, people: Iterable[int], slots: Iterable[datetime]
) -> list[DueReminder]:
    """The weekly digest of each slot for each of `people` (the unit's clerks and leaders),
    as the sweep queues them and the preview lists them; rendered when sent, as of its slot."""
    return [
        DueReminder(
            recipient_id=person,
            subject_type=UNIT,
            subject_id=unit_id,
            kind=WEEKLY_DIGEST,
            slot_at=slot,
            nominal_at=slot,
            due_date=None,
        )
        for slot in slots
        for person in people
    ]


async def sweep_all(session: AsyncSession, now: datetime) -> list[SweepReport]:
    """Sweep every unit; the caller commits.

    The cost follows what is due, not the number of units (issue 17). Every unit's mark is
    read in one query. A unit whose window holds no reminder time, or whose open subjects
    (`unit_timings`, read for all units in three statements when some window holds one) can
    give nothing in it, is left as `sweep_unit` would leave it: nothing enqueued, and its mark
    moved, with all the others' in one statement. Only the rest load a snapshot and are swept
    as `sweep_unit` sweeps them.
    """
    marks = await sweep_marks.all_swept_until(session)
    # Most units share a calendar and a mark: ask the calendar about each window once.
    calendar_says: dict[tuple[PolicyConfig, datetime], tuple[bool, bool]] = {}
    windows = []
    for unit in await all_units(session):
        config = policy_config(unit)
        swept = marks.get(unit.id)
        after = _after(swept, now, config)
        if (config, after) not in calendar_says:
            calendar_says[(config, after)] = (
                bool(weekly_digest_slots(config, after, now)),
                window_may_hold_slots(config, after, now),
            )
        windows.append((unit, config, swept, after, *calendar_says[(config, after)]))
    timings: dict[int, UnitTimings] = {}
    slotted = [config for _, config, _, after, _, slot in windows if slot and now > after]
    if slotted:
        # The latest horizon of all: a report due later than a unit's own only costs a look.
        timings = await unit_timings(session, max(_horizon(config, now) for config in slotted))
    reports: list[SweepReport] = []
    quiet: list[int] = []
    first: list[int] = []
    for unit, config, swept, after, digest, slot in windows:
        may_send = digest or (
            slot and unit_may_remind(timings.get(unit.id, NO_TIMINGS), config, after, now)
        )
        if now > after and not may_send:
            # What `_sweep_window` would do with nothing to send: nothing but the mark.
            (quiet if swept is not None else first).append(unit.id)
            reports.append(SweepReport(unit.id, after, now, coalesced=now - after > CATCH_UP_AFTER))
        else:
            reports.append(await _sweep_window(session, unit, config, swept, now))
    await sweep_marks.advance_many(session, now, existing=quiet, new=first)
    return reports


NO_TIMINGS = UnitTimings()


def _after(swept: datetime | None, now: datetime, config: PolicyConfig) -> datetime:
    """Where the unit's window starts: its mark, or, at its first sweep ever, the start of
    the local day, so a bot started at 09:00 still sends that morning's reminders."""
    return swept if swept is not None else _start_of_day(now, config.tz)


def _horizon(config: PolicyConfig, now: datetime) -> date:
    """The latest due date a reminder sent by `now` can be about: the earliest "before" one,
    plus room for it to have moved earlier across a long holiday (Tết)."""
    return now.astimezone(config.tz).date() + timedelta(days=max(config.before_days) + 21)


def _start_of_day(now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time.min, tzinfo=tz)
