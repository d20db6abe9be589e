"""A unit's working calendar, as its plan gives it and the `units` row keeps it.

Extra days off and make-up working days (beyond the public holidays `db.working_days`
knows), office hours, and what a due date on a day off means: `keep` (the document's date,
the default) or `next_working_day` (Civil Code 2015, Art. 148 §5: a time limit ending on a
day off ends on the next working day). The plan's due dates are moved here, once, when the
plan is read, so the one stored date is what reminders, the desk, digests and exports see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from functools import cached_property
from typing import Any, Final, Literal, get_args

from db.models import Unit
from db.working_days import WorkingDays

DeadlineRule = Literal["keep", "next_working_day"]
KEEP: Final = "keep"
NEXT_WORKING_DAY: Final = "next_working_day"
DEADLINE_RULES: Final[tuple[str, ...]] = get_args(DeadlineRule)


@dataclass(frozen=True)
class UnitCalendar:
    """The working calendar of one unit; hours left None keep the office default."""

    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    work_start: time | None = None
    work_end: time | None = None
    deadline_on_day_off: DeadlineRule = KEEP

    @classmethod
    def of(cls, unit: Unit) -> UnitCalendar:
        """The calendar stored on `unit` (ISO dates, "HH:MM" hours)."""
        rule = unit.deadline_on_day_off
        return cls(
            days_off=frozenset(date.fromisoformat(d) for d in unit.days_off or ()),
            working_days=frozenset(date.fromisoformat(d) for d in unit.working_days or ()),
            work_start=time.fromisoformat(unit.work_start) if unit.work_start else None,
            work_end=time.fromisoformat(unit.work_end) if unit.work_end else None,
            deadline_on_day_off=NEXT_WORKING_DAY if rule == NEXT_WORKING_DAY else KEEP,
        )

    def columns(self) -> dict[str, Any]:
        """The `units` columns that store this calendar (sorted, so a reload compares equal)."""
        return {
            "days_off": [d.isoformat() for d in sorted(self.days_off)],
            "working_days": [d.isoformat() for d in sorted(self.working_days)],
            "work_start": _hhmm(self.work_start),
            "work_end": _hhmm(self.work_end),
            "deadline_on_day_off": self.deadline_on_day_off,
        }

    @cached_property
    def working(self) -> WorkingDays:
        """Which days the unit works (public holidays, its days off and make-up days)."""
        return WorkingDays(extra_days_off=self.days_off, extra_working_days=self.working_days)

    def due(self, document_due: date) -> date:
        """The due date that holds for a deadline the documents set on `document_due`."""
        if self.deadline_on_day_off == NEXT_WORKING_DAY:
            return self.working.working_day_from(document_due)
        return document_due


def _hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None
