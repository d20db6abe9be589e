"""The structure of a plan file: pydantic models that reject anything they do not know.

Checks that need the whole file (references between sections, duplicates) live in
`db.plan.checks`; recurrence lives in `db.plan.calendar`.
"""

from __future__ import annotations

import re
import string
from calendar import monthrange
from datetime import date, datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from db.clock import format_date, parse_local_date
from db.names import fold_name
from db.plan.coded import PlanValueError
from db.unit_calendar import KEEP, DeadlineRule, UnitCalendar

RoleName = Literal["official", "clerk", "leader"]

# dateutil needs a start to build a rule; any fixed one will do for checking the syntax.
_RULE_PROBE_START = datetime(2000, 1, 1)
_ISO_DATE = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HOURS = re.compile(r"^(\S+?)\s*[-–—]\s*(\S+)$")
_YEARS = re.compile(r"^(\d{4})(?:\s*(?:-|–|\.\.)\s*(\d{4}))?$")
FIRST_YEAR, LAST_YEAR = 2000, 2100
# Plans speak in days; finer frequencies would also make an impossible rule search for hours.
_DATE_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")


def _day_first_date(value: object) -> date:
    if isinstance(value, date):
        raise PlanValueError(
            f"write dates day-first as dd/mm/yyyy, e.g. {format_date(value)!r}",
            "iso_date",
            value=value.isoformat(),
            example=format_date(value),
        )
    if not isinstance(value, str):
        raise PlanValueError(f"expected a dd/mm/yyyy date, got {value!r}", "bad_date", value=value)
    if _ISO_DATE.match(value):
        raise PlanValueError(
            f"{value!r} is an ISO date; write dates day-first as dd/mm/yyyy",
            "iso_date",
            value=value,
            example="10/03/2024",
        )
    try:
        return parse_local_date(value)
    except ValueError as exc:
        raise PlanValueError(
            f"{value!r} is not a valid dd/mm/yyyy date ({exc})", "bad_date", value=value
        ) from exc


def _clock_time(text: str) -> time:
    parts = text.split(":")
    if len(parts) == 2 and all(part.isdigit() and len(part) <= 2 for part in parts):
        hour, minute = int(parts[0]), int(parts[1])
        if hour <= 23 and minute <= 59:
            return time(hour, minute)
    raise PlanValueError(
        f'{text!r} is not a time of day written HH:MM, e.g. "07:30"', "bad_time", value=text
    )


def _office_hours(value: object) -> tuple[time, time]:
    if not isinstance(value, str):
        # YAML reads 7:30 alone as a number (sexagesimal, 450): the hours must be quoted text.
        raise PlanValueError(
            'write the office hours as text in quotes, e.g. "07:00-17:30"', "hours_unquoted"
        )
    match = _HOURS.match(value.strip())
    if match is None:
        raise PlanValueError(
            f'{value!r} is not office hours written "HH:MM-HH:MM", e.g. "07:00-17:30"',
            "bad_hours",
            value=value,
        )
    start, end = _clock_time(match.group(1)), _clock_time(match.group(2))
    if end <= start:
        raise PlanValueError(
            f"the office closes ({end:%H:%M}) before it opens ({start:%H:%M}): write the "
            "opening time first",
            "hours_backwards",
            opens=f"{start:%H:%M}",
            closes=f"{end:%H:%M}",
        )
    return start, end


def _identifier(pattern: re.Pattern[str], max_length: int, hint: str, kind: str) -> BeforeValidator:
    # `kind` names the mistake for the catalog: bad_key, bad_code or bad_kind.
    def check(value: object) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # YAML reads 2.1 as a number and 2.10 as the same number: codes must be quoted.
            raise PlanValueError(
                f'write it as text in quotes, e.g. "{value}"', "code_unquoted", value=value
            )
        if not isinstance(value, str):
            raise PlanValueError(f"expected text, got {value!r}", "not_text", value=value)
        text = value.strip()
        if not pattern.match(text) or len(text) > max_length:
            raise PlanValueError(
                f"{text!r} is not a valid {hint}", f"bad_{kind}", value=text, limit=max_length
            )
        return text

    return BeforeValidator(check)


def parse_rule(text: str, start: datetime = _RULE_PROBE_START) -> rrule:
    """A dateutil rule from an RRULE line (FREQ=...;...), starting at `start`."""
    built = rrulestr(text, dtstart=start)
    assert isinstance(built, rrule)  # a single RRULE line never makes an rruleset
    return built


def _rule_text(value: object) -> str:
    if not isinstance(value, str):
        raise PlanValueError(
            "expected an RRULE such as 'FREQ=MONTHLY;BYMONTHDAY=25'", "rule_not_text", value=value
        )
    text = value.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :].strip()
    if not text:
        raise PlanValueError("the rule is empty", "rule_empty")
    if "\n" in text or ":" in text:
        raise PlanValueError(
            "write only the rule (FREQ=...;...), without DTSTART or other lines",
            "rule_extra_lines",
        )
    try:
        parse_rule(text)
    except (ValueError, TypeError) as exc:
        raise PlanValueError(f"not a valid RRULE ({exc})", "bad_rule", value=text) from exc
    text = text.upper()
    parts = dict(part.partition("=")[::2] for part in text.split(";"))
    if parts.get("FREQ") not in _DATE_FREQUENCIES:
        raise PlanValueError(
            f"FREQ must be one of {', '.join(_DATE_FREQUENCIES)}: the rule gives days",
            "rule_frequency",
            allowed=", ".join(_DATE_FREQUENCIES),
        )
    if times := sorted(set(parts) & {"BYHOUR", "BYMINUTE", "BYSECOND"}):
        raise PlanValueError(
            f"leave {', '.join(times)} out: the rule gives days, not times",
            "rule_times",
            parts=", ".join(times),
        )
    _check_month_days(parts)
    return text


def _check_month_days(parts: dict[str, str]) -> None:
    # dateutil looks for a first date until year 9999 when none exists (BYMONTH=2;BYMONTHDAY=30),
    # which takes seconds: refuse the common impossible combinations before anything iterates.
    months = [int(m) for m in parts.get("BYMONTH", "").split(",") if m.isdigit()]
    if bad := [m for m in months if not 1 <= m <= 12]:
        raise PlanValueError(f"BYMONTH={bad[0]} is not a month", "rule_month", month=bad[0])
    days = [int(d) for d in parts.get("BYMONTHDAY", "").split(",") if d.lstrip("-").isdigit()]
    longest = max(monthrange(2000, month)[1] for month in months or [1])  # 2000 has 29/02
    if days and all(abs(day) > longest for day in days):
        where = "in the months of BYMONTH" if months else "in any month"
        raise PlanValueError(
            f"the rule never gives a date: there is no day {days[0]} {where}",
            "rule_never_in_months" if months else "rule_never",
            day=days[0],
        )


def _yearly_rule_text(value: object) -> str:
    text = _rule_text(value)
    parts = {part.partition("=")[0] for part in text.split(";")}
    if parts & {"COUNT", "UNTIL"}:
        raise PlanValueError(
            "leave COUNT and UNTIL out: `years` says which years the report runs",
            "rule_count_until",
        )
    return text


def _year_span(value: object) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        first = last = value
    elif isinstance(value, str) and (match := _YEARS.match(value.strip())):
        first = int(match.group(1))
        last = int(match.group(2) or first)
    else:
        raise PlanValueError(
            f'expected a year or a range of years such as "2024-2026", got {value!r}',
            "bad_years",
            value=value,
        )
    if not FIRST_YEAR <= first <= last <= LAST_YEAR:
        raise PlanValueError(
            f"years must run forward between {FIRST_YEAR} and {LAST_YEAR}",
            "years_range",
            first=FIRST_YEAR,
            last=LAST_YEAR,
        )
    return first, last


def _template_path(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PlanValueError("expected a file path relative to the plan file", "template_path")
    path = value.strip().replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise PlanValueError(
            f"{path!r} is absolute; give the path relative to the plan file",
            "template_absolute",
            path=path,
        )
    return path


LocalDate = Annotated[date, BeforeValidator(_day_first_date)]
Rule = Annotated[str, BeforeValidator(_rule_text)]
YearlyRule = Annotated[str, BeforeValidator(_yearly_rule_text)]
YearSpan = Annotated[tuple[int, int], BeforeValidator(_year_span)]
TemplatePath = Annotated[str, BeforeValidator(_template_path)]
OfficeHours = Annotated[tuple[time, time], BeforeValidator(_office_hours)]
Key = Annotated[str, _identifier(_KEY, 64, "key (lower-case letters, digits, '-' and '_')", "key")]
TaskCode = Annotated[str, _identifier(_CODE, 32, "code (letters, digits, '.', '-', '_')", "code")]
ReportCode = Annotated[str, _identifier(_CODE, 32, "code (letters, digits, '.', '-', '_')", "code")]
Kind = Annotated[str, _identifier(_KEY, 32, "kind (lower-case letters, digits, '-', '_')", "kind")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
ShortText = Annotated[str, Field(max_length=200)]
Text = Annotated[str, Field(min_length=1)]


class Spec(BaseModel):
    """A section of the plan file: unknown fields are errors, text is trimmed."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CalendarSpec(Spec):
    """The unit's working calendar beyond the public holidays the bot knows (issue 14)."""

    # Days off the `holidays` package does not know: a bridge day, a local holiday.
    days_off: list[LocalDate] = Field(default_factory=list)
    # Saturdays or Sundays worked to make up for a bridge day off (Sat 04/05/2024).
    working_days: list[LocalDate] = Field(default_factory=list)
    # "07:00-17:30"; left out, the office default (the same hours).
    office_hours: OfficeHours | None = None
    # A due date on a day off: the document's date, or the next working day (Civil Code
    # 2015, Art. 148 §5).
    deadline_on_day_off: DeadlineRule = KEEP

    def unit_calendar(self) -> UnitCalendar:
        """The calendar as the unit keeps it."""
        start, end = self.office_hours if self.office_hours is not None else (None, None)
        return UnitCalendar(
            days_off=frozenset(self.days_off),
            working_days=frozenset(self.working_days),
            work_start=start,
            work_end=end,
            deadline_on_day_off=self.deadline_on_day_off,
        )


class UnitSpec(Spec):
    """The office the plan belongs to: a commune, or the level above it (a province)."""

    code: Key
    name: Name
    timezone: str = "Asia/Ho_Chi_Minh"
    # Who the clerk forwards compiled reports to: data, since the 2025 reform changed it.
    reports_to: ShortText | None = None
    # The code of the unit above (a commune's province), whose plan is loaded first.
    parent: Key | None = None
    calendar: CalendarSpec = Field(default_factory=CalendarSpec)
    # The office's own name ("Văn phòng - Thống kê" in the 2024 seed, "Văn phòng HĐND và
    # UBND xã" since 2025); left out, the messages' default.
    office_name: ShortText | None = None
    # Decimals of the percentages the desk writes (the seed writes "chiếm 13,56%").
    percent_decimals: int = Field(default=1, ge=0, le=4)
    # The whole plan is sample data (the bundled Ba Bích): `plan show` says so.
    sample: bool = False

    @field_validator("parent")
    @classmethod
    def _not_its_own_parent(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value == info.data.get("code"):
            raise PlanValueError(f"unit {value} cannot be its own parent", "own_parent", code=value)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PlanValueError(
                f"{value!r} is not a known time zone", "unknown_timezone", value=value
            ) from exc
        return value


class LeaveSpec(Spec):
    """Days (inclusive) when an official gets no reminders."""

    starts: LocalDate = Field(alias="from")
    ends: LocalDate = Field(alias="to")
    note: str = ""


def _default_roles() -> list[RoleName]:
    return ["official"]


class OfficialSpec(Spec):
    """A person of the commune office."""

    key: Key
    name: Name
    position: ShortText = ""
    department: ShortText = ""
    roles: list[RoleName] = Field(default_factory=_default_roles, min_length=1)
    language: Literal["vi", "en"] = "vi"
    active: bool = True
    # Marks invented example people; informational only, never stored.
    sample: bool = False
    leave: list[LeaveSpec] = Field(default_factory=list)

    @field_validator("roles")
    @classmethod
    def _roles_once(cls, value: list[RoleName]) -> list[RoleName]:
        if len(set(value)) != len(value):
            raise PlanValueError("a role is listed twice", "role_twice")
        return value


class BasisSpec(Spec):
    """The document that assigned a task ("Căn cứ"): its number, date and issuer."""

    number: ShortText = ""
    date: LocalDate | None = None
    issuer: ShortText = ""


class TaskSpec(Spec):
    """A standing task with its lead (chủ trì) and coordinators (phối hợp)."""

    code: TaskCode
    title: Text
    detail: str = ""
    source: str = ""
    lead: list[Key] = Field(min_length=1)
    coordinate: list[Key] = Field(default_factory=list)
    due: LocalDate | None = None
    checkin: Rule | None = None
    checkin_from: LocalDate | None = None
    priority: bool = False
    # The assigning document ("Căn cứ") and the expected output ("Sản phẩm").
    basis: BasisSpec | None = None
    product: str = ""
    # The lead and coordinators are made up for a sample (the seed names none): shown so.
    roles_illustrative: bool = False


class DayOfYear(Spec):
    """A day and month, in the due date's year shifted by `year` (-1: the year before)."""

    day: int = Field(ge=1, le=31)
    month: int = Field(ge=1, le=12)
    year: int = Field(default=0, ge=-5, le=5)


class WindowSpec(Spec):
    """The data window ("thời điểm chốt số liệu"); its end may fall after the due date."""

    start: DayOfYear
    end: DayOfYear


class SubmittersSpec(Spec):
    """Who must submit: everyone matching any of the roles, keys or departments, and with
    `units: children` the child units whose reports name this one in `forward_to`."""

    roles: list[RoleName] = Field(default_factory=list)
    officials: list[Key] = Field(default_factory=list)
    departments: list[Name] = Field(default_factory=list)
    units: Literal["children"] | None = None

    def matches(self, official: OfficialSpec) -> bool:
        """Whether `official` is one of the submitters (active or not)."""
        departments = {fold_name(d) for d in self.departments}
        return (
            bool(set(self.roles) & set(official.roles))
            or official.key in self.officials
            or fold_name(official.department) in departments
        )


Combine = Literal["sum", "count", "ratio", "text"]
_CELL = re.compile(r"^(?:(?P<sheet>[^!]{1,31})!)?(?P<cell>\$?[A-Z]{1,3}\$?[1-9][0-9]{0,6})$")


class IndicatorSpec(Spec):
    """A figure a report asks of each submitter, and how the unit's figure is made of them.

    * `sum`: a number per person, added up (applications received: 376);
    * `count`: yes or no per person, the unit's figure is how many said yes;
    * `ratio`: never asked: `numerator` over `denominator` of the unit's summed figures, as a
      percentage with `decimals` places ("43,1%") — recomputed, never averaged; `better:
      lower` when a high one is bad (late files: "chiếm 13,56%");
    * `text`: words per person (difficulties), listed.
    `cell` is where the report's appendix template holds it ("Phụ lục!C5" or "C5"), so a
    filled-in appendix is read instead of asking.
    """

    code: Key
    label: ShortText = Field(min_length=1)
    unit: ShortText = ""
    combine: Combine
    numerator: Key | None = None
    denominator: Key | None = None
    decimals: int = Field(default=1, ge=0, le=4)
    cell: str | None = None
    # Whether a higher ratio is the good direction: documents read a good one "đạt 43,1%"
    # and a bad one "chiếm 13,56%" (late files).
    better: Literal["higher", "lower"] = "higher"

    @field_validator("cell")
    @classmethod
    def _cell_reference(cls, value: str | None) -> str | None:
        if value is not None and not _CELL.match(value.strip()):
            raise PlanValueError(
                f"{value!r} is not a cell such as C5 or 'Phụ lục!C5'", "bad_cell", value=value
            )
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _parts_fit_the_combination(self) -> IndicatorSpec:
        parts = (self.numerator, self.denominator)
        if self.combine == "ratio" and None in parts:
            raise PlanValueError(
                f"indicator {self.code}: a ratio needs a numerator and a denominator",
                "ratio_needs_parts",
                code=self.code,
            )
        if self.combine != "ratio" and parts != (None, None):
            raise PlanValueError(
                f"indicator {self.code}: only a ratio has a numerator/denominator",
                "parts_only_for_ratio",
                code=self.code,
            )
        if self.combine == "ratio" and self.cell is not None:
            raise PlanValueError(
                f"indicator {self.code}: a ratio is computed, not read from a cell",
                "ratio_no_cell",
                code=self.code,
            )
        if self.combine != "ratio" and self.better != "higher":
            raise PlanValueError(
                f"indicator {self.code}: only a ratio reads better or worse",
                "better_only_for_ratio",
                code=self.code,
            )
        return self


class ReportSpec(Spec):
    """A periodic report, materialised once per year of `years`."""

    code: ReportCode
    kind: Kind
    title: Text
    due: YearlyRule
    years: YearSpan
    window: WindowSpec
    submitters: SubmittersSpec
    collector: Key
    templates: list[TemplatePath] = Field(default_factory=list)
    forward_to: ShortText | None = None
    forward_due: DayOfYear | None = None
    indicators: list[IndicatorSpec] = Field(default_factory=list)
    # The headings of the report's outline (sections I–V of the CCHC outline), in order.
    outline: list[ShortText] = Field(default_factory=list)
    # Days after the due date that a late submitter is reminded (issue 14); after that, and
    # once the next report of its kind covering its data is due, the late report is the
    # clerk's to follow up. 0 sends no overdue reminder at all.
    chase_days: int = Field(default=30, ge=0, le=366)

    @field_validator("indicators")
    @classmethod
    def _indicators_fit_together(cls, value: list[IndicatorSpec]) -> list[IndicatorSpec]:
        seen: dict[str, IndicatorSpec] = {}
        for indicator in value:
            if indicator.code in seen:
                raise PlanValueError(
                    f"indicator {indicator.code} is defined twice",
                    "indicator_twice",
                    code=indicator.code,
                )
            seen[indicator.code] = indicator
        for indicator in value:
            for part in (indicator.numerator, indicator.denominator):
                if part is None:
                    continue
                other = seen.get(part)
                if other is None or other.combine not in ("sum", "count"):
                    raise PlanValueError(
                        f"indicator {indicator.code}: {part} is not a sum or count indicator "
                        "of this report",
                        "ratio_part_not_summed",
                        code=indicator.code,
                        part=part,
                    )
        return value

    @field_validator("title")
    @classmethod
    def _only_year_placeholder(cls, value: str) -> str:
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise PlanValueError(
                f"{exc}; write a literal brace as {{{{ or }}}}", "title_braces"
            ) from exc
        if fields - {"year"}:
            raise PlanValueError(
                "the only placeholder a title may use is {year}",
                "title_placeholder",
                names=", ".join(sorted(fields - {"year"})),
            )
        return value

    def title_for(self, year: int) -> str:
        """The title of this report's instance for `year`."""
        return self.title.format(year=year)


class PlanFile(Spec):
    """A whole plan file: the unit, its people, standing tasks and reporting calendar."""

    version: Literal[1] = 1
    unit: UnitSpec
    officials: list[OfficialSpec] = Field(min_length=1)
    tasks: list[TaskSpec] = Field(default_factory=list)
    reports: list[ReportSpec] = Field(default_factory=list)

    def submitters_of(self, report: ReportSpec) -> list[OfficialSpec]:
        """The active officials who must submit `report`, in file order."""
        return [o for o in self.officials if o.active and report.submitters.matches(o)]
