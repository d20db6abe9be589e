"""The plan as it stands in the database: a unit's active tasks and reports, for `plan show`."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.models import AuditEntry, Obligation, Task, TaskAssignee
from db.task_codes import code_order


async def active_tasks(session: AsyncSession, unit_id: int) -> list[Task]:
    """The unit's active tasks in task-code order, with their assignees and officials loaded."""
    rows = await session.scalars(
        select(Task)
        .where(Task.unit_id == unit_id, Task.active.is_(True))
        .options(selectinload(Task.assignees).selectinload(TaskAssignee.official))
    )
    return sorted(rows, key=lambda task: code_order(task.code))


async def active_reports(
    session: AsyncSession, unit_id: int, year: int | None = None
) -> list[Obligation]:
    """The unit's active reports (due in `year` when given) by due date, with their
    assignees and collector loaded."""
    query = (
        select(Obligation)
        .where(Obligation.unit_id == unit_id, Obligation.active.is_(True))
        .options(selectinload(Obligation.assignees), selectinload(Obligation.collector))
        .order_by(Obligation.due_date, Obligation.code)
    )
    if year is not None:
        query = query.where(
            Obligation.due_date >= date(year, 1, 1), Obligation.due_date < date(year + 1, 1, 1)
        )
    return list(await session.scalars(query))


async def last_loaded_file(session: AsyncSession, unit_id: int) -> str | None:
    """The file the unit's plan was last loaded from (YAML or workbook), as the load's audit
    entry names it; None before any load changed something."""
    details = await session.scalar(
        select(AuditEntry.details)
        .where(AuditEntry.unit_id == unit_id, AuditEntry.action == "plan.load")
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(1)
    )
    if not isinstance(details, dict) or not isinstance(details.get("file"), str):
        return None
    return str(details["file"])
