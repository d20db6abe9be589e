"""What the dispatcher hands a channel, and the one error a channel raises when it cannot deliver.

Modelled on healthchecks' transports (one small module per channel, one error type with a
`permanent` flag), with the facts a chat API adds: a 429 says how long to wait, a group can
move to a new chat id, a person can block the bot, and a timeout leaves the outcome unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from db.models import Channel
from handlers.types import Choice

if TYPE_CHECKING:
    from scheduler.pacing import Pacer


@dataclass(frozen=True)
class OutgoingMessage:
    """One outbox message, ready for any channel.

    `text` is the small HTML subset of `handlers.types.Reply` with every typed string escaped;
    `files` are (file name shown to the person, absolute path on disk) pairs, such as a report's
    outline and appendix. A channel without buttons or files renders what it can.
    """

    text: str
    choices: Sequence[Sequence[Choice]] = ()
    files: Sequence[tuple[str, str]] = ()


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


class Transport(Protocol):
    """A channel's sending half: deliver one message to one chat, or raise `DeliveryError`.

    `pacer`, when set, is the channel's rate limiter: the transport awaits it before every API
    call (a long text or attached files make several), and the dispatcher asks it which chats
    are free so that one busy chat never holds up the others.
    """

    channel: Channel
    pacer: Pacer | None

    async def send(self, chat_id: str, message: OutgoingMessage) -> None:
        """Deliver `message` to `chat_id` (the `ChannelIdentity.external_id`)."""
        ...
