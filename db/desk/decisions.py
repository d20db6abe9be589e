"""Deciding a request once: an extension (/giahan) or a leave (/nghiphep).

Both are pending until a clerk or a leader taps; the first tap wins, by one conditional
UPDATE, so of two deciders tapping at once exactly one decides and the other is told who did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ExtensionRequest, ExtensionState, LeaveRequest, Official


async def decide_once(
    session: AsyncSession,
    request: ExtensionRequest | LeaveRequest,
    approve: bool,
    decider: Official,
    at: datetime,
) -> bool:
    """Approve or refuse the request if it is still pending; False when someone decided first.

    The request is refreshed either way, so it shows the decision that holds and who made it.
    """
    model = type(request)
    state = ExtensionState.APPROVED if approve else ExtensionState.REFUSED
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(model)
            .where(model.id == request.id, model.state == ExtensionState.PENDING)
            .values(state=state, decided_by_id=decider.id, decided_at=at)
            .execution_options(synchronize_session=False)
        ),
    )
    await session.refresh(request, ["state", "decided_by_id", "decided_at", "decided_by"])
    return result.rowcount == 1
