"""Updates recorded before they are acted on: one delivered twice is acted on once.

Zalo's getUpdates has no offset and no acknowledgement, and its webhook may retry: the same
message can arrive again. The raw update is kept, so nothing a person sent is lost even if
the process dies before answering.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Channel, ReceivedUpdate


async def record_once(
    session: AsyncSession,
    channel: Channel,
    update_id: str,
    payload: dict[str, Any],
    at: datetime,
) -> bool:
    """Record the update; True for the first delivery, False for a repeat (changes nothing)."""
    values = {
        "channel": channel,
        "update_id": update_id,
        "received_at": at,
        "payload": payload,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # ON CONFLICT DO NOTHING: two processes handed the same update never both win, and the
    # loser's transaction is not aborted by a unique violation.
    statement = (
        insert(ReceivedUpdate)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
        .returning(ReceivedUpdate.id)
    )
    result = await session.execute(statement)
    return result.first() is not None


async def was_received(session: AsyncSession, channel: Channel, update_id: str) -> bool:
    """Whether the update has been recorded."""
    found = await session.scalar(
        select(ReceivedUpdate.id).where(
            ReceivedUpdate.channel == channel, ReceivedUpdate.update_id == update_id
        )
    )
    return found is not None


async def forget_before(session: AsyncSession, cutoff: datetime) -> int:
    """Drop records older than `cutoff` (a repeat comes within minutes, not weeks)."""
    result = await session.execute(
        delete(ReceivedUpdate).where(ReceivedUpdate.received_at < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)
