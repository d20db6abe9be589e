"""`python -m bot run`: the Telegram bot (polling, reminders) until SIGINT or SIGTERM.

`python -m bot reminders worker` runs the reminders alone: more of them may run beside one
polling bot on a PostgreSQL database, and each reminder still goes out once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import wiring
from bot.settings import Settings
from bot.telegram_channel import ALBUM_WAIT_SECONDS, build_application, set_menu, telegram_bot
from bot.telegram_links import telegram_invite_link
from bot.telegram_transport import TelegramTransport
from db.clock import Clock
from db.files import FileStore
from db.migrate import upgrade
from handlers.reminder_messages import OutboxRenderer
from scheduler.pacing import Pacer, RateLimits
from scheduler.service import reminders_running

log = logging.getLogger(__name__)


async def run_telegram(
    settings: Settings,
    clock: Clock,
    stop: asyncio.Event | None = None,
    album_wait: float = ALBUM_WAIT_SECONDS,
    reminders: bool = True,
) -> None:
    """Poll Telegram (or TELEGRAM_API_URL) and answer, and send the reminders, until `stop` is
    set or a signal comes."""
    stop = stop or _stop_on_signals()
    # Upgrading is idempotent and keeps a fresh deployment from starting on a missing schema.
    await upgrade(settings.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with wiring.database(settings) as sessionmaker:
        conversation = wiring.conversation(settings, sessionmaker, clock)
        application, channel = build_application(settings, conversation, album_wait)
        async with application:
            # getMe ran at initialisation: /invite in chat can now print the deep link.
            username = settings.telegram_bot_username or application.bot.username
            conversation.invite_link = telegram_invite_link(username)
            await set_menu(application)
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(allowed_updates=["message", "callback_query"])
            log.info("nhacviec is answering as @%s", application.bot.username)
            # Replies and reminders share the channel's transport, so one pacer keeps both
            # within Telegram's limits.
            assert channel.transport is not None
            async with _reminders(settings, sessionmaker, channel.transport, clock, reminders):
                await stop.wait()
            await application.updater.stop()
            await channel.flush_albums()
            await application.stop()


async def run_reminder_worker(
    settings: Settings,
    clock: Clock,
    stop: asyncio.Event | None = None,
    lease: timedelta = timedelta(minutes=2),
    rate: float = 1.0,
) -> None:
    """Sweep and deliver reminders through Telegram without answering chats.

    `rate` is the share of Telegram's limits this process may use: 1/N beside N-1 others.
    """
    stop = stop or _stop_on_signals()
    await upgrade(settings.database_url)
    async with (
        wiring.database(settings) as sessionmaker,
        telegram_bot(settings) as bot,
        _reminders(
            settings,
            sessionmaker,
            TelegramTransport(bot, Pacer(RateLimits().scaled(rate))),
            clock,
            True,
            lease,
        ),
    ):
        log.info("reminder worker sending as @%s", bot.username)
        await stop.wait()


@asynccontextmanager
async def _reminders(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    transport: TelegramTransport,
    clock: Clock,
    enabled: bool,
    lease: timedelta = timedelta(minutes=2),
) -> AsyncIterator[None]:
    if not enabled:
        yield
        return
    render = OutboxRenderer(sessionmaker, FileStore(settings.data_dir))
    async with reminders_running(sessionmaker, clock, [transport], render, lease=lease):
        yield


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
