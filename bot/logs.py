"""Logging set-up that never lets a secret out: the token and database password are masked."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TextIO

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
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


def configure_logging(
    verbose: bool, secrets: Iterable[str], stream: TextIO | None = None
) -> logging.Handler:
    """Log to `stream` (stderr) with secrets masked; quiet the chatty libraries."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
