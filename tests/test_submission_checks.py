"""Checks on what is handed in, on both databases: the outline's sections missing from a .docx
(a hint on the receipt, never a refusal) and a file identical to the report's template (asked
about, handed in only when confirmed)."""

from __future__ import annotations

import hashlib
import io
import unicodedata
from pathlib import Path

import docx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.files import FileStore
from db.models import ConversationState, StoredFile, Submission
from handlers import callbacks
from handlers.conversation import Conversation
from handlers.presenting import file_size
from handlers.submission_checks import docx_paragraphs, heading_key, missing_headings
from handlers.types import ChoiceTapped, CommandSent, FilesSent, IncomingFile, Reply, TextSent
from tests.conftest import ROOT
from tests.factories import Commune, build_commune
from tests.sample_files import office_open_xml
from tests.test_conversation import AN_CHAT, TZ, a_file, count, fetch_all, register
from tests.test_figures_chat import CCHC_INDICATORS, datas, question
from tests.wording import vi

OUTLINE = [
    "I. KẾT QUẢ THỰC HIỆN CÔNG TÁC CẢI CÁCH HÀNH CHÍNH",
    "II. ĐÁNH GIÁ CHUNG",
    "III. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI",
    "IV. ĐỀ XUẤT, KIẾN NGHỊ",
]
TEMPLATES = ROOT / "examples" / "templates" / "cchc"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def a_docx(*paragraphs: str, table: tuple[str, ...] = ()) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=1)
        for row, text in zip(grid.rows, table, strict=True):
            row.cells[0].text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def incoming(name: str, content: bytes, mime: str = DOCX) -> IncomingFile:
    async def fetch() -> bytes:
        return content

    return IncomingFile(name=name, mime_type=mime, size=len(content), fetch=fetch)


def stored_path(content: bytes) -> str:
    """Where the plan loader keeps a template: files/ab/<sha256>."""
    sha = hashlib.sha256(content).hexdigest()
    return f"files/{sha[:2]}/{sha}"


def q1_receipt(name: str, size: int, version: int = 1) -> str:
    return vi(
        "report.receipt",
        title="Báo cáo CCHC Quý I năm 2024",
        version=version,
        files=vi("report.file_line", name=name, size=file_size(size, "vi")),
        time="08/03/2024 08:00",
        timeliness=vi("report.on_time", due="10/03/2024"),
        start="15/12/2023",
        end="14/03/2024",
    )


# The hint's words before the sections it names.
HINT = vi("checks.missing_sections", sections="\x00").split("\x00")[0]


@pytest.fixture
async def commune(session: AsyncSession) -> Commune:
    commune = await build_commune(session)
    commune.q1.outline = OUTLINE
    commune.q1.templates = [
        {
            "name": name,
            "source": f"templates/cchc/{name}",
            "path": stored_path((TEMPLATES / name).read_bytes()),
        }
        for name in ("de-cuong.docx", "phu-luc.xlsx")
    ]
    await session.commit()
    return commune


@pytest.fixture
def conversation(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> Conversation:
    return Conversation(sessionmaker, clock, FileStore(tmp_path / "data"), TZ)


async def hand_in(
    conversation: Conversation, commune: Commune, *files: IncomingFile
) -> list[Reply]:
    await conversation.handle(AN_CHAT, CommandSent("nop"))
    await conversation.handle(AN_CHAT, ChoiceTapped(callbacks.obligation_data(commune.q1.id)))
    return await conversation.handle(AN_CHAT, FilesSent(list(files)))


# ------------------------------------------------------------------ the outline


def test_headings_match_whatever_the_accents_case_and_numbering() -> None:
    nfd = unicodedata.normalize("NFD", "ii. đánh giá chung")
    found = [
        "I. Kết quả thực hiện công tác cải cách hành chính quý I",
        nfd,
        "3) PHUONG HUONG NHIEM VU KY TOI",
        "Nội dung khác",
    ]
    assert missing_headings(OUTLINE, found) == ["IV. ĐỀ XUẤT, KIẾN NGHỊ"]
    assert heading_key("III. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI") == "phuong huong nhiem vu ky toi"
    # A word that merely looks like a Roman numeral is not taken for one.
    assert heading_key("Đi cơ sở") == "di co so"
    # A sentence that mentions a heading's words further in is not that heading.
    assert missing_headings(["II. ĐÁNH GIÁ CHUNG"], ["Phần này là đánh giá chung"]) == [
        "II. ĐÁNH GIÁ CHUNG"
    ]


def test_the_example_outline_template_has_every_section() -> None:
    assert missing_headings(OUTLINE, docx_paragraphs(TEMPLATES / "de-cuong.docx")) == []


async def test_a_docx_without_a_section_is_received_with_a_hint(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    report = a_docx(
        "BÁO CÁO CẢI CÁCH HÀNH CHÍNH QUÝ I",
        "I. KẾT QUẢ THỰC HIỆN CÔNG TÁC CẢI CÁCH HÀNH CHÍNH",
        "II. Đánh giá chung",
        table=("IV. ĐỀ XUẤT, KIẾN NGHỊ",),
    )
    (receipt,) = await hand_in(conversation, commune, incoming("bao-cao.docx", report))
    hint = vi("checks.missing_sections", sections="III. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI")
    assert receipt.text == f"{q1_receipt('bao-cao.docx', len(report))}\n{hint}"
    assert await count(session, Submission) == 1  # a hint, never a refusal


async def test_a_complete_docx_or_no_docx_gets_no_hint(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    report = a_docx(*(heading.lower() for heading in OUTLINE))
    (receipt,) = await hand_in(conversation, commune, incoming("bao-cao.docx", report))
    assert receipt.text == q1_receipt("bao-cao.docx", len(report))
    (pdf,) = await hand_in(conversation, commune, a_file("bao-cao.pdf"))
    (broken,) = await hand_in(
        conversation, commune, incoming("hong.docx", office_open_xml("docx", "<not a document"))
    )
    for reply in (pdf, broken):
        assert HINT not in reply.text
    assert await count(session, Submission) == 3


# ------------------------------------------------------------------ a copy of the template


async def test_a_template_copy_is_handed_in_only_when_confirmed(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    blank = (TEMPLATES / "de-cuong.docx").read_bytes()
    (question_,) = await hand_in(conversation, commune, incoming("de-cuong.docx", blank))
    assert question_.text == vi("checks.template_copy", names="de-cuong.docx")
    (kept,) = await fetch_all(session, select(StoredFile))
    assert kept.submission_id is None  # kept, not handed in
    assert datas(question_) == [callbacks.template_data(kept.id), callbacks.CANCEL_DATA]
    assert await count(session, Submission) == 0

    # Words meanwhile: the question again, nothing changes.
    (again,) = await conversation.handle(AN_CHAT, TextSent("ừ"))
    assert again.text == question_.text

    (receipt,) = await conversation.handle(AN_CHAT, ChoiceTapped(callbacks.template_data(kept.id)))
    assert receipt.edit
    assert receipt.text == q1_receipt("de-cuong.docx", len(blank))
    (submission,) = await fetch_all(session, select(Submission))
    # Columns, not rows: the session still holds the file as it was when first read.
    assert await fetch_all(session, select(StoredFile.submission_id)) == [submission.id]
    assert await count(session, ConversationState) == 0

    # The button again (a double tap): the files are handed in, the receipt stays (issue 15).
    (again,) = await conversation.handle(AN_CHAT, ChoiceTapped(callbacks.template_data(kept.id)))
    assert again.text == vi("report.files_handed_in") and not again.edit
    assert await count(session, Submission) == 1
    assert await count(session, ConversationState) == 0


async def test_cancel_keeps_the_template_copy_unsubmitted(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    blank = (TEMPLATES / "phu-luc.xlsx").read_bytes()
    (asked,) = await hand_in(conversation, commune, incoming("phu-luc.xlsx", blank))
    (cancelled,) = await conversation.handle(AN_CHAT, ChoiceTapped(callbacks.CANCEL_DATA))
    assert cancelled.text == vi("checks.template_cancelled")
    assert await count(session, Submission) == 0
    assert await count(session, StoredFile) == 1  # nothing a person sent is lost
    (stale,) = await conversation.handle(AN_CHAT, ChoiceTapped(asked.choices[0][0].data))
    assert stale.text == vi("checks.template_expired")
    assert await count(session, Submission) == 0


async def test_the_filled_file_sent_next_is_handed_in_instead(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    blank = (TEMPLATES / "de-cuong.docx").read_bytes()
    await hand_in(conversation, commune, incoming("de-cuong.docx", blank))
    filled = a_docx(*OUTLINE, "Kết quả: 162/376 hồ sơ trực tuyến.")
    (receipt,) = await conversation.handle(AN_CHAT, FilesSent([incoming("bao-cao.docx", filled)]))
    assert receipt.text == q1_receipt("bao-cao.docx", len(filled))
    (submission,) = await fetch_all(session, select(Submission))
    files = await fetch_all(session, select(StoredFile).order_by(StoredFile.id))
    assert [(f.original_name, f.submission_id) for f in files] == [
        ("de-cuong.docx", None),
        ("bao-cao.docx", submission.id),
    ]


async def test_a_confirmed_blank_appendix_then_asks_the_figures_in_chat(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    commune.q1.indicators = CCHC_INDICATORS
    await session.commit()
    await register(conversation, session, commune.an, AN_CHAT)
    blank = (TEMPLATES / "phu-luc.xlsx").read_bytes()
    (asked,) = await hand_in(conversation, commune, incoming("phu-luc.xlsx", blank))
    receipt, first = await conversation.handle(AN_CHAT, ChoiceTapped(asked.choices[0][0].data))
    assert receipt.edit and receipt.text == q1_receipt("phu-luc.xlsx", len(blank))
    # The blank cells are named; the figures are asked in chat.
    assert vi("figures.cell_empty", cell="C5", sheet="Phụ lục") in first.text
    asked_cchc = [i for i in CCHC_INDICATORS if i["combine"] != "ratio"]
    assert first.text.endswith(question(1, 7, asked_cchc))
