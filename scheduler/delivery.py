"""A channel's sending half as the dispatcher sees it, and the one error it raises.

Modelled on healthchecks' transports (one small module per channel, one error type with a
`permanent` flag), with the facts a chat API adds: a 429 says how long to wait, a group can
move to a new chat id, a person can block the bot, and a timeout leaves the outcome unknown.

The dispatcher never looks inside a message: it hands a transport what the renderer made of a
row. The composition root (`bot/`) pairs them, with `handlers.types.Reply` as the message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

from db.models import Channel

if TYPE_CHECKING:
    from scheduler.pacing import Pacer

# The message type a transport accepts (contravariant: it only takes messages in).
MessageIn = TypeVar("MessageIn", contravariant=True)


class DeliveryError(Exception):
    """A send that did not (or may not) reach the person; the flags say what to do next.

    * `permanent`: retrying the same message will fail again (malformed, refused).
    * `unreachable`: the chat itself is gone for us (blocked, deactivated, never started,
      chat not found): stop using that identity and tell the clerk. Always permanent.
    * `retry_after`: flood control; wait this many seconds before writing to that chat.
    * `migrated_to`: the group moved to this chat id; store it and send there.
    * `ambiguous`: a timeout after the request left; it may have been delivered, so a retry
      may duplicate it.
    Without any flag the error is transient (5xx, connection refused): retry with backoff.
    The message never contains credentials: transports redact them.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        migrated_to: str | None = None,
        unreachable: bool = False,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent or unreachable
        self.retry_after = retry_after
        self.migrated_to = migrated_to
        self.unreachable = unreachable
        self.ambiguous = ambiguous

    def __repr__(self) -> str:
        flags = [
            name
            for name, on in (
                ("permanent", self.permanent),
                ("unreachable", self.unreachable),
                ("ambiguous", self.ambiguous),
            )
            if on
        ]
        if self.retry_after is not None:
            flags.append(f"retry_after={self.retry_after}")
        if self.migrated_to is not None:
            flags.append(f"migrated_to={self.migrated_to}")
        return f"DeliveryError({self.message!r}{''.join(', ' + f for f in flags)})"


class Transport(Protocol[MessageIn]):
    """A channel's sending half: deliver one message to one chat, or raise `DeliveryError`.

    `pacer`, when set, is the channel's rate limiter: the transport awaits it before every API
    call (a long text or attached files make several), and the dispatcher asks it which chats
    are free so that one busy chat never holds up the others.
    """

    channel: Channel
    pacer: Pacer | None

    async def send(self, chat_id: str, message: MessageIn) -> None:
        """Deliver `message` to `chat_id` (the `ChannelIdentity.external_id`)."""
        ...
