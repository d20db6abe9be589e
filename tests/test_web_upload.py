"""The upload link and the download link of the web app, in the app and over a real socket.

Most tests drive the Starlette app in-process (httpx's ASGITransport, or raw ASGI messages
where a client must vanish mid-body); the last ones run uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from bot.channel_health import ChannelHealth
from bot.upload_receiver import (
    BodyTooLarge,
    FileTooLarge,
    MalformedUpload,
    TooManyFiles,
    UploadLimits,
    UploadReceiver,
    clean_name,
)
from bot.web import content_disposition, create_app, serve_web
from db.clock import FixedClock
from db.files import FileStore
from db.kinds import UPLOAD_RECEIPT
from db.models import (
    Obligation,
    Official,
    Reminder,
    ReminderStatus,
    StoredFile,
    Submission,
    UploadLink,
)
from db.web_links import create_file_link, create_upload_link, use_upload_link
from handlers.presenting import file_size
from handlers.uploads import WEB_MAX_FILE_BYTES, refusals
from tests.conftest import ROOT
from tests.factories import Commune, build_commune
from tests.local_server import free_port
from tests.sample_files import office_open_xml
from tests.waiting import wait_until
from tests.wording import en, vi

DOCX = office_open_xml("docx", "bao cao " * 300)
PDF = b"%PDF-1.4\n" + "báo cáo quý I ".encode() * 400
BOUNDARY = "----nhacviecTestBoundary7MA4YWxk"


@dataclass
class Site:
    """The web app over the test database, with a client that talks to it in-process."""

    app: Starlette
    client: httpx.AsyncClient
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: FixedClock
    store: FileStore
    commune: Commune

    @property
    def incoming(self) -> Path:
        return self.store.root.parent / "incoming"

    async def link(self, official: Official | None = None, subject: Any = None) -> str:
        """A fresh upload link (An, the Q1 report, unless told otherwise)."""
        async with self.sessionmaker() as session:
            token = await create_upload_link(
                session,
                official or self.commune.an,
                subject or self.commune.q1,
                self.clock.now(),
            )
            await session.commit()
        return token

    async def count(self, model: type[object]) -> int:
        async with self.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    def stored_paths(self) -> list[Path]:
        return sorted(p for p in self.store.root.rglob("*") if p.is_file())

    def leftovers(self) -> list[Path]:
        return sorted(self.incoming.iterdir())


@pytest.fixture
async def site(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> AsyncIterator[Site]:
    async with sessionmaker() as session:
        commune = await build_commune(session)
    store = FileStore(tmp_path / "data")
    app = create_app(
        sessionmaker=sessionmaker, clock=clock, store=store, health=ChannelHealth(clock.now)
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield Site(app, client, sessionmaker, clock, store, commune)


def page_text(response: httpx.Response) -> str:
    """The page with entities decoded, to compare with catalog messages."""
    return html.unescape(response.text)


def multipart(parts: list[tuple[str, bytes, str]], boundary: str = BOUNDARY) -> bytes:
    """A multipart/form-data body with one `files` part per (name, content, type)."""
    body = b""
    for name, content, mime in parts:
        body += (
            (
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="files"; filename="{name}"\r\n'
                f"Content-Type: {mime}\r\n\r\n"
            ).encode()
            + content
            + b"\r\n"
        )
    return body + f"--{boundary}--\r\n".encode()


CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


# ---------------------------------------------------------------------- the page


async def test_the_page_shows_who_what_when_and_a_form_that_needs_no_script(site: Site) -> None:
    token = await site.link()
    response = await site.client.get(f"/u/{token}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    text = page_text(response)
    assert '<html lang="vi">' in page
    assert 'name="viewport"' in page
    assert "<script" not in page
    for value in ("Trần Văn An", "UBND xã Ba Bích", "Báo cáo CCHC Quý I năm 2024", "10/03/2024"):
        assert value in text
    assert vi("web.upload.title") in text
    accepted = "doc, docx, jpg, ods, odt, pdf, png, xls, xlsx"
    assert vi("web.upload.limits", types=accepted, size="50,0 MB", count=10) in text
    # One file input, several files, posted as multipart to the page's own address.
    assert page.count('type="file"') == 1
    assert '<input id="files" type="file" name="files" multiple' in page
    assert '<form method="post" enctype="multipart/form-data">' in page
    assert "action=" not in page
    # The page's address is a credential: no cache, no Referer, nothing loaded from elsewhere.
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "script-src" not in response.headers["content-security-policy"]


async def test_every_value_on_the_page_is_escaped(site: Site) -> None:
    token = await site.link(subject=site.commune.task_24)
    page = (await site.client.get(f"/u/{token}")).text
    assert "2.4 Đẩy mạnh số hóa hồ sơ &lt;TTHC&gt; &amp; kết nối dữ liệu dân cư" in page
    assert "<TTHC>" not in page


async def test_the_page_speaks_the_officials_language(site: Site) -> None:
    async with site.sessionmaker() as session:
        binh = await session.get(Official, site.commune.binh.id)
        assert binh is not None
        binh.language = "en"
        await session.commit()
    token = await site.link(official=site.commune.binh)
    response = await site.client.get(f"/u/{token}")
    assert '<html lang="en">' in response.text
    assert en("web.upload.submit") in page_text(response)


@pytest.mark.parametrize("token", ["A" * 32, "short", "not a token!"])
async def test_an_unknown_link_is_a_polite_404(site: Site, token: str) -> None:
    response = await site.client.get(f"/u/{quote(token)}")
    assert response.status_code == 404
    assert vi("web.unknown.body") in page_text(response)
    assert "/nop" in response.text


async def test_a_used_link_is_410_and_says_to_ask_for_a_new_one(site: Site) -> None:
    token = await site.link()
    assert (await site.client.post(f"/u/{token}", files=[("files", ("a.pdf", PDF))])).is_success
    response = await site.client.get(f"/u/{token}")
    assert response.status_code == 410
    assert vi("web.gone.used") in page_text(response)
    assert "/nop" in response.text


async def test_an_expired_link_is_410(site: Site) -> None:
    token = await site.link()
    site.clock.set(site.clock.now() + timedelta(hours=24, seconds=1))
    response = await site.client.get(f"/u/{token}")
    assert response.status_code == 410
    assert vi("web.gone.expired") in page_text(response)
    posted = await site.client.post(f"/u/{token}", files=[("files", ("a.pdf", PDF))])
    assert posted.status_code == 410
    assert await site.count(Submission) == 0


async def test_an_address_the_app_does_not_have_is_a_polite_404(site: Site) -> None:
    response = await site.client.get("/nowhere")
    assert response.status_code == 404
    assert vi("web.not_found.body") in page_text(response)


# ---------------------------------------------------------------------- handing in


async def test_two_files_make_one_version_a_receipt_and_a_chat_message(site: Site) -> None:
    token = await site.link()
    response = await site.client.post(
        f"/u/{token}",
        files=[
            ("files", ("Báo cáo CCHC quý I.docx", DOCX)),
            ("files", ("Phụ lục số liệu.pdf", PDF, "application/pdf")),
        ],
    )
    assert response.status_code == 200, response.text
    text = page_text(response)
    assert vi("web.receipt.title") in text
    assert "Báo cáo CCHC quý I.docx" in text
    assert "Phụ lục số liệu.pdf" in text

    async with site.sessionmaker() as session:
        submissions = list(await session.scalars(select(Submission)))
        assert [(s.official_id, s.obligation_id, s.version) for s in submissions] == [
            (site.commune.an.id, site.commune.q1.id, 1)
        ]
        files = list(await session.scalars(select(StoredFile).order_by(StoredFile.id)))
        assert [(f.original_name, f.size, f.submission_id) for f in files] == [
            ("Báo cáo CCHC quý I.docx", len(DOCX), submissions[0].id),
            ("Phụ lục số liệu.pdf", len(PDF), submissions[0].id),
        ]
        assert files[1].mime_type == "application/pdf"
        # A browser's octet-stream is replaced by what the name says.
        assert files[0].mime_type.endswith("wordprocessingml.document")
        for stored, content in zip(files, (DOCX, PDF), strict=True):
            assert stored.sha256 == hashlib.sha256(content).hexdigest()
            assert site.store.path_of(stored.path).read_bytes() == content
        link = await session.scalar(select(UploadLink))
        assert link is not None and link.submission_id == submissions[0].id
        # The same receipt waits in the outbox for An's chat.
        queued = list(await session.scalars(select(Reminder)))
        receipts = [r for r in queued if r.kind == UPLOAD_RECEIPT]
        assert len(receipts) == 1
        assert receipts[0].recipient_id == site.commune.an.id
        assert receipts[0].status is ReminderStatus.PENDING
        assert receipts[0].payload["text"].replace("\n", "<br>\n") in response.text
    assert site.leftovers() == []


async def test_a_second_link_hands_in_the_next_version(site: Site) -> None:
    for _ in range(2):
        token = await site.link()
        response = await site.client.post(f"/u/{token}", files=[("files", ("q1.pdf", PDF))])
        assert response.status_code == 200
    async with site.sessionmaker() as session:
        versions = list(await session.scalars(select(Submission.version)))
    assert sorted(versions) == [1, 2]
    # One content, one file in the store.
    assert len(site.stored_paths()) == 1


async def assert_nothing_kept(site: Site, token: str) -> None:
    assert await site.count(Submission) == 0
    assert await site.count(StoredFile) == 0
    assert site.stored_paths() == []
    assert site.leftovers() == []
    # The link still works for the next try.
    assert (await site.client.get(f"/u/{token}")).status_code == 200


async def test_a_wrong_type_shows_the_form_again_and_keeps_nothing(site: Site) -> None:
    token = await site.link()
    response = await site.client.post(
        f"/u/{token}",
        files=[("files", ("q1.pdf", PDF)), ("files", ("virus <1>.exe", b"MZ" * 100))],
    )
    assert response.status_code == 400
    assert refusals([("virus <1>.exe", 200)], "vi")[0].removeprefix("• ") in response.text
    assert 'type="file"' in response.text
    await assert_nothing_kept(site, token)


async def test_an_empty_file_shows_the_form_again(site: Site) -> None:
    token = await site.link()
    response = await site.client.post(f"/u/{token}", files=[("files", ("q1.pdf", b""))])
    assert response.status_code == 400
    assert vi("files.empty", name="q1.pdf").removeprefix("• ") in page_text(response)
    await assert_nothing_kept(site, token)


async def test_no_file_chosen_shows_the_form_again(site: Site) -> None:
    token = await site.link()
    # What a browser sends for a file input left empty.
    response = await site.client.post(
        f"/u/{token}",
        content=multipart([("", b"", "application/octet-stream")]),
        headers={"content-type": CONTENT_TYPE},
    )
    assert response.status_code == 400
    assert vi("upload.no_file") in page_text(response)
    await assert_nothing_kept(site, token)


async def test_more_than_ten_files_show_the_form_again(site: Site) -> None:
    token = await site.link()
    response = await site.client.post(
        f"/u/{token}", files=[("files", (f"phan-{i}.pdf", PDF)) for i in range(11)]
    )
    assert response.status_code == 400
    assert vi("upload.too_many", count=10) in page_text(response)
    await assert_nothing_kept(site, token)


async def test_not_a_multipart_body_shows_the_form_again(site: Site) -> None:
    token = await site.link()
    response = await site.client.post(f"/u/{token}", data={"files": "q1.pdf"})
    assert response.status_code == 400
    assert vi("web.upload.malformed") in page_text(response)
    await assert_nothing_kept(site, token)


async def test_a_file_over_50_mb_is_refused_before_the_rest_is_read(site: Site) -> None:
    token = await site.link()
    sent = 0
    chunk = b"\0" * (1024 * 1024)

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        head = (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="files"; filename="scan.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        yield head
        for _ in range(60):
            sent += len(chunk)
            yield chunk
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    response = await site.client.post(
        f"/u/{token}", content=body(), headers={"content-type": CONTENT_TYPE}
    )
    assert response.status_code == 413
    assert vi("upload.too_large", name="scan.pdf", size=file_size(WEB_MAX_FILE_BYTES, "vi")) in (
        page_text(response)
    )
    assert sent < 55 * 1024 * 1024
    await assert_nothing_kept(site, token)


async def test_a_body_declared_larger_than_the_limit_is_refused_unread(site: Site) -> None:
    token = await site.link()
    response = await site.client.post(
        f"/u/{token}",
        content=multipart([("q1.pdf", PDF, "application/pdf")]),
        headers={"content-type": CONTENT_TYPE, "content-length": str(600 * 1024 * 1024)},
    )
    assert response.status_code == 413
    limit = file_size(10 * WEB_MAX_FILE_BYTES + 2**20, "vi")
    assert vi("web.upload.body_too_large", size=limit) in page_text(response)
    await assert_nothing_kept(site, token)


# ---------------------------------------------------------------------- raw ASGI: clients that go


async def post_raw(
    app: Starlette,
    path: str,
    messages: list[dict[str, Any]],
    before: Callable[[int], Awaitable[None]] | None = None,
) -> tuple[int | None, bytes]:
    """POST through the ASGI interface, the body as given `http.request`/`http.disconnect`
    messages (then disconnects); `before(i)` runs before message i is handed over."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", CONTENT_TYPE.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    queue = iter(enumerate(messages))
    status: int | None = None
    body = b""

    async def receive() -> dict[str, Any]:
        for i, message in queue:
            if before is not None:
                await before(i)
            return message
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    await app(scope, receive, send)
    return status, body


def request(body: bytes, more: bool = True) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


async def test_a_client_that_leaves_mid_upload_leaves_nothing_behind(site: Site) -> None:
    token = await site.link()
    body = multipart([("q1.pdf", PDF, "application/pdf"), ("b.docx", DOCX, "")])
    half = len(body) // 2
    await post_raw(
        site.app,
        f"/u/{token}",
        [request(body[:1000]), request(body[1000:half]), {"type": "http.disconnect"}],
    )
    await assert_nothing_kept(site, token)


async def test_a_body_cut_short_is_refused_and_leaves_nothing(site: Site) -> None:
    token = await site.link()
    body = multipart([("q1.pdf", PDF, "application/pdf")])
    status, page = await post_raw(site.app, f"/u/{token}", [request(body[:-100], more=False)])
    assert status == 400
    assert vi("web.upload.malformed") in html.unescape(page.decode())
    await assert_nothing_kept(site, token)


async def test_a_link_used_while_the_files_arrive_records_nothing(site: Site) -> None:
    token = await site.link()
    body = multipart([("q1.pdf", PDF, "application/pdf")])

    async def use_the_link_meanwhile(i: int) -> None:
        if i == 1:  # another request wins while this one's body is still coming
            async with site.sessionmaker() as session:
                link = await session.scalar(select(UploadLink))
                assert link is not None
                assert await use_upload_link(session, link.id, None, site.clock.now())
                await session.commit()

    status, page = await post_raw(
        site.app,
        f"/u/{token}",
        [request(body[:500]), request(body[500:], more=False)],
        before=use_the_link_meanwhile,
    )
    assert status == 410
    assert vi("web.gone.used") in html.unescape(page.decode())
    assert await site.count(Submission) == 0
    assert await site.count(StoredFile) == 0
    # The file reached the store (content-addressed: harmless) and no temporary copy is left.
    assert [p.read_bytes() for p in site.stored_paths()] == [PDF]
    assert site.leftovers() == []


async def test_a_failure_is_a_polite_500_page_and_logged(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> AsyncSession:
        raise RuntimeError("the database is on fire")

    app = create_app(
        sessionmaker=broken,  # type: ignore[arg-type]
        clock=site.clock,
        store=site.store,
        health=ChannelHealth(site.clock.now),
    )
    token = await site.link()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.get(f"/u/{token}")
    assert response.status_code == 500
    assert vi("web.error.body") in page_text(response)
    assert "on fire" not in response.text
    assert "upload page failed" in caplog.text
    # Paths carry tokens: the log names the route, not the address.
    assert token not in caplog.text


# ---------------------------------------------------------------------- download links


async def test_a_download_link_gives_the_file_under_its_vietnamese_name(site: Site) -> None:
    source = site.store.root.parent / "templates" / "bieu-mau.xlsx"
    source.parent.mkdir(parents=True)
    source.write_bytes(b"PK\x03\x04 xlsx content")
    name = 'Biểu mẫu báo cáo quý I "Đợt 1".xlsx'
    async with site.sessionmaker() as session:
        token = await create_file_link(session, name, str(source), site.clock.now())
        await session.commit()
    response = await site.client.get(f"/f/{token}")
    assert response.status_code == 200
    assert response.content == b"PK\x03\x04 xlsx content"
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    disposition = response.headers["content-disposition"]
    assert disposition == content_disposition(name)
    assert disposition.startswith('attachment; filename="Bieu mau bao cao quy I Dot 1.xlsx"; ')
    assert disposition.endswith("filename*=UTF-8''" + quote(name, safe=""))

    site.clock.set(site.clock.now() + timedelta(days=7, seconds=1))
    expired = await site.client.get(f"/f/{token}")
    assert expired.status_code == 404
    assert vi("web.file_missing.body") in page_text(expired)


async def test_a_download_link_that_is_unknown_or_whose_file_is_gone_is_404(site: Site) -> None:
    assert (await site.client.get("/f/" + "B" * 32)).status_code == 404
    async with site.sessionmaker() as session:
        token = await create_file_link(session, "x.pdf", "/nonexistent/x.pdf", site.clock.now())
        await session.commit()
    response = await site.client.get(f"/f/{token}")
    assert response.status_code == 404
    assert vi("web.file_missing.body") in page_text(response)


# ---------------------------------------------------------------------- the receiver alone


def chunks(body: bytes, size: int = 777) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for i in range(0, len(body), size):
            yield body[i : i + size]

    return gen()


def listing(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


@pytest.fixture
def incoming(tmp_path: Path) -> Path:
    path = tmp_path / "incoming"
    path.mkdir()
    return path


async def test_the_receiver_writes_each_file_to_its_own_temporary_file(incoming: Path) -> None:
    body = multipart([("a.pdf", PDF, "application/pdf"), ("b.docx", DOCX, "")])
    async with UploadReceiver(incoming, UploadLimits(10_000_000, 5)) as receiver:
        files = await receiver.receive(CONTENT_TYPE, chunks(body))
        assert [(f.name, f.size, f.path.parent) for f in files] == [
            ("a.pdf", len(PDF), incoming),
            ("b.docx", len(DOCX), incoming),
        ]
        assert [f.path.read_bytes() for f in files] == [PDF, DOCX]
    # What the caller did not move away is gone on leaving.
    assert listing(incoming) == []


@pytest.mark.parametrize(
    ("limits", "body", "error"),
    [
        # One file too large.
        (
            UploadLimits(max_file_bytes=1000, max_files=5),
            multipart([("a.pdf", PDF, "")] * 3),
            FileTooLarge,
        ),
        # More files than allowed.
        (
            UploadLimits(max_file_bytes=len(PDF), max_files=2),
            multipart([("a.pdf", PDF, "")] * 600),
            TooManyFiles,
        ),
        # Each file fine, the body too large: junk after the closing boundary, past the 1 MB
        # allowance for framing.
        (
            UploadLimits(max_file_bytes=len(PDF), max_files=1),
            multipart([("a.pdf", PDF, "")]) + b"x" * 3 * 2**20,
            BodyTooLarge,
        ),
    ],
)
async def test_the_receiver_stops_at_a_limit_and_deletes_what_it_wrote(
    incoming: Path, limits: UploadLimits, body: bytes, error: type[Exception]
) -> None:
    read = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal read
        async for chunk in chunks(body, 4096):
            read += len(chunk)
            yield chunk

    with pytest.raises(error):
        await UploadReceiver(incoming, limits).receive(CONTENT_TYPE, counted())
    assert read < len(body) // 2
    assert listing(incoming) == []


async def test_the_receiver_refuses_a_body_of_countless_tiny_parts(incoming: Path) -> None:
    body = multipart([("a.pdf", b"x", "")] * 3 + [("", b"", "")] * 100)
    with pytest.raises(MalformedUpload):
        await UploadReceiver(incoming, UploadLimits(1000, 5)).receive(CONTENT_TYPE, chunks(body))
    assert listing(incoming) == []


async def test_the_receiver_refuses_what_is_not_multipart(incoming: Path) -> None:
    with pytest.raises(MalformedUpload):
        await UploadReceiver(incoming, UploadLimits(1000, 1)).receive(
            "application/x-www-form-urlencoded", chunks(b"files=a.pdf")
        )
    assert listing(incoming) == []


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Báo cáo.pdf".encode(), "Báo cáo.pdf"),
        # Safari on macOS: decomposed accents.
        ("Ba\u0301o ca\u0301o.pdf".encode(), "Báo cáo.pdf"),
        (b"C:\\Users\\an\\Desktop\\q1.pdf", "q1.pdf"),
        (b"../../etc/passwd", "passwd"),
        (b"a\r\nb.pdf", "ab.pdf"),
        ("Báo".encode("latin-1"), "Báo"),
        (b"x" * 300 + b".docx", "x" * 250 + ".docx"),
    ],
)
def test_file_names_are_cleaned_as_people_read_them(raw: bytes, name: str) -> None:
    assert clean_name(raw) == name


# ---------------------------------------------------------------------- a real server


@pytest.fixture
async def served(site: Site) -> AsyncIterator[str]:
    """`site`'s app on uvicorn at 127.0.0.1; yields its base URL."""
    stop, started = asyncio.Event(), asyncio.Event()
    port = free_port()
    task = asyncio.create_task(serve_web(site.app, "127.0.0.1", port, stop, started=started))
    await asyncio.wait_for(started.wait(), timeout=10)
    yield f"http://127.0.0.1:{port}"
    stop.set()
    await asyncio.wait_for(task, timeout=15)


async def test_over_a_real_socket_an_oversize_file_gets_the_413_page(
    site: Site, served: str
) -> None:
    token = await site.link()
    big = b"\0" * (WEB_MAX_FILE_BYTES + 1)
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.post(f"{served}/u/{token}", files=[("files", ("scan.pdf", big))])
        assert response.status_code == 413
        assert vi("upload.too_large", name="scan.pdf", size="50,0 MB") in page_text(response)
        # The connection was kept and still works.
        again = await client.get(f"{served}/u/{token}")
        assert again.status_code == 200
    await assert_nothing_kept(site, token)


async def test_over_a_real_socket_a_client_gone_mid_body_leaves_nothing(
    site: Site, served: str
) -> None:
    token = await site.link()
    body = multipart([("q1.pdf", PDF * 50, "application/pdf")])
    host, port = served.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            f"POST /u/{token} HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: {CONTENT_TYPE}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body[: len(body) // 2]
    )
    await writer.drain()
    # It is being written (on a loaded machine the server may take a moment to start).
    await wait_until(lambda: site.leftovers() != [], 10, what="the upload being written")
    writer.transport.abort()
    for _ in range(100):
        if not site.leftovers():
            break
        await asyncio.sleep(0.05)
    await assert_nothing_kept(site, token)


async def test_listening_on_a_busy_port_is_an_error_not_an_exit(site: Site) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError, match="could not listen"):
            await serve_web(site.app, "127.0.0.1", port, asyncio.Event())


async def test_a_filled_appendix_uploaded_shows_its_figures_and_the_chat_asks_to_confirm(
    site: Site,
) -> None:
    async with site.sessionmaker() as session:
        q1 = await session.get(Obligation, site.commune.q1.id)
        assert q1 is not None
        q1.indicators = [
            {"code": "tt", "label": "Hồ sơ trực tuyến", "unit": "hồ sơ", "combine": "sum",
             "cell": "Phụ lục!C5"},
            {"code": "tn", "label": "Hồ sơ tiếp nhận", "unit": "hồ sơ", "combine": "sum",
             "cell": "Phụ lục!D5"},
            {"code": "tl", "label": "Tỷ lệ trực tuyến", "unit": "%", "combine": "ratio",
             "numerator": "tt", "denominator": "tn", "decimals": 1},
        ]  # fmt: skip
        await session.commit()
    filled = ROOT / "examples" / "mau-da-dien" / "phu-luc-quy-1-hoa.xlsx"
    token = await site.link()
    response = await site.client.post(
        f"/u/{token}", files=[("files", ("phu-luc.xlsx", filled.read_bytes()))]
    )
    assert response.status_code == 200, response.text
    text = page_text(response)
    # The seed's own figures, read from the appendix's cells: 162 of 376, "43,1%".
    assert "162" in text and "376" in text and "43,1%" in text
    async with site.sessionmaker() as session:
        queued = list(await session.scalars(select(Reminder)))
        [receipt] = [r for r in queued if r.kind == UPLOAD_RECEIPT]
        # The chat's copy carries the one-tap confirmation of the figures.
        assert receipt.payload["choices"], receipt.payload


async def test_a_copy_of_the_template_is_handed_in_only_when_confirmed(site: Site) -> None:
    template = office_open_xml("xlsx", "mau phu luc chua dien " * 40)
    _, path = site.store.put(template)
    async with site.sessionmaker() as session:
        q1 = await session.get(Obligation, site.commune.q1.id)
        assert q1 is not None
        q1.templates = [{"name": "phu-luc.xlsx", "source": "phu-luc.xlsx", "path": path}]
        await session.commit()
    token = await site.link()
    upload = [("files", ("phu-luc.xlsx", template))]
    response = await site.client.post(f"/u/{token}", files=upload)
    assert response.status_code == 409
    text = page_text(response)
    assert vi("upload.template_copy", names="phu-luc.xlsx") in text
    assert vi("upload.template_submit") in text and 'action="?confirm=template"' in text
    assert await site.count(Submission) == 0
    # The official confirms: chosen again and handed in anyway, one version.
    response = await site.client.post(f"/u/{token}?confirm=template", files=upload)
    assert response.status_code == 200, response.text
    assert await site.count(Submission) == 1
