"""The desk on the command line: `overdue`, `summary` and `export` with --at, as processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from db.clock import FixedClock
from db.migrate import upgrade
from db.session import make_engine, make_sessionmaker
from tests.cli import run_cli
from tests.test_clerk_desk import OVERDUE_MARCH_11, SUMMARY_Q1
from tests.test_clerk_scenario import march_story

AT = ["--at", "11/03/2024 09:00"]


def plain(html: str) -> str:
    for tag in ("<b>", "</b>"):
        html = html.replace(tag, "")
    return html.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


@pytest.fixture
async def story_database(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database holding the March story."""
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        await march_story(
            make_sessionmaker(engine), FixedClock(datetime.now().astimezone()), tmp_path / "data"
        )
    finally:
        await engine.dispose()
    yield database_url


async def test_overdue_at_a_given_moment(story_database: str) -> None:
    code, out, err = await run_cli(story_database, "overdue", *AT)
    assert (code, err) == (0, "")
    assert out == plain(OVERDUE_MARCH_11) + "\n"

    code, out, _ = await run_cli(story_database, "overdue", "Tư pháp", "-", "Hộ", "tịch", *AT)
    assert code == 0 and out.startswith(
        "⏰ Quá hạn — 11/03/2024 09:00 · bộ phận Tư pháp - Hộ tịch\n"
    )
    code, out, _ = await run_cli(story_database, "overdue", "--at", "10/03/2024 12:00")
    assert out == "✅ Không có báo cáo hay nhiệm vụ nào quá hạn (10/03/2024 12:00).\n"


async def test_summary_and_its_errors(story_database: str) -> None:
    code, out, err = await run_cli(story_database, "summary", "CCHC-Q1", *AT)
    assert (code, err) == (0, "")
    assert out == plain(SUMMARY_Q1) + "\n"
    code, out, err = await run_cli(story_database, "summary", "Q9", *AT)
    assert code == 1 and out == ""
    assert err == (
        "error: Không tìm thấy báo cáo hay nhiệm vụ nào có mã «Q9». Mã báo cáo như CCHC-Q1 "
        "hoặc CCHC-Q1-2024; mã nhiệm vụ như 2.4.\n"
    )
    code, _, err = await run_cli(story_database, "summary", "CCHC-Q1", "--at", "hôm nay")
    assert code == 1 and err.startswith("error: --at:")


async def test_export_writes_the_workbook(story_database: str, tmp_path: Path) -> None:
    target = tmp_path / "xuat" / "bao-cao-2024.xlsx"
    code, out, err = await run_cli(story_database, "export", "2024", "--out", str(target), *AT)
    assert (code, err) == (0, "")
    assert out == f"Đã ghi tệp {target} (4 báo cáo).\n"
    book = load_workbook(target)
    assert book.sheetnames[0] == "Tổng hợp" and len(book.sheetnames) == 7
    assert book["Tổng hợp"]["B2"].value == datetime(2024, 3, 11, 9, 0)
    assert book["CCHC-Q1-2024"]["E7"].value == datetime(2024, 3, 5, 14, 0)
