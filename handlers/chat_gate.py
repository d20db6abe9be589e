"""One chat's messages answered one at a time and in order, many chats at once; a chat that
floods is told once to slow down and its excess is dropped on purpose.

Channels ask `ChatGate.admit` when an event arrives and act on it in `ChatGate.take_turn`.
The admission is decided on arrival, before the event waits for its chat's turn: a script
sending hundreds of messages must not queue them all (each reply is paced a second apart) and
hold up the chats of everyone else. A person typing never comes near the budget: 60 messages
at once, then one every two seconds.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from handlers.catalog import t
from handlers.types import Reply, Sender
from scheduler.pacing import ChatLocks

log = logging.getLogger(__name__)

BURST = 60
REFILL_PER_SECOND = 0.5
# Forget chats whose budget is full again once this many are tracked.
_PRUNE_ABOVE = 4096

Act = Callable[[], Awaitable[None]]
Send = Callable[[list[Reply]], Awaitable[None]]


class Admission(enum.Enum):
    """What becomes of one message from a chat."""

    ANSWER = "answer"
    SLOW_DOWN = "slow_down"  # the first message over the budget: told once to slow down
    DROP = "drop"  # later ones, until the budget refills


@dataclass
class _Budget:
    tokens: float
    at: float
    told: bool = False
    dropped: int = 0


class FloodBudget:
    """A token bucket per chat; pure: the time is passed in."""

    def __init__(self, burst: int = BURST, refill_per_second: float = REFILL_PER_SECOND) -> None:
        self.burst = burst
        self.refill = refill_per_second
        self._chats: dict[str, _Budget] = {}

    def admit(self, chat: str, at: float) -> Admission:
        """Spend one message of `chat`'s budget at monotonic time `at`."""
        budget = self._chats.get(chat)
        if budget is None:
            if len(self._chats) >= _PRUNE_ABOVE:
                self._prune(at)
            budget = self._chats[chat] = _Budget(float(self.burst), at)
        budget.tokens = min(float(self.burst), budget.tokens + (at - budget.at) * self.refill)
        budget.at = at
        if budget.tokens >= 1:
            budget.tokens -= 1
            if budget.told:
                log.warning("a chat that flooded is answered again (%d dropped)", budget.dropped)
                budget.told, budget.dropped = False, 0
            return Admission.ANSWER
        if not budget.told:
            budget.told = True
            log.warning("a chat sends faster than a person types; told once to slow down")
            return Admission.SLOW_DOWN
        budget.dropped += 1
        return Admission.DROP

    def _prune(self, at: float) -> None:
        full = (self.burst - 1) / self.refill
        self._chats = {c: b for c, b in self._chats.items() if at - b.at < full}


class ChatGate:
    """Orders and budgets the events of each chat (see the module docstring)."""

    def __init__(
        self,
        budget: FloodBudget | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget or FloodBudget()
        self._monotonic = monotonic
        self._turns = ChatLocks()

    def admit(self, sender: Sender) -> Admission:
        """Decide on arrival what becomes of the chat's newest event."""
        return self.budget.admit(_key(sender), self._monotonic())

    async def take_turn(self, sender: Sender, admission: Admission, act: Act, send: Send) -> None:
        """In the chat's turn (after its earlier events): `act` on an admitted event, or
        `send` the one notice to slow down; nothing for a dropped one."""
        if admission is Admission.DROP:
            return
        async with self._turns.hold(_key(sender)):
            if admission is Admission.SLOW_DOWN:
                await send([Reply(t("flood.slow_down", sender.language_hint))])
            else:
                await act()


def _key(sender: Sender) -> str:
    return f"{sender.channel}:{sender.external_id}"
