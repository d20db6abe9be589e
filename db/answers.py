"""Status answers to tasks, each one kept and audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db import audit
from db.models import Official, StatusUpdate, Task, TaskState


async def record_status(
    session: AsyncSession,
    official: Official,
    task: Task,
    state: TaskState,
    at: datetime,
    *,
    actor: str,
    note: str = "",
    percent: int | None = None,
) -> StatusUpdate:
    """Add a status answer (never edits an earlier one) and its audit entry."""
    update = StatusUpdate(
        unit_id=task.unit_id,
        task_id=task.id,
        official_id=official.id,
        state=state,
        percent=percent,
        note=note,
        at=at,
    )
    session.add(update)
    await session.flush()
    audit.record(
        session,
        at=at,
        actor=actor,
        action="status.answer",
        unit_id=task.unit_id,
        official=official,
        target=f"task:{task.code}",
        details={"state": state.value, "status_update_id": update.id, "note": note},
    )
    return update


async def add_reason(
    session: AsyncSession,
    official: Official,
    update: StatusUpdate,
    reason: str,
    at: datetime,
    *,
    actor: str,
) -> None:
    """Attach the reason an official gave for a "blocked" answer."""
    update.note = reason
    audit.record(
        session,
        at=at,
        actor=actor,
        action="status.reason",
        unit_id=update.unit_id,
        official=official,
        target=f"status_update:{update.id}",
        details={"reason": reason},
    )
