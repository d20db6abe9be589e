"""`plan show` and `plan load` as the clerk reads them: tables, dd/mm/yyyy, the catalog's words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import CommandError
from bot.plan_commands import Column, load_plan, render_table, show_plan
from bot.settings import Settings
from db.clock import FixedClock
from handlers.catalog import t
from tests.conftest import EXAMPLE_PLAN
from tests.test_plan_loader import edit, example_text

REPORT_ROWS = {
    "CCHC-Q1-2024": ("10/03/2024", "15/12/2023 – 14/03/2024"),
    "CCHC-6T-2024": ("10/06/2024", "15/12/2023 – 14/06/2024"),
    "CCHC-Q3-2024": ("10/09/2024", "15/06/2024 – 14/09/2024"),
    "CCHC-NAM-2024": ("10/12/2024", "15/12/2023 – 14/12/2024"),
}


@pytest.fixture
def settings(engine: AsyncEngine, database_url: str) -> Settings:
    """Settings for a database whose schema exists (the `engine` fixture creates it)."""
    return Settings(database_url=database_url)


async def test_show_lists_the_nine_tasks_and_the_four_reports(
    settings: Settings, clock: FixedClock
) -> None:
    await load_plan(settings, EXAMPLE_PLAN, clock)

    out = await show_plan(settings, None, clock)

    lines = out.splitlines()
    for n in range(1, 10):
        assert any(line.startswith(f"2.{n} ") for line in lines), f"task 2.{n}"
    for code, (due, window) in REPORT_ROWS.items():
        [row] = [line for line in lines if line.startswith(code)]
        assert due in row and window in row, row
        assert "Trần Văn Nhứt" in row
        assert re.search(r"\s10\s", row), "ten officials submit each report"
    for key in ("plan.col.lead", "plan.col.coordinate", "plan.col.window", "plan.col.checkin"):
        assert t(key, "vi") in out
    assert t("plan.show.tasks", "vi", count=9) in out
    assert t("plan.show.reports", "vi", count=4) in out
    assert "UBND huyện (qua Phòng Nội vụ)" in out
    assert "ngày 25 hằng" in out  # the check-in rule of 2.1, in words
    assert "30/11/2024" in out  # the due date of task 2.3
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", out), "no ISO dates on screen"
    assert max(len(line) for line in lines) <= 100


async def test_show_for_another_year_has_no_reports(settings: Settings, clock: FixedClock) -> None:
    await load_plan(settings, EXAMPLE_PLAN, clock)

    out = await show_plan(settings, 2025, clock)

    assert "CCHC-" not in out
    assert t("plan.show.no_reports_year", "vi", year=2025) in out
    assert "2.9" in out  # standing tasks are shown whatever the year


async def test_show_for_the_plan_year_has_the_four_reports(
    settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    path = tmp_path / "two-years.yaml"
    path.write_text(example_text().replace('years: "2024"', 'years: "2024-2025"'), encoding="utf-8")
    await load_plan(settings, path, clock)

    out = await show_plan(settings, 2024, clock)

    assert t("plan.show.reports_year", "vi", year=2024, count=4) in out
    assert sorted(re.findall(r"^CCHC-\S+", out, flags=re.MULTILINE)) == sorted(REPORT_ROWS)


async def test_long_titles_are_cut_with_an_ellipsis(
    settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    long_title = "Báo cáo " + "rất dài " * 30 + "năm {year}"
    text = edit(example_text(), "title: Báo cáo CCHC năm {year}", f"title: {long_title}")
    path = tmp_path / "long.yaml"
    path.write_text(text, encoding="utf-8")
    await load_plan(settings, path, clock)

    out = await show_plan(settings, None, clock)

    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("CCHC-NAM-2024"))
    assert "…" in lines[start + 2]
    assert max(len(line) for line in lines) <= 100


async def test_the_load_summary_counts_and_then_says_nothing_changed(
    settings: Settings, clock: FixedClock
) -> None:
    first = await load_plan(settings, EXAMPLE_PLAN, clock)
    second = await load_plan(settings, EXAMPLE_PLAN, clock)

    assert (
        t("plan.load.done", "vi", file=str(EXAMPLE_PLAN), unit="UBND xã Ba Bích", code="ba-bich")
        in first
    )
    assert re.search(rf"{t('plan.load.tasks', 'vi')}\s+9\s+0\s+0", first)
    assert re.search(rf"{t('plan.load.obligations', 'vi')}\s+4\s+0\s+0", first)
    assert t("plan.load.unchanged", "vi") not in first
    assert t("plan.load.unchanged", "vi") in second
    assert re.search(rf"{t('plan.load.officials', 'vi')}\s+0\s+0\s+0", second)
    assert t("plan.load.sample", "vi", count=10) in second


async def test_show_on_an_empty_database_says_how_to_load(
    settings: Settings, clock: FixedClock
) -> None:
    assert await show_plan(settings, None, clock) == t("plan.show.empty", "vi")


async def test_commands_refuse_a_database_without_schema(
    database_url: str, clock: FixedClock
) -> None:
    settings = Settings(database_url=database_url)

    for command in (load_plan(settings, EXAMPLE_PLAN, clock), show_plan(settings, None, clock)):
        with pytest.raises(CommandError, match=r"run `python -m bot db upgrade` first"):
            await command


def test_table_cells_wrap_and_align() -> None:
    columns = [Column("Mã", 4), Column("Tên", 8, max_lines=2), Column("Số", 3, right=True)]

    lines = render_table(
        columns, [["2.1", "một hai ba bốn năm sáu", "7"], ["2.2", ["A", "B"], "10"]]
    )

    assert lines == [
        "Mã    Tên        Số",
        "----  --------  ---",
        "2.1   một hai     7",
        "      ba bốn…",
        "",
        "2.2   A          10",
        "      B",
    ]
