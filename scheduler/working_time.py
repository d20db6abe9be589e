"""Working time of the commune office: working days, quiet time, and moving slots out of it.

Pure and deterministic: nothing here reads the clock, the process time zone or the network.
Every instant handed in or out is an aware datetime; results are aware UTC.

Working days
    Which days the office works is `db.working_days.WorkingDays` (weekdays, the `holidays`
    package's public holidays, extra days off and make-up working days): one home, shared
    with the plan's deadline rule. `WorkingCalendar` is that, with a time zone and hours.

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

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from db.working_days import MONDAY_TO_FRIDAY, WorkingDays


class WorkingCalendar(WorkingDays):
    """Working days and working hours of one office, with slot-moving rules.

    Instances are immutable in behaviour; they cache per-year working-day tables internally.
    """

    __slots__ = ("enforce_quiet_time", "tz", "work_end", "work_start")

    def __init__(
        self,
        tz: ZoneInfo,
        *,
        work_start: time = time(7, 0),
        work_end: time = time(17, 30),
        working_weekdays: Iterable[int] = MONDAY_TO_FRIDAY,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        holiday_country: str | None = "VN",
        enforce_quiet_time: bool = True,
    ) -> None:
        if not work_start < work_end:
            raise ValueError("work_start must be before work_end")
        super().__init__(
            working_weekdays=working_weekdays,
            extra_days_off=extra_days_off,
            extra_working_days=extra_working_days,
            holiday_country=holiday_country,
        )
        self.tz = tz
        self.work_start = work_start
        self.work_end = work_end
        self.enforce_quiet_time = enforce_quiet_time

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
