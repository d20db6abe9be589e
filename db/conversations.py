"""Multi-step flows kept in the database, so a restart in the middle of one loses nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ConversationState

FLOW_TTL = timedelta(minutes=30)


async def current(
    session: AsyncSession, identity_id: int, at: datetime
) -> ConversationState | None:
    """The chat's flow in progress, or None when there is none or it has expired."""
    state = await session.scalar(
        select(ConversationState).where(ConversationState.identity_id == identity_id)
    )
    if state is None or state.expires_at <= at:
        return None
    return state


async def begin(
    session: AsyncSession,
    identity_id: int,
    kind: str,
    data: dict[str, Any],
    at: datetime,
    ttl: timedelta = FLOW_TTL,
) -> ConversationState:
    """Start (or replace) the chat's flow."""
    await finish(session, identity_id)
    state = ConversationState(identity_id=identity_id, kind=kind, data=data, expires_at=at + ttl)
    session.add(state)
    await session.flush()
    return state


async def finish(session: AsyncSession, identity_id: int) -> None:
    """End the chat's flow, if any."""
    await session.execute(
        delete(ConversationState).where(ConversationState.identity_id == identity_id)
    )
