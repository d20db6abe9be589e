"""One injectable clock, and parsing of the local times people type."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class RunningClock:
    """Starts at a given moment and runs at the wall clock's pace: `run --at` and
    `reminders worker --at`, so their retries, leases and next sweeps come due as they would."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("RunningClock needs an aware datetime")
        self._start = start.astimezone(UTC)
        self._started = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._started)


class FixedClock:
    """A clock that stays where it is put; tests and the one-shot commands' `--at` use it."""

    def __init__(self, at: datetime) -> None:
        self.set(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)


def parse_local_date(text: str) -> date:
    """Parse a day-first date as people type it: 10/3/2024, 10/03/2024, 10-03-2024."""
    cleaned = text.strip().replace("-", "/").replace(".", "/")
    parts = cleaned.split("/")
    # At most four digits a part: a pasted run of digits is no date (and would overflow).
    if len(parts) != 3 or not all(p.isdigit() and len(p) <= 4 for p in parts):
        raise ValueError(f"not a dd/mm/yyyy date: {text[:40]!r}")
    day, month, year = (int(p) for p in parts)
    if year < 100:
        raise ValueError(f"the year must have four digits: {text!r}")
    return date(year, month, day)


def parse_day_month(text: str, year: int) -> date:
    """A day and month typed without the year ("20/06", "20-6") as a date in `year`."""
    parts = text.strip().replace("-", "/").replace(".", "/").split("/")
    if len(parts) != 2 or not all(p.isdigit() and len(p) <= 2 for p in parts):
        raise ValueError(f"not a dd/mm day: {text[:40]!r}")
    day, month = (int(p) for p in parts)
    return date(year, month, day)


def parse_local_datetime(text: str, tz: ZoneInfo) -> datetime:
    """Parse "dd/mm/yyyy HH:MM" (or a bare date, meaning 00:00) in `tz` into aware UTC."""
    stripped = text.strip()
    date_part, _, time_part = stripped.partition(" ")
    day = parse_local_date(date_part)
    hour, minute = 0, 0
    if time_part.strip():
        hh, sep, mm = time_part.strip().partition(":")
        if not sep or not hh.isdigit() or not mm.isdigit():
            raise ValueError(f"not a HH:MM time: {time_part.strip()!r}")
        hour, minute = int(hh), int(mm)
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
    return local.astimezone(UTC)


def local_date(at: datetime, tz: ZoneInfo) -> date:
    """The calendar day in `tz` at the instant `at`."""
    return at.astimezone(tz).date()


def format_date(d: date) -> str:
    """dd/mm/yyyy, the way every date is shown."""
    return d.strftime("%d/%m/%Y")


def format_datetime(at: datetime, tz: ZoneInfo) -> str:
    """dd/mm/yyyy HH:MM in the unit's time zone."""
    return at.astimezone(tz).strftime("%d/%m/%Y %H:%M")
