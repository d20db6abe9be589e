"""The compiled report, worked by hand: three officials' figures summed, ratios recomputed
from the sums (never averaged), the .xlsx formulas recomputed here, the .docx read back.

| official | online / received | late / settled | digitised | difficulties |
|---|---|---|---|---|
| Trần Văn An (Tư pháp - Hộ tịch) | 100 / 200 | 30 / 200 | yes | Thiếu máy scan |
| Lê Thị Bình (Bộ phận một cửa) | 40 / 100 | 15 / 100 | no | |
| Đỗ Văn Cường (Địa chính - Xây dựng) | 22 / 76 | 6 / 76 | yes | Mạng chập chờn |
| unit | 162 / 376 = 43,1% | 51 / 376 = 13,56% | 2 of 3 | |

Nguyễn Thị Mai handed in 999/999 but was returned: her figures do not count. Phạm Văn Dũng
handed in nothing; he has an extension to 15/03/2024 and is on leave 10–20/03/2024.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from docx.text.paragraph import Paragraph
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.ext.asyncio import AsyncSession

from db import answers, submissions
from db.desk.review import review
from db.figures import Figure, Indicator, record_figures
from db.files import FileStore
from db.models import (
    LeavePeriod,
    Obligation,
    ObligationAssignee,
    Official,
    ReviewState,
    Submission,
    TaskState,
    Unit,
)
from db.names import fold_name
from handlers.catalog import _messages, message_keys, placeholders
from handlers.compilation import Compilation, compile_obligation, good_rate, total_text
from handlers.compiled_docx import Heading, outline_headings, write_draft
from handlers.compiled_xlsx import write_appendix
from handlers.indicators import percent_text, totals
from tests.factories import build_commune
from tests.fakebotapi import parse_html
from tests.wording import vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 3, 11, 9, 0, tzinfo=TZ)

INDICATORS = [
    {
        "code": "hs_truc_tuyen",
        "label": "Hồ sơ TTHC tiếp nhận trực tuyến",
        "unit": "hồ sơ",
        "combine": "sum",
    },
    {
        "code": "hs_tiep_nhan",
        "label": "Tổng số hồ sơ TTHC tiếp nhận",
        "unit": "hồ sơ",
        "combine": "sum",
    },
    {
        "code": "ty_le",
        "label": "Tỷ lệ hồ sơ tiếp nhận trực tuyến",
        "unit": "%",
        "combine": "ratio",
        "numerator": "hs_truc_tuyen",
        "denominator": "hs_tiep_nhan",
        "decimals": 1,
    },
    {
        "code": "hs_tre_han",
        "label": "Hồ sơ TTHC giải quyết trễ hẹn",
        "unit": "hồ sơ",
        "combine": "sum",
    },
    {
        "code": "hs_giai_quyet",
        "label": "Tổng số hồ sơ TTHC đã giải quyết",
        "unit": "hồ sơ",
        "combine": "sum",
    },
    {
        "code": "ty_le_tre",
        "label": "Tỷ lệ hồ sơ trễ hẹn",
        "unit": "%",
        "combine": "ratio",
        "numerator": "hs_tre_han",
        "denominator": "hs_giai_quyet",
        "decimals": 2,
        "better": "lower",
    },
    {"code": "so_hoa", "label": "Đã số hóa kết quả giải quyết TTHC", "combine": "count"},
    {"code": "kho_khan", "label": "Khó khăn, vướng mắc, đề xuất", "combine": "text"},
]
OUTLINE = [
    "I. KẾT QUẢ THỰC HIỆN CÔNG TÁC CẢI CÁCH HÀNH CHÍNH",
    "1. Công tác chỉ đạo, điều hành",
    "2. Cải cách thủ tục hành chính",
    "II. ĐÁNH GIÁ CHUNG",
    "III. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI",
    "IV. ĐỀ XUẤT, KIẾN NGHỊ",
    "V. PHỤ LỤC",
]
# Per official: (online, received, late, settled, digitised, difficulties).
GIVEN = {
    "an": (100, 200, 30, 200, True, "Thiếu máy scan"),
    "binh": (40, 100, 15, 100, False, None),
    "cuong": (22, 76, 6, 76, True, "Mạng chập chờn"),
}
REASON = "Thiếu máy scan & chữ ký số"


@dataclass
class Worked:
    """The worked example's compilation and its people."""

    compilation: Compilation
    people: dict[str, Official]


def _official(unit: Unit, key: str, name: str, department: str) -> Official:
    return Official(
        unit_id=unit.id,
        key=key,
        full_name=name,
        name_folded=fold_name(name),
        position="Công chức",
        department=department,
        is_official=True,
        is_clerk=False,
        is_leader=False,
        active=True,
        language="vi",
    )


def _figures(
    online: int, received: int, late: int, settled: int, digitised: bool, words: str | None
) -> dict[str, Figure]:
    figures = {
        "hs_truc_tuyen": Figure(Decimal(online)),
        "hs_tiep_nhan": Figure(Decimal(received)),
        "hs_tre_han": Figure(Decimal(late)),
        "hs_giai_quyet": Figure(Decimal(settled)),
        "so_hoa": Figure(Decimal(1 if digitised else 0)),
    }
    if words:
        figures["kho_khan"] = Figure(text=words)
    return figures


async def _hand_in(
    session: AsyncSession,
    store: FileStore,
    official: Official,
    q1: Obligation,
    at: datetime,
    figures: dict[str, Figure],
) -> int:
    content = f"{official.key} {at.isoformat()}".encode()
    sha256, path = store.put(content)
    stored = submissions.stored_file(
        submissions.ReceivedFile("bao-cao.docx", "application/msword", len(content), sha256, path),
        at,
    )
    row = await submissions.submit(session, official, q1, [stored], at, TZ, actor="test")
    await record_figures(session, row.id, figures, "chat", at)
    return row.id


@pytest.fixture
async def worked(session: AsyncSession, tmp_path: Path) -> Worked:
    """The commune of tests/factories.py with the table above handed in."""
    town = await build_commune(session)
    q1 = town.q1
    q1.indicators = INDICATORS
    q1.outline = OUTLINE
    cuong = _official(town.unit, "cuong", "Đỗ Văn Cường", "Địa chính - Xây dựng")
    mai = _official(town.unit, "mai", "Nguyễn Thị Mai", "Tài chính - Kế toán")
    dung = _official(town.unit, "dung", "Phạm Văn Dũng", "Quân sự")
    session.add_all([cuong, mai, dung])
    await session.flush()
    session.add_all(
        [
            ObligationAssignee(obligation_id=q1.id, official_id=cuong.id),
            ObligationAssignee(obligation_id=q1.id, official_id=mai.id),
            ObligationAssignee(
                obligation_id=q1.id, official_id=dung.id, extended_due=date(2024, 3, 15)
            ),
            LeavePeriod(
                official_id=dung.id, starts_on=date(2024, 3, 10), ends_on=date(2024, 3, 20)
            ),
        ]
    )
    await session.flush()
    store = FileStore(tmp_path / "data" / "files")
    people = {"an": town.an, "binh": town.binh, "cuong": cuong, "mai": mai, "dung": dung}
    for day, key in enumerate(("an", "binh", "cuong"), start=5):
        at = datetime(2024, 3, day, 10, 0, tzinfo=TZ)
        await _hand_in(session, store, people[key], q1, at, _figures(*GIVEN[key]))
    returned = await _hand_in(
        session,
        store,
        mai,
        q1,
        datetime(2024, 3, 8, 10, 0, tzinfo=TZ),
        _figures(999, 999, 999, 999, True, "Không tính"),
    )
    row = await session.get(Submission, returned)
    assert row is not None
    await review(
        session,
        row,
        ReviewState.RETURNED,
        town.clerk,
        datetime(2024, 3, 9, 8, 0, tzinfo=TZ),
        actor="test",
        comment="Sai số liệu",
    )
    await answers.record_status(
        session,
        town.an,
        town.task_24,
        TaskState.IN_PROGRESS,
        datetime(2024, 3, 5, 9, 0, tzinfo=TZ),
        actor="test",
    )
    await answers.record_status(
        session,
        town.binh,
        town.task_24,
        TaskState.BLOCKED,
        datetime(2024, 3, 6, 9, 0, tzinfo=TZ),
        actor="test",
        note=REASON,
    )
    await session.commit()
    compilation = await compile_obligation(session, q1, NOW, TZ)
    return Worked(compilation, people)


# The hand computation, written out.
ONLINE, RECEIVED = 100 + 40 + 22, 200 + 100 + 76
LATE, SETTLED = 30 + 15 + 6, 200 + 100 + 76


def test_the_hand_computation() -> None:
    assert (ONLINE, RECEIVED, LATE, SETTLED) == (162, 376, 51, 376)
    # 162/376 = 0,43085… and 51/376 = 0,135638…, rounded half up as the documents do.
    assert percent_text(Decimal(ONLINE), Decimal(RECEIVED), "vi", 1) == "43,1%"
    assert percent_text(Decimal(LATE), Decimal(SETTLED), "vi", 2) == "13,56%"


def test_averaging_the_ratios_would_give_another_answer() -> None:
    # (50 % + 40 % + 28,947 %) / 3 = 39,649 %, and (15 % + 15 % + 7,894 %) / 3 = 12,63 %.
    online = sum((Decimal(g[0]) / Decimal(g[1]) for g in GIVEN.values()), Decimal(0)) / 3
    late = sum((Decimal(g[2]) / Decimal(g[3]) for g in GIVEN.values()), Decimal(0)) / 3
    assert percent_text(online, Decimal(1), "vi", 1) == "39,6%"
    assert percent_text(late, Decimal(1), "vi", 2) == "12,63%"
    assert percent_text(Decimal(ONLINE), Decimal(RECEIVED), "vi", 1) != "39,6%"
    assert percent_text(Decimal(LATE), Decimal(SETTLED), "vi", 2) != "12,63%"


async def test_totals_are_summed_across_officials(worked: Worked) -> None:
    compilation = worked.compilation
    assert [p.name for p in compilation.submitters] == [
        "Lê Thị Bình",  # Bộ phận một cửa
        "Đỗ Văn Cường",  # Địa chính - Xây dựng
        "Trần Văn An",  # Tư pháp - Hộ tịch
    ]
    totals = compilation.totals
    assert totals["hs_truc_tuyen"].number == ONLINE
    assert totals["hs_tiep_nhan"].number == RECEIVED
    assert totals["ty_le"].numerator == ONLINE and totals["ty_le"].denominator == RECEIVED
    assert totals["ty_le_tre"].numerator == LATE and totals["ty_le_tre"].denominator == SETTLED
    assert totals["so_hoa"].number == 2 and totals["so_hoa"].given == 3
    assert total_text(compilation, "ty_le", "vi") == vi(
        "compile.ratio", share="162/376", rate="đạt 43,1%"
    )
    assert total_text(compilation, "ty_le_tre", "vi") == vi(
        "compile.ratio", share="51/376", rate="chiếm 13,56%"
    )
    assert total_text(compilation, "so_hoa", "vi") == vi("compile.count_shown", yes=2, given=3)
    assert total_text(compilation, "hs_tiep_nhan", "vi") == "376"
    assert total_text(compilation, "kho_khan", "vi") == "\n".join(
        [
            vi("compile.said", name="Đỗ Văn Cường", text="Mạng chập chờn"),
            vi("compile.said", name="Trần Văn An", text="Thiếu máy scan"),
        ]
    )


async def test_who_has_not_handed_in_and_why(worked: Worked) -> None:
    compilation = worked.compilation
    assert (compilation.handed_in, compilation.expected) == (3, 5)
    outstanding = {p.name: p for p in compilation.outstanding}
    assert set(outstanding) == {"Nguyễn Thị Mai", "Phạm Văn Dũng"}
    assert outstanding["Nguyễn Thị Mai"].returned
    dung = outstanding["Phạm Văn Dũng"]
    assert (dung.extended_to, dung.on_leave_until, dung.returned) == (
        date(2024, 3, 15),
        date(2024, 3, 20),
        False,
    )


async def test_task_progress(worked: Worked) -> None:
    task_24, task_25 = worked.compilation.tasks
    assert (task_24.code, task_24.leads, task_24.outcome.value) == (
        "2.4",
        ("Trần Văn An",),
        "in_progress",
    )
    assert task_24.last_answer_on == date(2024, 3, 6)
    assert task_24.blocked == (("Lê Thị Bình", REASON),)
    assert (task_25.code, task_25.leads, task_25.outcome.value) == (
        "2.5",
        ("Lê Thị Bình",),
        "not_started",
    )
    assert task_25.last_answer_on is None and task_25.blocked == ()


def test_good_and_bad_rates_read_dat_and_chiem_as_the_plan_says() -> None:
    def rate(better: str) -> bool:
        return good_rate(Indicator("x", "Tỷ lệ", "%", "ratio", "a", "b", better=better))

    assert rate("higher") and not rate("lower")


# --- The .xlsx appendix, and a checker that recomputes its formulas.

_SUM = re.compile(r"^=SUM\(([A-Z]+)(\d+):([A-Z]+)(\d+)\)$")
_RATIO = re.compile(r"^=IF\(([A-Z]+\d+)=0,0,([A-Z]+\d+)/([A-Z]+\d+)\)$")


def recompute(sheet: Worksheet, ref: str) -> Decimal:
    """The value of a cell as a spreadsheet would compute it (the two formulas we write)."""
    value = sheet[ref].value
    if isinstance(value, str) and (found := _SUM.match(value)):
        column, first, _, last = found.groups()
        cells = (sheet[f"{column}{row}"].value for row in range(int(first), int(last) + 1))
        return sum((Decimal(str(v)) for v in cells if v is not None), Decimal(0))
    if isinstance(value, str) and (found := _RATIO.match(value)):
        bottom, top, again = found.groups()
        assert again == bottom
        denominator = recompute(sheet, bottom)
        return Decimal(0) if denominator == 0 else recompute(sheet, top) / denominator
    return Decimal(str(value))


def x(key: str, **params: object) -> str:
    return vi(f"compile.xlsx.{key}", **params)


async def test_the_appendix_recomputes_to_the_hand_totals(worked: Worked, tmp_path: Path) -> None:
    target = tmp_path / "out" / "phu-luc.xlsx"
    layout = write_appendix(worked.compilation, target, "vi")
    sheet = load_workbook(target).active
    assert sheet is not None and sheet.title == x("sheet")
    assert sheet["A1"].value == x("title", title="Báo cáo CCHC Quý I năm 2024")
    header = [c.value for c in sheet[5]]
    assert header == [
        x("number"),
        x("name"),
        x("department"),
        x("column", label="Hồ sơ TTHC tiếp nhận trực tuyến", unit="hồ sơ"),
        x("column", label="Tổng số hồ sơ TTHC tiếp nhận", unit="hồ sơ"),
        "Tỷ lệ hồ sơ tiếp nhận trực tuyến",
        x("column", label="Hồ sơ TTHC giải quyết trễ hẹn", unit="hồ sơ"),
        x("column", label="Tổng số hồ sơ TTHC đã giải quyết", unit="hồ sơ"),
        "Tỷ lệ hồ sơ trễ hẹn",
        "Đã số hóa kết quả giải quyết TTHC",
        "Khó khăn, vướng mắc, đề xuất",
    ]
    assert (layout.first_row, layout.last_row, layout.total_row, layout.values_row) == (6, 8, 9, 10)
    people = [[c.value for c in row] for row in sheet.iter_rows(min_row=6, max_row=8)]
    assert people == [
        [
            1,
            "Lê Thị Bình",
            "Bộ phận một cửa",
            40,
            100,
            "=IF(E6=0,0,D6/E6)",
            15,
            100,
            "=IF(H6=0,0,G6/H6)",
            0,
            None,
        ],
        [
            2,
            "Đỗ Văn Cường",
            "Địa chính - Xây dựng",
            22,
            76,
            "=IF(E7=0,0,D7/E7)",
            6,
            76,
            "=IF(H7=0,0,G7/H7)",
            1,
            "Mạng chập chờn",
        ],
        [
            3,
            "Trần Văn An",
            "Tư pháp - Hộ tịch",
            100,
            200,
            "=IF(E8=0,0,D8/E8)",
            30,
            200,
            "=IF(H8=0,0,G8/H8)",
            1,
            "Thiếu máy scan",
        ],
    ]
    # The unit's row: sums over the people, ratios over its own sums (never the rows' ratios).
    assert sheet["B9"].value == x("total")
    assert [sheet[f"{c}9"].value for c in "DEGHJ"] == [
        "=SUM(D6:D8)",
        "=SUM(E6:E8)",
        "=SUM(G6:G8)",
        "=SUM(H6:H8)",
        "=SUM(J6:J8)",
    ]
    assert sheet["F9"].value == "=IF(E9=0,0,D9/E9)"
    assert sheet["I9"].value == "=IF(H9=0,0,G9/H9)"
    assert (sheet["F9"].number_format, sheet["I9"].number_format) == ("0.0%", "0.00%")
    assert sheet["J6"].number_format == '"Có";"Có";"Không"'
    # A checker recomputes the formulas and gets the hand computation.
    assert [recompute(sheet, f"{c}9") for c in "DEGHJ"] == [ONLINE, RECEIVED, LATE, SETTLED, 2]
    assert recompute(sheet, "F9") == Decimal(ONLINE) / Decimal(RECEIVED)
    assert recompute(sheet, "I9") == Decimal(LATE) / Decimal(SETTLED)
    assert percent_text(recompute(sheet, "F9"), Decimal(1), "vi", 1) == "43,1%"
    assert percent_text(recompute(sheet, "I9"), Decimal(1), "vi", 2) == "13,56%"
    # The bot's own figures sit below, equal to the recomputation.
    assert sheet["B10"].value == x("computed")
    assert [sheet[f"{c}10"].value for c in "DEGHJ"] == [ONLINE, RECEIVED, LATE, SETTLED, 2]
    assert sheet["F10"].value == pytest.approx(ONLINE / RECEIVED)
    assert sheet["I10"].value == pytest.approx(LATE / SETTLED)
    assert sheet["K9"].value is None and sheet["K10"].value is None


# --- The .docx draft, read back.


def d(key: str, **params: object) -> str:
    return vi(f"compile.docx.{key}", **params)


def style(paragraph: Paragraph) -> str:
    return paragraph.style.name if paragraph.style is not None else ""


def headings(path: Path) -> list[str]:
    return [p.text for p in Document(str(path)).paragraphs if style(p).startswith("Heading")]


def table_rows(table: object) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]  # type: ignore[attr-defined]


async def test_the_draft_follows_the_outline(worked: Worked, tmp_path: Path) -> None:
    target = tmp_path / "du-thao.docx"
    write_draft(worked.compilation, target, "vi")
    document = Document(str(target))
    texts = [p.text for p in document.paragraphs]
    title = [p.text for p in document.paragraphs if style(p) == "Title"]
    assert title == [d("title", title="Báo cáo CCHC Quý I năm 2024")]
    assert title[0].startswith("DỰ THẢO")
    assert headings(target) == OUTLINE
    levels = {p.text: style(p) for p in document.paragraphs if p.text in OUTLINE}
    assert levels["I. KẾT QUẢ THỰC HIỆN CÔNG TÁC CẢI CÁCH HÀNH CHÍNH"] == "Heading 1"
    assert levels["1. Công tác chỉ đạo, điều hành"] == "Heading 2"
    # The figures and the tasks come right under section I, before its parts.
    section_one = texts.index(OUTLINE[0])
    assert texts[section_one + 1] == d("figures")
    assert texts[section_one + 2] == d("tasks")
    assert texts[section_one + 3] == OUTLINE[1]
    # Parts without sub-parts wait for the clerk's words; a section with parts does not.
    assert texts[section_one + 4] == d("placeholder")
    assert texts[texts.index("II. ĐÁNH GIÁ CHUNG") + 1] == d("placeholder")

    figures, tasks = document.tables
    assert table_rows(figures) == [
        [d("number"), d("indicator"), d("unit"), d("total")],
        ["1", "Hồ sơ TTHC tiếp nhận trực tuyến", "hồ sơ", "162"],
        ["2", "Tổng số hồ sơ TTHC tiếp nhận", "hồ sơ", "376"],
        ["3", "Tỷ lệ hồ sơ tiếp nhận trực tuyến", "%", "162/376, đạt 43,1%"],
        ["4", "Hồ sơ TTHC giải quyết trễ hẹn", "hồ sơ", "51"],
        ["5", "Tổng số hồ sơ TTHC đã giải quyết", "hồ sơ", "376"],
        ["6", "Tỷ lệ hồ sơ trễ hẹn", "%", "51/376, chiếm 13,56%"],
        ["7", "Đã số hóa kết quả giải quyết TTHC", "", vi("compile.count_shown", yes=2, given=3)],
        [
            "8",
            "Khó khăn, vướng mắc, đề xuất",
            "",
            "Đỗ Văn Cường: Mạng chập chờn\nTrần Văn An: Thiếu máy scan",
        ],
    ]
    assert table_rows(tasks) == [
        [d(k) for k in ("code", "task", "lead", "status", "last_answer", "blocked")],
        [
            "2.4",
            "Đẩy mạnh số hóa hồ sơ <TTHC> & kết nối dữ liệu dân cư",
            "Trần Văn An",
            vi("clerk.task.in_progress"),
            "06/03/2024",
            f"Lê Thị Bình: {REASON}",
        ],
        [
            "2.5",
            "Đào tạo, bồi dưỡng công chức",
            "Lê Thị Bình",
            vi("clerk.task.not_started"),
            d("never_answered"),
            "",
        ],
    ]
    outstanding = texts.index(d("outstanding", count=2, expected=5))
    assert texts[outstanding + 1 : outstanding + 3] == [
        vi(
            "compile.outstanding_person",
            name="Phạm Văn Dũng",
            department="Quân sự",
            marks=vi(
                "compile.marks",
                marks="; ".join(
                    [
                        vi("compile.mark.on_leave", until="20/03/2024"),
                        vi("compile.mark.extended", until="15/03/2024"),
                    ]
                ),
            ),
        ),
        vi(
            "compile.outstanding_person",
            name="Nguyễn Thị Mai",
            department="Tài chính - Kế toán",
            marks=vi("compile.marks", marks=vi("compile.mark.returned")),
        ),
    ]
    assert texts[-2:] == [d("signer"), d("sign_here")]
    footer = document.sections[0].footer.paragraphs[0].text
    assert footer == d("footer", at="11/03/2024 09:00")


async def test_a_draft_without_an_outline_has_a_plain_structure(
    worked: Worked, tmp_path: Path
) -> None:
    target = tmp_path / "du-thao.docx"
    write_draft(replace(worked.compilation, outline=()), target, "vi")
    assert headings(target) == [d("figures"), d("tasks"), d("outstanding", count=2, expected=5)]
    assert len(Document(str(target)).tables) == 2


async def test_nobody_gave_a_figure(worked: Worked) -> None:
    compilation = worked.compilation
    empty = replace(compilation, submitters=(), totals=totals(compilation.indicators, []))
    for code in ("hs_tiep_nhan", "ty_le", "so_hoa"):
        assert total_text(empty, code, "vi") == vi("compile.no_figures")
    assert total_text(empty, "kho_khan", "vi") == vi("compile.nothing_said")


def test_outline_levels() -> None:
    assert outline_headings(["I. A", "1. B", "1.1. C", "2) D", "II. E", "Phụ lục"]) == [
        Heading("I. A", 1),
        Heading("1. B", 2),
        Heading("1.1. C", 3),
        Heading("2) D", 2),
        Heading("II. E", 1),
        Heading("Phụ lục", 1),
    ]


def test_both_languages_have_the_same_compile_messages() -> None:
    keys = {k for k in message_keys("vi") if k.startswith("compile.")}
    assert keys == {k for k in message_keys("en") if k.startswith("compile.")}
    for key in keys:
        assert placeholders(_messages("vi")[key]) == placeholders(_messages("en")[key]), key
        for language in ("vi", "en"):
            sample = {name: "x" for name in placeholders(_messages(language)[key])}
            parse_html(_messages(language)[key].format(**sample))
