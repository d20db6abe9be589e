"""The plan commands through `python -m bot`, as the clerk runs them."""

from __future__ import annotations

from pathlib import Path

from tests.cli import run_cli
from tests.conftest import EXAMPLE_PLAN, ROOT
from tests.test_plan_loader import edit, example_text
from tests.wording import vi


async def test_upgrade_load_and_show_from_the_command_line(database_url: str) -> None:
    example = str(EXAMPLE_PLAN.relative_to(ROOT))

    code, out, err = await run_cli(database_url, "plan", "load", example)
    assert code == 1
    assert "run `python -m bot db upgrade` first" in err
    assert "Traceback" not in err

    code, out, err = await run_cli(database_url, "db", "upgrade")
    assert code == 0, err

    code, out, err = await run_cli(database_url, "plan", "load", example)
    assert code == 0, err
    loaded = out.splitlines()
    assert loaded[:2] == [
        vi("plan.load.done", file=example, unit="UBND xã Ba Bích", code="ba-bich"),
        vi("plan.load.unit_created"),
    ]
    assert loaded[-1] == vi("plan.load.sample", count=10)  # the example's sample people

    code, out, err = await run_cli(database_url, "plan", "show", "--year", "2024")
    assert code == 0, err
    shown = out.splitlines()
    assert shown[0] == vi("plan.show.unit", unit="UBND xã Ba Bích", code="ba-bich")
    assert vi("plan.show.tasks", count=9) in shown
    assert vi("plan.show.reports_year", year=2024, count=4) in shown
    for report in ("CCHC-Q1-2024", "CCHC-6T-2024", "CCHC-Q3-2024", "CCHC-NAM-2024"):
        assert report in out
    assert "15/12/2023 – 14/03/2024" in out
    assert "10/12/2024" in out
    assert all(f"2.{n}" in out for n in range(1, 10))


async def test_a_bad_file_exits_1_with_file_line_field_and_no_traceback(
    database_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    text = edit(example_text(), "lead: [tam]", "lead: [nhut2]")
    bad.write_text(text, encoding="utf-8")
    line = text[: text.index("lead: [nhut2]")].count("\n") + 1
    assert (await run_cli(database_url, "db", "upgrade"))[0] == 0

    code, out, err = await run_cli(database_url, "plan", "load", str(bad))

    assert code == 1
    # In Vietnamese, the task by its number and the YAML field in parentheses (issue 16).
    assert err.strip() == (
        f"error: {bad}, dòng {line}: Nhiệm vụ 2.2 (tasks[1].lead[0]): không có cán bộ mã «nhut2»"
    )
    assert "Traceback" not in err
    assert out == ""


async def test_a_commune_before_its_province_is_refused_in_one_line(database_url: str) -> None:
    assert (await run_cli(database_url, "db", "upgrade"))[0] == 0
    example = str(EXAMPLE_PLAN.relative_to(ROOT))
    code, out, err = await run_cli(database_url, "plan", "load", example)
    assert code == 0, err
    # Alone in the database, Ba Bích stands alone, and says so.
    assert vi("plan.load.parent_missing", parent="tinh-quang-ngai") in out.splitlines()

    sample = str((ROOT / "examples" / "xa-mau-1.yaml").relative_to(ROOT))
    code, out, err = await run_cli(database_url, "plan", "load", sample)
    assert code == 1
    assert err.startswith(f"error: {sample}, dòng") and "tinh-quang-ngai" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1

    province = str((ROOT / "examples" / "tinh-quang-ngai.yaml").relative_to(ROOT))
    for plan in (province, sample, example):
        code, out, err = await run_cli(database_url, "plan", "load", plan)
        assert code == 0, err
        assert vi("plan.load.parent_missing", parent="tinh-quang-ngai") not in out
