"""Working days, quiet time and moving slots: Vietnamese holidays, in any server time zone."""

from __future__ import annotations

import os
import time as systime
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db.working_days import public_holidays
from scheduler.working_time import WorkingCalendar

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
EIGHT = time(8, 0)
CAL = WorkingCalendar(HCM)


def local(d: int, m: int, y: int, hh: int = 8, mm: int = 0) -> datetime:
    """A Ba Bích wall-clock instant (dd/mm/yyyy HH:MM), as the UTC value a server holds."""
    return datetime(y, m, d, hh, mm, tzinfo=HCM).astimezone(UTC)


def shown(at: datetime) -> str:
    return at.astimezone(HCM).strftime("%a %d/%m/%Y %H:%M")


@pytest.fixture(params=["America/New_York", "Pacific/Kiritimati", "UTC", "Asia/Ho_Chi_Minh"])
def server_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run with the process's local time zone set elsewhere: nothing may depend on it."""
    zone: str = request.param
    saved = os.environ.get("TZ")
    os.environ["TZ"] = zone
    systime.tzset()
    try:
        yield zone
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        systime.tzset()


# -- what the holidays package knows ----------------------------------------------------------


def test_tet_2024_is_thursday_8_to_wednesday_14_february() -> None:
    tet = {d for d in public_holidays("VN", 2024) if d.month == 2}
    assert tet == {date(2024, 2, d) for d in range(8, 15)}
    assert CAL.is_working_day(date(2024, 2, 7))
    assert not any(CAL.is_working_day(date(2024, 2, d)) for d in range(8, 15))
    assert CAL.is_working_day(date(2024, 2, 15))


def test_tet_2025_leaves_no_working_day_from_25_january_to_2_february() -> None:
    # The package has Mon 27/01 – Sat 01/02; the official break ran Sat 25/01 – Sun 02/02.
    tet = {d for d in public_holidays("VN", 2025) if date(2025, 1, 20) <= d <= date(2025, 2, 10)}
    assert tet == {date(2025, 1, d) for d in range(27, 32)} | {date(2025, 2, 1)}
    assert CAL.is_working_day(date(2025, 1, 24))
    assert not any(
        CAL.is_working_day(date(2025, 1, 25) + timedelta(days=i)) for i in range(9)
    )  # 25/01 … 02/02
    assert CAL.is_working_day(date(2025, 2, 3))


def test_other_public_holidays_and_swapped_days_off() -> None:
    assert not CAL.is_working_day(date(2024, 1, 1))  # Tết Dương lịch
    assert not CAL.is_working_day(date(2024, 4, 18))  # Giỗ Tổ Hùng Vương
    assert not CAL.is_working_day(date(2024, 4, 29))  # swapped for Saturday 04/05/2024
    assert not CAL.is_working_day(date(2024, 4, 30))
    assert not CAL.is_working_day(date(2024, 5, 1))
    assert not CAL.is_working_day(date(2024, 9, 2))
    assert not CAL.is_working_day(date(2024, 9, 3))
    # The package does not know that Saturday 04/05/2024 was worked instead.
    assert not CAL.is_working_day(date(2024, 5, 4))


def test_configured_extra_days_off_and_working_saturdays() -> None:
    cal = WorkingCalendar(
        HCM, extra_days_off={date(2024, 3, 8)}, extra_working_days={date(2024, 5, 4)}
    )
    assert not cal.is_working_day(date(2024, 3, 8))
    assert cal.is_holiday(date(2024, 3, 8))
    assert cal.is_working_day(date(2024, 5, 4))
    assert cal.is_working_time(local(4, 5, 2024, 8))


def test_no_holiday_country_means_weekends_only() -> None:
    cal = WorkingCalendar(HCM, holiday_country=None)
    assert cal.is_working_day(date(2024, 2, 12))
    assert not cal.is_working_day(date(2024, 2, 10))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"working_weekdays": ()}, "working_weekdays"),
        ({"working_weekdays": (7,)}, "working_weekdays"),
        ({"work_start": time(18, 0)}, "work_start"),
        (
            {"extra_days_off": {date(2024, 5, 4)}, "extra_working_days": {date(2024, 5, 4)}},
            "both off and working",
        ),
    ],
)
def test_bad_calendars_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingCalendar(HCM, **kwargs)  # type: ignore[arg-type]


# -- working time ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "working"),
    [
        (local(11, 3, 2024, 7, 0), True),
        (local(11, 3, 2024, 17, 30), True),
        (local(11, 3, 2024, 6, 59), False),
        (local(11, 3, 2024, 17, 31), False),
        (local(9, 3, 2024, 10, 0), False),  # Saturday
        (local(10, 3, 2024, 10, 0), False),  # Sunday
        (local(12, 2, 2024, 10, 0), False),  # Tết
    ],
)
def test_working_time_is_0700_to_1730_on_working_days(at: datetime, working: bool) -> None:
    assert CAL.is_working_time(at) is working


def test_local_0800_is_0100_utc(server_zone: str) -> None:
    assert CAL.at(date(2024, 3, 11), EIGHT) == datetime(2024, 3, 11, 1, 0, tzinfo=UTC)
    assert CAL.local_date(datetime(2024, 3, 10, 17, 0, tzinfo=UTC)) == date(2024, 3, 11)
    # The same instant written in another offset is the same working time.
    assert CAL.is_working_time(datetime(2024, 3, 10, 20, 0, tzinfo=timezone(timedelta(hours=-5))))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        CAL.is_working_time(datetime(2024, 3, 11, 8, 0))


def test_preferred_time_is_clamped_into_working_hours() -> None:
    assert CAL.preferred_time(EIGHT) == EIGHT
    assert CAL.preferred_time(time(6, 0)) == time(7, 0)
    assert CAL.preferred_time(time(18, 0)) == time(17, 30)


# -- moving slots ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nominal", "when", "expected"),
    [
        (local(11, 3, 2024), EIGHT, "Mon 11/03/2024 08:00"),  # allowed: unchanged
        (local(9, 3, 2024), EIGHT, "Mon 11/03/2024 08:00"),  # Saturday
        (local(10, 3, 2024), EIGHT, "Mon 11/03/2024 08:00"),  # Sunday
        (local(11, 3, 2024, 6, 0), time(6, 0), "Mon 11/03/2024 07:00"),  # before opening
        (local(11, 3, 2024, 18, 0), time(18, 0), "Tue 12/03/2024 17:30"),  # after closing
        (local(29, 1, 2025), EIGHT, "Mon 03/02/2025 08:00"),  # Tết Ất Tỵ
        (local(9, 2, 2024), EIGHT, "Thu 15/02/2024 08:00"),  # Tết Giáp Thìn
    ],
)
def test_move_later(nominal: datetime, when: time, expected: str, server_zone: str) -> None:
    assert shown(CAL.move_later(nominal, when)) == expected


@pytest.mark.parametrize(
    ("nominal", "when", "expected"),
    [
        (local(7, 3, 2024), EIGHT, "Thu 07/03/2024 08:00"),  # allowed: unchanged
        (local(3, 3, 2024), EIGHT, "Fri 01/03/2024 08:00"),  # Sunday
        (local(9, 3, 2024), EIGHT, "Fri 08/03/2024 08:00"),  # Saturday
        (local(11, 3, 2024, 18, 0), time(18, 0), "Mon 11/03/2024 17:30"),  # after closing
        (local(11, 3, 2024, 6, 0), time(6, 0), "Fri 08/03/2024 07:00"),  # before opening
        (local(31, 1, 2025), EIGHT, "Fri 24/01/2025 08:00"),  # Tết Ất Tỵ
        (local(14, 2, 2024), EIGHT, "Wed 07/02/2024 08:00"),  # Tết Giáp Thìn
    ],
)
def test_move_earlier(nominal: datetime, when: time, expected: str, server_zone: str) -> None:
    assert shown(CAL.move_earlier(nominal, when)) == expected


def test_quiet_time_can_be_allowed() -> None:
    cal = WorkingCalendar(HCM, enforce_quiet_time=False)
    sunday_night = local(10, 3, 2024, 22, 0)
    assert cal.move_later(sunday_night, time(22, 0)) == sunday_night
    assert cal.move_earlier(sunday_night, time(22, 0)) == sunday_night
    assert not cal.is_working_time(sunday_night)


# -- working-day arithmetic --------------------------------------------------------------------


def test_working_day_arithmetic_around_the_seed_deadline() -> None:
    due = date(2024, 3, 10)  # Sunday
    first = CAL.next_working_day(due)
    assert first == date(2024, 3, 11)
    assert CAL.add_working_days(first, 2) == date(2024, 3, 13)
    assert CAL.add_working_days(first, 4) == date(2024, 3, 15)
    assert CAL.add_working_days(first, 6) == date(2024, 3, 19)
    assert CAL.add_working_days(first, 0) == first
    assert CAL.count_working_days(date(2024, 3, 11), date(2024, 3, 18)) == 5
    assert CAL.count_working_days(date(2024, 3, 18), date(2024, 3, 11)) == 0
    assert CAL.previous_working_day(due) == date(2024, 3, 8)


def test_working_day_arithmetic_skips_tet_and_crosses_years() -> None:
    assert CAL.add_working_days(date(2024, 2, 7), 1) == date(2024, 2, 15)
    assert CAL.next_working_day(date(2024, 12, 31)) == date(2025, 1, 2)
    assert CAL.previous_working_day(date(2025, 1, 2)) == date(2024, 12, 31)
    # A long jump: one year of working days from the first working day of 2024.
    year_2024 = CAL.count_working_days(date(2024, 1, 1), date(2025, 1, 1))
    assert CAL.add_working_days(date(2024, 1, 2), year_2024) == date(2025, 1, 2)


def test_no_working_day_at_all_is_an_error_not_a_hang() -> None:
    cal = WorkingCalendar(HCM, working_weekdays=(6,), holiday_country=None)
    sundays = frozenset(date(2024, 1, 7) + timedelta(weeks=w) for w in range(52 * 8))
    blocked = WorkingCalendar(HCM, working_weekdays=(6,), extra_days_off=sundays)
    assert cal.next_working_day(date(2024, 1, 1)) == date(2024, 1, 7)
    with pytest.raises(ValueError, match="no working day"):
        blocked.next_working_day(date(2024, 1, 1))


# -- properties ----------------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
times = st.times()
days = st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31))


@given(instants, times)
def test_moving_later_lands_in_working_time_not_before(at: datetime, when: time) -> None:
    moved = CAL.move_later(at, when)
    assert moved >= at
    assert CAL.is_working_time(moved)
    assert not CAL.is_holiday(CAL.local_date(moved))
    assert moved.tzinfo is UTC


@given(instants, times)
def test_moving_earlier_lands_in_working_time_not_after(at: datetime, when: time) -> None:
    moved = CAL.move_earlier(at, when)
    assert moved <= at
    assert CAL.is_working_time(moved)
    assert not CAL.is_holiday(CAL.local_date(moved))


@given(instants, instants, times)
def test_moving_keeps_the_order_of_slots(a: datetime, b: datetime, when: time) -> None:
    a, b = min(a, b), max(a, b)
    assert CAL.move_later(a, when) <= CAL.move_later(b, when)
    assert CAL.move_earlier(a, when) <= CAL.move_earlier(b, when)


@given(instants, times)
def test_an_allowed_slot_does_not_move(at: datetime, when: time) -> None:
    if CAL.is_working_time(at):
        assert CAL.move_later(at, when) == at == CAL.move_earlier(at, when)


@given(days, st.integers(min_value=0, max_value=400))
def test_counting_undoes_adding(day: date, n: int) -> None:
    start = day if CAL.is_working_day(day) else CAL.next_working_day(day)
    end = CAL.add_working_days(start, n)
    assert CAL.count_working_days(start, end) == n
    assert n == 0 or CAL.is_working_day(end)


@settings(max_examples=50)
@given(days)
def test_next_and_previous_working_days_agree_with_walking(day: date) -> None:
    walk = day + timedelta(days=1)
    while not CAL.is_working_day(walk):
        walk += timedelta(days=1)
    assert CAL.next_working_day(day) == walk
    assert CAL.previous_working_day(walk) <= day
