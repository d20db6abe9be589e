"""A deadline is the whole local day in the unit's zone, whatever zone the server runs in."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from db.deadlines import days_late, days_left

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DUE = date(2024, 3, 10)  # Báo cáo CCHC Quý I năm 2024


def _local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """An instant given as Ba Bích wall time, handed over in UTC as a server would hold it."""
    return datetime(2024, month, day, hour, minute, tzinfo=HCM).astimezone(UTC)


# Far west, far east, and the zones most likely on a server or a developer's machine.
SERVER_ZONES = [
    "America/New_York",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "UTC",
    "Asia/Ho_Chi_Minh",
]


@pytest.fixture(params=SERVER_ZONES)
def server_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the process's local time zone set to another zone."""
    zone: str = request.param
    saved = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield zone
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def test_the_server_zone_really_changes(server_zone: str) -> None:
    # Guards the tests below: a local-zone bug only shows if the process zone is not Ba Bích's.
    instant = datetime(2024, 3, 10, 17, 0, tzinfo=UTC)
    assert instant.astimezone().utcoffset() == instant.astimezone(ZoneInfo(server_zone)).utcoffset()


def test_not_overdue_at_the_last_minute_of_the_due_day(server_zone: str) -> None:
    at = _local(10, 23, 59)

    assert days_late(DUE, at, HCM) == 0
    assert days_late(DUE, at, HCM) == 0
    assert days_left(DUE, at, HCM) == 0


def test_overdue_from_midnight_local(server_zone: str) -> None:
    at = _local(11, 0, 0)

    assert days_late(DUE, at, HCM) > 0
    assert days_late(DUE, at, HCM) == 1
    assert days_left(DUE, at, HCM) == -1


def test_the_offset_the_instant_is_written_in_does_not_matter(server_zone: str) -> None:
    # 00:00 on 11/3 in Ba Bích is still 10/3 in UTC and in New York, already 11/3 in Kiritimati.
    instant = _local(11, 0, 0)
    for offset in (-10, -4, 0, 7, 14):
        written = instant.astimezone(timezone(timedelta(hours=offset)))
        assert days_late(DUE, written, HCM) > 0
        assert days_late(DUE, written - timedelta(minutes=1), HCM) == 0


@pytest.mark.parametrize(
    ("at", "late", "left"),
    [
        (_local(1, 8), 0, 9),
        (_local(9, 23, 59), 0, 1),
        (_local(10, 0, 0), 0, 0),
        (_local(10, 17, 30), 0, 0),
        (_local(11, 7, 30), 1, -1),
        (_local(14, 12), 4, -4),
        (_local(10, 9, month=4), 31, -31),
    ],
)
def test_days_late_and_days_left(server_zone: str, at: datetime, late: int, left: int) -> None:
    assert days_late(DUE, at, HCM) == late
    assert days_left(DUE, at, HCM) == left


def test_the_unit_zone_decides() -> None:
    # 23:30 on 10/3 in Ba Bích is already 01:30 on 11/3 in Tokyo.
    at = datetime(2024, 3, 10, 16, 30, tzinfo=UTC)

    assert days_late(DUE, at, HCM) == 0
    assert days_late(DUE, at, ZoneInfo("Asia/Tokyo")) > 0
