"""`python -m bot run`: the Telegram bot in polling mode until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot import wiring
from bot.settings import Settings
from bot.telegram_channel import ALBUM_WAIT_SECONDS, build_application, set_menu
from db.clock import Clock
from db.migrate import upgrade

log = logging.getLogger(__name__)


async def run_telegram(
    settings: Settings,
    clock: Clock,
    stop: asyncio.Event | None = None,
    album_wait: float = ALBUM_WAIT_SECONDS,
) -> None:
    """Poll Telegram (or TELEGRAM_API_URL) and answer until `stop` is set or a signal comes."""
    stop = stop or _stop_on_signals()
    # Upgrading is idempotent and keeps a fresh deployment from starting on a missing schema.
    await upgrade(settings.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with wiring.database(settings) as sessionmaker:
        conversation = wiring.conversation(settings, sessionmaker, clock)
        application, channel = build_application(settings, conversation, album_wait)
        async with application:
            await set_menu(application)
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(allowed_updates=["message", "callback_query"])
            log.info("nhacviec is answering as @%s", application.bot.username)
            await stop.wait()
            await application.updater.stop()
            await channel.flush_albums()
            await application.stop()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
