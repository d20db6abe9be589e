"""Working days of an office: weekdays, public holidays, extra days off and make-up days.

Pure and deterministic: dates in, dates out; no clock, no time zone, no network. The one home
of the working-day rule, used by the reminder policy (`scheduler.working_time`, which adds
working hours) and by the plan (a due date on a day off, `db.unit_calendar`).

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
    them in `extra_working_days` (the plan's `unit.calendar.working_days`) if the office
    works then; put any break the package misses (a longer Tết decided by the province, a
    local holiday) in `extra_days_off` (`unit.calendar.days_off`).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date
from functools import cache

import holidays

# Any real calendar has a working day within a few weeks; this bound only stops a runaway
# search when a configuration has no working day at all.
_SEARCH_YEARS = 5
MONDAY_TO_FRIDAY = (0, 1, 2, 3, 4)


@cache
def public_holidays(country: str, year: int) -> frozenset[date]:
    """The public holidays the `holidays` package knows for `country` in `year` (cached)."""
    return frozenset(holidays.country_holidays(country, years=year).keys())


class WorkingDays:
    """Which days one office works, with working-day arithmetic.

    Instances are immutable in behaviour; they cache per-year working-day tables internally.
    """

    __slots__ = (
        "_years",
        "extra_days_off",
        "extra_working_days",
        "holiday_country",
        "working_weekdays",
    )

    def __init__(
        self,
        *,
        working_weekdays: Iterable[int] = MONDAY_TO_FRIDAY,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        holiday_country: str | None = "VN",
    ) -> None:
        weekdays = frozenset(working_weekdays)
        if not weekdays or not weekdays <= set(range(7)):
            raise ValueError("working_weekdays must be a non-empty subset of 0 (Monday) … 6")
        off, on = frozenset(extra_days_off), frozenset(extra_working_days)
        if off & on:
            raise ValueError(f"days both off and working: {sorted(off & on)}")
        self.working_weekdays = weekdays
        self.extra_days_off = off
        self.extra_working_days = on
        self.holiday_country = holiday_country
        # year -> sorted ordinals of its working days; filled on first use.
        self._years: dict[int, tuple[int, ...]] = {}

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

    def working_day_from(self, day: date) -> date:
        """`day` itself when the office works then, else the next working day."""
        return day if self.is_working_day(day) else self.next_working_day(day)

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
