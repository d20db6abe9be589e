"""/export: the workbook opened again with openpyxl and read cell by cell."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Submission
from handlers.conversation import Conversation
from handlers.types import CommandSent, Reply
from tests.test_clerk_scenario import BaBich, desk, fetch, story
from tests.wording import state, vi

__all__ = ["desk", "story"]  # fixtures


def x(key: str, **params: object) -> str:
    """A word of the workbook (sheet names, headers, cells), from the catalog."""
    return vi(f"clerk.xlsx.{key}", **params)


MATRIX_SHEET, STATUS_SHEET = x("matrix_sheet"), x("status_sheet")
TASKS_SHEET = x("tasks_sheet")
MISSING, ON_TIME = x("missing"), x("on_time")


def missing(*marks: str) -> str:
    """A "chưa nộp" cell with the marks every view gives it."""
    return vi("desk.state.joined", first=MISSING, second=", ".join(marks))


OVERDUE_1 = vi("desk.state.overdue", days=1)


async def export(desk: Conversation, story: BaBich, args: str) -> Reply:
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("export", args))
    return reply


def rows(sheet: Worksheet, first: int) -> list[tuple[object, ...]]:
    return [tuple(r) for r in sheet.iter_rows(min_row=first, values_only=True)]


async def test_export_of_one_report(
    desk: Conversation, story: BaBich, session: AsyncSession, tmp_path: Path
) -> None:
    reply = await export(desk, story, "CCHC-Q1")
    name = vi("clerk.export.filename", scope="CCHC-Q1-2024")
    assert reply.text == vi("clerk.export.done", scope="CCHC-Q1-2024", count=1, name=name)
    (file,) = reply.files
    assert file.name == name and file.channel_file_id is None
    path = Path(file.path)
    assert path.parent == (tmp_path / "data" / "exports").resolve()
    book = load_workbook(path)
    assert book.sheetnames == [MATRIX_SHEET, "CCHC-Q1-2024", STATUS_SHEET, TASKS_SHEET]

    matrix = book[MATRIX_SHEET]
    assert matrix["A1"].value == x("matrix_title", unit="UBND xã Ba Bích", scope="CCHC-Q1-2024")
    assert matrix["A2"].value == x("as_of")
    assert matrix["B2"].value == datetime(2024, 3, 11, 9, 0)
    assert matrix["B2"].number_format == "DD/MM/YYYY HH:MM"
    assert rows(matrix, 4) == [
        (x("no"), x("name"), x("department"), "CCHC-Q1-2024"),
        (1, "Phạm Văn Dũng", "Quân sự", missing(OVERDUE_1)),
        (2, "Nguyễn Thị Hoa", "Văn phòng - Thống kê", ON_TIME),
        (
            3,
            "Lê Thị Hồng",
            "Tư pháp - Hộ tịch",
            missing(OVERDUE_1, vi("clerk.on_leave_until", date="15/03/2024")),
        ),
        (4, "Võ Văn Hùng", "Địa chính - Xây dựng", x("late", days=1)),
        (5, "Phạm Thị Lan", "Văn hóa - Xã hội", missing(OVERDUE_1)),
        (
            6,
            "Nguyễn Thị Mai",
            "Tài chính - Kế toán",
            missing(OVERDUE_1, vi("clerk.returned_on", date="10/03/2024")),
        ),
        (7, "Trần Văn Nhứt", "Văn phòng - Thống kê", ON_TIME),
        (8, "Đinh Văn Sơn", "Công an xã", missing(OVERDUE_1)),
        (9, "Đinh Văn Tám", "Văn hóa - Xã hội", ON_TIME),
        (10, "Huỳnh Thị Thu", "Bộ phận một cửa", ON_TIME),
        (None, None, None, None),
        (None, vi("clerk.report.on_time"), None, 4),
        (None, vi("clerk.report.late"), None, 1),
        (None, vi("clerk.report.missing"), None, 5),
        (None, x("total"), None, 10),
        (None, x("on_time_rate"), None, 0.4),
    ]
    assert matrix["D20"].number_format == "0.0%"

    report = book["CCHC-Q1-2024"]
    assert rows(report, 1)[:4] == [
        ("Báo cáo CCHC Quý I năm 2024", *[None] * 12),
        (x("due"), datetime(2024, 3, 10), *[None] * 11),
        (x("window_start"), datetime(2023, 12, 15), *[None] * 11),
        (x("window_end"), datetime(2024, 3, 14), *[None] * 11),
    ]
    assert report["B2"].number_format == "DD/MM/YYYY"
    ids = {
        s.official_id: s.id
        for s in await fetch(session, select(Submission).order_by(Submission.id))
    }
    assert ids and rows(report, 6) == [
        (
            x("no"),
            x("name"),
            x("department"),
            x("version"),
            x("submitted_at"),
            x("own_due"),
            x("timeliness"),
            x("late_days"),
            x("review"),
            x("reviewer"),
            x("reviewed_at"),
            x("comment"),
            x("files"),
        ),
        (
            1,
            "Đinh Văn Tám",
            "Văn hóa - Xã hội",
            1,
            datetime(2024, 3, 5, 14, 0),
            datetime(2024, 3, 10),
            ON_TIME,
            0,
            vi("clerk.review.pending"),
            None,
            None,
            None,
            "BC Quý I - VHTT.pdf",
        ),
        (
            2,
            "Trần Văn Nhứt",
            "Văn phòng - Thống kê",
            1,
            datetime(2024, 3, 7, 10, 0),
            datetime(2024, 3, 10),
            ON_TIME,
            0,
            vi("clerk.review.pending"),
            None,
            None,
            None,
            "BC Quý I - VP.pdf",
        ),
        (
            3,
            "Nguyễn Thị Hoa",
            "Văn phòng - Thống kê",
            1,
            datetime(2024, 3, 8, 9, 0),
            datetime(2024, 3, 10),
            ON_TIME,
            0,
            vi("clerk.review.accepted"),
            "Trần Văn Nhứt",
            datetime(2024, 3, 8, 15, 0),
            None,
            "BC Quý I - Nội vụ.docx",
        ),
        (
            4,
            "Nguyễn Thị Mai",
            "Tài chính - Kế toán",
            1,
            datetime(2024, 3, 9, 10, 0),
            datetime(2024, 3, 10),
            ON_TIME,
            0,
            vi("clerk.review.returned"),
            "Trần Văn Nhứt",
            datetime(2024, 3, 10, 16, 0),
            "Thiếu phụ lục số liệu",
            "BC Quý I - TCKT.xlsx",
        ),
        (
            5,
            "Huỳnh Thị Thu",
            "Bộ phận một cửa",
            1,
            datetime(2024, 3, 10, 20, 0),
            datetime(2024, 3, 10),
            ON_TIME,
            0,
            vi("clerk.review.pending"),
            None,
            None,
            None,
            "BC Quý I - Một cửa.pdf",
        ),
        (
            6,
            "Võ Văn Hùng",
            "Địa chính - Xây dựng",
            1,
            datetime(2024, 3, 11, 8, 30),
            datetime(2024, 3, 10),
            x("late_short"),
            1,
            vi("clerk.review.pending"),
            None,
            None,
            None,
            "BC Quý I - ĐCXD.pdf",
        ),
    ]
    # Real Excel date-times, shown the Vietnamese way.
    assert isinstance(report["E7"].value, datetime)
    assert report["E7"].number_format == "DD/MM/YYYY HH:MM"
    assert report["F7"].number_format == "DD/MM/YYYY"

    answers = book[STATUS_SHEET]
    task = "Số hóa hồ sơ TTHC, hạn chế trễ hẹn; kết nối CSDL quốc gia về dân cư"
    assert rows(answers, 1) == [
        (
            x("no"),
            x("task_code"),
            x("task"),
            x("name"),
            x("department"),
            x("state"),
            x("note"),
            x("time"),
        ),
        (
            1,
            "2.4",
            task,
            "Huỳnh Thị Thu",
            "Bộ phận một cửa",
            state("done"),
            None,
            datetime(2024, 3, 5, 10, 0),
        ),
        (
            2,
            "2.4",
            task,
            "Đinh Văn Sơn",
            "Công an xã",
            state("in_progress"),
            None,
            datetime(2024, 3, 6, 10, 0),
        ),
        (
            3,
            "2.4",
            task,
            "Lê Thị Hồng",
            "Tư pháp - Hộ tịch",
            state("blocked"),
            "Thiếu máy scan & chữ ký số",
            datetime(2024, 3, 6, 11, 0),
        ),
    ]


async def test_export_of_a_year_has_a_sheet_per_report(desk: Conversation, story: BaBich) -> None:
    reply = await export(desk, story, "2024")
    name = vi("clerk.export.filename", scope="2024")
    assert reply.text == vi("clerk.export.done", scope="2024", count=4, name=name)
    assert reply.files[0].name == name
    book = load_workbook(reply.files[0].path)
    assert book.sheetnames == [
        MATRIX_SHEET,
        "CCHC-Q1-2024",
        "CCHC-6T-2024",
        "CCHC-Q3-2024",
        "CCHC-NAM-2024",
        STATUS_SHEET,
        TASKS_SHEET,
    ]
    matrix = book[MATRIX_SHEET]
    assert rows(matrix, 4)[0] == (
        x("no"),
        x("name"),
        x("department"),
        "CCHC-Q1-2024",
        "CCHC-6T-2024",
        "CCHC-Q3-2024",
        "CCHC-NAM-2024",
    )
    assert rows(matrix, 4)[1] == (
        1,
        "Phạm Văn Dũng",
        "Quân sự",
        missing(OVERDUE_1),
        MISSING,
        MISSING,
        MISSING,
    )
    assert rows(matrix, 19) == [
        (None, x("total"), None, 10, 10, 10, 10),
        (None, x("on_time_rate"), None, 0.4, 0.0, 0.0, 0.0),
    ]
    assert book["CCHC-6T-2024"].max_row == 6  # the title block and the header: nothing yet
    assert len(rows(book[STATUS_SHEET], 2)) == 3
    assert date(2024, 1, 1) < matrix["B2"].value.date()


async def test_export_with_bad_input(desk: Conversation, story: BaBich) -> None:
    usage = await export(desk, story, "")
    assert usage.text == vi("clerk.export.usage") and not usage.files
    none = await export(desk, story, "2031")
    assert none.text == vi("clerk.export.no_reports", year="2031") and not none.files
    unknown = await export(desk, story, "Q9")
    assert unknown.text == vi("clerk.export.unknown", query="Q9") and not unknown.files


async def test_export_lists_the_tasks_with_their_basis_and_product(
    desk: Conversation, story: BaBich
) -> None:
    reply = await export(desk, story, "2024")
    sheet = load_workbook(reply.files[0].path)[TASKS_SHEET]
    keys = ("task_code", "task", "lead", "coordinate", "task_due", "product", "basis", "state")
    assert rows(sheet, 1)[0] == tuple(x(key) for key in keys)
    first = rows(sheet, 2)[0]
    assert first[0] == "2.1"
    assert first[2] == f"Trần Văn Nhứt {x('illustrative')}"  # the seed names no lead
    assert first[6] == "số …/TB-UBND của UBND xã Ba Bích"
