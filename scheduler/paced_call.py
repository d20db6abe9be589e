"""One API call of a message under the channel's pacer, with the 429 policy every transport
shares.

A transport sends a message as one or more calls (a long text in pieces, then files). Each
waits for the pacer; a failure becomes the transport's `DeliveryError`. A 429 pauses that chat
in the pacer and then:

* on the second or later call of a message it is waited out in place, a few times and
  briefly: starting the message again would repeat the parts delivered; a longer wait could
  outlast the dispatcher's lease on the row;
* for a person waiting for a reply (`urgent`) it is waited out in place too, up to a minute:
  a reply has no row to retry later, so handing it back would lose it;
* otherwise the error goes back to the dispatcher, which retries the row after `retry_after`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from scheduler.delivery import DeliveryError
from scheduler.pacing import Pacer

MAX_IN_PLACE_RETRIES = 3
MAX_IN_PLACE_WAIT = 10.0
MAX_REPLY_WAIT = 60.0

Result = TypeVar("Result")


async def paced_call(
    pacer: Pacer | None,
    chat_id: str,
    index: int,
    call: Callable[[], Awaitable[Result]],
    *,
    urgent: bool,
    failure: type[Exception] | tuple[type[Exception], ...],
    to_error: Callable[[Exception], DeliveryError],
    on_error: Callable[[DeliveryError], None] | None = None,
) -> Result:
    """Make call number `index` of a message to `chat_id`; a `failure` raised by it comes out
    as `to_error` made it (after `on_error` saw it), unless a short 429 is waited out."""
    retries = 0
    while True:
        try:
            if pacer is None:
                return await call()
            async with pacer.slot(chat_id, urgent=urgent):
                return await call()
        except failure as exc:
            cause = exc
            error = to_error(exc)
        if on_error is not None:
            on_error(error)
        if error.retry_after is not None:
            longest = MAX_REPLY_WAIT if urgent else MAX_IN_PLACE_WAIT
            short = error.retry_after <= longest
            in_place = (index > 0 or urgent) and short and retries < MAX_IN_PLACE_RETRIES
            if pacer is not None:
                pacer.pause(chat_id, error.retry_after)
            elif in_place:
                await asyncio.sleep(error.retry_after)
            if in_place:
                retries += 1
                continue
        raise error from cause
