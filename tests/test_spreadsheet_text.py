"""Issue 15: what a person typed goes into a workbook as text — never a live formula, never a
control character that makes openpyxl (or python-docx, for the draft) refuse the whole file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from docx import Document
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from db import answers
from db.figures import Figure
from db.models import Official, ReviewState, Task, TaskState
from handlers.compiled_docx import write_draft
from handlers.compiled_xlsx import write_appendix
from handlers.conversation import Conversation
from handlers.spreadsheet_text import safe_cell_text
from handlers.types import CommandSent
from tests.test_clerk_scenario import BaBich, Sessions, desk, hand_in, local, set_review, story
from tests.test_compile import Worked, worked
from tests.wording import vi

__all__ = ["desk", "story", "worked"]  # fixtures

FILE_NAME = '=HYPERLINK("http://x","y").pdf'
BLOCKED_REASON = "\x01=1+1"
COMMENT = "=cmd|' /C calc'!A0\x0b thiếu phụ lục"


def _cell_with(sheet: Worksheet, text: str) -> tuple[object, str]:
    """The value and type of the one cell of `sheet` holding `text`."""
    (found,) = [
        (cell.value, cell.data_type)
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and text in cell.value
    ]
    return found


def test_safe_cell_text_drops_what_xml_cannot_hold() -> None:
    assert safe_cell_text("\x01=1+1\x0b\x1f") == "=1+1"
    assert safe_cell_text("a\tb\nc") == "a\tb\nc"  # tabs and line breaks are fine
    assert len(safe_cell_text("x" * 40_000)) == 32_767


async def test_export_writes_typed_formulas_and_control_characters_as_plain_text(
    desk: Conversation, story: BaBich, sessionmaker: Sessions
) -> None:
    dung = await hand_in(sessionmaker, story, "dung", story.q1, local(10, 3, 8), FILE_NAME)
    await set_review(
        sessionmaker,
        dung.id,
        story.people["nhut"],
        ReviewState.RETURNED,
        local(10, 3, 9),
        COMMENT,
    )
    async with sessionmaker() as session:
        official = await session.get(Official, story.people["son"].id)
        task = await session.get(Task, story.tasks["2.4"].id)
        assert official is not None and task is not None
        await answers.record_status(
            session,
            official,
            task,
            TaskState.BLOCKED,
            local(7, 3, 10),
            actor="test",
            note=BLOCKED_REASON,
        )
        await session.commit()

    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("xuat", "CCHC-Q1"))
    assert reply.files, reply.text
    book = load_workbook(reply.files[0].path)
    report = book["CCHC-Q1-2024"]
    assert _cell_with(report, "HYPERLINK") == (FILE_NAME, "s")
    assert _cell_with(report, "calc") == ("=cmd|' /C calc'!A0 thiếu phụ lục", "s")
    status = book[vi("clerk.xlsx.status_sheet")]
    assert _cell_with(status, "=1+1") == ("=1+1", "s")
    formulas = [c for sheet in book for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []


async def test_the_appendix_keeps_its_formulas_and_types_what_people_wrote_as_text(
    worked: Worked, tmp_path: Path
) -> None:
    first = worked.compilation.submitters[0]
    typed = {**first.figures, "kho_khan": Figure(text="=1+1 \x0bthiếu người")}
    submitter = replace(first, name="=Lê\x01 Thị Bình", figures=typed)
    compilation = replace(
        worked.compilation, submitters=(submitter, *worked.compilation.submitters[1:])
    )
    target = tmp_path / "phu-luc.xlsx"
    layout = write_appendix(compilation, target, "vi")
    sheet = load_workbook(target).active
    assert sheet is not None
    assert _cell_with(sheet, "thiếu người") == ("=1+1 thiếu người", "s")
    assert _cell_with(sheet, "Thị Bình") == ("=Lê Thị Bình", "s")
    # The totals the appendix means as formulas stay formulas.
    total = sheet[f"{layout.columns['hs_tiep_nhan']}{layout.total_row}"]
    assert total.data_type == "f" and str(total.value).startswith("=SUM(")


async def test_the_draft_holds_a_reason_with_a_control_character(
    worked: Worked, tmp_path: Path
) -> None:
    task = worked.compilation.tasks[0]
    stuck = replace(task, blocked=(("Lê Thị Bình", "\x01Thiếu\x0b máy scan"),))
    compilation = replace(worked.compilation, tasks=(stuck, *worked.compilation.tasks[1:]))
    target = tmp_path / "du-thao.docx"
    write_draft(compilation, target, "vi")
    cells = [
        c.text for table in Document(str(target)).tables for row in table.rows for c in row.cells
    ]
    assert vi("compile.said", name="Lê Thị Bình", text="Thiếu máy scan") in cells
