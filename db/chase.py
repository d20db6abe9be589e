"""When the overdue chase of a report or task ends: one rule for the reminders and the desk.

Overdue reminders go on for `chase_days` after the due date (the report's, from the plan;
`CHASE_DAYS` otherwise) and stop the day before the next report of the same series is due:
that report asks for the late one's data again (its data window covers it). After the last
day the case is the clerk's: the desk shows it as "đã ngừng nhắc". Pure (the policy imports
it); the series is read by `db.series`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

CHASE_DAYS: Final = 30


def chase_last(due: date, chase_days: int, next_due: date | None = None) -> date:
    """The last local day an overdue reminder about a deadline `due` may be sent."""
    last = due + timedelta(days=chase_days)
    if next_due is not None:
        last = min(last, next_due - timedelta(days=1))
    return last
