"""How the demo's simulated clock moves: `/tick` spans and the quarter-hour steps of a tick."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from scheduler.sweep import CATCH_UP_AFTER

# A sweep over more than CATCH_UP_AFTER coalesces its reminders (one per person and subject,
# as after downtime). Steps no longer than that deliver each reminder at its own slot.
STEP = min(timedelta(minutes=15), CATCH_UP_AFTER)
MAX_TICK = timedelta(days=31)

_SPAN_PART = re.compile(r"(\d+)\s*([dhm])", re.IGNORECASE)
_SPAN = re.compile(r"(?:\d+\s*[dhm]\s*)+", re.IGNORECASE)
_MINUTES = {"d": 24 * 60, "h": 60, "m": 1}


def parse_span(text: str) -> timedelta | None:
    """ "1d", "2h", "30m", "1d 2h": the time a /tick lets pass; None when not understood."""
    cleaned = text.strip()
    if not _SPAN.fullmatch(cleaned):
        return None
    minutes = sum(int(n) * _MINUTES[unit.lower()] for n, unit in _SPAN_PART.findall(cleaned))
    if minutes <= 0:
        return None
    # A huge number would overflow timedelta: anything beyond the limit is just "too long".
    return timedelta(minutes=min(minutes, int(MAX_TICK / timedelta(minutes=1)) + 1))


def next_step(at: datetime) -> datetime:
    """The next quarter-hour boundary after `at`: slots at 08:00 are swept at 08:00 sharp."""
    step_minutes = int(STEP / timedelta(minutes=1))
    floor = at.replace(second=0, microsecond=0) - timedelta(minutes=at.minute % step_minutes)
    return floor + STEP
