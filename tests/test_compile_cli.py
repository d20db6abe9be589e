"""The compiled report on the bundled plan: `python -m bot compile` as a process, and /baocao
through the conversation (the March story of tests/test_clerk_scenario.py)."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Obligation
from db.session import make_engine, make_sessionmaker
from handlers.conversation import Conversation
from handlers.types import CommandSent
from tests.cli import run_cli
from tests.test_clerk_cli import story_database
from tests.test_clerk_scenario import BaBich, desk, story
from tests.wording import BA_BICH_OFFICE, vi

__all__ = ["desk", "story", "story_database"]  # fixtures

AT = ["--at", "11/03/2024 09:00"]
TITLE = "Báo cáo CCHC Quý I năm 2024"


def headings(path: Path) -> list[str]:
    paragraphs = Document(str(path)).paragraphs
    return [
        p.text for p in paragraphs if p.style is not None and p.style.name.startswith("Heading")
    ]


def expected_headings(outline: list[str]) -> list[str]:
    """The outline's headings, or the plain structure when the plan gives none."""
    if outline:
        return outline
    return [
        vi("compile.docx.figures"),
        vi("compile.docx.tasks"),
        vi("compile.docx.outstanding", count=5, expected=10),
    ]


async def outline_of(database_url: str) -> list[str]:
    """The outline the loaded plan gave the Quý I report."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            outline = await session.scalar(
                select(Obligation.outline).where(Obligation.code == "CCHC-Q1-2024")
            )
    finally:
        await engine.dispose()
    return list(outline or [])


def written(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


async def test_compile_writes_both_files(story_database: str, tmp_path: Path) -> None:
    out = tmp_path / "bao-cao"
    code, stdout, err = await run_cli(story_database, "compile", "CCHC-Q1", "--out", str(out), *AT)
    assert (code, err) == (0, "")
    appendix = out / vi("compile.appendix_filename", scope="CCHC-Q1-2024")
    draft = out / vi("compile.draft_filename", scope="CCHC-Q1-2024")
    assert stdout == f"{appendix}\n{draft}\n"
    assert written(appendix) and written(draft)

    document = Document(str(draft))
    assert document.paragraphs[1].text == vi("compile.docx.title", title=TITLE)
    tasks = document.tables[-1]
    rows = {row.cells[0].text: [c.text for c in row.cells] for row in tasks.rows}
    assert list(rows)[1:] == [f"2.{n}" for n in range(1, 10)]
    # Task 2.4: Thu (lead) done on 05/03; Hồng blocked on 06/03 with her reason.
    assert rows["2.4"][2:] == [
        "Huỳnh Thị Thu",
        vi("clerk.task.done"),  # 2.4 has no deadline: never "on time"
        "06/03/2024",
        vi("compile.said", name="Lê Thị Hồng", text="Thiếu máy scan & chữ ký số"),
    ]
    texts = [p.text for p in document.paragraphs]
    assert vi("compile.docx.outstanding", count=5, expected=10) in texts
    assert (
        vi(
            "compile.outstanding_person",
            name="Lê Thị Hồng",
            department="Tư pháp - Hộ tịch",
            marks=vi("compile.marks", marks=vi("compile.mark.on_leave", until="15/03/2024")),
        )
        in texts
    )

    sheet = load_workbook(appendix).active
    assert sheet is not None
    assert sheet["A1"].value == vi("compile.xlsx.title", title=TITLE)
    # Five handed in and stand (Mai's was returned): five rows, then the total.
    names = [sheet.cell(row=r, column=2).value for r in range(6, 11)]
    assert sorted(str(n) for n in names) == sorted(
        ["Trần Văn Nhứt", "Nguyễn Thị Hoa", "Huỳnh Thị Thu", "Đinh Văn Tám", "Võ Văn Hùng"]
    )
    assert sheet["B11"].value == vi("compile.xlsx.total")


async def test_compile_follows_the_plans_outline(story_database: str, tmp_path: Path) -> None:
    out = tmp_path / "bao-cao"
    code, _, _ = await run_cli(story_database, "compile", "CCHC-Q1-2024", "--out", str(out), *AT)
    assert code == 0
    draft = out / vi("compile.draft_filename", scope="CCHC-Q1-2024")
    assert headings(draft) == expected_headings(await outline_of(story_database))


async def test_compile_of_an_unknown_report(story_database: str, tmp_path: Path) -> None:
    out = tmp_path / "bao-cao"
    code, stdout, err = await run_cli(story_database, "compile", "Q9", "--out", str(out), *AT)
    assert (code, stdout) == (1, "")
    assert err == f"error: {vi('compile.unknown', query='Q9')}\n"
    assert not out.exists()


async def test_baocao_sends_the_draft_and_the_appendix(
    desk: Conversation, story: BaBich, tmp_path: Path, session: AsyncSession
) -> None:
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("baocao", "CCHC-Q1"))
    draft_name = vi("compile.draft_filename", scope="CCHC-Q1-2024")
    appendix_name = vi("compile.appendix_filename", scope="CCHC-Q1-2024")
    assert [f.name for f in reply.files] == [draft_name, appendix_name]
    for file in reply.files:
        path = Path(file.path)
        assert written(path)
        assert path.parent.parent == (tmp_path / "data" / "compiled").resolve()
    lines = reply.text.split("\n")
    assert lines[0] == vi("compile.summary.header", code="CCHC-Q1-2024", title=TITLE)
    assert lines[1] == vi("compile.summary.handed_in", share="5/10", rate="đạt 50,0%")
    assert lines[-1] == vi("compile.summary.draft")
    outline = await session.scalar(select(Obligation.outline).where(Obligation.id == story.q1.id))
    assert headings(Path(reply.files[0].path)) == expected_headings(list(outline or []))


async def test_baocao_needs_a_report_and_the_desk(desk: Conversation, story: BaBich) -> None:
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("baocao", ""))
    assert (reply.text, reply.files) == (vi("compile.usage"), ())
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("compile", "Q9"))
    assert reply.text == vi("compile.unknown", query="Q9")
    (reply,) = await desk.handle(story.chats["lan"], CommandSent("baocao", "CCHC-Q1"))
    assert (reply.text, reply.files) == (vi("clerk.refuse", office=BA_BICH_OFFICE), ())
