"""Building the pieces of a running bot from its settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.command_error import CommandError
from bot.settings import Settings
from db.clock import Clock
from db.files import FileStore
from db.session import make_engine, make_sessionmaker
from db.web_links import create_file_link
from handlers.types import OutgoingFile
from handlers.upload_offer import UploadUrl

if TYPE_CHECKING:
    from handlers.conversation import Conversation

# A stored file's download link, or None (the Zalo transport's `file_url`).
FileUrl = Callable[[OutgoingFile], Awaitable[str | None]]


@asynccontextmanager
async def database(
    settings: Settings, *, tables: Collection[str] = ()
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the configured database; the engine is disposed on exit.

    With `tables`, a database lacking any of them is refused with a `CommandError`.
    """
    engine = make_engine(settings.database_url)
    try:
        sessions = make_sessionmaker(engine)
        if tables:
            await _require_tables(sessions, settings, tables)
        yield sessions
    finally:
        await engine.dispose()


async def _require_tables(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, tables: Collection[str]
) -> None:
    # Creating tables is `db upgrade`'s job (Alembic); a command never does it behind its back.
    try:
        async with sessions() as session:
            present = await session.run_sync(
                lambda sync: set(inspect(sync.connection()).get_table_names())
            )
    except (OSError, DBAPIError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise CommandError(
            f"cannot open the database {settings.safe_database_url}: {reason}"
        ) from None
    missing = [name for name in tables if name not in present]
    if missing:
        raise CommandError(
            f"the database {settings.safe_database_url} is not set up (no table "
            f"{', '.join(missing)}): run `python -m bot db upgrade` first"
        )


def conversation(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    web: bool = True,
) -> Conversation:
    """The channel-agnostic conversation, storing files under DATA_DIR; with `web` (the web
    app runs) it hands out upload links at PUBLIC_URL."""
    # Imported here: the conversation brings every flow (and openpyxl), which commands that
    # only open the database (plan, desk, invite) do not need; likewise python-telegram-bot.
    from bot.telegram_links import telegram_invite_link
    from handlers.conversation import Conversation

    return Conversation(
        sessionmaker,
        clock,
        FileStore(settings.data_dir),
        settings.tz,
        invite_link=telegram_invite_link(settings.telegram_bot_username),
        upload_url=upload_url(settings) if web else None,
        # /invite explains the channels that run; with none (a newcomer's console) Telegram's.
        telegram=bool(settings.telegram_token) or not settings.zalo_token,
        zalo_bot=(settings.zalo_bot_name or "") if settings.zalo_token else None,
    )


def upload_url(settings: Settings) -> UploadUrl:
    """The upload page of a token at PUBLIC_URL."""
    base = settings.base_url

    def url(token: str) -> str:
        return f"{base}/u/{token}"

    return url


def file_url(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> FileUrl:
    """Download links at PUBLIC_URL for the files a channel cannot send (Zalo)."""
    base = settings.base_url

    async def url(file: OutgoingFile) -> str | None:
        async with sessionmaker() as session, session.begin():
            token = await create_file_link(session, file.name, file.path, clock.now())
        return f"{base}/f/{token}"

    return url
