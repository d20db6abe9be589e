"""The reporting calendar: one obligation per report and year, computed without a database.

A report's due date comes from its RRULE evaluated inside the year; the data window and the
forwarding deadline are days of the year shifted by a whole number of years, because the
Ministry's windows straddle New Year (Quý I runs from 15/12 of the year before). Under the
unit's `deadline_on_day_off: next_working_day`, the due date and the forwarding deadline are
moved off a day off (`UnitCalendar.due`); the window stays the document's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from db.clock import format_date
from db.plan.coded import PlanValueError
from db.plan.schema import DayOfYear, ReportSpec, parse_rule
from db.unit_calendar import UnitCalendar

DOCUMENT_DATES = UnitCalendar()

Loc = tuple[str | int, ...]


class CalendarError(ValueError):
    """A rule gives no valid date; `loc` points at the field of the plan file to fix, `code`
    and `data` name the mistake for the catalog (`plan.error.<code>`)."""

    def __init__(
        self, loc: Loc, message: str, code: str = "", data: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.code = code
        self.data = data or {}


@dataclass(frozen=True)
class ObligationPlan:
    """One report instance as the plan wants it ("Báo cáo CCHC Quý I năm 2024")."""

    code: str
    report_code: str
    kind: str
    year: int
    title: str
    due_date: date
    window_start: date
    window_end: date
    templates: tuple[str, ...]
    collector: str
    forward_to: str | None
    forward_due: date | None
    # The report's indicators (as the plan gives them, JSON-ready) and outline headings.
    indicators: tuple[dict[str, Any], ...] = ()
    outline: tuple[str, ...] = ()
    # Submitted by the child units' collectors (`submitters: {units: children}`).
    children_submit: bool = False
    # Days after the due date that overdue reminders go on (issue 14).
    chase_days: int = 30


def due_dates_in(rule_text: str, year: int) -> list[date]:
    """Every date the RRULE gives within `year` (the rule has no COUNT or UNTIL)."""
    # Bounding the rule by UNTIL keeps a rule that never matches from running to year 9999.
    rule = parse_rule(rule_text, datetime(year, 1, 1)).replace(until=datetime(year, 12, 31))
    return [moment.date() for moment in rule]


def first_occurrence(rule_text: str, start: date, horizon_years: int = 10) -> date | None:
    """The first date the rule gives from `start` on, looking `horizon_years` ahead."""
    # Without a bound, a rule that never matches (BYMONTH=2;BYMONTHDAY=30) runs to year 9999;
    # COUNT and UNTIL are dropped so the bound can be set (they do not move the first date).
    kept = [p for p in rule_text.split(";") if p.partition("=")[0] not in {"COUNT", "UNTIL"}]
    begin = datetime(start.year, start.month, start.day)
    until = datetime(start.year + horizon_years, start.month, 1)
    rule = parse_rule(";".join(kept), begin).replace(until=until)
    return next((moment.date() for moment in rule), None)


def day_in(rule: DayOfYear, due_year: int) -> date:
    """The day `rule` names for a report due in `due_year`; ValueError if it does not exist."""
    year = due_year + rule.year
    try:
        return date(year, rule.month, rule.day)
    except ValueError:
        day = f"{rule.day:02d}/{rule.month:02d}/{year}"
        raise PlanValueError(f"{day} does not exist", "no_such_day", day=day) from None


def expand_report(
    report: ReportSpec, reports_to: str | None, calendar: UnitCalendar = DOCUMENT_DATES
) -> list[ObligationPlan]:
    """The obligations of `report`, one per year, due as the unit's `calendar` says; errors
    carry a location inside the report."""
    obligations = []
    first, last = report.years
    for year in range(first, last + 1):
        dues = due_dates_in(report.due, year)
        if len(dues) != 1:
            found = ", ".join(format_date(d) for d in dues)
            raise CalendarError(
                ("due",),
                "the rule must give exactly one date in each year; "
                f"in {year} it gives {found or 'none'}",
                "due_many_in_year" if dues else "due_none_in_year",
                {"year": str(year), "dates": found},
            )
        due = dues[0]
        start = _resolve(report.window.start, due.year, ("window", "start"))
        end = _resolve(report.window.end, due.year, ("window", "end"))
        if end < start:
            raise CalendarError(
                ("window", "end"),
                f"the {year} window ends ({format_date(end)}) before it starts "
                f"({format_date(start)})",
                "window_backwards",
                {"year": str(year), "ends": format_date(end), "starts": format_date(start)},
            )
        forward_due = None
        if report.forward_due is not None:
            forward_due = calendar.due(_resolve(report.forward_due, due.year, ("forward_due",)))
        obligations.append(
            ObligationPlan(
                code=f"{report.code}-{year}",
                report_code=report.code,
                kind=report.kind,
                year=year,
                title=report.title_for(year),
                due_date=calendar.due(due),
                window_start=start,
                window_end=end,
                templates=tuple(report.templates),
                collector=report.collector,
                forward_to=report.forward_to or reports_to,
                forward_due=forward_due,
                indicators=tuple(i.model_dump(exclude_defaults=False) for i in report.indicators),
                outline=tuple(report.outline),
                children_submit=report.submitters.units == "children",
                chase_days=report.chase_days,
            )
        )
    return obligations


def expand_reports(
    reports: Sequence[ReportSpec],
    reports_to: str | None,
    calendar: UnitCalendar = DOCUMENT_DATES,
) -> list[ObligationPlan]:
    """The obligations of every report; an error's `loc` starts at `reports[i]`."""
    obligations: list[ObligationPlan] = []
    seen: dict[str, int] = {}
    for index, report in enumerate(reports):
        try:
            expanded = expand_report(report, reports_to, calendar)
        except CalendarError as exc:
            raise CalendarError(
                ("reports", index, *exc.loc), exc.message, exc.code, exc.data
            ) from None
        for obligation in expanded:
            if obligation.code in seen:
                raise CalendarError(
                    ("reports", index, "code"),
                    f"makes obligation {obligation.code!r}, "
                    f"which reports[{seen[obligation.code]}] makes too",
                    "obligation_twice",
                    {"obligation": obligation.code, "other": str(seen[obligation.code])},
                )
            seen[obligation.code] = index
        obligations.extend(expanded)
    return obligations


def _resolve(rule: DayOfYear, due_year: int, loc: Loc) -> date:
    try:
        return day_in(rule, due_year)
    except PlanValueError as exc:
        raise CalendarError(
            loc,
            f"{exc} (for the report due in {due_year})",
            exc.code,
            {**exc.data, "due_year": str(due_year)},
        ) from None
