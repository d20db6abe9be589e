"""How the bot's Telegram updates are read and processed.

Processed: many chats at once, each chat's updates in the order they came, through the chat
gate (a flooding chat is told once to slow down). PTB processes updates one at a time by
default: one chat sending fifty messages, each reply paced a second apart, would hold up
every other chat for fifty seconds.

Read: an update python-telegram-bot cannot parse (a field of a shape it does not expect) is
logged once and skipped. Left in a getUpdates answer, it fails the whole batch, the offset
never moves and polling asks for the same batch forever, answering nobody; through a webhook,
a 500 makes Telegram deliver it again and again.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Update, User
from telegram.ext import BaseUpdateProcessor

from db.models import Channel
from handlers.chat_gate import Admission, ChatGate
from handlers.types import Reply, Sender
from scheduler.delivery import DeliveryError

log = logging.getLogger(__name__)

# Updates being processed at once, across chats; a chat's own wait in line holds one of them.
MAX_CONCURRENT_UPDATES = 512

Tell = Callable[[int, Sequence[Reply]], Awaitable[None]]


class ChatOrderedUpdates(BaseUpdateProcessor):
    """PTB's update processor: a private chat's updates go through `gate` in order; `tell`
    sends the gate's notice to a chat (the channel's send)."""

    def __init__(
        self, gate: ChatGate, tell: Tell, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.gate = gate
        self.tell = tell

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Process `update` in its chat's turn, or tell the chat to slow down, or drop it."""
        sender = _private_sender(update)
        if sender is None:
            await coroutine
            return
        admission = self.gate.admit(sender)
        if admission is not Admission.ANSWER and inspect.iscoroutine(coroutine):
            coroutine.close()  # never awaited, on purpose

        async def act() -> None:
            await coroutine

        async def send(replies: list[Reply]) -> None:
            # The notice to slow down: nothing was handled, so no short "recorded" reply.
            try:
                await self.tell(int(sender.external_id), replies)
            except DeliveryError as exc:
                log.warning("could not tell a flooding chat to slow down: %s", exc.message)

        await self.gate.take_turn(sender, admission, act, send)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _private_sender(update: object) -> Sender | None:
    # Only private chats are answered; other updates are PTB's to route (to no handler).
    if not isinstance(update, Update):
        return None
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return None
    return telegram_sender(chat.id, update.effective_user)


def telegram_sender(chat_id: int, user: User | None) -> Sender:
    """Who speaks in a private Telegram chat, for the conversation."""
    return Sender(
        Channel.TELEGRAM,
        str(chat_id),
        user.full_name if user else "",
        user.language_code if user else None,
    )


def read_update(data: object, bot: Any = None) -> Update | None:
    """The update `data` as PTB reads it, or None (logged once) when PTB cannot read it."""
    try:
        if not isinstance(data, dict):
            raise TypeError(f"an update is an object, not {type(data).__name__}")
        return Update.de_json(data, bot)
    except Exception as exc:
        update_id = data.get("update_id") if isinstance(data, dict) else None
        kinds = sorted(k for k in data if k != "update_id") if isinstance(data, dict) else []
        # The content is a person's message: its shape is logged, never its text.
        log.warning(
            "skipped a Telegram update the bot cannot read (update_id %s, %s): %s",
            update_id,
            ", ".join(kinds) or "empty",
            type(exc).__name__,
        )
        return None


def readable_updates(payload: bytes) -> bytes:
    """A getUpdates answer with each unreadable update replaced by its bare `update_id`
    (which PTB reads, routes to no handler, and acknowledges with the next offset)."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return payload  # not ours to judge: PTB reports an unreadable answer itself
    results = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(results, list):
        return payload
    kept: list[object] = []
    for item in results:
        if read_update(item) is not None:
            kept.append(item)
        elif isinstance(item, dict) and isinstance(item.get("update_id"), int):
            kept.append({"update_id": item["update_id"]})
        # else: without an update_id it cannot be acknowledged; dropping it is all we can do
    if len(kept) == len(results) and all(a is b for a, b in zip(kept, results, strict=True)):
        return payload
    return json.dumps({**answer, "result": kept}).encode()
