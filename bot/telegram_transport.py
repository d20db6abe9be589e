"""Telegram's sending half for the outbox: one message out through python-telegram-bot.

Every PTB error becomes one `DeliveryError` whose flags tell the dispatcher what to do
(see `_to_delivery_error`). A long text is cut into several messages (the buttons go on the
last one) and each file is one more sendDocument, so one outbox row can be several API calls;
each waits for the pacer.

Duplicates: Telegram has no idempotency key for sendMessage. A `TimedOut` after the request
left (read or write timeout) may have delivered the message; the dispatcher retries it later
and the person may then get it twice. That is the one accepted duplicate: losing a reminder
is worse. Timeouts before anything was sent (connect, connection pool) are not ambiguous.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from pathlib import Path

import httpx
from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import MessageLimit, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot.message_split import split_text
from bot.telegram_channel import keyboard
from db.models import Channel
from scheduler.delivery import DeliveryError, OutgoingMessage
from scheduler.pacing import Pacer

log = logging.getLogger(__name__)

# 400 answers that mean the chat cannot be written to at all, not that this message is wrong.
_UNREACHABLE_400 = (
    "chat not found",
    "user not found",
    "peer_id_invalid",
    "have no rights to send",
    "not enough rights to send",
)
# A 429 on the second or later part of one message is waited out in place, a few times and
# briefly: starting the message again would repeat the parts already delivered, and a longer
# wait could outlast the dispatcher's lease on the row.
_MAX_IN_PLACE_RETRIES = 3
_MAX_IN_PLACE_WAIT = 10.0


class TelegramTransport:
    """Implements `scheduler.delivery.Transport` with a `telegram.Bot`."""

    channel = Channel.TELEGRAM

    def __init__(self, bot: Bot, pacer: Pacer | None = None) -> None:
        self.bot = bot
        self.pacer = pacer

    async def send(self, chat_id: str, message: OutgoingMessage) -> None:
        """Send the text (cut at 4096 characters), its buttons, then its files."""
        chat: int | str = int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
        try:
            markup = keyboard(message.choices)
        except ValueError as exc:
            raise DeliveryError(f"invalid buttons: {exc}", permanent=True) from exc
        # Files are read before anything goes out: a template missing on disk is a plan error
        # that retrying will not fix, and the person should not get the text without it.
        contents: list[tuple[str, bytes]] = []
        for name, path in message.files:
            try:
                contents.append((name, await asyncio.to_thread(Path(path).read_bytes)))
            except OSError as exc:
                raise DeliveryError(f"cannot read file {name!r}: {exc}", permanent=True) from exc
        pieces = split_text(message.text, MessageLimit.MAX_TEXT_LENGTH)
        calls = 0
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            await self._call(chat_id, calls, partial(self._send_text, chat, piece, markup, last))
            calls += 1
        for name, content in contents:
            await self._call(chat_id, calls, partial(self._send_document, chat, content, name))
            calls += 1

    async def _send_text(
        self, chat: int | str, text: str, markup: InlineKeyboardMarkup | None, last: bool
    ) -> None:
        await self.bot.send_message(
            chat, text, parse_mode=ParseMode.HTML, reply_markup=markup if last else None
        )

    async def _send_document(self, chat: int | str, content: bytes, name: str) -> None:
        await self.bot.send_document(chat, content, filename=name)

    async def _call(self, chat_id: str, index: int, call: Callable[[], Awaitable[None]]) -> None:
        """One API call under the pacer, its PTB error turned into a `DeliveryError`."""
        retries = 0
        while True:
            try:
                if self.pacer is None:
                    await call()
                else:
                    async with self.pacer.slot(chat_id):
                        await call()
                return
            except TelegramError as exc:
                cause = exc
                error = to_delivery_error(exc, self.bot.token)
            if error.retry_after is not None and self.pacer is not None:
                self.pacer.pause(chat_id, error.retry_after)
                short = error.retry_after <= _MAX_IN_PLACE_WAIT
                if index > 0 and short and retries < _MAX_IN_PLACE_RETRIES:
                    retries += 1
                    continue
            raise error from cause


def to_delivery_error(exc: TelegramError, secret: str = "") -> DeliveryError:
    """What a PTB error means for the outbox; `secret` (the token) is masked in the message."""
    kind = type(exc).__name__
    # Telegram's own "Forbidden: ..." survives in PTB's message; do not say it twice.
    text = f"{kind}: {exc.message.removeprefix(f'{kind}: ')}"
    if secret:
        # httpx errors can quote the request URL, which embeds the token.
        text = text.replace(secret, "***")
    # Order matters: BadRequest and TimedOut are NetworkErrors.
    if isinstance(exc, RetryAfter):
        return DeliveryError(text, retry_after=_seconds(exc))
    if isinstance(exc, ChatMigrated):
        return DeliveryError(text, migrated_to=str(exc.new_chat_id))
    if isinstance(exc, Forbidden):
        return DeliveryError(text, unreachable=True)
    if isinstance(exc, BadRequest):
        lowered = exc.message.lower()
        unreachable = any(marker in lowered for marker in _UNREACHABLE_400)
        return DeliveryError(text, permanent=True, unreachable=unreachable)
    if isinstance(exc, TimedOut):
        not_sent = isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)
        return DeliveryError(text, ambiguous=not not_sent)
    if isinstance(exc, InvalidToken):
        # A configuration error of the whole bot: failing every row would lose them all,
        # so it is retried like an outage until someone fixes the token.
        log.error("Telegram rejected the bot token; reminders wait until it is fixed")
        return DeliveryError(text)
    # Other NetworkErrors (5xx, connection refused, a proxy's HTML page) and anything else.
    return DeliveryError(text)


def _seconds(exc: RetryAfter) -> float:
    # PTB 22 returns an int with a deprecation warning, or a timedelta under PTB_TIMEDELTA=1.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | float | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
