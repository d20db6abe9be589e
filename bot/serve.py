"""`python -m bot run`: every configured channel, the web app and the reminders, in one process.

Telegram runs when TELEGRAM_TOKEN is set, Zalo when ZALO_TOKEN is; both may. Each polls
(the default) or, with WEBHOOK=1 / `run --webhook`, registers `{PUBLIC_URL}/<channel>/<path>`
and takes updates through the web app, which always runs on WEB_HOST:WEB_PORT for upload
links, download links and `/healthz`. Replies and reminders share each channel's transport, so
one pacer keeps both within the channel's limits. Stops on SIGINT or SIGTERM.

On start: the schema is created or upgraded, PLAN_FILE loaded when set, and without any plan
in the database `run` refuses (`CommandError`). A database or an API that is not up yet is
waited for (`bot.outages`); a token the platform rejects is one line, never the token.

`python -m bot reminders worker` runs the reminders alone: more of them may run beside one bot
on a PostgreSQL database, and each reminder still goes out once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application

from bot import wiring
from bot.channel_health import ChannelHealth
from bot.command_error import CommandError
from bot.outages import Stopped, retry_until_up
from bot.plan_commands import load_plan
from bot.settings import Settings
from bot.telegram_channel import (
    ALBUM_WAIT_SECONDS,
    TelegramChannel,
    build_application,
    polling_error,
    set_menu,
    telegram_bot,
    telegram_pacer,
)
from bot.telegram_links import telegram_invite_link
from bot.telegram_transport import TelegramTransport
from bot.web import (
    WebhookRoute,
    create_app,
    serve_web,
    telegram_route,
    telegram_update_feed,
    zalo_route,
)
from bot.zalo_api import ZaloApi, ZaloApiError
from bot.zalo_channel import ZaloChannel
from bot.zalo_transport import ZaloTransport, zalo_pacer
from db import received_updates
from db.clock import Clock
from db.files import FileStore
from db.migrate import upgrade
from db.units import first_unit
from handlers.catalog import t
from handlers.conversation import Conversation
from handlers.reminder_messages import OutboxRenderer
from handlers.types import Reply
from scheduler.delivery import Transport
from scheduler.service import reminders_running

log = logging.getLogger(__name__)
T = TypeVar("T")

ALLOWED_UPDATES = ["message", "callback_query"]
# How long a Zalo update stays recorded against a second delivery.
RECEIVED_UPDATES_KEPT = timedelta(days=30)


@dataclass
class _Running:
    """What one run started: transports for the reminders, webhook routes for the web app."""

    transports: list[Transport[Reply]] = field(default_factory=list)
    telegram_webhook: WebhookRoute | None = None
    zalo_webhook: WebhookRoute | None = None
    # Why the run must end with an error (a token revoked while running), once stopped.
    fatal: str | None = None


async def run_bot(
    settings: Settings,
    clock: Clock,
    stop: asyncio.Event | None = None,
    *,
    album_wait: float = ALBUM_WAIT_SECONDS,
    reminders: bool = True,
    webhook: bool | None = None,
    web: bool = True,
    web_started: asyncio.Event | None = None,
) -> None:
    """Answer every configured channel and send the reminders until `stop` is set or a signal
    comes. `webhook` overrides WEBHOOK; `web` False leaves the web app out (tests of one
    channel that need no port)."""
    if not (settings.telegram_token or settings.zalo_token):
        raise CommandError(t("cli.run.no_token", "vi"))
    webhook = settings.webhook if webhook is None else webhook
    if webhook and not web:
        raise ValueError("webhooks arrive through the web app")
    if webhook and not settings.public_url:
        raise CommandError(t("cli.run.webhook_needs_url", "vi"))
    stop = stop or _stop_on_signals()
    try:
        await _serve(settings, clock, stop, album_wait, reminders, webhook, web, web_started)
    except Stopped as stopped:
        log.info("stopped while waiting for %s", stopped)


async def _serve(
    settings: Settings,
    clock: Clock,
    stop: asyncio.Event,
    album_wait: float,
    reminders: bool,
    webhook: bool,
    web: bool,
    web_started: asyncio.Event | None,
) -> None:
    await _schema_ready(settings, stop)
    await _plan_ready(settings, clock)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    health = ChannelHealth()
    async with wiring.database(settings) as sessionmaker, AsyncExitStack() as stack:
        conversation = wiring.conversation(settings, sessionmaker, clock, web=web)
        running = _Running()
        if settings.telegram_token:
            await _start_telegram(
                stack, settings, conversation, album_wait, webhook, running, health, stop
            )
        if settings.zalo_token:
            await _start_zalo(
                stack, settings, sessionmaker, clock, conversation, webhook, running, health, stop
            )
        if web:
            app = create_app(
                sessionmaker=sessionmaker,
                clock=clock,
                store=FileStore(settings.data_dir),
                health=health,
                telegram_webhook=running.telegram_webhook,
                zalo_webhook=running.zalo_webhook,
                sweep_expected=reminders,
            )
            serving = asyncio.create_task(
                serve_web(app, settings.web_host, settings.web_port, stop, started=web_started)
            )
            stack.push_async_callback(_finish, serving)
            log.info(
                "web app on %s:%s, public at %s",
                settings.web_host,
                settings.web_port,
                settings.base_url,
            )
        async with _reminders(settings, sessionmaker, running.transports, clock, reminders):
            _settled()
            await stop.wait()
    if running.fatal is not None:
        raise CommandError(running.fatal)


async def _schema_ready(settings: Settings, stop: asyncio.Event) -> None:
    """Create or upgrade the schema, waiting for a database server that is not up yet.

    Upgrading is idempotent and keeps a fresh deployment from starting on a missing schema."""
    await retry_until_up(
        "the database",
        lambda: upgrade(settings.database_url),
        _database_outage,
        stop,
        reason=lambda exc: f"{settings.safe_database_url}: {type(exc).__name__}",
    )


def _database_outage(exc: BaseException) -> bool:
    # Refused, timed out, or a name not resolved (yet): the server may come. A wrong password
    # or a missing database is the database's answer, for a person to fix (one line, exit 1).
    return isinstance(exc, OSError)


async def _plan_ready(settings: Settings, clock: Clock) -> None:
    """Load PLAN_FILE when it is set (as `plan load` does); refuse to run without any plan:
    the bot would know nobody to remind."""
    if settings.plan_file is not None:
        print(await load_plan(settings, settings.plan_file, clock), flush=True)
    await _plan_loaded(settings)


async def _plan_loaded(settings: Settings) -> None:
    """Refuse (`CommandError`, in Vietnamese) when no plan is in the database."""
    async with wiring.database(settings) as sessionmaker, sessionmaker() as session:
        unit = await first_unit(session)
    if unit is None:
        raise CommandError(t("cli.run.no_plan", "vi"))


async def _telegram_up(attempt: Callable[[], Awaitable[T]], stop: asyncio.Event) -> T:
    """`attempt()` (a first call to the Bot API), waited out while the API is unreachable;
    a rejected token is one line (PTB's InvalidToken quotes the token: never shown)."""
    try:
        return await retry_until_up(
            "Telegram Bot API", attempt, lambda exc: isinstance(exc, NetworkError), stop
        )
    except InvalidToken:
        raise CommandError(t("cli.run.telegram_token_rejected", "vi")) from None


async def _zalo_up(attempt: Callable[[], Awaitable[T]], stop: asyncio.Event) -> T:
    """`attempt()` (a call to the Zalo Bot API), waited out while the API is unreachable or
    failing (5xx); a rejected token is one line."""

    def outage(exc: BaseException) -> bool:
        return isinstance(exc, ZaloApiError) and (exc.code == 0 or exc.code >= 500)

    try:
        return await retry_until_up("Zalo Bot API", attempt, outage, stop)
    except ZaloApiError as exc:
        if exc.code == 401:
            raise CommandError(t("cli.run.zalo_token_rejected", "vi")) from None
        raise


async def _finish(task: asyncio.Task[Any]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _start_telegram(
    stack: AsyncExitStack,
    settings: Settings,
    conversation: Conversation,
    album_wait: float,
    webhook: bool,
    running: _Running,
    health: ChannelHealth,
    stop: asyncio.Event,
) -> None:
    def token_rejected() -> None:
        if application.running:  # at start, `_telegram_up` says it in one line and ends
            _end_run(running, stop, "Telegram", t("cli.run.telegram_token_rejected", "vi"))

    application, channel = build_application(
        settings,
        conversation,
        album_wait,
        webhook=webhook,
        health=health,
        token_rejected=token_rejected,
    )
    await _telegram_up(lambda: stack.enter_async_context(application), stop)
    # getMe ran at initialisation: /invite in chat can now print the deep link.
    username = settings.telegram_bot_username or application.bot.username
    conversation.invite_link = telegram_invite_link(username)
    await set_menu(application)
    await application.start()
    stack.push_async_callback(_stop_telegram, application, channel)
    if webhook:
        route = telegram_route(settings, telegram_update_feed(application))
        await _telegram_up(
            lambda: application.bot.set_webhook(
                f"{settings.base_url}{route.path}",
                secret_token=route.secret,
                allowed_updates=ALLOWED_UPDATES,
            ),
            stop,
        )
        running.telegram_webhook = route
        log.info("nhacviec answers Telegram as @%s through its webhook", username)
    else:
        assert application.updater is not None
        updater = application.updater
        # start_polling deletes a webhook an earlier run registered. PTB retries a failed
        # getUpdates with a capped backoff; `polling_error` keeps it from logging tracebacks.
        await _telegram_up(
            lambda: updater.start_polling(
                allowed_updates=ALLOWED_UPDATES, error_callback=polling_error
            ),
            stop,
        )
        log.info("nhacviec is answering Telegram as @%s", username)
    assert channel.transport is not None
    running.transports.append(channel.transport)


def _end_run(running: _Running, stop: asyncio.Event, platform: str, message: str) -> None:
    """A token revoked while running: nothing will work until someone fixes it, so `run` ends
    with one line and a non-zero exit (the service manager shows it failed) instead of
    running on deaf."""
    if running.fatal is None:
        log.error("%s rejected the bot's token while running; stopping", platform)
        running.fatal = message
    stop.set()


async def _stop_telegram(
    application: Application,  # type: ignore[type-arg]
    channel: TelegramChannel,
) -> None:
    if application.updater is not None and application.updater.running:
        # Polling that ended on a token revoked while running re-raises it: said already.
        with contextlib.suppress(InvalidToken):
            await application.updater.stop()
    await channel.flush_albums()
    await application.stop()


async def _start_zalo(
    stack: AsyncExitStack,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    conversation: Conversation,
    webhook: bool,
    running: _Running,
    health: ChannelHealth,
    stop: asyncio.Event,
) -> None:
    assert settings.zalo_token
    health.expect("zalo")
    api = await stack.enter_async_context(ZaloApi(settings.zalo_token, settings.zalo_api_url))
    me = await _zalo_up(api.get_me, stop)
    bot_id = str(me.get("id", "")) or None
    conversation.zalo_bot = settings.zalo_bot_name or str(me.get("account_name") or "")
    transport = ZaloTransport(
        api,
        sessionmaker,
        clock,
        zalo_pacer(settings.zalo_rate * settings.rate_share),
        file_url=wiring.file_url(settings, sessionmaker, clock),
        health=health,
    )
    channel = ZaloChannel(
        conversation,
        transport,
        sessionmaker,
        clock,
        bot_id,
        health,
        token_rejected=partial(
            _end_run, running, stop, "Zalo", t("cli.run.zalo_token_rejected", "vi")
        ),
    )
    forgetting = asyncio.create_task(_forget_old_updates(sessionmaker, clock, stop))
    stack.push_async_callback(_finish, forgetting)
    if webhook:
        route = zalo_route(settings, channel.receive)
        stack.push_async_callback(channel.finish)
        await _zalo_up(
            lambda: api.set_webhook(f"{settings.base_url}{route.path}", route.secret), stop
        )
        running.zalo_webhook = route
        log.info("nhacviec answers Zalo as %s through its webhook", conversation.zalo_bot)
    else:
        # Polling and the webhook are exclusive: drop a webhook an earlier run registered.
        await _zalo_up(api.delete_webhook, stop)
        polling = asyncio.create_task(channel.poll(stop))
        # Unwound in reverse: polling ends first, then the updates it took are finished.
        stack.push_async_callback(channel.finish)
        stack.push_async_callback(_finish, polling)
        log.info("nhacviec is answering Zalo as %s", conversation.zalo_bot)
    running.transports.append(transport)


async def _forget_old_updates(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    stop: asyncio.Event,
    every: float = 3600.0,
) -> None:
    """Drop recorded updates older than RECEIVED_UPDATES_KEPT, hourly: a repeat comes within
    minutes, and the text of every message is in the audit log anyway."""
    while not stop.is_set():
        try:
            async with sessionmaker() as session, session.begin():
                await received_updates.forget_before(session, clock.now() - RECEIVED_UPDATES_KEPT)
        except Exception:
            log.exception("could not drop old received updates; trying again later")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


async def run_reminder_worker(
    settings: Settings,
    clock: Clock,
    stop: asyncio.Event | None = None,
    lease: timedelta = timedelta(minutes=2),
) -> None:
    """Sweep and deliver reminders through every configured channel without answering chats,
    with `settings.rate_share` of each channel's overall rate (1/N beside N-1 others)."""
    if not (settings.telegram_token or settings.zalo_token):
        raise CommandError(t("cli.run.no_token", "vi"))
    stop = stop or _stop_on_signals()
    try:
        await _work(settings, clock, stop, lease)
    except Stopped as stopped:
        log.info("stopped while waiting for %s", stopped)


async def _work(settings: Settings, clock: Clock, stop: asyncio.Event, lease: timedelta) -> None:
    await _schema_ready(settings, stop)
    # PLAN_FILE is `run`'s to load (one loader, not one per worker): a worker only checks.
    await _plan_loaded(settings)
    async with wiring.database(settings) as sessionmaker, AsyncExitStack() as stack:
        transports: list[Transport[Reply]] = []
        if settings.telegram_token:
            bot = await _telegram_up(
                lambda: stack.enter_async_context(telegram_bot(settings)), stop
            )
            transports.append(TelegramTransport(bot, telegram_pacer(settings)))
            log.info("reminder worker sending on Telegram as @%s", bot.username)
        if settings.zalo_token:
            api = await stack.enter_async_context(
                ZaloApi(settings.zalo_token, settings.zalo_api_url)
            )
            transports.append(
                ZaloTransport(
                    api,
                    sessionmaker,
                    clock,
                    zalo_pacer(settings.zalo_rate * settings.rate_share),
                    file_url=wiring.file_url(settings, sessionmaker, clock),
                )
            )
            log.info("reminder worker sending on Zalo")
        async with _reminders(settings, sessionmaker, transports, clock, True, lease):
            _settled()
            await stop.wait()


@asynccontextmanager
async def _reminders(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    transports: Sequence[Transport[Reply]],
    clock: Clock,
    enabled: bool,
    lease: timedelta = timedelta(minutes=2),
) -> AsyncIterator[None]:
    if not enabled or not transports:
        yield
        return
    render = OutboxRenderer(sessionmaker, FileStore(settings.data_dir))
    async with reminders_running(
        sessionmaker, clock, transports, render, bundle=render.bundle, lease=lease
    ):
        yield


def _settled() -> None:
    """Start-up is over: what it built (the libraries, the catalog, the mappers) lives as long
    as the process, so the collector stops scanning it. A full collection otherwise walks all
    of it, and such pauses of 20-130 ms were the slowest taps of the 08:00 wave."""
    gc.collect()
    gc.freeze()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
