"""Settings read from the environment and an optional `.env` file."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./nhacviec.db"
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_ZALO_API_URL = "https://bot-api.zaloplatforms.com"
DEFAULT_WEB_HOST = "127.0.0.1"
DEFAULT_WEB_PORT = 8080
# Zalo publishes no rate limits: one message every 0.2 s overall and one a second to a chat
# has been safe; ZALO_RATE raises or lowers the overall rate.
DEFAULT_ZALO_RATE = 5.0
_TRUE = {"1", "true", "yes", "on"}


LOG_FORMATS = ("plain", "json")


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
    zalo_token: str | None = field(default=None, repr=False)
    zalo_api_url: str = DEFAULT_ZALO_API_URL
    # The bot's name as officials find it in Zalo's search; learnt from getMe when unset.
    zalo_bot_name: str | None = None
    zalo_rate: float = DEFAULT_ZALO_RATE
    # Telegram's limits multiplied by this: only for a test Bot API server whose windows are
    # shortened (the benchmarks, the flood tests); Telegram itself needs 1.
    telegram_rate_scale: float = 1.0
    # This process's share of each channel's overall rate (`--rate`, 1/N beside N-1 other
    # processes sending as the same bot); never read from the environment.
    rate_share: float = 1.0
    web_host: str = DEFAULT_WEB_HOST
    web_port: int = DEFAULT_WEB_PORT
    # The https address by which phones, Telegram and Zalo reach the web app.
    public_url: str | None = None
    webhook: bool = False
    # "plain" lines, or "json": one JSON object per line for a log collector.
    log_format: str = "plain"
    # The commune's own plan, loaded by `run` on start (as `plan load` would) when set.
    plan_file: Path | None = None

    @property
    def base_url(self) -> str:
        """PUBLIC_URL without a trailing slash, or the local web address when it is unset."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.web_host}:{self.web_port}"

    def webhook_secret(self, channel: str) -> str:
        """The secret header value of `channel`'s webhook, derived from its token so every
        process of the deployment agrees on it without another setting."""
        return self._derived(channel, "secret")

    def webhook_path(self, channel: str) -> str:
        """The unguessable last part of `channel`'s webhook URL."""
        return self._derived(channel, "path")[:32]

    def _derived(self, channel: str, purpose: str) -> str:
        token = {"telegram": self.telegram_token, "zalo": self.zalo_token}.get(channel)
        if not token:
            raise ValueError(f"no token is set for {channel}")
        message = f"nhacviec webhook {purpose} {channel}".encode()
        return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()

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
        return [s for s in (self.telegram_token, self.zalo_token, password) if s]

    def __repr__(self) -> str:
        telegram = "set" if self.telegram_token else "unset"
        zalo = "set" if self.zalo_token else "unset"
        return (
            f"Settings(database_url={self.safe_database_url!r}, timezone={self.timezone!r}, "
            f"data_dir={str(self.data_dir)!r}, telegram_token={telegram}, "
            f"telegram_api_url={self.telegram_api_url!r}, zalo_token={zalo}, "
            f"zalo_api_url={self.zalo_api_url!r}, public_url={self.public_url!r})"
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
        web_port = _number(values, "WEB_PORT", DEFAULT_WEB_PORT, int)
        if not 0 < web_port < 65536:
            raise SettingsError(f"WEB_PORT={web_port} is not a TCP port")
        zalo_rate = _number(values, "ZALO_RATE", DEFAULT_ZALO_RATE, float)
        if not zalo_rate > 0:
            raise SettingsError(f"ZALO_RATE={zalo_rate} must be a positive number per second")
        telegram_rate_scale = _number(values, "TELEGRAM_RATE_SCALE", 1.0, float)
        if not telegram_rate_scale > 0:
            raise SettingsError(f"TELEGRAM_RATE_SCALE={telegram_rate_scale} must be positive")
        public_url = (values.get("PUBLIC_URL") or "").strip() or None
        if public_url is not None and not public_url.startswith(("https://", "http://")):
            raise SettingsError("PUBLIC_URL must start with https:// (or http:// for tests)")
        log_format = (values.get("LOG_FORMAT") or "plain").strip().lower()
        if log_format not in LOG_FORMATS:
            raise SettingsError(f"LOG_FORMAT={log_format!r}: use plain or json")
        plan_file = (values.get("PLAN_FILE") or "").strip()
        return cls(
            database_url=database_url,
            timezone=timezone,
            data_dir=Path(values.get("DATA_DIR") or "./data"),
            telegram_token=values.get("TELEGRAM_TOKEN") or None,
            telegram_api_url=values.get("TELEGRAM_API_URL") or None,
            telegram_bot_username=(values.get("TELEGRAM_BOT_USERNAME") or "").lstrip("@") or None,
            zalo_token=values.get("ZALO_TOKEN") or None,
            zalo_api_url=(values.get("ZALO_API_URL") or DEFAULT_ZALO_API_URL).rstrip("/"),
            zalo_bot_name=values.get("ZALO_BOT_NAME") or None,
            zalo_rate=zalo_rate,
            telegram_rate_scale=telegram_rate_scale,
            web_host=values.get("WEB_HOST") or DEFAULT_WEB_HOST,
            web_port=web_port,
            public_url=public_url,
            webhook=(values.get("WEBHOOK") or "").strip().lower() in _TRUE,
            log_format=log_format,
            plan_file=Path(plan_file) if plan_file else None,
        )


_N = TypeVar("_N", int, float)


def _number(values: Mapping[str, str], name: str, default: _N, kind: type[_N]) -> _N:
    raw = (values.get(name) or "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
