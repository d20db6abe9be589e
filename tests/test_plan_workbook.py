"""The plan in the clerk's Excel workbook: the same plan as YAML, read back exactly; every
mistake named by sheet, row and column in Vietnamese, and nothing loaded."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.command_error import CommandError
from bot.plan_commands import import_plan, load_plan
from bot.settings import Settings
from db.clock import FixedClock
from db.plan import read_plan
from db.plan import workbook_layout as layout
from db.plan.workbook import WorkbookError, is_plan_workbook, parse_workbook, read_workbook
from handlers.plan_errors import problem_text
from handlers.plan_workbook import plan_workbook
from tests.cli import run_cli
from tests.conftest import EXAMPLE_PLAN, ROOT
from tests.test_plan_loader import dump_database

SAMPLE_WORKBOOK = ROOT / "examples" / "ke-hoach-mau.xlsx"


def example_workbook() -> bytes:
    return plan_workbook(read_plan(EXAMPLE_PLAN).spec)


def edited(
    content: bytes, sheet: str, key_column: str, key: str, column: str, value: object
) -> bytes:
    """The workbook with the cell of `column` in the row whose `key_column` is `key` set."""
    book = load_workbook(io.BytesIO(content))
    ws = book[sheet]
    headers = [cell.value for cell in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[headers.index(key_column)].value == key)
    row[headers.index(column)].value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def row_of(content: bytes, sheet: str, key_column: str, key: str) -> int:
    ws = load_workbook(io.BytesIO(content))[sheet]
    headers = [cell.value for cell in ws[1]]
    return next(
        r[0].row for r in ws.iter_rows(min_row=2) if r[headers.index(key_column)].value == key
    )


def test_yaml_to_workbook_to_yaml_gives_the_same_plan() -> None:
    yaml_plan = read_plan(EXAMPLE_PLAN)
    back = parse_workbook(example_workbook(), str(EXAMPLE_PLAN.with_suffix(".xlsx")))
    assert back.spec == yaml_plan.spec
    assert back.obligations == yaml_plan.obligations


def test_the_bundled_workbook_is_the_seed_plan() -> None:
    assert read_workbook(SAMPLE_WORKBOOK).spec == read_plan(EXAMPLE_PLAN).spec


def test_the_workbook_has_the_clerks_sheets_and_columns_first() -> None:
    book = load_workbook(SAMPLE_WORKBOOK)
    assert {"Nhiệm vụ", "Báo cáo", "Cán bộ", "Lịch", "Đơn vị"} <= set(book.sheetnames)
    tasks = [cell.value for cell in book["Nhiệm vụ"][1]]
    assert tasks[:6] == ["STT", "Nội dung", "Chủ trì", "Phối hợp", "Thời hạn", "Sản phẩm"]
    assert tasks[6:9] == ["Căn cứ: số", "Căn cứ: ngày", "Căn cứ: cơ quan ban hành"]
    reports = [cell.value for cell in book["Báo cáo"][1]]
    assert reports[:8] == [
        "Tên", "Mã", "Hạn nộp", "Số liệu từ", "đến", "Người nộp", "Nộp về", "Mẫu",
    ]  # fmt: skip
    people = [cell.value for cell in book["Cán bộ"][1]]
    assert people[:6] == ["Họ tên", "Chức vụ", "Bộ phận", "Vai trò", "Nghỉ từ", "đến"]
    # Names, not keys, and dates as dates: what the clerk already writes.
    row = row_of(SAMPLE_WORKBOOK.read_bytes(), "Nhiệm vụ", "STT", "2.2")
    assert book["Nhiệm vụ"].cell(row=row, column=3).value == "Đinh Văn Tám"
    q1 = row_of(SAMPLE_WORKBOOK.read_bytes(), "Báo cáo", "Mã", "CCHC-Q1")
    assert book["Báo cáo"].cell(row=q1, column=1).value == "Báo cáo CCHC Quý I năm 2024"
    assert book["Báo cáo"].cell(row=q1, column=4).value.strftime("%d/%m/%Y") == "15/12/2023"


def test_a_leading_equals_sign_stays_text() -> None:
    spec = read_plan(EXAMPLE_PLAN).spec
    tasks = [spec.tasks[0].model_copy(update={"title": '=HYPERLINK("http://x","y")'})]
    content = plan_workbook(spec.model_copy(update={"tasks": tasks}))
    cell = load_workbook(io.BytesIO(content))["Nhiệm vụ"]["B2"]
    assert cell.data_type == "s"
    assert parse_workbook(content, "x.xlsx").spec.tasks[0].title == '=HYPERLINK("http://x","y")'


def test_a_workbook_is_a_plan_by_its_sheets() -> None:
    assert is_plan_workbook(example_workbook())
    appendix = Workbook()
    appendix.active.title = "Phụ lục"  # type: ignore[union-attr]
    out = io.BytesIO()
    appendix.save(out)
    assert not is_plan_workbook(out.getvalue())
    assert not is_plan_workbook(b"not a zip")


def three_mistakes() -> bytes:
    content = example_workbook()
    # A lead's name with a wrong accent, an impossible date, and an unknown collector.
    content = edited(content, "Nhiệm vụ", "STT", "2.3", "Chủ trì", "Lê Thi Hồng")
    content = edited(content, "Nhiệm vụ", "STT", "2.8", "Thời hạn", "31/02/2024")
    return edited(content, "Báo cáo", "Mã", "CCHC-Q3", "Nộp về", "Trần Văn Nhất")


def test_three_mistakes_get_three_precise_vietnamese_messages() -> None:
    content = three_mistakes()
    with pytest.raises(WorkbookError) as caught:
        parse_workbook(content, "ke-hoach.xlsx")
    texts = [problem_text(p, "vi") for p in caught.value.problems]
    task_23 = row_of(content, "Nhiệm vụ", "STT", "2.3")
    task_28 = row_of(content, "Nhiệm vụ", "STT", "2.8")
    q3 = row_of(content, "Báo cáo", "Mã", "CCHC-Q3")
    assert texts == [
        f"Nhiệm vụ, dòng {task_23}, cột Chủ trì: không có cán bộ tên «Lê Thi Hồng» — "
        "có phải «Lê Thị Hồng»?",
        f"Nhiệm vụ, dòng {task_28}, cột Thời hạn: ngày «31/02/2024» không hợp lệ "
        "(ghi ngày/tháng/năm, ví dụ 10/03/2024)",
        f"Báo cáo, dòng {q3}, cột Nộp về: không có cán bộ tên «Trần Văn Nhất» — "
        "có phải «Trần Văn Nhứt»?",
    ]


def test_a_missing_sheet_and_column_are_named() -> None:
    book = load_workbook(io.BytesIO(example_workbook()))
    del book["Cán bộ"]
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(WorkbookError) as caught:
        parse_workbook(out.getvalue(), "x.xlsx")
    assert [problem_text(p, "vi") for p in caught.value.problems] == [
        "Trang Cán bộ: tệp không có trang này"
    ]
    book = load_workbook(io.BytesIO(example_workbook()))
    book["Nhiệm vụ"]["C1"] = "Người chủ trì"
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(WorkbookError) as caught:
        parse_workbook(out.getvalue(), "x.xlsx")
    assert problem_text(caught.value.problems[0], "vi") == (
        "Nhiệm vụ, dòng 1, cột Chủ trì: dòng tiêu đề thiếu cột này"
    )


def test_a_clerks_own_table_needs_no_keys_and_takes_leave_rows() -> None:
    """Keys are made from names; a row with only leave dates adds leave to the person above."""
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = layout.UNIT
    ws.append(["Mục", "Giá trị"])
    ws.append(["Mã đơn vị", "xa-thu"])
    ws.append(["Tên đơn vị", "UBND xã Thử"])
    people = book.create_sheet(layout.PEOPLE)
    people.append(["Họ tên", "Chức vụ", "Vai trò", "Nghỉ từ", "đến"])
    people.append(["Nguyễn Văn Cường", "Công chức", "công chức", "01/07/2024", "05/07/2024"])
    people.append([None, None, None, "01/08/2024", "02/08/2024"])
    people.append(["Lê Thị Bình", "Văn phòng", "công chức, theo dõi"])
    tasks = book.create_sheet(layout.TASKS)
    tasks.append(["STT", "Nội dung", "Chủ trì", "Phối hợp", "Thời hạn", "Sản phẩm"])
    tasks.append([1, "Rà soát TTHC", "Nguyễn Văn Cường", "Lê Thị Bình", "30/09/2024", "Báo cáo"])
    out = io.BytesIO()
    book.save(out)
    spec = parse_workbook(out.getvalue(), "x.xlsx").spec
    assert [o.key for o in spec.officials] == ["nguyen-van-cuong", "le-thi-binh"]
    assert [(p.starts.day, p.ends.month) for p in spec.officials[0].leave] == [(1, 7), (1, 8)]
    assert spec.officials[1].roles == ["official", "clerk"]
    task = spec.tasks[0]
    assert (task.code, task.lead, task.coordinate) == ("1", ["nguyen-van-cuong"], ["le-thi-binh"])
    assert task.product == "Báo cáo"

    tasks["C2"] = "Nguyễn Văn Cuờng"
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(WorkbookError) as caught:
        parse_workbook(out.getvalue(), "x.xlsx")
    assert [problem_text(p, "vi") for p in caught.value.problems] == [
        "Nhiệm vụ, dòng 2, cột Chủ trì: không có cán bộ tên «Nguyễn Văn Cuờng» — "
        "có phải «Nguyễn Văn Cường»?"
    ]


async def test_importing_a_workbook_with_mistakes_changes_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    settings = Settings(database_url=database_url)
    await load_plan(settings, EXAMPLE_PLAN, clock)
    async with sessionmaker() as session:
        before = await dump_database(session)
    bad = tmp_path / "ke-hoach.xlsx"
    bad.write_bytes(three_mistakes())

    with pytest.raises(CommandError) as caught:
        await import_plan(settings, bad, clock)

    lines = str(caught.value).splitlines()
    assert lines[0].startswith(f"Bảng kế hoạch «{bad}» có 3 lỗi, chưa nạp gì")
    assert len(lines) == 4 and all(line.startswith("• ") for line in lines[1:])
    async with sessionmaker() as session:
        assert await dump_database(session) == before


async def test_import_says_what_changes_before_loading(
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    settings = Settings(database_url=database_url)
    await load_plan(settings, EXAMPLE_PLAN, clock)
    spec = read_plan(EXAMPLE_PLAN).spec
    extra = [
        spec.tasks[1].model_copy(update={"code": "3.1"}),
        spec.tasks[1].model_copy(update={"code": "3.2"}),
    ]
    changed = spec.tasks[0].model_copy(update={"product": "Kế hoạch CCHC năm 2024"})
    # A leader: not one who submits the reports, which would change them too.
    newcomer = spec.officials[1].model_copy(update={"key": "cuong", "name": "Lê Văn Cường"})
    spec = spec.model_copy(
        update={
            "tasks": [changed, *spec.tasks[1:], *extra],
            "officials": [*spec.officials, newcomer],
        }
    )
    path = tmp_path / "ke-hoach.xlsx"
    path.write_bytes(plan_workbook(spec))

    dry = await import_plan(settings, path, clock, dry_run=True)
    assert dry.splitlines()[0].endswith("thêm 2 nhiệm vụ, sửa 1 nhiệm vụ, 1 người mới.")
    again = await import_plan(settings, path, clock)
    assert again.splitlines()[0] == dry.splitlines()[0]  # the dry run loaded nothing
    assert "không có gì thay đổi" in (await import_plan(settings, path, clock, dry_run=True))


async def test_import_and_export_from_the_command_line_on_a_fresh_database(
    database_url: str, tmp_path: Path
) -> None:
    assert (await run_cli(database_url, "db", "upgrade"))[0] == 0
    sample = str(SAMPLE_WORKBOOK.relative_to(ROOT))

    code, out, err = await run_cli(database_url, "plan", "import", sample)

    assert code == 0, err
    assert "thêm 9 nhiệm vụ, 12 người mới, thêm 4 báo cáo" in out.splitlines()[0]
    exported = tmp_path / "ra.xlsx"
    code, out, err = await run_cli(database_url, "plan", "export", str(exported))
    assert code == 0, err
    assert read_workbook(exported).spec == read_plan(EXAMPLE_PLAN).spec


async def test_the_demo_loads_the_bundled_workbook(tmp_path: Path) -> None:
    from tests.test_demo import demo, turns

    transcript = await demo(tmp_path / "demo", [f"/kehoach {SAMPLE_WORKBOOK}"])

    ((_, _, said),) = turns(transcript)
    # The demo runs on the seed's plan: its workbook is the same plan, so nothing changes.
    assert f"từ «{SAMPLE_WORKBOOK}»: không có gì thay đổi." in said
    assert "Không có gì thay đổi" in said


def test_an_indicator_of_an_unknown_report_is_named() -> None:
    book = load_workbook(io.BytesIO(example_workbook()))
    book["Chỉ tiêu"]["A2"] = "CCHC-Q9"
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(WorkbookError) as caught:
        parse_workbook(out.getvalue(), "x.xlsx")
    assert [problem_text(p, "vi") for p in caught.value.problems] == [
        "Chỉ tiêu, dòng 2, cột Báo cáo: không có báo cáo mã «CCHC-Q9» trong trang Báo cáo"
    ]
