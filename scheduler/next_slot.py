"""The next working slot: when a message that need not wake anyone goes out.

A notice the clerk must hear "at once" (a "vướng mắc", a late submission, a resubmission)
waits for the unit's next reminder slot, where the dispatcher bundles it with that morning's
reminders into one message: the reminder time today if it is still ahead and today is a
working day, else the reminder time on the next working day. Pure: time is passed in.
"""

from __future__ import annotations

from datetime import datetime

from scheduler.policy import PolicyConfig


def next_working_slot(config: PolicyConfig, now: datetime) -> datetime:
    """The first reminder slot at or after `now` on a working day (aware UTC)."""
    cal = config.calendar()
    today = cal.local_date(now)
    slot = cal.at(today, config.reminder_time)
    if cal.is_working_day(today) and now <= slot:
        return slot
    return cal.at(cal.next_working_day(today), config.reminder_time)
