"""A bad plan file gets one error naming the file, the line and the field, and loads nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import CommandError
from bot.plan_commands import load_plan
from bot.settings import Settings
from db.clock import FixedClock
from db.plan import PlanError, parse_plan, read_plan
from db.session import make_engine, make_sessionmaker
from tests.conftest import EXAMPLE_PLAN
from tests.databases import DatabaseTemplates, Template, create_schema, scratch_database
from tests.test_plan_loader import dump_database, edit, example_text

# The `clock` fixture's moment.
LOADED_AT = datetime(2024, 3, 8, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    """A broken copy of the example: what to change, where the error points, what it says."""

    name: str
    change: Callable[[str], str]
    at: str  # text on the line the error must name (unique in the broken file)
    field: str
    says: str


def swap(old: str, new: str) -> Callable[[str], str]:
    return lambda text: edit(text, old, new)


Q3_SUBMITTERS = "    submitters: {roles: [official]}\n    collector: nhut\n" + (
    "    templates: [templates/cchc/de-cuong.docx, templates/cchc/phu-luc.xlsx]\n"
    "    indicators: *cchc_indicators\n    outline: *cchc_outline\n\n"
    "  - code: CCHC-NAM"
)

CASES = [
    Case(
        "a ratio without its denominator",
        swap(
            "numerator: hs_truc_tuyen, denominator: hs_tiep_nhan, decimals: 1}",
            "numerator: hs_truc_tuyen, decimals: 1}",
        ),
        "code: ty_le_truc_tuyen",
        "reports[0].indicators[2]",
        "a ratio needs a numerator and a denominator",
    ),
    Case(
        "a ratio of an unknown indicator",
        swap("numerator: hs_tre_han,", "numerator: hs_tre,"),
        # A check across the list points at the list; the message names the indicator.
        "indicators: &cchc_indicators",
        "reports[0].indicators",
        "hs_tre is not a sum or count indicator of this report",
    ),
    Case(
        "a cell that is not a cell",
        swap('cell: "Phụ lục!C6"}', 'cell: "Phụ lục!6C"}'),
        "code: hs_tre_han",
        "reports[0].indicators[3].cell",
        "is not a cell such as C5",
    ),
    Case(
        "an indicator that combines some other way",
        swap("combine: text}", "combine: average}"),
        "code: kho_khan",
        "reports[0].indicators[9].combine",
        "combine",
    ),
    Case(
        "unknown top-level field",
        swap("version: 1\n", "version: 1\ncolour: red\n"),
        "colour: red",
        "colour",
        "unknown field 'colour'",
    ),
    Case(
        "unknown nested field",
        swap('    priority: true\n\n  - code: "2.5"', '    priorty: true\n\n  - code: "2.5"'),
        "priorty: true",
        "tasks[3].priorty",
        "unknown field 'priorty' (did you mean 'priority'?)",
    ),
    Case(
        "unknown field in a leave period",
        swap("        note: Nghỉ phép năm", "        reason: Nghỉ phép năm"),
        "reason: Nghỉ phép năm",
        "officials[5].leave[0].reason",
        "unknown field 'reason'",
    ),
    Case(
        "bad date",
        swap("due: 30/11/2024", "due: 31/11/2024"),
        "due: 31/11/2024",
        "tasks[2].due",
        "'31/11/2024' is not a valid dd/mm/yyyy date",
    ),
    Case(
        "ISO date",
        swap("checkin_from: 01/03/2024", "checkin_from: 2024-03-01"),
        "checkin_from: 2024-03-01",
        "tasks[7].checkin_from",
        "ISO date; write dates day-first as dd/mm/yyyy",
    ),
    Case(
        "ISO date in quotes",
        swap("from: 04/03/2024", 'from: "2024-03-04"'),
        'from: "2024-03-04"',
        "officials[5].leave[0].from",
        "ISO date",
    ),
    Case(
        "unknown official in lead",
        swap("lead: [tam]", "lead: [nhut2]"),
        "lead: [nhut2]",
        "tasks[1].lead[0]",
        "unknown official 'nhut2'",
    ),
    Case(
        "unknown official in coordinate",
        swap("coordinate: [son, hong, hung]", "coordinate: [son, hongg, hung]"),
        "coordinate: [son, hongg, hung]",
        "tasks[3].coordinate[1]",
        "unknown official 'hongg'",
    ),
    Case(
        "unknown official in submitters",
        swap(Q3_SUBMITTERS, Q3_SUBMITTERS.replace("{roles: [official]}", "{officials: [xuan]}")),
        "submitters: {officials: [xuan]}",
        "reports[2].submitters.officials[0]",
        "unknown official 'xuan'",
    ),
    Case(
        "unknown department in submitters",
        swap(Q3_SUBMITTERS, Q3_SUBMITTERS.replace("{roles: [official]}", "{departments: [Y tế]}")),
        "submitters: {departments: [Y tế]}",
        "reports[2].submitters.departments[0]",
        "no active official works in department 'Y tế'",
    ),
    Case(
        "unknown collector",
        swap(Q3_SUBMITTERS, Q3_SUBMITTERS.replace("collector: nhut", "collector: nhat")),
        "collector: nhat",
        "reports[2].collector",
        "unknown official 'nhat'",
    ),
    Case(
        "inactive official in coordinate",
        swap("    department: Quân sự\n", "    department: Quân sự\n    active: false\n"),
        "coordinate: [hoa, thu, hong, hung, mai, tam, lan, son, dung]",
        "tasks[8].coordinate[8]",
        "official 'dung' is marked active: false",
    ),
    Case(
        "duplicate official key",
        swap("  - key: dung", "  - key: son"),
        "  - key: son\n    name: Phạm Văn Dũng",
        "officials[11].key",
        "duplicate key 'son' (also officials[10])",
    ),
    Case(
        "duplicate task code",
        swap('code: "2.5"', 'code: "2.4"'),
        'code: "2.4"\n    title: Đào tạo',
        "tasks[4].code",
        "duplicate task code '2.4' (also tasks[3])",
    ),
    Case(
        "task code written as a number",
        swap('code: "2.5"', "code: 2.5"),
        "code: 2.5",
        "tasks[4].code",
        'write it as text in quotes, e.g. "2.5"',
    ),
    Case(
        "same official twice in a task",
        swap("lead: [hoa]\n    coordinate: [tam]", "lead: [hoa]\n    coordinate: [tam, hoa]"),
        "coordinate: [tam, hoa]",
        "tasks[6].coordinate[1]",
        "official 'hoa' is already named for this task",
    ),
    Case(
        "bad RRULE",
        swap("checkin: FREQ=WEEKLY;BYDAY=FR", "checkin: FREQ=WEEKLY;BYDAY=XX"),
        "checkin: FREQ=WEEKLY;BYDAY=XX",
        "tasks[7].checkin",
        "not a valid RRULE",
    ),
    Case(
        "check-in rule that can never fire",
        swap("checkin: FREQ=WEEKLY;BYDAY=FR", "checkin: FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"),
        "checkin: FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "tasks[7].checkin",
        "the rule never gives a date",
    ),
    Case(
        "check-in rule that does not fire for years",
        swap(
            "checkin: FREQ=WEEKLY;BYDAY=FR", "checkin: FREQ=YEARLY;BYMONTHDAY=29;BYDAY=MO;BYMONTH=2"
        ),
        "BYDAY=MO;BYMONTH=2",
        "tasks[7].checkin",
        "the rule gives no date in ten years",
    ),
    Case(
        "check-in rule with a time of day",
        swap("checkin: FREQ=WEEKLY;BYDAY=FR", "checkin: FREQ=WEEKLY;BYDAY=FR;BYHOUR=8"),
        "BYHOUR=8",
        "tasks[7].checkin",
        "leave BYHOUR out",
    ),
    Case(
        "due rule giving two dates a year",
        swap("FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=10", "FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=10,20"),
        "BYMONTHDAY=10,20",
        "reports[2].due",
        "in 2024 it gives 10/09/2024, 20/09/2024",
    ),
    Case(
        "window day that does not exist",
        swap("start: {day: 15, month: 6}", "start: {day: 31, month: 6}"),
        "start: {day: 31, month: 6}",
        "reports[2].window.start",
        "31/06/2024 does not exist",
    ),
    Case(
        "leave that ends before it starts",
        swap("to: 15/03/2024", "to: 01/03/2024"),
        "to: 01/03/2024",
        "officials[5].leave[0].to",
        "leave ends (01/03/2024) before it starts (04/03/2024)",
    ),
    Case(
        "missing required field",
        swap("    title: Tuyên truyền về các chỉ số PAR INDEX, PCI\n", ""),
        'code: "2.2"',
        "tasks[1].title",
        "required field is missing",
    ),
    Case(
        "key written twice in one mapping",
        swap("    lead: [hoa]\n    coordinate: [tam]", "    lead: [hoa]\n    lead: [dung]"),
        "lead: [dung]",
        "tasks[6].lead",
        "the field appears twice",
    ),
    Case(
        "title with an unknown placeholder",
        swap("title: Báo cáo CCHC năm {year}", "title: Báo cáo CCHC năm {nam}"),
        "title: Báo cáo CCHC năm {nam}",
        "reports[3].title",
        "the only placeholder a title may use is {year}",
    ),
    Case(
        "YAML syntax error",
        swap("  name: UBND xã Ba Bích\n", "  name: [UBND xã Ba Bích\n"),
        "timezone: Asia/Ho_Chi_Minh",
        "",
        "invalid YAML: expected ',' or ']'",
    ),
    # The unit's working calendar (issue 14).
    Case(
        "a make-up working day that is a weekday",
        swap("working_days: [04/05/2024]", "working_days: [06/05/2024]"),
        "working_days: [06/05/2024]",
        "unit.calendar.working_days[0]",
        "06/05/2024 is a Monday, a working day already: a make-up working day is a Saturday",
    ),
    Case(
        "a day off listed twice",
        swap("days_off: []", "days_off: [08/03/2024, 26/04/2024, 08/03/2024]"),
        "days_off: [08/03/2024",
        "unit.calendar.days_off[2]",
        "08/03/2024 is listed twice (also days_off[0])",
    ),
    Case(
        "a make-up day that is also a day off",
        swap("days_off: []", "days_off: [04/05/2024]"),
        "working_days: [04/05/2024]",
        "unit.calendar.working_days[0]",
        "04/05/2024 is also a day off (days_off[0])",
    ),
    Case(
        "a day off written ISO-style",
        swap("days_off: []", "days_off: [2024-03-08]"),
        "days_off: [2024-03-08]",
        "unit.calendar.days_off[0]",
        "ISO date; write dates day-first as dd/mm/yyyy",
    ),
    Case(
        "office hours that end before they start",
        swap('# office_hours: "07:00-17:30"', 'office_hours: "17:30-07:00"'),
        'office_hours: "17:30-07:00"',
        "unit.calendar.office_hours",
        "the office closes (07:00) before it opens (17:30)",
    ),
    Case(
        "office hours with a time that is not HH:MM",
        swap('# office_hours: "07:00-17:30"', 'office_hours: "07:00-25:00"'),
        'office_hours: "07:00-25:00"',
        "unit.calendar.office_hours",
        "'25:00' is not a time of day written HH:MM",
    ),
    Case(
        "office hours not written as a range",
        swap('# office_hours: "07:00-17:30"', "office_hours: 7h sáng"),
        "office_hours: 7h sáng",
        "unit.calendar.office_hours",
        'is not office hours written "HH:MM-HH:MM"',
    ),
    Case(
        "one office hour unquoted (YAML reads 7:30 as a number)",
        swap('# office_hours: "07:00-17:30"', "office_hours: 7:30"),
        "office_hours: 7:30",
        "unit.calendar.office_hours",
        "write the office hours as text in quotes",
    ),
    Case(
        "an unknown deadline rule",
        swap("deadline_on_day_off: keep", "deadline_on_day_off: next_day"),
        "deadline_on_day_off: next_day",
        "unit.calendar.deadline_on_day_off",
        "'keep' or 'next_working_day'",
    ),
    Case(
        "a misspelt calendar field",
        swap("    days_off: []", "    day_off: []"),
        "day_off: []",
        "unit.calendar.day_off",
        "unknown field 'day_off' (did you mean 'days_off'?)",
    ),
]


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    return text[: text.index(needle)].count("\n") + 1


def expected_prefix(path: Path, case: Case, text: str) -> str:
    line = line_of(text, case.at)
    return f"{path}:{line}: {case.field}: " if case.field else f"{path}:{line}: "


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_mistake_is_reported_with_file_line_and_field(case: Case, tmp_path: Path) -> None:
    text = case.change(example_text())
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(PlanError) as caught:
        read_plan(path)

    message = str(caught.value)
    assert message.startswith(expected_prefix(path, case, text)), message
    assert case.says in message
    assert "\n" not in message


async def load_example(database_url: str) -> None:
    """The schema and the example plan, loaded as `bot plan load` loads it."""
    await create_schema(database_url)
    await load_plan(Settings(database_url=database_url), EXAMPLE_PLAN, FixedClock(LOADED_AT))


# Loading the example took most of each case's time, on both databases: every case copies it.
EXAMPLE_LOADED = Template("example_loaded", load_example)


@pytest.fixture
async def loaded(
    backend: str, tmp_path: Path, database_templates: DatabaseTemplates
) -> AsyncIterator[str]:
    """A database of its own with the example plan loaded."""
    async with scratch_database(backend, tmp_path, database_templates, EXAMPLE_LOADED) as url:
        yield url


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_a_bad_file_changes_nothing_in_the_database(
    case: Case, loaded: str, tmp_path: Path
) -> None:
    engine = make_engine(loaded)
    sessionmaker = make_sessionmaker(engine)
    try:
        async with sessionmaker() as session:
            before = await dump_database(session)
        assert before["units"], "the example plan is loaded"
        bad = tmp_path / "bad.yaml"
        bad.write_text(case.change(example_text()), encoding="utf-8")

        with pytest.raises(CommandError) as caught:
            await load_plan(Settings(database_url=loaded), bad, FixedClock(LOADED_AT))

        assert str(caught.value).startswith(f"{bad}")
        async with sessionmaker() as session:
            assert await dump_database(session) == before
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "x.yaml: the file is empty"),
        ("- a\n- b\n", "x.yaml:1: expected a mapping"),
        ("unit: {code: x, name: X}\nofficials: []\n", "x.yaml:2: officials: "),
        ("unit: !!python/object:os.system {}\n", "x.yaml:1: invalid YAML: could not determine"),
    ],
)
def test_files_that_are_not_plans(text: str, says: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "x.yaml")
    assert str(caught.value).startswith(says)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"nope\.yaml: no such file"):
        read_plan(tmp_path / "nope.yaml")


def test_the_first_mistake_in_the_file_is_the_one_reported() -> None:
    # `version` is checked first by pydantic but written last here: the unit's line wins.
    text = edit(example_text(), "version: 1\n", "") + "version: 2\n"
    text = edit(text, "  reports_to: UBND huyện (qua Phòng Nội vụ)\n", "  reports_to: [x]\n")

    with pytest.raises(PlanError) as caught:
        parse_plan(text, "x.yaml")

    assert caught.value.field == "unit.reports_to"
    assert caught.value.line == line_of(text, "reports_to: [x]")
