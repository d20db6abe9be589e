"""Who owes a report or a task, and who has settled it: the reads behind a reminder's text.

A reminder is rendered seconds before it is sent, from the database as it is then, so each
question here is asked per claimed batch (`load_batch`, `handed_in_flags`) or per row.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AssigneeRole, Obligation, ObligationAssignee, Official, Task, TaskAssignee


async def load_batch(
    session: AsyncSession,
    official_ids: Collection[int],
    obligation_ids: Collection[int],
    task_ids: Collection[int],
) -> list[object]:
    """Load these officials, reports and tasks into the session's identity map, where
    `session.get` then finds them without a query; keep the returned list referenced while
    they are used (the identity map holds them only weakly)."""
    loaded: list[object] = []
    loaded += (await session.scalars(select(Official).where(Official.id.in_(official_ids)))).all()
    if obligation_ids:
        query = select(Obligation).where(Obligation.id.in_(obligation_ids))
        loaded += (await session.scalars(query)).all()
    if task_ids:
        loaded += (await session.scalars(select(Task).where(Task.id.in_(task_ids)))).all()
    return loaded


async def handed_in_flags(
    session: AsyncSession, obligation_ids: Collection[int], official_ids: Collection[int]
) -> dict[tuple[int, int], bool]:
    """(obligation id, official id) → whether that official's report stands (handed in, not
    returned), for every assignee row among these."""
    if not obligation_ids or not official_ids:
        return {}
    flags = await session.execute(
        select(
            ObligationAssignee.obligation_id,
            ObligationAssignee.official_id,
            ObligationAssignee.handed_in,
        ).where(
            ObligationAssignee.obligation_id.in_(list(obligation_ids)),
            ObligationAssignee.official_id.in_(list(official_ids)),
        )
    )
    return {(o, p): bool(done) for o, p, done in flags}


async def handed_in(session: AsyncSession, obligation_id: int, official_id: int) -> bool:
    """Whether the official's report stands (handed in and not returned)."""
    flags = await handed_in_flags(session, [obligation_id], [official_id])
    return flags.get((obligation_id, official_id), False)


async def task_leads(session: AsyncSession, task_id: int) -> list[Official]:
    """The task's leads (chủ trì), by name: whom coordinators send their part to."""
    return list(
        await session.scalars(
            select(Official)
            .join(TaskAssignee, TaskAssignee.official_id == Official.id)
            .where(TaskAssignee.task_id == task_id, TaskAssignee.role == AssigneeRole.LEAD)
            .order_by(Official.full_name)
        )
    )


async def task_role(session: AsyncSession, task_id: int, official_id: int) -> AssigneeRole | None:
    """The official's part in the task (lead or coordinator), or None if not assigned."""
    return await session.scalar(
        select(TaskAssignee.role).where(
            TaskAssignee.task_id == task_id, TaskAssignee.official_id == official_id
        )
    )
