"""Working time of the commune office: working days, quiet time, and moving slots out of it.

Pure and deterministic: nothing here reads the clock, the process time zone or the network.
Every instant handed in or out is an aware datetime; results are aware UTC.

Working day
    A date is a working day when it is not in `extra_days_off`, and it is either in
    `extra_working_days` (a Saturday worked to swap for a bridge day) or a working weekday
    (Monday–Friday by default) that is not a public holiday of `holiday_country`.

Public holidays (`holidays` 0.109, country "VN")
    The package follows the Labour Code: New Year, Tết (the 29th/30th of the last lunar
    month through the 4th/5th day of the new year, with Saturday/Sunday days shifted to the
    nearest weekday), Hùng Kings, 30/4, 1/5, 2/9 (+1 day), 24/11 from 2026, and the
    government's announced swaps (29/04/2024 for Sat 04/05/2024, 02/05/2025 for
    Sat 26/04/2025). It gives Tết 2024 as Thu 08/02 – Wed 14/02/2024 (the official break for
    civil servants was the same seven days) and Tết 2025 as Mon 27/01 – Sat 01/02/2025 (the
    official break ran Sat 25/01 – Sun 02/02/2025, the extra days being weekends, so the
    working days off are identical). It does not know the swapped working Saturdays: put
    them in `extra_working_days` if the office wants reminders then; put any break the
    package misses (a longer Tết decided by the province, a local holiday) in `extra_days_off`.

Quiet time
    Every moment outside `work_start`–`work_end` (both inclusive) of a working day.

Moving a slot out of quiet time (`move_later`, `move_earlier`)
    A moved slot lands at the *preferred time*: the reminder time clamped into working hours
    (08:00 stays 08:00; 06:00 becomes 07:00; 18:00 becomes 17:30).
    Later: the same day at the preferred time if that day is a working day and the preferred
    time is still ahead, else the next working day at the preferred time.
    Earlier: the same day at the preferred time if that day is a working day and the preferred
    time has passed, else the previous working day at the preferred time. So a slot moved
    earlier is never after its nominal slot (a before-deadline reminder stays before the
    deadline), and a slot moved later is never before it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

import holidays

# Any real calendar has a working day within a few weeks; this bound only stops a runaway
# search when a configuration has no working day at all.
_SEARCH_YEARS = 5


@cache
def public_holidays(country: str, year: int) -> frozenset[date]:
    """The public holidays the `holidays` package knows for `country` in `year` (cached)."""
    return frozenset(holidays.country_holidays(country, years=year).keys())


class WorkingCalendar:
    """Working days and working hours of one office, with slot-moving rules.

    Instances are immutable in behaviour; they cache per-year working-day tables internally.
    """

    __slots__ = (
        "_years",
        "enforce_quiet_time",
        "extra_days_off",
        "extra_working_days",
        "holiday_country",
        "tz",
        "work_end",
        "work_start",
        "working_weekdays",
    )

    def __init__(
        self,
        tz: ZoneInfo,
        *,
        work_start: time = time(7, 0),
        work_end: time = time(17, 30),
        working_weekdays: Iterable[int] = (0, 1, 2, 3, 4),
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        holiday_country: str | None = "VN",
        enforce_quiet_time: bool = True,
    ) -> None:
        weekdays = frozenset(working_weekdays)
        if not weekdays or not weekdays <= set(range(7)):
            raise ValueError("working_weekdays must be a non-empty subset of 0 (Monday) … 6")
        if not work_start < work_end:
            raise ValueError("work_start must be before work_end")
        off, on = frozenset(extra_days_off), frozenset(extra_working_days)
        if off & on:
            raise ValueError(f"days both off and working: {sorted(off & on)}")
        self.tz = tz
        self.work_start = work_start
        self.work_end = work_end
        self.working_weekdays = weekdays
        self.extra_days_off = off
        self.extra_working_days = on
        self.holiday_country = holiday_country
        self.enforce_quiet_time = enforce_quiet_time
        # year -> sorted ordinals of its working days; filled on first use.
        self._years: dict[int, tuple[int, ...]] = {}

    # -- days ---------------------------------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        """Whether `day` is a public holiday or one of the configured extra days off."""
        if day in self.extra_days_off:
            return True
        if self.holiday_country is None:
            return False
        return day in public_holidays(self.holiday_country, day.year)

    def is_working_day(self, day: date) -> bool:
        """Whether the office works on `day`."""
        if day in self.extra_days_off:
            return False
        if day in self.extra_working_days:
            return True
        return day.weekday() in self.working_weekdays and not self.is_holiday(day)

    def _working_ordinals(self, year: int) -> tuple[int, ...]:
        table = self._years.get(year)
        if table is None:
            first = date(year, 1, 1).toordinal()
            last = date(year, 12, 31).toordinal()
            table = tuple(
                o for o in range(first, last + 1) if self.is_working_day(date.fromordinal(o))
            )
            self._years[year] = table
        return table

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        ordinal = day.toordinal()
        for year in range(day.year, day.year + _SEARCH_YEARS):
            table = self._working_ordinals(year)
            i = bisect_right(table, ordinal)
            if i < len(table):
                return date.fromordinal(table[i])
        raise ValueError(f"no working day within {_SEARCH_YEARS} years after {day}")

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before `day`."""
        ordinal = day.toordinal()
        for year in range(day.year, day.year - _SEARCH_YEARS, -1):
            table = self._working_ordinals(year)
            i = bisect_left(table, ordinal)
            if i > 0:
                return date.fromordinal(table[i - 1])
        raise ValueError(f"no working day within {_SEARCH_YEARS} years before {day}")

    def count_working_days(self, start: date, end: date) -> int:
        """How many working days lie in [start, end) (0 when end <= start)."""
        if end <= start:
            return 0
        a, b = start.toordinal(), end.toordinal()
        total = 0
        for year in range(start.year, end.year + 1):
            table = self._working_ordinals(year)
            total += bisect_left(table, b) - bisect_left(table, a)
        return total

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (n >= 1), or `day` itself when n == 0."""
        if n < 0:
            raise ValueError("n must not be negative")
        if n == 0:
            return day
        ordinal = day.toordinal()
        year = day.year
        remaining = n
        empty_years = 0
        # Whole years are skipped with one subtraction each, so a long jump stays cheap.
        while empty_years < _SEARCH_YEARS:
            table = self._working_ordinals(year)
            i = bisect_right(table, ordinal)
            available = len(table) - i
            if remaining <= available:
                return date.fromordinal(table[i + remaining - 1])
            remaining -= available
            empty_years = empty_years + 1 if not table else 0
            year += 1
            ordinal = date(year, 1, 1).toordinal() - 1
        raise ValueError(f"cannot add {n} working days to {day}: no working days ahead")

    # -- instants -----------------------------------------------------------------------------

    def at(self, day: date, when: time) -> datetime:
        """The aware UTC instant of `day` at local wall time `when`."""
        return datetime.combine(day, when, tzinfo=self.tz).astimezone(UTC)

    def local_date(self, at: datetime) -> date:
        """The local calendar day of the instant `at`."""
        return _aware(at).astimezone(self.tz).date()

    def is_working_time(self, at: datetime) -> bool:
        """Whether `at` lies within working hours of a working day (not quiet time)."""
        local = _aware(at).astimezone(self.tz)
        return self.is_working_day(local.date()) and (
            self.work_start <= local.time() <= self.work_end
        )

    def preferred_time(self, when: time) -> time:
        """`when` clamped into working hours: where moved slots land."""
        return min(max(when, self.work_start), self.work_end)

    def move_later(self, nominal: datetime, when: time) -> datetime:
        """`nominal` if allowed, else the next working moment at the preferred time (UTC)."""
        if not self.enforce_quiet_time or self.is_working_time(nominal):
            return _aware(nominal).astimezone(UTC)
        preferred = self.preferred_time(when)
        local = nominal.astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day) and local.time() < preferred:
            return self.at(day, preferred)
        return self.at(self.next_working_day(day), preferred)

    def move_earlier(self, nominal: datetime, when: time) -> datetime:
        """`nominal` if allowed, else the last working moment at the preferred time before it."""
        if not self.enforce_quiet_time or self.is_working_time(nominal):
            return _aware(nominal).astimezone(UTC)
        preferred = self.preferred_time(when)
        local = nominal.astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day) and local.time() > preferred:
            return self.at(day, preferred)
        return self.at(self.previous_working_day(day), preferred)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"an aware datetime is needed, got {at!r}")
    return at
