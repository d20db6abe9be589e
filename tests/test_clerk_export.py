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

__all__ = ["desk", "story"]  # fixtures


async def export(desk: Conversation, story: BaBich, args: str) -> Reply:
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("export", args))
    return reply


def rows(sheet: Worksheet, first: int) -> list[tuple[object, ...]]:
    return [tuple(r) for r in sheet.iter_rows(min_row=first, values_only=True)]


async def test_export_of_one_report(
    desk: Conversation, story: BaBich, session: AsyncSession, tmp_path: Path
) -> None:
    reply = await export(desk, story, "CCHC-Q1")
    assert reply.text == (
        "📊 Tệp Excel tổng hợp CCHC-Q1-2024 (1 báo cáo): tong-hop-CCHC-Q1-2024.xlsx"
    )
    (file,) = reply.files
    assert file.name == "tong-hop-CCHC-Q1-2024.xlsx" and file.channel_file_id is None
    path = Path(file.path)
    assert path.parent == (tmp_path / "data" / "exports").resolve()
    book = load_workbook(path)
    assert book.sheetnames == ["Tổng hợp", "CCHC-Q1-2024", "Tiến độ nhiệm vụ"]

    matrix = book["Tổng hợp"]
    assert matrix["A1"].value == "Tình hình nộp báo cáo — UBND xã Ba Bích — CCHC-Q1-2024"
    assert matrix["A2"].value == "Thời điểm lập"
    assert matrix["B2"].value == datetime(2024, 3, 11, 9, 0)
    assert matrix["B2"].number_format == "DD/MM/YYYY HH:MM"
    assert rows(matrix, 4) == [
        ("STT", "Họ và tên", "Bộ phận", "CCHC-Q1-2024"),
        (1, "Phạm Văn Dũng", "Quân sự", "Chưa nộp"),
        (2, "Nguyễn Thị Hoa", "Văn phòng - Thống kê", "Đúng hạn"),
        (3, "Lê Thị Hồng", "Tư pháp - Hộ tịch", "Nghỉ phép"),
        (4, "Võ Văn Hùng", "Địa chính - Xây dựng", "Trễ 1 ngày"),
        (5, "Phạm Thị Lan", "Văn hóa - Xã hội", "Chưa nộp"),
        (6, "Nguyễn Thị Mai", "Tài chính - Kế toán", "Chưa nộp"),
        (7, "Trần Văn Nhứt", "Văn phòng - Thống kê", "Đúng hạn"),
        (8, "Đinh Văn Sơn", "Công an xã", "Chưa nộp"),
        (9, "Đinh Văn Tám", "Văn hóa - Xã hội", "Đúng hạn"),
        (10, "Huỳnh Thị Thu", "Bộ phận một cửa", "Đúng hạn"),
        (None, None, None, None),
        (None, "Nộp đúng hạn", None, 4),
        (None, "Nộp trễ", None, 1),
        (None, "Chưa nộp", None, 4),
        (None, "Nghỉ phép", None, 1),
        (None, "Tổng số phải nộp", None, 10),
        (None, "Tỷ lệ nộp đúng hạn", None, 0.4),
    ]
    assert matrix["D21"].number_format == "0.0%"

    report = book["CCHC-Q1-2024"]
    assert rows(report, 1)[:4] == [
        ("Báo cáo CCHC Quý I năm 2024", *[None] * 12),
        ("Hạn nộp", datetime(2024, 3, 10), *[None] * 11),
        ("Số liệu từ ngày", datetime(2023, 12, 15), *[None] * 11),
        ("Số liệu đến ngày", datetime(2024, 3, 14), *[None] * 11),
    ]
    assert report["B2"].number_format == "DD/MM/YYYY"
    ids = {
        s.official_id: s.id
        for s in await fetch(session, select(Submission).order_by(Submission.id))
    }
    assert ids and rows(report, 6) == [
        (
            "STT",
            "Họ và tên",
            "Bộ phận",
            "Lần nộp",
            "Thời gian nộp",
            "Hạn nộp",
            "Đúng hạn / trễ hạn",
            "Số ngày trễ",
            "Trạng thái xem xét",
            "Người xem xét",
            "Thời gian xem xét",
            "Nhận xét",
            "Tệp đính kèm",
        ),
        (
            1,
            "Đinh Văn Tám",
            "Văn hóa - Xã hội",
            1,
            datetime(2024, 3, 5, 14, 0),
            datetime(2024, 3, 10),
            "Đúng hạn",
            0,
            "chờ xem xét",
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
            "Đúng hạn",
            0,
            "chờ xem xét",
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
            "Đúng hạn",
            0,
            "đã tiếp nhận",
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
            "Đúng hạn",
            0,
            "đã trả lại",
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
            "Đúng hạn",
            0,
            "chờ xem xét",
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
            "Trễ hạn",
            1,
            "chờ xem xét",
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

    answers = book["Tiến độ nhiệm vụ"]
    task = "Số hóa hồ sơ TTHC, hạn chế trễ hẹn; kết nối CSDL quốc gia về dân cư"
    assert rows(answers, 1) == [
        (
            "STT",
            "Mã nhiệm vụ",
            "Nhiệm vụ",
            "Họ và tên",
            "Bộ phận",
            "Tiến độ",
            "Ghi chú",
            "Thời gian",
        ),
        (
            1,
            "2.4",
            task,
            "Huỳnh Thị Thu",
            "Bộ phận một cửa",
            "Hoàn thành",
            None,
            datetime(2024, 3, 5, 10, 0),
        ),
        (
            2,
            "2.4",
            task,
            "Đinh Văn Sơn",
            "Công an xã",
            "Đang thực hiện",
            None,
            datetime(2024, 3, 6, 10, 0),
        ),
        (
            3,
            "2.4",
            task,
            "Lê Thị Hồng",
            "Tư pháp - Hộ tịch",
            "Vướng mắc",
            "Thiếu máy scan & chữ ký số",
            datetime(2024, 3, 6, 11, 0),
        ),
    ]


async def test_export_of_a_year_has_a_sheet_per_report(desk: Conversation, story: BaBich) -> None:
    reply = await export(desk, story, "2024")
    assert reply.text == "📊 Tệp Excel tổng hợp 2024 (4 báo cáo): tong-hop-2024.xlsx"
    book = load_workbook(reply.files[0].path)
    assert book.sheetnames == [
        "Tổng hợp",
        "CCHC-Q1-2024",
        "CCHC-6T-2024",
        "CCHC-Q3-2024",
        "CCHC-NAM-2024",
        "Tiến độ nhiệm vụ",
    ]
    matrix = book["Tổng hợp"]
    assert rows(matrix, 4)[0] == (
        "STT",
        "Họ và tên",
        "Bộ phận",
        "CCHC-Q1-2024",
        "CCHC-6T-2024",
        "CCHC-Q3-2024",
        "CCHC-NAM-2024",
    )
    assert rows(matrix, 4)[1] == (
        1,
        "Phạm Văn Dũng",
        "Quân sự",
        "Chưa nộp",
        "Chưa nộp",
        "Chưa nộp",
        "Chưa nộp",
    )
    assert rows(matrix, 20) == [
        (None, "Tổng số phải nộp", None, 10, 10, 10, 10),
        (None, "Tỷ lệ nộp đúng hạn", None, 0.4, 0.0, 0.0, 0.0),
    ]
    assert book["CCHC-6T-2024"].max_row == 6  # the title block and the header: nothing yet
    assert len(rows(book["Tiến độ nhiệm vụ"], 2)) == 3
    assert date(2024, 1, 1) < matrix["B2"].value.date()


async def test_export_with_bad_input(desk: Conversation, story: BaBich) -> None:
    usage = await export(desk, story, "")
    assert usage.text.startswith("Dùng: /export &lt;mã báo cáo hoặc năm&gt;") and not usage.files
    none = await export(desk, story, "2031")
    assert none.text == "Không có báo cáo nào đến hạn trong năm 2031." and not none.files
    unknown = await export(desk, story, "Q9")
    assert unknown.text.startswith("Không tìm thấy báo cáo nào có mã «Q9».")
