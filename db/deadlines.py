"""Deadlines are whole local days: "10/3/2024" is met by anything before 00:00 on 11/3 local."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def days_late(due: date, at: datetime, tz: ZoneInfo) -> int:
    """Whole local days `at` lies after the due day; 0 when on time."""
    return max(0, (at.astimezone(tz).date() - due).days)


def days_left(due: date, at: datetime, tz: ZoneInfo) -> int:
    """Local days from `at` to the due day: 0 on the day itself, negative once late."""
    return (due - at.astimezone(tz).date()).days
