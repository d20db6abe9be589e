"""`python -m bot reminders preview`: the clerk checks the calendar without sending anything."""

from __future__ import annotations

from tests.cli import run_cli
from tests.conftest import EXAMPLE_PLAN, ROOT


async def test_preview_prints_the_ba_bich_calendar(database_url: str) -> None:
    for args in (("db", "upgrade"), ("plan", "load", str(EXAMPLE_PLAN.relative_to(ROOT)))):
        code, _, err = await run_cli(database_url, *args)
        assert code == 0, err
    code, out, err = await run_cli(
        database_url, "reminders", "preview", "--from", "01/03/2024", "--to", "15/03/2024"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Lịch nhắc việc: ")
    assert (
        "01/03/2024 08:00 | Nguyễn Thị Hoa | CCHC-Q1-2024 | Nhắc trước hạn 10/03/2024 "
        "(còn 9 ngày) (dời từ 03/03/2024 08:00) kèm 2 tệp mẫu"
    ) in lines
    # 10/03/2024 is a Sunday: the last reminder before the deadline comes on Friday.
    assert (
        "08/03/2024 08:00 | Nguyễn Thị Hoa | CCHC-Q1-2024 | Nhắc hạn chót 10/03/2024 "
        "(còn 2 ngày) (dời từ 10/03/2024 08:00)"
    ) in lines
    assert (
        "11/03/2024 08:00 | Nguyễn Thị Hoa | CCHC-Q1-2024 | Nhắc quá hạn 10/03/2024 (trễ 1 ngày)"
    ) in lines
    digest = next(line for line in lines if "Tổng hợp gửi văn phòng" in line)
    assert digest.startswith("11/03/2024 08:00 | Trần Văn Nhứt | CCHC-Q1-2024")
    assert "Lê Thị Hồng (nghỉ phép)" in digest
    # Nobody hears anything on the weekend, and nothing was sent or written.
    assert not any(line.startswith(("02/03/2024", "03/03/2024", "09/03/2024")) for line in lines)


async def test_preview_refuses_bad_dates(database_url: str) -> None:
    code, _, err = await run_cli(database_url, "db", "upgrade")
    assert code == 0, err
    code, _, err = await run_cli(
        database_url, "reminders", "preview", "--from", "2024-03-01", "--to", "15/03/2024"
    )
    assert code == 1 and "dd/mm/yyyy" in err and "Traceback" not in err
