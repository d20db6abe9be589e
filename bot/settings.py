"""Settings read from the environment and an optional `.env` file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./nhacviec.db"
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


class SettingsError(ValueError):
    """A setting has a value the bot cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment."""

    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = DEFAULT_TIMEZONE
    data_dir: Path = Path("./data")
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_url: str | None = None
    # Saves a getMe call when printing invite links; learnt from Telegram when unset.
    telegram_bot_username: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def safe_database_url(self) -> str:
        """The database URL with any password masked, for logs and messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in a log line: the token and the database password."""
        password = make_url(self.database_url).password
        return [s for s in (self.telegram_token, password) if s]

    def __repr__(self) -> str:
        token = "set" if self.telegram_token else "unset"
        return (
            f"Settings(database_url={self.safe_database_url!r}, timezone={self.timezone!r}, "
            f"data_dir={str(self.data_dir)!r}, telegram_token={token}, "
            f"telegram_api_url={self.telegram_api_url!r})"
        )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env"
    ) -> Settings:
        """Read settings; real environment variables win over the `.env` file."""
        values: dict[str, str] = {}
        if dotenv_path is not None and Path(dotenv_path).is_file():
            values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        values.update(os.environ if environ is None else environ)

        timezone = values.get("TIMEZONE") or DEFAULT_TIMEZONE
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"TIMEZONE={timezone!r} is not a known time zone") from exc
        database_url = values.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        try:
            dialect = make_url(database_url).get_dialect()
        except Exception as exc:  # bad syntax or unknown driver; never echo the value
            raise SettingsError("DATABASE_URL is not a valid database URL") from exc
        if not getattr(dialect, "is_async", False):
            raise SettingsError(
                "DATABASE_URL must use an async driver: sqlite+aiosqlite:/// or "
                "postgresql+asyncpg://"
            )
        return cls(
            database_url=database_url,
            timezone=timezone,
            data_dir=Path(values.get("DATA_DIR") or "./data"),
            telegram_token=values.get("TELEGRAM_TOKEN") or None,
            telegram_api_url=values.get("TELEGRAM_API_URL") or None,
            telegram_bot_username=(values.get("TELEGRAM_BOT_USERNAME") or "").lstrip("@") or None,
        )
