"""The bundled Ba Bích plan, loaded into a test database, with chats bound for its people."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.files import FileStore
from db.models import Channel, ChannelIdentity, Official
from db.plan import Plan, load_plan, read_plan
from tests.conftest import EXAMPLE_PLAN


@cache
def example_plan() -> Plan:
    """examples/ba-bich-2024.yaml read and checked once per test process: its pure-Python YAML
    parse cost tens of milliseconds in every test that loads it. A Plan is frozen and loading
    it leaves it as it is, so the tests share it."""
    return read_plan(EXAMPLE_PLAN)


def example_indicators(report: str = "CCHC-Q1") -> list[dict[str, Any]]:
    """The indicators the example plan declares for `report`, as an obligation keeps them."""
    spec = next(r for r in example_plan().spec.reports if r.code == report)
    return [indicator.model_dump() for indicator in spec.indicators]


async def load_example(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    store: FileStore | None = None,
) -> dict[str, Official]:
    """Load examples/ba-bich-2024.yaml; the officials by their plan key."""
    async with sessionmaker() as session:
        await load_plan(session, example_plan(), clock, store)
    async with sessionmaker() as session:
        return {o.key: o for o in await session.scalars(select(Official))}


async def bind_chats(
    sessionmaker: async_sessionmaker[AsyncSession], officials: dict[str, Official], at: datetime
) -> dict[str, str]:
    """Give every official a reachable Telegram chat (chat id 9000 + official id)."""
    chats = {}
    async with sessionmaker() as session:
        for key, official in officials.items():
            chat = str(9000 + official.id)
            session.add(
                ChannelIdentity(
                    official_id=official.id,
                    channel=Channel.TELEGRAM,
                    external_id=chat,
                    bound_at=at,
                    reachable=True,
                )
            )
            chats[key] = chat
        await session.commit()
    return chats
