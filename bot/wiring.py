"""Building the pieces of a running bot from its settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from db.clock import Clock
from db.files import FileStore
from db.session import make_engine, make_sessionmaker
from handlers.conversation import Conversation


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the configured database; the engine is disposed on exit."""
    engine = make_engine(settings.database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


def conversation(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> Conversation:
    """The channel-agnostic conversation, storing files under DATA_DIR."""
    return Conversation(
        sessionmaker,
        clock,
        FileStore(settings.data_dir),
        settings.tz,
        bot_username=settings.telegram_bot_username,
    )
