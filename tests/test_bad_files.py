"""Issue 15, bad files: a file is judged by what it holds, not by its name; an empty file is
refused; a document Telegram will not hand over for its size gets the upload link, not an
error. In the chat and through the web upload alike, a refused file leaves nothing stored."""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.files import FileStore
from db.models import StoredFile, Submission, UploadLink
from db.submissions import ReceivedFile
from db.web_links import LinkState, create_upload_link
from handlers.callbacks import obligation_data
from handlers.conversation import Conversation
from handlers.file_signatures import matches
from handlers.types import (
    ChoiceTapped,
    CommandSent,
    FilesSent,
    FileTooBig,
    IncomingFile,
)
from handlers.uploads import accept_upload
from tests.factories import Commune
from tests.sample_files import OLE2, office_open_xml, open_document, pdf
from tests.test_conversation import AN_CHAT, TZ, a_file, count, register
from tests.test_telegram_e2e import AN, Bench, bench  # noqa: F401 (the fixture)
from tests.test_web_upload import Site, page_text, site  # noqa: F401 (the fixture)
from tests.wording import vi

EXE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(120)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"


def a_real_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Báo cáo CCHC quý I")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def a_real_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "Phụ lục"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------- the signatures


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bao-cao.pdf", pdf()),
        ("bao-cao.PDF", b"\xef\xbb\xbf" + pdf()),  # a little junk before the header is allowed
        ("bao-cao.docx", a_real_docx()),
        ("phu-luc.xlsx", a_real_xlsx()),
        ("trinh-chieu.pptx", office_open_xml("pptx")),
        ("bao-cao.odt", open_document("odt")),
        ("phu-luc.ods", open_document("ods")),
        ("bao-cao.doc", OLE2 + bytes(504)),
        ("phu-luc.xls", OLE2 + bytes(504)),
        ("anh.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
        ("anh.jpeg", b"\xff\xd8\xff\xe1\x00\x10Exif\x00"),
        ("anh.png", PNG),
        ("khong-co-luat.txt", b"anything"),  # no rule here: the extension check decides
    ],
)
def test_real_files_match_their_names(name: str, content: bytes) -> None:
    assert matches(name, content)
    assert matches(name, io.BytesIO(content))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bao-cao.pdf", EXE),  # an .exe renamed
        ("bao-cao.pdf", a_real_docx()),
        ("bao-cao.docx", office_open_xml("docx", content_types=False)),  # a bare zip
        ("bao-cao.docx", a_real_xlsx()),  # a spreadsheet renamed
        ("phu-luc.xlsx", a_real_docx()),
        ("bao-cao.docx", b"PK\x03\x04 not a zip at all"),
        ("bao-cao.docx", OLE2 + bytes(504)),  # an old .doc renamed .docx
        ("bao-cao.odt", open_document("ods")),
        ("bao-cao.odt", office_open_xml("docx")),  # no mimetype member first
        ("bao-cao.doc", a_real_docx()),
        ("phu-luc.xls", pdf()),
        ("anh.jpg", PNG),
        ("anh.png", b"\xff\xd8\xff\xe0"),
        ("bao-cao.pdf", b""),
    ],
)
def test_fakes_do_not(name: str, content: bytes) -> None:
    assert not matches(name, content)
    assert not matches(name, io.BytesIO(content))


def test_a_zip_whose_content_types_part_is_huge_is_not_read() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b" " * (2 * 1024 * 1024))
    assert not matches("bom.docx", out.getvalue())


# ---------------------------------------------------------------------- in the chat


async def waiting_for_q1(
    conversation: Conversation, session: AsyncSession, commune: Commune
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await conversation.handle(AN_CHAT, CommandSent("nop"))
    await conversation.handle(AN_CHAT, ChoiceTapped(obligation_data(commune.q1.id)))


def stored_files(conversation: Conversation) -> list[Path]:
    return [p for p in conversation.store.root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("bao-cao.pdf", EXE, "PDF"),
        ("bao-cao.docx", office_open_xml("docx", content_types=False), "DOCX"),
        ("bao-cao.docx", office_open_xml("xlsx"), "DOCX"),
        ("anh.png", b"GIF89a", "PNG"),
    ],
)
async def test_a_file_that_is_not_what_its_name_says_is_refused_in_the_chat(
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    name: str,
    content: bytes,
    kind: str,
) -> None:
    await waiting_for_q1(conversation, session, commune)
    # The good file beside it is not kept either: one bad file keeps the album out.
    files = [a_file("phu-luc.xlsx"), a_file(name, content)]
    (reply,) = await conversation.handle(AN_CHAT, FilesSent(files))
    reason = vi("files.not_real", name=name, kind=kind)
    assert reply.text == vi("report.refused", reasons=reason)
    if name == "bao-cao.pdf":
        assert reply.text == (
            "Bot không nhận được tệp, chưa có gì được lưu:\n"
            "• Tệp «bao-cao.pdf» không phải là tệp PDF thật — xin gửi lại đúng tệp báo cáo."
        )
    assert await count(session, StoredFile) == 0
    assert await count(session, Submission) == 0
    assert stored_files(conversation) == []
    # Still waiting for the report: the right file is handed in.
    (receipt,) = await conversation.handle(AN_CHAT, FilesSent([a_file("bao-cao.pdf")]))
    assert receipt.text.startswith("✅")


@pytest.mark.parametrize("declared", [0, None])
async def test_an_empty_file_is_refused_in_the_chat(
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    declared: int | None,
) -> None:
    await waiting_for_q1(conversation, session, commune)

    async def nothing() -> bytes:
        return b""

    empty = IncomingFile("x.pdf", "application/pdf", declared, nothing)
    (reply,) = await conversation.handle(AN_CHAT, FilesSent([empty]))
    assert reply.text == vi("report.refused", reasons=vi("files.empty", name="x.pdf"))
    assert "Tệp «x.pdf» trống (0 byte)" in reply.text
    assert await count(session, StoredFile) == 0
    assert stored_files(conversation) == []


async def test_a_photo_is_named_by_the_channel_so_only_emptiness_is_judged(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await waiting_for_q1(conversation, session, commune)

    def photo(content: bytes) -> IncomingFile:
        async def fetch() -> bytes:
            return content

        # Zalo names every photo .jpg, whatever its CDN serves.
        return IncomingFile("anh-1.jpg", "image/jpeg", None, fetch, is_photo=True)

    (reply,) = await conversation.handle(AN_CHAT, FilesSent([photo(b"")]))
    assert reply.text == vi("report.refused", reasons=vi("files.empty", name="anh-1.jpg"))
    (receipt,) = await conversation.handle(AN_CHAT, FilesSent([photo(PNG)]))
    assert receipt.text.startswith("✅")


async def test_a_file_the_channel_will_not_hand_over_gets_the_upload_link(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    tmp_path: Path,
    commune: Commune,
    session: AsyncSession,
) -> None:
    conversation = Conversation(
        sessionmaker,
        clock,
        FileStore(tmp_path / "data"),
        TZ,
        upload_url=lambda token: f"https://nhacviec.example.vn/u/{token}",
    )
    await waiting_for_q1(conversation, session, commune)

    async def refused() -> bytes:
        raise FileTooBig("Bad Request: file is too big")

    # Declared small (or not at all): only the download says it is too big.
    big = IncomingFile("ban-do.pdf", "application/pdf", 1000, refused)
    (reply,) = await conversation.handle(AN_CHAT, FilesSent([big]))
    assert reply.text.startswith(vi("upload.why_large", name="ban-do.pdf"))
    assert "https://nhacviec.example.vn/u/" in reply.text
    assert await count(session, UploadLink) == 1
    assert await count(session, StoredFile) == 0


async def test_without_the_web_app_a_file_too_big_to_fetch_is_refused_politely(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await waiting_for_q1(conversation, session, commune)

    async def refused() -> bytes:
        raise FileTooBig("Bad Request: file is too big")

    big = IncomingFile("ban-do.pdf", "application/pdf", None, refused)
    (reply,) = await conversation.handle(AN_CHAT, FilesSent([big]))
    assert reply.text == vi("report.refused", reasons=vi("report.refused_size", name="ban-do.pdf"))


async def test_telegram_refusing_getfile_as_too_big_is_answered_not_an_error(
    bench: Bench,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    await bench.register(bench.commune.an, AN)
    bench.server.fail_next("getFile", 400, description="Bad Request: file is too big")
    with caplog.at_level(logging.ERROR):
        sent = bench.server.user_sends_document(AN, "ban-do.pdf", pdf("ban do"), file_size=1000)
        reply = await bench.server.wait_for_message(
            AN, after=sent["message"]["message_id"], timeout=10
        )
    # The bench runs without the web app: no link to offer, so the size is the reason.
    assert reply.text == vi("report.refused", reasons=vi("report.refused_size", name="ban-do.pdf"))
    assert reply.text != vi("error.generic")
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a file too big"
    assert await bench.count(StoredFile) == 0


# ---------------------------------------------------------------------- through the web


async def test_the_web_upload_refuses_a_renamed_file_and_keeps_nothing(site: Site) -> None:  # noqa: F811
    token = await site.link()
    response = await site.client.post(
        f"/u/{token}",
        files=[("files", ("q1.pdf", pdf())), ("files", ("bao-cao.pdf", EXE))],
    )
    assert response.status_code == 400
    text = page_text(response)
    assert vi("files.not_real", name="bao-cao.pdf", kind="PDF").removeprefix("• ") in text
    assert await site.count(Submission) == 0
    assert await site.count(StoredFile) == 0
    assert site.stored_paths() == []
    assert site.leftovers() == []
    assert (await site.client.get(f"/u/{token}")).status_code == 200  # the link still works


async def test_accept_upload_judges_the_stored_files_too(
    session: AsyncSession, commune: Commune, clock: FixedClock, tmp_path: Path
) -> None:
    store = FileStore(tmp_path / "data")
    token = await create_upload_link(session, commune.an, commune.q1, clock.now())
    sha, path = store.put(a_real_xlsx())
    files = [ReceivedFile("bao-cao.docx", "application/octet-stream", 10, sha, path)]
    result = await accept_upload(session, token, files, clock.now(), store=store)
    assert result.state is LinkState.VALID and result.receipt is None
    assert result.refused == (vi("files.not_real", name="bao-cao.docx", kind="DOCX"),)
    assert await count(session, Submission) == 0
    link = await session.scalar(select(UploadLink))
    assert link is not None and link.used_at is None


async def test_the_web_upload_refuses_an_empty_file(site: Site) -> None:  # noqa: F811
    token = await site.link()
    response = await site.client.post(f"/u/{token}", files=[("files", ("x.pdf", b""))])
    assert response.status_code == 400
    assert "Tệp «x.pdf» trống (0 byte)" in page_text(response)
    assert await site.count(StoredFile) == 0
