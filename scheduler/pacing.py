"""Sending rates a chat API tolerates, kept by us instead of learnt from 429 answers.

Telegram allows about 30 messages a second overall, one a second to one chat and 20 a minute
to one group. `Pacer` spaces API calls to stay under all three:

* overall: calls start one at a time (first come, first served) on a schedule 1/(rate ×
  headroom) seconds apart. A call that starts a little late (up to half an interval: an event
  loop's ordinary jitter) keeps the schedule, so jitter costs no rate; one that starts later
  (the loop was busy) starts a new schedule from its own start, so a stall is never followed
  by a burst of calls catching up. Hence any window of W seconds holds at most
  W × rate × headroom + 1.5 calls: 29 of Telegram's 30 a second with the default headroom,
  one call of margin for network jitter (Telegram counts arrivals, we only control departures).
  An urgent call may also start up to half an interval *early* (below), so every call starts
  within half an interval of its slot and a window holds at most W × rate × headroom + 2:
  still 29 a second (27.9 + 2), and 15 for each of two processes sharing the rate;
* per chat and per group: the next call may start one interval after the previous call to
  that chat *completed*, not after it started. The previous request certainly arrived before
  its answer came back, so arrivals are at least one interval apart whatever the latency;
* a 429 pauses only the chat it came from (`pause`);
* an urgent call (a reply to a person who just wrote) takes the next overall slot before the
  calls already waiting for one (reminders), and may start up to half an interval before that
  slot; a reminder already asleep on the next slot wakes and gives it up. So a tap during the
  08:00 wave waits at most half an interval for the overall rate (18 ms at 30/s); and
  it does not wait out the spacing after a reminder, only a 429's pause of that chat: a person
  answering the reminder they just got should not wait a second for it. Replies to one chat
  are spaced among themselves, though: a person (or a script) sending fifty messages in a
  second gets fifty replies a second apart, not a burst that Telegram answers with 429s.

Waiting for one chat never delays another chat: a chat's own wait happens before it queues
for an overall slot. Time is injected (a monotonic clock and an async sleep) so tests run on
a fake clock. One process's pacer does not see another process's sends: with N bot processes,
give each 1/N of the overall rate (`--rate`; a chat's own limit stays whole, since one chat's
reminders go to one process at a time); the 429 handling covers the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Forget the state of chats idle this long past their next free slot once the maps grow large.
_PRUNE_ABOVE = 4096


@dataclass(frozen=True)
class RateLimits:
    """The limits a pacer keeps; the defaults are Telegram's published ones."""

    global_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    group_per_minute: float = 20.0
    # Fraction of the overall rate actually used, so jittery arrivals stay under the limit
    # (see the module docstring for the arithmetic behind 0.93).
    headroom: float = 0.93

    def __post_init__(self) -> None:
        rates = (self.global_per_second, self.per_chat_per_second, self.group_per_minute)
        if min(rates) <= 0:
            raise ValueError(f"rate limits must be positive, got {self}")
        if not 0 < self.headroom <= 1:
            raise ValueError(f"headroom must be in (0, 1], got {self.headroom}")

    def scaled(self, factor: float) -> RateLimits:
        """Every rate multiplied by `factor` (>1 for a sped-up test server, <1 to share)."""
        return replace(
            self,
            global_per_second=self.global_per_second * factor,
            per_chat_per_second=self.per_chat_per_second * factor,
            group_per_minute=self.group_per_minute * factor,
        )


def telegram_is_group(chat_id: str) -> bool:
    """Telegram's group and supergroup chat ids are negative; private chats are positive."""
    return chat_id.startswith("-")


class ChatLocks:
    """One lock per chat, forgotten once nobody holds or waits for it (chats are many)."""

    def __init__(self) -> None:
        # chat id -> (its lock, how many hold or wait for it)
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, chat_id: str) -> AsyncIterator[None]:
        """Hold the chat's lock for the block."""
        lock, users = self._locks.get(chat_id, (asyncio.Lock(), 0))
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users <= 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)


class Pacer:
    """Spaces API calls per chat, per group and overall; see the module docstring."""

    def __init__(
        self,
        limits: RateLimits | None = None,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        is_group: Callable[[str], bool] = telegram_is_group,
    ) -> None:
        self.limits = limits or RateLimits()
        self._monotonic = monotonic
        self._sleep = sleep
        self._is_group = is_group
        self._global_interval = 1.0 / (self.limits.global_per_second * self.limits.headroom)
        self._chat_interval = 1.0 / self.limits.per_chat_per_second
        self._group_interval = max(self._chat_interval, 60.0 / self.limits.group_per_minute)
        # A call starting this late keeps the schedule; a later one restarts it.
        self._slack = self._global_interval / 2
        self._global_next = 0.0
        self._gate = asyncio.Lock()  # FIFO: the overall slots go in the order asked for
        self._urgent_waiting = 0  # urgent calls waiting for an overall slot
        # Set while urgent calls wait: wakes a reminder sleeping on its slot with the gate held.
        self._urgent_came = asyncio.Event()
        self._chat_next: dict[str, float] = {}
        self._paused: dict[str, float] = {}  # chat -> end of its 429 pause
        self._replied: dict[str, float] = {}  # chat -> when its next urgent call may start
        self._chats = ChatLocks()

    def delay(self, chat_id: str) -> float:
        """Seconds until `chat_id` may take its next call (0 when it may now)."""
        return max(0.0, self._chat_next.get(chat_id, 0.0) - self._monotonic())

    def pause(self, chat_id: str, seconds: float) -> None:
        """Hold back every call to `chat_id` for `seconds` (after a 429 from that chat)."""
        until = self._monotonic() + max(0.0, seconds)
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), until)
        self._paused[chat_id] = max(self._paused.get(chat_id, 0.0), until)

    @asynccontextmanager
    async def slot(self, chat_id: str, *, urgent: bool = False) -> AsyncIterator[None]:
        """Wait for a free slot for one API call to `chat_id`; make the call inside the block.

        An `urgent` call goes before the non-urgent ones waiting for an overall slot."""
        # Calls to one chat go one at a time: the spacing counts from the previous answer.
        async with self._chats.hold(chat_id):
            await self._acquire(chat_id, urgent)
            try:
                yield
            finally:
                self._completed(chat_id, urgent)

    def _free_at(self, chat_id: str, urgent: bool) -> float:
        # When this call may go to the chat: after its spacing, or (urgent) after a 429 pause
        # and the spacing after the previous urgent call.
        if not urgent:
            return self._chat_next.get(chat_id, 0.0)
        return max(self._paused.get(chat_id, 0.0), self._replied.get(chat_id, 0.0))

    async def _acquire(self, chat_id: str, urgent: bool) -> None:
        while True:
            wait = self._free_at(chat_id, urgent) - self._monotonic()
            if wait > 0:
                # The chat's own wait comes first and holds no overall slot meanwhile.
                await self._sleep(wait)
                continue
            if urgent:
                self._urgent_waiting += 1
                self._urgent_came.set()
            try:
                async with self._gate:
                    if not urgent and self._urgent_waiting:
                        # Step back behind the urgent call (the lock is FIFO): it takes this
                        # slot, and this call queues again.
                        continue
                    now = self._monotonic()
                    scheduled = self._global_next
                    # A person waiting may go up to half an interval before the slot it takes
                    # (it still takes it: the next call waits one interval after the slot).
                    earliest = scheduled - self._slack if urgent else scheduled
                    if earliest > now:
                        if urgent:
                            await self._sleep(earliest - now)
                        elif await self._interrupted(earliest - now):
                            # A reply came while this reminder waited for its slot holding the
                            # gate: it gives the slot up and queues again.
                            continue
                        now = self._monotonic()
                    if self._free_at(chat_id, urgent) > now:
                        continue  # paused (a 429) meanwhile: wait for the chat again
                    late = now - scheduled > self._slack
                    self._global_next = (now if late else scheduled) + self._global_interval
                    # Provisional: until the answer comes, nobody else may use this chat either.
                    self._chat_next[chat_id] = now + self._interval(chat_id)
                    return
            finally:
                if urgent:
                    self._urgent_waiting -= 1
                    if not self._urgent_waiting:
                        self._urgent_came = asyncio.Event()

    async def _interrupted(self, seconds: float) -> bool:
        """Sleep `seconds`, or less if an urgent call starts waiting; True in that case."""
        if self._urgent_came.is_set():
            return True
        came = asyncio.ensure_future(self._urgent_came.wait())
        slept = asyncio.ensure_future(self._sleep(seconds))
        try:
            await asyncio.wait((came, slept), return_when=asyncio.FIRST_COMPLETED)
        finally:
            came.cancel()
            slept.cancel()
        return came.done() and not came.cancelled()

    def _completed(self, chat_id: str, urgent: bool) -> None:
        now = self._monotonic()
        next_free = max(self._chat_next.get(chat_id, 0.0), now + self._interval(chat_id))
        self._chat_next[chat_id] = next_free
        if urgent:
            self._replied[chat_id] = now + self._interval(chat_id)
        if len(self._chat_next) > _PRUNE_ABOVE:
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
            self._paused = {c: t for c, t in self._paused.items() if t > now}
            self._replied = {c: t for c, t in self._replied.items() if t > now}

    def _interval(self, chat_id: str) -> float:
        return self._group_interval if self._is_group(chat_id) else self._chat_interval
