"""The console's sending half for the outbox: reminders land on the "phones" of the terminal.

The dispatcher serves several chats at once, so a message printed the moment it is sent could
land in the middle of another one. The transport only hands messages to the channel, which
prints them in a stable order at its next `flush`. In Zalo mode a message's choices become
the chat's prompt as it is handed over, as the Zalo transport records them once sent.
"""

from __future__ import annotations

from bot.console_channel import ConsoleChannel
from db.clock import Clock
from db.models import Channel
from handlers.types import Reply
from scheduler.pacing import Pacer


class ConsoleTransport:
    """Implements `scheduler.delivery.Transport` for `Reply` on `Channel.CONSOLE`; it never
    fails."""

    channel = Channel.CONSOLE

    def __init__(self, console: ConsoleChannel, clock: Clock) -> None:
        self.console = console
        self.clock = clock
        # A terminal has no rate limits.
        self.pacer: Pacer | None = None

    async def send(self, chat_id: str, message: Reply) -> None:
        """Hand `message` to the console for the chat `chat_id`, stamped with the clock's time."""
        self.console.deliver(chat_id, message, self.clock.now())
        await self.console.remember(chat_id, [message])
