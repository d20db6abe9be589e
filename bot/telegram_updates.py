"""How the bot's Telegram updates are processed: many chats at once, each chat's updates in
the order they came, through the chat gate (a flooding chat is told once to slow down).

PTB processes updates one at a time by default: one chat sending fifty messages, each reply
paced a second apart, would hold up every other chat for fifty seconds.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from db.models import Channel
from handlers.chat_gate import Admission, ChatGate
from handlers.types import Reply, Sender

# Updates being processed at once, across chats; a chat's own wait in line holds one of them.
MAX_CONCURRENT_UPDATES = 512

Tell = Callable[[int, list[Reply]], Awaitable[None]]


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
            await self.tell(int(sender.external_id), replies)

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
    user = update.effective_user
    return Sender(
        Channel.TELEGRAM,
        str(chat.id),
        user.full_name if user else "",
        user.language_code if user else None,
    )
