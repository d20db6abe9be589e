"""The reporting calendar: recurrence expansion of the plan's reports, without a database."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from bot.plan_commands import describe_rule
from db.plan import CalendarError, ReportSpec, expand_report, expand_reports, parse_plan
from db.plan.calendar import day_in, due_dates_in, first_occurrence
from db.plan.schema import DayOfYear
from handlers.catalog import t
from tests.conftest import EXAMPLE_PLAN

D = date


def report(**overrides: Any) -> ReportSpec:
    fields: dict[str, Any] = {
        "code": "CCHC-Q1",
        "kind": "cchc",
        "title": "Báo cáo CCHC Quý I năm {year}",
        "due": "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=10",
        "years": "2024",
        "window": {"start": {"day": 15, "month": 12, "year": -1}, "end": {"day": 14, "month": 3}},
        "submitters": {"roles": ["official"]},
        "collector": "nhut",
    }
    fields.update(overrides)
    return ReportSpec.model_validate(fields)


def test_the_example_calendar_rolled_over_three_years_gives_twelve_obligations() -> None:
    text = EXAMPLE_PLAN.read_text(encoding="utf-8").replace('years: "2024"', 'years: "2024-2026"')
    plan = parse_plan(text, "ba-bich.yaml")

    got = {o.code: (o.due_date, o.window_start, o.window_end) for o in plan.obligations}

    expected: dict[str, tuple[date, date, date]] = {}
    for year in (2024, 2025, 2026):
        expected |= {
            f"CCHC-Q1-{year}": (D(year, 3, 10), D(year - 1, 12, 15), D(year, 3, 14)),
            f"CCHC-6T-{year}": (D(year, 6, 10), D(year - 1, 12, 15), D(year, 6, 14)),
            f"CCHC-Q3-{year}": (D(year, 9, 10), D(year, 6, 15), D(year, 9, 14)),
            f"CCHC-NAM-{year}": (D(year, 12, 10), D(year - 1, 12, 15), D(year, 12, 14)),
        }
    assert got == expected
    assert got["CCHC-Q1-2025"] == (D(2025, 3, 10), D(2024, 12, 15), D(2025, 3, 14))
    titles = {o.code: o.title for o in plan.obligations}
    assert titles["CCHC-6T-2026"] == "Báo cáo CCHC 6 tháng đầu năm 2026"


def test_an_obligation_carries_the_report_and_the_unit_defaults() -> None:
    [obligation] = expand_report(
        report(templates=["templates/cchc/de-cuong.docx"]), "UBND huyện (qua Phòng Nội vụ)"
    )

    assert obligation.code == "CCHC-Q1-2024"
    assert obligation.report_code == "CCHC-Q1"
    assert obligation.kind == "cchc"
    assert obligation.year == 2024
    assert obligation.title == "Báo cáo CCHC Quý I năm 2024"
    assert obligation.templates == ("templates/cchc/de-cuong.docx",)
    assert obligation.collector == "nhut"
    assert obligation.forward_to == "UBND huyện (qua Phòng Nội vụ)"
    assert obligation.forward_due is None


def test_forward_to_and_forward_due_follow_the_report_over_the_unit() -> None:
    spec = report(
        years="2025-2026",
        forward_to="UBND tỉnh (qua Sở Nội vụ)",
        forward_due={"day": 15, "month": 3},
    )

    obligations = expand_report(spec, "UBND huyện (qua Phòng Nội vụ)")

    assert [(o.forward_to, o.forward_due) for o in obligations] == [
        ("UBND tỉnh (qua Sở Nội vụ)", D(2025, 3, 15)),
        ("UBND tỉnh (qua Sở Nội vụ)", D(2026, 3, 15)),
    ]


def test_a_window_can_start_in_the_year_before_and_end_after_the_due_date() -> None:
    [obligation] = expand_report(report(), None)

    assert obligation.window_start == D(2023, 12, 15)
    assert obligation.window_end == D(2024, 3, 14)
    assert obligation.window_end > obligation.due_date  # "ước thực hiện": kept as the seed says


def test_a_due_rule_that_falls_twice_in_a_year_is_refused() -> None:
    with pytest.raises(CalendarError) as caught:
        expand_report(report(due="FREQ=MONTHLY;BYMONTHDAY=10"), None)

    assert caught.value.loc == ("due",)
    assert "exactly one date" in caught.value.message


def test_a_due_rule_that_misses_one_of_the_years_is_refused() -> None:
    spec = report(due="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", years="2024-2025")

    with pytest.raises(CalendarError) as caught:
        expand_report(spec, None)

    assert caught.value.loc == ("due",)
    assert "in 2025 it gives none" in caught.value.message


def test_a_rule_that_can_never_give_a_date_is_refused_before_anything_iterates() -> None:
    with pytest.raises(ValidationError, match="there is no day 30 in the months of BYMONTH"):
        report(due="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30")


def test_a_window_day_missing_from_one_of_the_years_is_refused_with_its_field() -> None:
    spec = report(
        years="2024-2025",
        window={"start": {"day": 29, "month": 2}, "end": {"day": 14, "month": 3}},
    )

    with pytest.raises(CalendarError) as caught:
        expand_reports([report(code="OTHER"), spec], None)

    assert caught.value.loc == ("reports", 1, "window", "start")
    assert "29/02/2025 does not exist" in caught.value.message


def test_a_window_that_ends_before_it_starts_is_refused() -> None:
    spec = report(window={"start": {"day": 15, "month": 6}, "end": {"day": 14, "month": 3}})

    with pytest.raises(CalendarError) as caught:
        expand_report(spec, None)

    assert caught.value.loc == ("window", "end")


def test_due_dates_and_days_of_the_year() -> None:
    assert due_dates_in("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=10", 2030) == [D(2030, 12, 10)]
    assert due_dates_in("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1", 2024) == [
        D(2024, 1, 1),
        D(2024, 7, 1),
    ]
    assert day_in(DayOfYear(day=29, month=2), 2024) == D(2024, 2, 29)
    assert day_in(DayOfYear(day=15, month=12, year=-1), 2024) == D(2023, 12, 15)
    with pytest.raises(ValueError, match="31/04/2024 does not exist"):
        day_in(DayOfYear(day=31, month=4), 2024)


def test_first_occurrence_of_a_check_in_rule() -> None:
    assert first_occurrence("FREQ=MONTHLY;BYMONTHDAY=25", D(2024, 2, 1)) == D(2024, 2, 25)
    assert first_occurrence("FREQ=WEEKLY;BYDAY=FR;COUNT=3", D(2024, 3, 1)) == D(2024, 3, 1)
    # 29/02 falls on a Monday in 2044: beyond the ten-year horizon from 2024.
    assert first_occurrence("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", D(2024, 3, 1)) is None
    assert first_occurrence(
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", D(2024, 3, 1), horizon_years=25
    ) == D(2044, 2, 29)


def _weekly(lang: str, *days: str) -> str:
    names = ", ".join(t(f"plan.weekday.{d}", lang) for d in days)
    return t("plan.rule.weekly", lang, days=names)


@pytest.mark.parametrize(
    ("rule", "in_words"),
    [
        ("FREQ=MONTHLY;BYMONTHDAY=25", lambda lang: t("plan.rule.monthly", lang, days="25")),
        ("FREQ=MONTHLY;BYMONTHDAY=10,25", lambda lang: t("plan.rule.monthly", lang, days="10, 25")),
        ("FREQ=WEEKLY;BYDAY=MO,FR", lambda lang: _weekly(lang, "mo", "fr")),
        (
            "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=10",
            lambda lang: t("plan.rule.yearly", lang, dates="10/03"),
        ),
        ("FREQ=DAILY", lambda lang: t("plan.rule.daily", lang)),
        # Rules without words are shown as written.
        (
            "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1",
            lambda _: "FREQ=MONTHLY; INTERVAL=2; BYMONTHDAY=1",
        ),
        ("FREQ=MONTHLY;BYDAY=1MO", lambda _: "FREQ=MONTHLY; BYDAY=1MO"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", lambda _: "FREQ=MONTHLY; BYMONTHDAY=-1"),
    ],
)
def test_check_in_rules_in_words(rule: str, in_words: Any) -> None:
    assert describe_rule(rule, "vi") == in_words("vi")
    assert describe_rule(rule, "en") == in_words("en")
