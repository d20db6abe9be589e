"""The compiled report's draft (.docx): the outline's headings in order, the figures and the
task progress under section I, who has not handed in, and room for the clerk's signature.

It is marked a draft in its title and its footer: the clerk edits and signs it; the bot never
presents it as the final report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt, RGBColor

from db.clock import format_date, format_datetime
from handlers.catalog import t
from handlers.compilation import Compilation, Outstanding, TaskProgress, total_text
from handlers.document_text import xml_safe

# "I. KẾT QUẢ …" opens a section; "1. Công tác …" and "1.1. …" are its parts.
_ROMAN = re.compile(r"^(?P<numeral>[IVXLC]+)\s*[.)]\s")
_ARABIC = re.compile(r"^(?P<number>\d+(?:\.\d+)*)\s*[.)]?\s")
FONT = "Times New Roman"
_STYLES = ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3")


@dataclass(frozen=True)
class Heading:
    """One heading of the outline and its level in the document (1 for a section)."""

    text: str
    level: int


def outline_headings(outline: Sequence[str]) -> list[Heading]:
    """The outline's headings with their levels: I., II. … are 1, "1." is 2, "1.1." is 3."""
    headings = []
    for text in outline:
        arabic = _ARABIC.match(text)
        if _ROMAN.match(text) or arabic is None:
            headings.append(Heading(text, 1))
        else:
            headings.append(Heading(text, min(1 + arabic["number"].count(".") + 1, 3)))
    return headings


def _results_index(headings: Sequence[Heading]) -> int:
    # Section I holds the figures; an outline without one gets them under its first heading.
    for index, heading in enumerate(headings):
        found = _ROMAN.match(heading.text)
        if found and found["numeral"] == "I":
            return index
    return 0


def write_draft(compilation: Compilation, target: Path, lang: str) -> None:
    """Write the draft of `compilation` to `target` (folders created) in `lang`."""
    document = Document()
    _page(document, compilation, lang)
    _opening(document, compilation, lang)
    headings = outline_headings(compilation.outline)
    if headings:
        results = _results_index(headings)
        for index, heading in enumerate(headings):
            document.add_heading(heading.text, level=heading.level)
            if index == results:
                _caption(document, t("compile.docx.figures", lang))
                _figures_table(document, compilation, lang)
                _caption(document, t("compile.docx.tasks", lang))
                _tasks_table(document, compilation.tasks, lang)
            elif not _has_parts(headings, index):
                _placeholder(document, lang)
        _caption(document, _outstanding_title(compilation, lang))
    else:
        document.add_heading(t("compile.docx.figures", lang), level=1)
        _figures_table(document, compilation, lang)
        document.add_heading(t("compile.docx.tasks", lang), level=1)
        _tasks_table(document, compilation.tasks, lang)
        document.add_heading(_outstanding_title(compilation, lang), level=1)
    _outstanding(document, compilation.outstanding, lang)
    _signature(document, lang)
    target.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(target))


def _has_parts(headings: Sequence[Heading], index: int) -> bool:
    following = headings[index + 1] if index + 1 < len(headings) else None
    return following is not None and following.level > headings[index].level


def _page(document: DocxDocument, compilation: Compilation, lang: str) -> None:
    # A4 with the margins of Vietnamese administrative documents, Times New Roman in black.
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    section.top_margin = section.bottom_margin = Cm(2)
    for name in _STYLES:
        font = document.styles[name].font
        font.name = FONT
        font.color.rgb = RGBColor(0, 0, 0)
    document.styles["Normal"].font.size = Pt(13)
    footer = section.footer.paragraphs[0]
    footer.text = t(
        "compile.docx.footer", lang, at=format_datetime(compilation.as_of, compilation.tz)
    )
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _opening(document: DocxDocument, compilation: Compilation, lang: str) -> None:
    unit = document.add_paragraph()
    unit.add_run(compilation.unit_name).bold = True
    document.add_heading(t("compile.docx.title", lang, title=compilation.title), level=0)
    key = "compile.docx.draft_to" if compilation.reports_to else "compile.docx.draft"
    note = document.add_paragraph()
    note.add_run(
        t(
            key,
            lang,
            handed=compilation.handed_in,
            expected=compilation.expected,
            at=format_datetime(compilation.as_of, compilation.tz),
            to=compilation.reports_to or "",
        )
    ).italic = True
    document.add_paragraph(
        t(
            "compile.window",
            lang,
            start=format_date(compilation.window_start),
            end=format_date(compilation.window_end),
        )
    )


def _caption(document: DocxDocument, text: str) -> None:
    document.add_paragraph().add_run(text).bold = True


def _placeholder(document: DocxDocument, lang: str) -> None:
    document.add_paragraph().add_run(t("compile.docx.placeholder", lang)).italic = True


def _table(document: DocxDocument, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, label in zip(table.rows[0].cells, header, strict=True):
        cell.paragraphs[0].add_run(label).bold = True
    for values in rows:
        for cell, value in zip(table.add_row().cells, values, strict=True):
            # Reasons and text figures are what people typed: no control character may
            # make python-docx refuse the draft.
            cell.text = xml_safe(value)


def _figures_table(document: DocxDocument, compilation: Compilation, lang: str) -> None:
    if not compilation.indicators:
        document.add_paragraph(t("compile.docx.no_indicators", lang))
        return
    header = [t(f"compile.docx.{key}", lang) for key in ("number", "indicator", "unit", "total")]
    rows = [
        [str(index), indicator.label, indicator.unit, total_text(compilation, indicator.code, lang)]
        for index, indicator in enumerate(compilation.indicators, start=1)
    ]
    _table(document, header, rows)


def _tasks_table(document: DocxDocument, tasks: Sequence[TaskProgress], lang: str) -> None:
    if not tasks:
        document.add_paragraph(t("compile.docx.no_tasks", lang))
        return
    keys = ("code", "task", "lead", "status", "last_answer", "blocked")
    header = [t(f"compile.docx.{key}", lang) for key in keys]
    _table(document, header, [_task_row(task, lang) for task in tasks])


def _task_row(task: TaskProgress, lang: str) -> list[str]:
    answered = format_date(task.last_answer_on) if task.last_answer_on else None
    blocked = [
        t("compile.said", lang, name=name, text=reason or t("compile.docx.no_reason", lang))
        for name, reason in task.blocked
    ]
    return [
        task.code,
        task.title,
        ", ".join(task.leads),
        t(f"clerk.task.{task.outcome.value}", lang),
        answered or t("compile.docx.never_answered", lang),
        "\n".join(blocked),
    ]


def _outstanding_title(compilation: Compilation, lang: str) -> str:
    return t(
        "compile.docx.outstanding_units" if compilation.by_units else "compile.docx.outstanding",
        lang,
        count=len(compilation.outstanding),
        expected=compilation.expected,
    )


def _outstanding(document: DocxDocument, people: Sequence[Outstanding], lang: str) -> None:
    if not people:
        document.add_paragraph(t("compile.docx.all_handed_in", lang))
        return
    for person in people:
        document.add_paragraph(xml_safe(outstanding_line(person, lang)), style="List Bullet")


def outstanding_line(person: Outstanding, lang: str) -> str:
    """ "Lê Thị Hồng (Tư pháp - Hộ tịch) — nghỉ phép đến 15/03/2024"."""
    marks = []
    if person.returned:
        marks.append(t("compile.mark.returned", lang))
    if person.on_leave_until is not None:
        marks.append(t("compile.mark.on_leave", lang, until=format_date(person.on_leave_until)))
    if person.extended_to is not None:
        marks.append(t("compile.mark.extended", lang, until=format_date(person.extended_to)))
    return t(
        "compile.outstanding_person",
        lang,
        name=person.name,
        department=person.department,
        marks=t("compile.marks", lang, marks="; ".join(marks)) if marks else "",
    )


def _signature(document: DocxDocument, lang: str) -> None:
    for key, bold in (("compile.docx.signer", True), ("compile.docx.sign_here", False)):
        line = document.add_paragraph()
        line.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        run = line.add_run(t(key, lang))
        run.bold, run.italic = bold, not bold
