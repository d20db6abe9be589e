"""Logging set-up that never lets a secret out: the token and database password are masked.

One line per event, plain (`time LEVEL logger: message`) or JSON (`LOG_FORMAT=json`, one
object per line, for a log collector); a traceback stays inside its event's line in JSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from telegram.error import InvalidToken

REDACTED = "***"
_installed: list[logging.Handler] = []


class SecretRedactor(logging.Filter):
    """Masks secrets in a record's message and traceback before any handler formats it.

    python-telegram-bot logs its API URLs (which embed the token) at DEBUG, and httpx
    errors quote the URL, so masking at the handler is the one place that catches all.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            record.msg, record.args = self._mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and any(s in record.exc_text for s in self.secrets):
            record.exc_text = self._mask(record.exc_text)
        return True

    def _mask(self, text: str) -> str:
        return mask(text, self.secrets)


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by `REDACTED` (for what is printed outside logging)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class JsonLines(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class RevokedTokenEcho(logging.Filter):
    """Drops a record carrying PTB's `InvalidToken` (the bot reports it in one line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for the record of a rejected token."""
        return not (record.exc_info and isinstance(record.exc_info[1], InvalidToken))


def configure_logging(
    verbose: bool,
    secrets: Iterable[str],
    stream: TextIO | None = None,
    *,
    json_lines: bool = False,
) -> logging.Handler:
    """Log to `stream` (stderr) with secrets masked, plain or as JSON lines; quiet the chatty
    libraries unless `verbose`."""
    handler = logging.StreamHandler(stream)
    plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(JsonLines() if json_lines else plain)
    handler.addFilter(SecretRedactor(secrets))
    root = logging.getLogger()
    # Called again (tests run the CLI in-process): replace our handler instead of doubling it.
    while _installed:
        root.removeHandler(_installed.pop())
    root.addHandler(handler)
    _installed.append(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx logs every request URL at INFO; the URLs carry the token (masked anyway).
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # APScheduler writes two INFO lines per sweep tick (about 2,900 a day); alembic one per
    # migration step. Both are for debugging.
    for name in ("alembic", "apscheduler"):
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
    # PTB logs an answer that is not JSON (a proxy's 502 page during an outage) with its
    # traceback, then raises a TelegramError that the bot reports in one line itself.
    logging.getLogger("telegram.request.BaseRequest").setLevel(
        logging.NOTSET if verbose else logging.CRITICAL
    )
    # PTB's polling loop logs a token revoked while running with its traceback; `run` says
    # it in one line and stops.
    ptb = logging.getLogger("telegram.ext")
    for installed in [f for f in ptb.filters if isinstance(f, RevokedTokenEcho)]:
        ptb.removeFilter(installed)
    if not verbose:
        ptb.addFilter(RevokedTokenEcho())
    return handler
