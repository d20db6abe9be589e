"""The pacer's priority lane: a reply a person waits for goes before queued reminders."""

from __future__ import annotations

import asyncio
import itertools

from scheduler.pacing import Pacer, RateLimits
from tests.test_dispatch import FakeTime


async def test_an_urgent_call_takes_the_next_slot_before_the_queued_ones() -> None:
    time = FakeTime()
    pacer = Pacer(
        RateLimits(global_per_second=10, headroom=1.0), monotonic=time.monotonic, sleep=time.sleep
    )
    order: list[str] = []
    under_way = asyncio.Event()

    async def one(chat: str, *, urgent: bool = False) -> None:
        async with pacer.slot(chat, urgent=urgent):
            order.append(chat)
            if len(order) == 3:
                under_way.set()

    wave = [asyncio.create_task(one(f"reminder-{i}")) for i in range(20)]
    # Let the wave queue up for overall slots, then a person taps.
    await under_way.wait()
    reply = asyncio.create_task(one("reply", urgent=True))
    await asyncio.gather(*wave, reply)

    # It overtakes the whole queue: only the call already holding a slot may go first.
    assert order.index("reply") <= 4
    assert sorted(order) == sorted([*(f"reminder-{i}" for i in range(20)), "reply"])


async def test_urgent_calls_keep_the_overall_rate() -> None:
    time = FakeTime()
    pacer = Pacer(
        RateLimits(global_per_second=10, headroom=1.0), monotonic=time.monotonic, sleep=time.sleep
    )
    starts: list[float] = []

    async def one(chat: str, urgent: bool) -> None:
        async with pacer.slot(chat, urgent=urgent):
            starts.append(time.now)

    await asyncio.gather(*(one(str(i), urgent=i % 3 == 0) for i in range(30)))

    starts.sort()
    # Each call starts within half an interval of its own slot: a second holds at most
    # 10 + 2 calls, and 30 calls take at least 28 intervals.
    for first in starts:
        assert sum(1 for s in starts if first <= s < first + 1.0) <= 12
    assert starts[-1] - starts[0] >= 28 * 0.1 - 1e-9
    assert all(b - a >= 0.05 - 1e-9 for a, b in itertools.pairwise(starts))


async def test_a_tap_during_a_wave_goes_half_an_interval_early_and_takes_the_slot() -> None:
    time = FakeTime()
    pacer = Pacer(
        RateLimits(global_per_second=10, headroom=1.0), monotonic=time.monotonic, sleep=time.sleep
    )
    async with pacer.slot("reminder-1"):  # the wave: the next slot is 0.1 s later
        sent = time.now
    await time.sleep(0.01)
    async with pacer.slot("tap", urgent=True):
        tapped = time.now
    async with pacer.slot("reminder-2"):
        next_reminder = time.now

    assert abs(tapped - (sent + 0.05)) < 1e-9  # half an interval before its slot, not at it
    assert abs(next_reminder - (sent + 0.2)) < 1e-9  # the reminders lose the slot it took


async def test_a_reply_does_not_wait_out_the_chats_spacing_but_does_wait_out_a_429() -> None:
    time = FakeTime()
    pacer = Pacer(RateLimits(), monotonic=time.monotonic, sleep=time.sleep)

    async with pacer.slot("7001"):  # a reminder just went to this chat
        pass
    started = time.now
    async with pacer.slot("7001", urgent=True):  # the person answers it at once
        replied = time.now
    assert replied - started < 0.1
    async with pacer.slot("7001"):  # the next reminder is spaced after the reply
        assert time.now - replied >= 1.0

    pacer.pause("7001", 5)
    paused = time.now
    async with pacer.slot("7001", urgent=True):
        assert time.now - paused >= 5


async def test_replies_to_one_chat_are_spaced_among_themselves() -> None:
    # Fifty messages from one chat in a second get fifty replies a second apart, not a burst
    # that Telegram refuses with 429s.
    time = FakeTime()
    pacer = Pacer(RateLimits(), monotonic=time.monotonic, sleep=time.sleep)
    starts: list[float] = []

    async def reply() -> None:
        async with pacer.slot("7001", urgent=True):
            starts.append(time.now)

    await asyncio.gather(*(reply() for _ in range(5)))
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(starts)), starts
    # Another chat's reply is not held back by them.
    async with pacer.slot("7002", urgent=True):
        assert time.now - starts[-1] < 0.1


class ManualTime:
    """A monotonic clock that moves only when the test says so; sleepers wake as it passes."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, woken))
        await woken

    async def advance(self, to: float) -> None:
        self.now = to
        for target, woken in list(self._sleepers):
            if target <= to and not woken.done():
                woken.set_result(None)
        for _ in range(20):  # let every woken task run up to its next wait
            await asyncio.sleep(0)


async def test_a_tap_wakes_a_reminder_that_waits_for_its_slot_and_goes_first() -> None:
    time = ManualTime()
    pacer = Pacer(
        RateLimits(global_per_second=10, headroom=1.0), monotonic=time.monotonic, sleep=time.sleep
    )
    started: dict[str, float] = {}

    async def one(chat: str, *, urgent: bool = False) -> None:
        async with pacer.slot(chat, urgent=urgent):
            started[chat] = time.now

    await one("reminder-1")  # at 0.0; the next slot is at 0.1
    waiting = asyncio.create_task(one("reminder-2"))
    await time.advance(0.01)  # reminder-2 holds the overall gate, asleep until 0.1
    tap = asyncio.create_task(one("tap", urgent=True))
    await time.advance(0.05)
    await time.advance(0.1)
    await time.advance(0.2)
    await asyncio.gather(waiting, tap)

    # The tap goes half an interval before the slot it takes; the reminder takes the next one.
    assert started == {"reminder-1": 0.0, "tap": 0.05, "reminder-2": 0.2}
