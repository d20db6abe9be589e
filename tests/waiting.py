"""Waiting in tests for a condition, never for a fixed time."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

POLL_SECONDS = 0.02


@overload
async def wait_until(
    predicate: Callable[[], Awaitable[T]],
    timeout: float = ...,  # noqa: ASYNC109
    *,
    what: str = ...,
) -> T: ...


@overload
async def wait_until(
    predicate: Callable[[], T],
    timeout: float = ...,  # noqa: ASYNC109
    *,
    what: str = ...,
) -> T: ...


async def wait_until(
    predicate: Callable[[], Any],
    timeout: float = 10.0,  # noqa: ASYNC109
    *,
    what: str = "",
) -> Any:
    """Call `predicate` (plain or async) every ~20 ms until it returns something truthy, and
    return that; fail the test with AssertionError after `timeout` seconds.

    The last check happens at or after the deadline, so a condition that came true just in
    time is not reported as failed; `what` names the condition in the failure message.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        value = await result if inspect.isawaitable(result) else result
        if value:
            return value
        if loop.time() >= deadline:
            name = what or getattr(predicate, "__name__", repr(predicate))
            raise AssertionError(f"not true within {timeout} s: {name} (last: {value!r})")
        await asyncio.sleep(POLL_SECONDS)
