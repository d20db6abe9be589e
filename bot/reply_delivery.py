"""Sending the replies of an event the conversation has handled, on any channel.

`Conversation.handle` returns once its transaction is over: committed, or rolled back with
its own apology ("nothing was recorded"). A reply that then fails to go out must not be
followed by that apology: the answer is stored. One short plain reply is tried instead (the
same apology when the replies were that apology), and one WARNING line says what happened.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from handlers.catalog import LANGUAGES, t
from handlers.types import Reply
from scheduler.delivery import DeliveryError

log = logging.getLogger(__name__)


def short_reply(replies: Sequence[Reply], language: str | None) -> Reply:
    """What to send instead of replies that could not be sent: plain text, no buttons."""
    apologies = {t("error.generic", lang) for lang in LANGUAGES}
    if any(reply.text in apologies for reply in replies):
        return Reply(t("error.generic", language))
    return Reply(t("reply.not_delivered", language))


async def deliver_handled(
    send: Callable[[Sequence[Reply]], Awaitable[None]],
    replies: Sequence[Reply],
    language: str | None,
) -> None:
    """Send the replies with `send`; if that fails, try `short_reply` once. Never raises a
    `DeliveryError`: the person's event is handled whether or not they hear of it."""
    try:
        await send(replies)
    except DeliveryError as failed:
        # Nothing reaches a blocked chat; flood control is only made worse by another call.
        if failed.unreachable or failed.retry_after is not None:
            log.warning("could not send a reply: %s", failed.message)
            return
        try:
            await send([short_reply(replies, language)])
        except DeliveryError as again:
            log.warning(
                "could not send a reply: %s; nor the short one: %s", failed.message, again.message
            )
            return
        log.warning("could not send a reply: %s; sent a short one instead", failed.message)


def language_of(hint: str | None) -> str | None:
    """A channel's language hint (Telegram's `en-US`) as a catalog language, or None."""
    if hint and hint.lower().startswith("en"):
        return "en"
    return None
