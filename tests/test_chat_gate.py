"""The chat gate: a chat's events in order, a flood budgeted (pure time passed in)."""

from __future__ import annotations

import asyncio

from db.models import Channel
from handlers.chat_gate import Admission, ChatGate, FloodBudget
from handlers.types import Reply, Sender


def test_a_burst_within_the_budget_is_answered_then_told_once_then_dropped() -> None:
    budget = FloodBudget(burst=3, refill_per_second=0.5)
    verdicts = [budget.admit("a", 0.0) for _ in range(6)]
    assert verdicts == [Admission.ANSWER] * 3 + [Admission.SLOW_DOWN] + [Admission.DROP] * 2
    # Another chat has a budget of its own.
    assert budget.admit("b", 0.0) is Admission.ANSWER
    # Two seconds refill one message; a later flood is told again.
    assert budget.admit("a", 2.0) is Admission.ANSWER
    assert budget.admit("a", 2.0) is Admission.SLOW_DOWN


async def test_one_chats_events_take_turns_in_order_and_others_go_alongside() -> None:
    gate = ChatGate(FloodBudget(burst=2), monotonic=lambda: 0.0)
    an = Sender(Channel.TELEGRAM, "1", "An")
    binh = Sender(Channel.TELEGRAM, "2", "Bình")
    order: list[str] = []
    release = asyncio.Event()
    sent: list[list[Reply]] = []

    async def slow() -> None:
        await release.wait()
        order.append("an-1")

    async def quick(name: str) -> None:
        order.append(name)

    async def send(replies: list[Reply]) -> None:
        sent.append(replies)

    admissions = [gate.admit(an) for _ in range(4)]
    first = asyncio.create_task(gate.take_turn(an, admissions[0], slow, send))
    second = asyncio.create_task(gate.take_turn(an, admissions[1], lambda: quick("an-2"), send))
    third = asyncio.create_task(gate.take_turn(an, admissions[2], lambda: quick("an-3"), send))
    await gate.take_turn(an, admissions[3], lambda: quick("never"), send)
    await gate.take_turn(binh, gate.admit(binh), lambda: quick("binh"), send)
    assert order == ["binh"]  # An's first is still being handled; Bình did not wait for it
    release.set()
    await asyncio.gather(first, second, third)
    assert order == ["binh", "an-1", "an-2"]  # the third was over budget: a notice instead
    assert len(sent) == 1 and "chậm lại" in sent[0][0].text
