"""The clock, and reading the dates and times people type (day first, Ba Bích time)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from db.clock import (
    FixedClock,
    SystemClock,
    format_date,
    format_datetime,
    local_date,
    parse_local_date,
    parse_local_datetime,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("10/3/2024", date(2024, 3, 10)),
        ("10/03/2024", date(2024, 3, 10)),
        ("10-03-2024", date(2024, 3, 10)),
        ("10.03.2024", date(2024, 3, 10)),
        ("  1/2/2024 ", date(2024, 2, 1)),  # 1 February, never 2 January
        ("03/10/2024", date(2024, 10, 3)),
        ("12/11/2024", date(2024, 11, 12)),
        ("29/02/2024", date(2024, 2, 29)),
    ],
)
def test_dates_are_read_day_first(typed: str, expected: date) -> None:
    assert parse_local_date(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "hôm nay",
        "10/3",
        "10/3/24",  # a two-digit year is ambiguous
        "2024-03-10",  # ISO would be read as day 2024
        "3/13/2024",  # month first
        "31/02/2024",
        "29/02/2023",
        "0/3/2024",
        "10//2024",
        "10/3/2024/1",
        "1O/3/2024",
        "-1/3/2024",
    ],
)
def test_bad_dates_raise_value_error(typed: str) -> None:
    with pytest.raises(ValueError):
        parse_local_date(typed)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("10/03/2024 23:59", datetime(2024, 3, 10, 16, 59, tzinfo=UTC)),
        ("11/3/2024 0:00", datetime(2024, 3, 10, 17, 0, tzinfo=UTC)),
        ("11/3/2024", datetime(2024, 3, 10, 17, 0, tzinfo=UTC)),  # a bare date is midnight
        (" 08/03/2024   08:00 ", datetime(2024, 3, 8, 1, 0, tzinfo=UTC)),
    ],
)
def test_local_times_become_utc(typed: str, expected: datetime) -> None:
    parsed = parse_local_datetime(typed, HCM)

    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "typed",
    ["10/03/2024 24:00", "10/03/2024 10:60", "10/03/2024 10", "10/03/2024 10h30", "10/03/2024 :30"],
)
def test_bad_times_raise_value_error(typed: str) -> None:
    with pytest.raises(ValueError):
        parse_local_datetime(typed, HCM)


def test_formatting_is_day_first_in_local_time() -> None:
    at = datetime(2024, 3, 10, 17, 5, tzinfo=UTC)

    assert format_date(date(2024, 3, 1)) == "01/03/2024"
    assert format_datetime(at, HCM) == "11/03/2024 00:05"
    assert local_date(at, HCM) == date(2024, 3, 11)
    assert parse_local_datetime(format_datetime(at, HCM), HCM) == at


def test_fixed_clock_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        FixedClock(datetime(2024, 3, 8, 8, 0))
    clock = FixedClock(datetime(2024, 3, 8, 1, 0, tzinfo=UTC))
    with pytest.raises(ValueError):
        clock.set(datetime(2024, 3, 9, 8, 0))
    assert clock.now() == datetime(2024, 3, 8, 1, 0, tzinfo=UTC)


def test_fixed_clock_tells_utc_and_moves_only_when_set() -> None:
    clock = FixedClock(datetime(2024, 3, 8, 8, 0, tzinfo=timezone(timedelta(hours=7))))

    assert clock.now() == datetime(2024, 3, 8, 1, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    assert clock.now() == clock.now()

    clock.set(datetime(2024, 3, 11, 0, 0, tzinfo=HCM))
    assert clock.now() == datetime(2024, 3, 10, 17, 0, tzinfo=UTC)


def test_system_clock_is_aware_utc() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()

    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)
