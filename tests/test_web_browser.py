"""A real browser hands in a report through an upload link, with JavaScript switched off.

uvicorn serves the app on 127.0.0.1; Playwright drives the system's Chromium (never a
downloaded one: `playwright install` is not used). CI installs /usr/bin/chromium.
"""

from __future__ import annotations

import asyncio
import os
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channel_health import ChannelHealth
from bot.web import create_app, serve_web
from db.clock import FixedClock
from db.files import FileStore
from db.models import StoredFile, Submission
from db.web_links import create_upload_link
from tests.factories import build_commune
from tests.local_server import free_port
from tests.wording import vi

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# CI installs Chromium and sets REQUIRE_BROWSER: there a missing browser fails the test
# instead of skipping it quietly.
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("REQUIRE_BROWSER"),
    reason="no /usr/bin/chromium here (CI installs it: apt-get install chromium)",
)


def make_docx(path: Path) -> None:
    """A minimal Word document: the parts a .docx needs and one paragraph."""
    with zipfile.ZipFile(path, "w") as docx:
        docx.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        docx.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="word/document.xml" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
            "</Relationships>",
        )
        docx.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            "<w:body><w:p><w:r><w:t>Báo cáo CCHC quý I năm 2024</w:t></w:r></w:p></w:body>"
            "</w:document>",
        )


def make_pdf(path: Path) -> None:
    """A one-page PDF with a line of text."""
    stream = b"BT /F1 12 Tf 72 720 Td (Phu luc so lieu quy I) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))


@pytest.fixture
async def served(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> AsyncIterator[tuple[str, str]]:
    """The web app on uvicorn at 127.0.0.1 and a fresh upload link for An's Q1 report:
    (base URL, upload URL)."""
    async with sessionmaker() as session:
        commune = await build_commune(session)
        token = await create_upload_link(session, commune.an, commune.q1, clock.now())
        await session.commit()
    app = create_app(
        sessionmaker=sessionmaker,
        clock=clock,
        store=FileStore(tmp_path / "data"),
        health=ChannelHealth(clock.now),
    )
    stop, started = asyncio.Event(), asyncio.Event()
    port = free_port()
    server = asyncio.create_task(serve_web(app, "127.0.0.1", port, stop, started=started))
    await asyncio.wait_for(started.wait(), timeout=10)
    base = f"http://127.0.0.1:{port}"
    yield base, f"{base}/u/{token}"
    stop.set()
    await asyncio.wait_for(server, timeout=15)


async def test_a_phone_browser_without_javascript_hands_in_two_files(
    served: tuple[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    from playwright.async_api import async_playwright

    _, upload_url = served
    docx = tmp_path / "Báo cáo CCHC quý I.docx"
    pdf = tmp_path / "Phụ lục số liệu.pdf"
    make_docx(docx)
    make_pdf(pdf)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context(
                java_script_enabled=False,
                viewport={"width": 390, "height": 844},
                is_mobile=True,
                has_touch=True,
                locale="vi-VN",
            )
            context.set_default_timeout(15_000)
            page = await context.new_page()

            response = await page.goto(upload_url)
            assert response is not None and response.status == 200
            assert await page.get_attribute("html", "lang") == "vi"
            body = await page.inner_text("main")
            assert "Trần Văn An" in body
            assert "Báo cáo CCHC Quý I năm 2024" in body
            assert "10/03/2024" in body

            await page.set_input_files('input[name="files"]', [docx, pdf])
            async with page.expect_navigation():
                await page.click('button[type="submit"]')
            receipt = await page.inner_text(".receipt")
            assert "Báo cáo CCHC quý I.docx" in receipt
            assert "Phụ lục số liệu.pdf" in receipt
            assert vi("web.receipt.title") in await page.inner_text("h1")

            # The link is used up: opening it again is the polite 410 page.
            again = await page.goto(upload_url)
            assert again is not None and again.status == 410
            assert vi("web.gone.used") in await page.inner_text("main")
        finally:
            await browser.close()

    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Submission)) == 1
        names = set(await session.scalars(select(StoredFile.original_name)))
    assert names == {"Báo cáo CCHC quý I.docx", "Phụ lục số liệu.pdf"}
