"""The one web app: upload links, download links, the channels' webhooks and `/healthz`.

Starlette on uvicorn. The pages work without JavaScript on any phone; uploads stream to disk
(`bot.upload_receiver`) and are recorded by `handlers.uploads` in one transaction. Nothing a
person can trigger ends in a traceback on their screen: failures are logged and answered with
a polite page. Tokens in URLs are credentials, so neither the access log nor our own log lines
carry a path.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import mimetypes
import socket
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from telegram.ext import Application

from bot.channel_health import ChannelHealth
from bot.settings import Settings
from bot.telegram_updates import read_update
from bot.upload_receiver import (
    BodyTooLarge,
    FileTooLarge,
    IncomingFile,
    MalformedUpload,
    TooManyFiles,
    UploadLimits,
    UploadReceiver,
    sweep_incoming,
)
from bot.web_pages import (
    error_page,
    file_missing_page,
    link_closed_page,
    not_found_page,
    receipt_page,
    upload_form,
)
from db.clock import Clock
from db.files import FileStore
from db.health import DatabaseHealth, database_health
from db.submissions import ReceivedFile
from db.web_links import LinkState, linked_file
from handlers.catalog import t
from handlers.presenting import file_size, h
from handlers.uploads import (
    WEB_MAX_FILE_BYTES,
    WEB_MAX_FILES,
    UploadPage,
    accept_upload,
    content_refusals_on_disk,
    refusals,
    template_copies,
    upload_page,
)

# The query of a second POST that hands in a copy of the template anyway.
CONFIRM_TEMPLATE = "template"
logger = logging.getLogger(__name__)

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ZALO_SECRET_HEADER = "X-Bot-Api-Secret-Token"
# An update is a few kilobytes; anything far larger is not one.
MAX_WEBHOOK_BYTES = 1024 * 1024
# How stale the sweep may be, and how long a channel may fail, before /healthz says unhealthy.
HEALTH_GRACE = timedelta(minutes=5)
# /healthz must answer even when the database hangs.
HEALTH_DB_TIMEOUT_SECONDS = 5.0
# Temporary upload files older than this are leftovers of a killed process.
STALE_INCOMING_SECONDS = 24 * 3600

_SECURITY_HEADERS = {
    # The form posts to itself and the pages load nothing: no script, no third party.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # The page's own URL holds the token: never hand it on as a Referer.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class WebhookRoute:
    """A channel's webhook: where updates arrive, the secret header that proves they come
    from the platform, and `handle`, which takes the JSON update and must return quickly
    (queue it; do not answer it inline)."""

    path: str
    secret: str
    header: str
    handle: Callable[[dict[str, Any]], Awaitable[None]]

    def __post_init__(self) -> None:
        # An empty secret would let a request without the header through.
        if not self.secret:
            raise ValueError("a webhook needs a non-empty secret")
        if not self.path.startswith("/"):
            raise ValueError("a webhook path starts with /")


def telegram_route(
    settings: Settings, handle: Callable[[dict[str, Any]], Awaitable[None]]
) -> WebhookRoute:
    """Telegram's webhook at `/telegram/<webhook_path>` with the settings' derived secret."""
    return WebhookRoute(
        path=f"/telegram/{settings.webhook_path('telegram')}",
        secret=settings.webhook_secret("telegram"),
        header=TELEGRAM_SECRET_HEADER,
        handle=handle,
    )


def zalo_route(
    settings: Settings, handle: Callable[[dict[str, Any]], Awaitable[None]]
) -> WebhookRoute:
    """Zalo's webhook at `/zalo/<webhook_path>` with the settings' derived secret."""
    return WebhookRoute(
        path=f"/zalo/{settings.webhook_path('zalo')}",
        secret=settings.webhook_secret("zalo"),
        header=ZALO_SECRET_HEADER,
        handle=handle,
    )


def telegram_update_feed(
    application: Application[Any, Any, Any, Any, Any, Any],
) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """A webhook `handle` that puts each update on a python-telegram-bot Application's
    update queue (the customwebhookbot example; the Application is built with
    `.updater(None)` and started, so its handlers process the queue)."""

    async def feed(data: dict[str, Any]) -> None:
        update = read_update(data, application.bot)
        if update is not None:  # an unreadable one is skipped: a 500 would bring it back
            await application.update_queue.put(update)

    return feed


def content_disposition(name: str) -> str:
    """`attachment` with the original name: RFC 5987 UTF-8 for Vietnamese, and an ASCII
    approximation for clients that read only `filename`."""
    folded = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    ascii_name = "".join(
        c for c in folded.encode("ascii", "ignore").decode() if c.isprintable() and c not in '"\\'
    ).strip()
    fallback = ascii_name or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=_SECURITY_HEADERS)


def _plain_reason(text: str) -> str:
    # A reason of our own in the HTML subset the handlers' reasons use.
    return h(text)


class _WebApp:
    """The routes' shared state: database, clock, file store, channel health."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        store: FileStore,
        health: ChannelHealth,
        sweep_expected: bool,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.store = store
        self.health = health
        self.sweep_expected = sweep_expected
        self.started_at = clock.now()
        self.limits = UploadLimits(max_file_bytes=WEB_MAX_FILE_BYTES, max_files=WEB_MAX_FILES)
        # Beside the store's files, so storing an upload is a rename on the same disk.
        self.incoming = store.root.parent / "incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)
        removed = sweep_incoming(self.incoming, STALE_INCOMING_SECONDS)
        if removed:
            logger.info("web: removed %d upload leftover(s) of an earlier run", removed)

    # ------------------------------------------------------------------ upload links

    async def upload_get(self, request: Request) -> Response:
        token = request.path_params["token"]
        async with self.sessionmaker() as session:
            page = await upload_page(session, token, self.clock.now())
        return self._page_for(page)

    def _page_for(self, page: UploadPage) -> Response:
        if page.state is LinkState.VALID:
            return _html(upload_form(page))
        status = 404 if page.state is LinkState.UNKNOWN else 410
        return _html(link_closed_page(page.state, page.lang), status)

    async def upload_post(self, request: Request) -> Response:
        token = request.path_params["token"]
        async with self.sessionmaker() as session:
            page = await upload_page(session, token, self.clock.now())
        if page.state is not LinkState.VALID:
            # The body is not read; uvicorn discards the rest of it after this answer.
            return self._page_for(page)
        lang = page.lang
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limits.max_body_bytes:
            return self._refused(page, [self._body_too_large(lang)], 413)
        async with UploadReceiver(self.incoming, self.limits) as receiver:
            try:
                files = await receiver.receive(
                    request.headers.get("content-type", ""), request.stream()
                )
            except FileTooLarge as exc:
                return self._refused(page, refusals([(exc.name, exc.limit + 1)], lang), 413)
            except BodyTooLarge:
                return self._refused(page, [self._body_too_large(lang)], 413)
            except TooManyFiles as exc:
                too_many = t("upload.too_many", lang, count=exc.limit)
                return self._refused(page, [_plain_reason(too_many)], 400)
            except MalformedUpload:
                return self._refused(page, [_plain_reason(t("web.upload.malformed", lang))], 400)
            except ClientDisconnect:
                logger.info("web: an upload was abandoned mid-body; nothing kept")
                return Response(status_code=400)
            reasons = refusals([(f.name, f.size) for f in files], lang)
            if reasons:
                oversize = any(f.size > self.limits.max_file_bytes for f in files)
                return self._refused(page, reasons, 413 if oversize else 400)
            # Judged before anything is stored: an .exe renamed .pdf leaves nothing behind.
            on_disk = [(f.name, f.path) for f in files]
            reasons = await asyncio.to_thread(content_refusals_on_disk, on_disk, lang)
            if reasons:
                return self._refused(page, reasons, 400)
            received = [await self._store(f) for f in files]
        if request.query_params.get("confirm") != CONFIRM_TEMPLATE:
            async with self.sessionmaker() as session:
                copies = await template_copies(session, token, received, self.clock.now())
            if copies:
                # As in the chat: an unfilled template is not handed in unless confirmed. The
                # stored copy is harmless (content-addressed); no submission is recorded.
                reason = t("upload.template_copy", lang, names=h(", ".join(copies)))
                return _html(upload_form(page, [reason], confirm=CONFIRM_TEMPLATE), 409)
        async with self.sessionmaker() as session:
            result = await accept_upload(
                session, token, received, self.clock.now(), store=self.store
            )
            if result.state is LinkState.VALID:
                await session.commit()
        if result.refused:
            return self._refused(page, list(result.refused), 400)
        if result.state is not LinkState.VALID or result.receipt is None:
            # Another request used the link, or it expired, while the files came in: the
            # stored files stay (content-addressed, harmless), no submission is recorded.
            logger.info("web: an upload arrived after its link closed (%s)", result.state)
            return _html(link_closed_page(result.state, result.lang), 410)
        return _html(receipt_page(result.lang, result.receipt))

    def _refused(self, page: UploadPage, reasons: list[str], status: int) -> Response:
        # No "Connection: close": uvicorn then reads and drops the rest of the body, so the
        # browser, still sending, gets to show this page instead of a connection reset.
        return _html(upload_form(page, reasons), status)

    def _body_too_large(self, lang: str) -> str:
        size = file_size(self.limits.max_body_bytes, lang)
        return _plain_reason(t("web.upload.body_too_large", lang, size=size))

    async def _store(self, incoming: IncomingFile) -> ReceivedFile:
        # Hashing up to 50 MB is not for the event loop.
        sha256, relative = await asyncio.to_thread(self.store.put_file, incoming.path)
        return ReceivedFile(
            name=incoming.name,
            mime_type=incoming.content_type,
            size=incoming.size,
            sha256=sha256,
            path=relative,
        )

    # ------------------------------------------------------------------ download links

    async def download(self, request: Request) -> Response:
        token = request.path_params["token"]
        async with self.sessionmaker() as session:
            link = await linked_file(session, token, self.clock.now())
        if link is None:
            return _html(file_missing_page(), 404)
        path = Path(link.path)
        if not await anyio.Path(path).is_file():
            logger.error("web: download link %d points at a missing file", link.id)
            return _html(file_missing_page(), 404)
        media_type = mimetypes.guess_type(link.name)[0] or "application/octet-stream"
        return FileResponse(
            path,
            media_type=media_type,
            headers={
                "Content-Disposition": content_disposition(link.name),
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "private, no-store",
            },
        )

    # ------------------------------------------------------------------ health

    async def healthz(self, request: Request) -> Response:
        now = self.clock.now()
        facts: DatabaseHealth | None = None
        try:
            async with asyncio.timeout(HEALTH_DB_TIMEOUT_SECONDS), self.sessionmaker() as session:
                facts = await database_health(session, now)
        except Exception as exc:
            # The type only: a driver's message may quote the database URL.
            logger.warning("healthz: the database is unreachable (%s)", type(exc).__name__)
        problems: list[str] = []
        sweep_age: float | None = None
        if facts is None:
            problems.append("database")
        else:
            if facts.swept_until is not None:
                sweep_age = max(0.0, (now - facts.swept_until).total_seconds())
            if self.sweep_expected and facts.has_units:
                since = facts.swept_until or self.started_at
                if now - since > HEALTH_GRACE:
                    problems.append("sweep")
        channels: dict[str, dict[str, Any]] = {}
        for name, status in sorted(self.health.snapshot().items()):
            failing = status.failing
            channels[name] = {
                "last_ok": _iso(status.last_ok),
                "failing": failing,
            }
            if failing and now - (status.last_ok or self.started_at) > HEALTH_GRACE:
                problems.append(name)
        body = {
            "status": "unhealthy" if problems else "ok",
            "database": {"reachable": facts is not None},
            "last_sweep_age_seconds": sweep_age,
            "outbox_backlog": facts.outbox_backlog if facts is not None else None,
            "channels": channels,
        }
        return JSONResponse(
            body, status_code=503 if problems else 200, headers={"Cache-Control": "no-store"}
        )

    # ------------------------------------------------------------------ webhooks

    def webhook(self, route: WebhookRoute) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint of one channel's webhook."""

        async def endpoint(request: Request) -> Response:
            given = request.headers.get(route.header)
            if given is None or not hmac.compare_digest(
                given.encode("utf-8", "surrogateescape"), route.secret.encode()
            ):
                # Refused before a byte of the body is read.
                return JSONResponse({"ok": False}, status_code=403)
            try:
                raw = await _read_limited(request, MAX_WEBHOOK_BYTES)
            except BodyTooLarge:
                return JSONResponse({"ok": False}, status_code=413)
            except ClientDisconnect:
                return Response(status_code=400)
            try:
                payload = json.loads(raw)
            except ValueError:
                return JSONResponse({"ok": False}, status_code=400)
            if not isinstance(payload, dict):
                return JSONResponse({"ok": False}, status_code=400)
            try:
                await route.handle(payload)
            except Exception:
                # A 500 makes the platform deliver the update again later.
                logger.exception("webhook: handling an update failed")
                return JSONResponse({"ok": False}, status_code=500)
            return JSONResponse({"ok": True})

        return endpoint


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


async def _read_limited(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _polite(
    endpoint: Callable[[Request], Awaitable[Response]], name: str
) -> Callable[[Request], Awaitable[Response]]:
    """`endpoint`, with any failure logged and answered by the polite 500 page."""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Exception:
            # The route's name, not its path: paths carry link tokens.
            logger.exception("web: %s failed", name)
            return _html(error_page(), 500)

    return guarded


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return _html(not_found_page(), 404)
    if status >= 500:
        return _html(error_page(), status)
    return _html(not_found_page(), status)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("web: unhandled %s", type(exc).__name__)
    return _html(error_page(), 500)


def create_app(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    store: FileStore,
    health: ChannelHealth,
    telegram_webhook: WebhookRoute | None = None,
    zalo_webhook: WebhookRoute | None = None,
    sweep_expected: bool = True,
) -> Starlette:
    """The web app. `sweep_expected` is False in a deployment that runs no reminder sweep,
    so `/healthz` does not wait for one."""
    web = _WebApp(sessionmaker, clock, store, health, sweep_expected)
    routes = [
        Route("/u/{token}", _polite(web.upload_get, "upload page"), methods=["GET"]),
        Route("/u/{token}", _polite(web.upload_post, "upload"), methods=["POST"]),
        Route("/f/{token}", _polite(web.download, "download"), methods=["GET"]),
        Route("/healthz", web.healthz, methods=["GET"]),
    ]
    for route in (telegram_webhook, zalo_webhook):
        if route is not None:
            routes.append(Route(route.path, web.webhook(route), methods=["POST"]))
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers (the bot's process owns SIGINT and SIGTERM and
    says stop through an event), telling `ready` once it listens."""

    def __init__(self, config: uvicorn.Config, ready: asyncio.Event | None) -> None:
        super().__init__(config)
        self.ready = ready

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.ready is not None:
            self.ready.set()


async def serve_web(
    app: Starlette,
    host: str,
    port: int,
    stop: asyncio.Event,
    *,
    started: asyncio.Event | None = None,
) -> None:
    """Serve `app` on host:port until `stop` is set; `started` is set once it listens."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        # The bot configured logging (with secrets masked); an access log would print tokens.
        log_config=None,
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    server = _Server(config, started)

    async def run() -> None:
        try:
            await server.serve()
        except SystemExit as exc:
            # uvicorn exits the process when it cannot listen; here the caller decides.
            raise OSError(f"the web app could not listen on {host}:{port}") from exc

    serving = asyncio.create_task(run())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        stopping.cancel()
        await serving
