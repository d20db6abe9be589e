"""What the bot does when a service it needs is away: one clear line, never a traceback.

At start (`retry_until_up`): the Bot API, the Zalo API or the database unreachable is waited
out with a capped exponential backoff, one WARNING line per attempt, so that a service manager
never has to restart the process in a loop. While running (`ConnectionWatch`): one WARNING
when a connection is lost, one INFO when it is back; the polling loop backs off in between.

A fault that waiting cannot cure (a rejected token, a wrong password) is not retried here: the
caller turns it into a `CommandError`, one line and a non-zero exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)

# The wait after a failed attempt at start: doubled each time up to the cap.
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0

T = TypeVar("T")


class Stopped(Exception):
    """The process was asked to stop while it waited for a service to come up."""


def next_wait(previous: float, first: float = FIRST_RETRY_SECONDS) -> float:
    """The wait after a failed attempt: `first`, then double the previous, up to the cap."""
    return min(MAX_RETRY_SECONDS, previous * 2 or first)


async def retry_until_up(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    is_outage: Callable[[BaseException], bool],
    stop: asyncio.Event,
    *,
    reason: Callable[[BaseException], str] = lambda exc: type(exc).__name__,
) -> T:
    """`attempt()`'s result, retried while it fails with an outage (`is_outage`); any other
    failure is raised at once. `Stopped` when `stop` is set while waiting.

    `reason` words a failure for the log line; by default only its type, since messages of
    network libraries may quote URLs that hold a token."""
    wait = 0.0
    tries = 0
    while True:
        try:
            return await attempt()
        except Exception as exc:
            if not is_outage(exc):
                raise
            tries += 1
            wait = next_wait(wait)
            log.warning(
                "%s unreachable (%s); attempt %d failed, retrying in %.0f s",
                what,
                reason(exc),
                tries,
                wait,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
        if stop.is_set():
            raise Stopped(what)


class ConnectionWatch:
    """Logs the state changes of one connection, not every failed call: one WARNING when it
    is lost, one INFO when it is back."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.lost_since_ok = False

    def failed(self, reason: str) -> None:
        """A call failed for want of the service; logged only when it was fine before."""
        if self.lost_since_ok:
            log.debug("%s still unreachable: %s", self.what, reason)
            return
        self.lost_since_ok = True
        log.warning("%s unreachable (%s); retrying with backoff", self.what, reason)

    def ok(self) -> None:
        """A call was answered; logged only when the connection had been lost."""
        if self.lost_since_ok:
            self.lost_since_ok = False
            log.info("%s reachable again", self.what)
