"""Telegram's one send path: every message the bot sends goes out here, through the pacer.

Interactive replies (`TelegramChannel`) and reminders (the dispatcher) alike: a long text is
cut into several messages (the buttons go on the last one), each file is one more
sendDocument (the stored Telegram file id first, the file on disk when that id no longer
works), and a reply to a tap may replace the tapped message instead (sent as a new message
when Telegram says that one cannot be edited any more). One message can thus be
several API calls; each waits for the pacer. Every PTB error becomes one `DeliveryError`
whose flags say what to do (see `to_delivery_error`).

Duplicates: Telegram has no idempotency key for sendMessage. A `TimedOut` after the request
left (read or write timeout) may have delivered the message; the dispatcher retries it later
and the person may then get it twice. That is the one accepted duplicate: losing a reminder
is worse. Timeouts before anything was sent (connect, connection pool) are not ambiguous.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
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
from db.models import Channel
from handlers.types import Choice, OutgoingFile, Reply
from scheduler.delivery import DeliveryError
from scheduler.paced_call import paced_call
from scheduler.pacing import ChatLocks, Pacer

log = logging.getLogger(__name__)
T = TypeVar("T")

# 400 answers that mean the chat cannot be written to at all, not that this message is wrong.
_UNREACHABLE_400 = (
    "chat not found",
    "user not found",
    "peer_id_invalid",
    "have no rights to send",
    "not enough rights to send",
)
# 400 answers to an edit that mean the tapped message cannot be replaced (too old, deleted,
# never seen): the reply goes out as a new message instead.
_UNEDITABLE_400 = ("message can't be edited", "message to edit not found")
MAX_CALLBACK_DATA_BYTES = 64


def keyboard(choices: Sequence[Sequence[Choice]]) -> InlineKeyboardMarkup | None:
    """Inline buttons for the choices; refuses data Telegram would reject."""
    if not choices:
        return None
    for row in choices:
        for choice in row:
            if not 1 <= len(choice.data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise ValueError(f"callback data of {len(choice.data.encode())} bytes")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(c.label, callback_data=c.data) for c in row] for row in choices]
    )


class TelegramTransport:
    """Implements `scheduler.delivery.Transport` for `Reply` with a `telegram.Bot`."""

    channel = Channel.TELEGRAM

    def __init__(self, bot: Bot, pacer: Pacer | None = None) -> None:
        self.bot = bot
        self.pacer = pacer
        # One message to a chat at a time: a reply's text and its file are not split by a
        # reminder that the pacer let in between them (they share the chat's slots).
        self._chats = ChatLocks()

    async def send(
        self,
        chat_id: str,
        message: Reply,
        *,
        tapped_message_id: int | None = None,
        urgent: bool = False,
    ) -> None:
        """Send the text (cut at 4096 characters), its buttons, then its files.

        With `tapped_message_id`, a reply marked `edit` that fits one message replaces that
        message instead. `urgent` (a person is waiting for this reply) goes before reminders
        waiting for the pacer, and waits out a short 429 on the first call too, instead of
        handing the message back to be retried later.
        """
        async with self._chats.hold(chat_id):
            await self._send(chat_id, message, tapped_message_id, urgent)

    async def _send(
        self, chat_id: str, message: Reply, tapped_message_id: int | None, urgent: bool
    ) -> None:
        chat: int | str = int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
        try:
            markup = keyboard(message.choices)
        except ValueError as exc:
            raise DeliveryError(f"invalid buttons: {exc}", permanent=True) from exc
        # Files with no Telegram id are read before anything goes out: a template missing on
        # disk is a plan error that retrying will not fix, and the person should not get the
        # text without it.
        contents = {i: await _read(f) for i, f in enumerate(message.files) if not f.channel_file_id}
        pieces = split_text(message.text, MessageLimit.MAX_TEXT_LENGTH)
        calls = 0

        async def call(api_call: Callable[[], Awaitable[T]]) -> T:
            nonlocal calls
            result = await self._call(chat_id, calls, api_call, urgent=urgent)
            calls += 1
            return result

        if message.edit and tapped_message_id is not None and len(pieces) == 1:
            edited = await call(
                partial(self._edit_text, chat, tapped_message_id, pieces[0], markup)
            )
            if not edited:
                await call(partial(self._send_text, chat, pieces[0], markup))
        else:
            for i, piece in enumerate(pieces):
                last = i == len(pieces) - 1
                await call(partial(self._send_text, chat, piece, markup if last else None))
        for i, file in enumerate(message.files):
            if i in contents:
                await call(partial(self._send_document, chat, contents[i], file.name))
                continue
            assert file.channel_file_id is not None
            try:
                await call(partial(self._send_stored, chat, file.channel_file_id))
            except DeliveryError as exc:
                if not exc.permanent or exc.unreachable:
                    raise
                log.info("a stored Telegram file id no longer works; uploading from disk")
                content = await _read(file)
                await call(partial(self._send_document, chat, content, file.name))

    async def _send_text(
        self, chat: int | str, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        await self.bot.send_message(chat, text, parse_mode=ParseMode.HTML, reply_markup=markup)

    async def _edit_text(
        self, chat: int | str, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> bool:
        """Replace the message's text; False when Telegram says it cannot be edited."""
        try:
            await self.bot.edit_message_text(
                text, chat, message_id, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except BadRequest as exc:
            lowered = exc.message.lower()
            # A second tap of the same answer changes nothing.
            if "not modified" in lowered:
                return True
            if any(marker in lowered for marker in _UNEDITABLE_400):
                log.info("the tapped message cannot be edited; the reply is sent as a new one")
                return False
            raise
        return True

    async def _send_document(self, chat: int | str, content: bytes, name: str) -> None:
        await self.bot.send_document(chat, content, filename=name)

    async def _send_stored(self, chat: int | str, file_id: str) -> None:
        await self.bot.send_document(chat, file_id)

    async def _call(
        self, chat_id: str, index: int, call: Callable[[], Awaitable[T]], *, urgent: bool
    ) -> T:
        """One API call under the pacer, its PTB error turned into a `DeliveryError`."""
        return await paced_call(
            self.pacer,
            chat_id,
            index,
            call,
            urgent=urgent,
            failure=TelegramError,
            to_error=self._delivery_error,
        )

    def _delivery_error(self, exc: Exception) -> DeliveryError:
        assert isinstance(exc, TelegramError)
        return to_delivery_error(exc, self.bot.token)


async def _read(file: OutgoingFile) -> bytes:
    try:
        return await asyncio.to_thread(Path(file.path).read_bytes)
    except OSError as exc:
        raise DeliveryError(f"cannot read file {file.name!r}: {exc}", permanent=True) from exc


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
