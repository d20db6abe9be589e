"""Checks that need the whole plan: references to officials, duplicates, date order, and a
unit calendar that contradicts itself."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date

from db.clock import format_date
from db.names import fold_name
from db.plan.calendar import Loc, first_occurrence
from db.plan.coded import Coded
from db.plan.schema import PlanFile

Problem = tuple[Loc, str]


def find_problems(plan: PlanFile) -> list[Problem]:
    """Every cross-reference problem of `plan`, in file order."""
    return [
        *_calendar_problems(plan),
        *_official_problems(plan),
        *_task_problems(plan),
        *_report_problems(plan),
    ]


def _duplicates(values: Sequence[str]) -> Iterator[tuple[int, int]]:
    """(index, index of the first occurrence) for each repeated value."""
    first: dict[str, int] = {}
    for index, value in enumerate(values):
        if value in first:
            yield index, first[value]
        else:
            first.setdefault(value, index)


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _calendar_problems(plan: PlanFile) -> Iterator[Problem]:
    calendar = plan.unit.calendar
    base: Loc = ("unit", "calendar")
    for field, days in (("days_off", calendar.days_off), ("working_days", calendar.working_days)):
        for index, first in _duplicates([d.isoformat() for d in days]):
            again = format_date(days[index])
            yield (
                (*base, field, index),
                Coded(f"{again} is listed twice (also {field}[{first}])", "day_twice", day=again),
            )
    days_off = {day: index for index, day in enumerate(calendar.days_off)}
    for index, day in enumerate(calendar.working_days):
        loc = (*base, "working_days", index)
        if day in days_off:
            yield (
                loc,
                Coded(
                    f"{format_date(day)} is also a day off (days_off[{days_off[day]}])",
                    "also_day_off",
                    day=format_date(day),
                ),
            )
        elif day.weekday() < 5:
            yield (
                loc,
                Coded(
                    f"{format_date(day)} is a {_WEEKDAYS[day.weekday()]}, a working day "
                    "already: a make-up working day is a Saturday or a Sunday",
                    "makeup_on_weekday",
                    day=format_date(day),
                    weekday=_WEEKDAYS[day.weekday()],
                ),
            )


def _official_problems(plan: PlanFile) -> Iterator[Problem]:
    for index, first in _duplicates([o.key for o in plan.officials]):
        key = plan.officials[index].key
        yield (
            ("officials", index, "key"),
            Coded(f"duplicate key {key!r} (also officials[{first}])", "duplicate_key", key=key),
        )
    for index, official in enumerate(plan.officials):
        for j, leave in enumerate(official.leave):
            if leave.ends < leave.starts:
                yield (
                    ("officials", index, "leave", j, "to"),
                    Coded(
                        f"leave ends ({format_date(leave.ends)}) before it starts "
                        f"({format_date(leave.starts)})",
                        "leave_backwards",
                        ends=format_date(leave.ends),
                        starts=format_date(leave.starts),
                    ),
                )


def _reference(plan: PlanFile, key: str) -> str | None:
    """Why `key` cannot be given work, or None when it can."""
    for official in plan.officials:
        if official.key == key:
            if official.active:
                return None
            return Coded(f"official {key!r} is marked active: false", "inactive_official", key=key)
    return Coded(f"unknown official {key!r}", "unknown_official", key=key)


def _task_problems(plan: PlanFile) -> Iterator[Problem]:
    for index, first in _duplicates([t.code for t in plan.tasks]):
        code = plan.tasks[index].code
        yield (
            ("tasks", index, "code"),
            Coded(
                f"duplicate task code {code!r} (also tasks[{first}])", "duplicate_task", code=code
            ),
        )
    for index, task in enumerate(plan.tasks):
        seen: set[str] = set()
        for field, keys in (("lead", task.lead), ("coordinate", task.coordinate)):
            for j, key in enumerate(keys):
                loc = ("tasks", index, field, j)
                if (why := _reference(plan, key)) is not None:
                    yield loc, why
                elif key in seen:
                    yield (
                        loc,
                        Coded(
                            f"official {key!r} is already named for this task",
                            "named_twice",
                            key=key,
                        ),
                    )
                seen.add(key)
        if task.checkin_from is not None and task.checkin is None:
            yield (
                ("tasks", index, "checkin_from"),
                Coded("checkin_from needs a checkin rule", "checkin_from_alone"),
            )
        if task.checkin is not None:
            start = task.checkin_from or _first_day(plan)
            if first_occurrence(task.checkin, start) is None:
                yield (
                    ("tasks", index, "checkin"),
                    Coded("the rule gives no date in ten years", "rule_no_date_soon", years=10),
                )


def _first_day(plan: PlanFile) -> date:
    # A rule without checkin_from is only probed here; 1 January of the first report year will do.
    return date(min((r.years[0] for r in plan.reports), default=2000), 1, 1)


def _report_problems(plan: PlanFile) -> Iterator[Problem]:
    for index, first in _duplicates([r.code for r in plan.reports]):
        code = plan.reports[index].code
        yield (
            ("reports", index, "code"),
            Coded(
                f"duplicate report code {code!r} (also reports[{first}])",
                "duplicate_report",
                code=code,
            ),
        )
    departments = {fold_name(o.department) for o in plan.officials if o.active}
    for index, report in enumerate(plan.reports):
        base: Loc = ("reports", index)
        if (why := _reference(plan, report.collector)) is not None:
            yield (*base, "collector"), why
        submitters = report.submitters
        people = bool(submitters.roles or submitters.officials or submitters.departments)
        if not (people or submitters.units):
            yield (
                (*base, "submitters"),
                Coded("name at least one of roles, officials, departments, units", "nobody_named"),
            )
            continue
        for j, key in enumerate(submitters.officials):
            if (why := _reference(plan, key)) is not None:
                yield (*base, "submitters", "officials", j), why
        for j, department in enumerate(submitters.departments):
            if fold_name(department) not in departments:
                yield (
                    (*base, "submitters", "departments", j),
                    Coded(
                        f"no active official works in department {department!r}",
                        "no_such_department",
                        department=department,
                    ),
                )
        for field in ("roles", "officials", "departments"):
            values = getattr(submitters, field)
            for j, _ in _duplicates([fold_name(v) for v in values]):
                yield (
                    (*base, "submitters", field, j),
                    Coded("listed twice", "listed_twice", value=values[j]),
                )
        # Child units' collectors are found when the plans are loaded, not in this file.
        if people and not plan.submitters_of(report):
            yield (*base, "submitters"), Coded("no active official matches", "no_submitters")
