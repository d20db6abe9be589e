"""Status answers to tasks, each one kept and audited, and which of them is the latest.

An official's latest answer to a task is the one recorded last: the greatest `id`. Not the
greatest `at`: `at` is the time of the turn that recorded it, read from the injectable clock,
so a backdated clock (`--at`, the demo, a replayed session) records a newer answer with an
older `at`. What the person said last is their current word, whatever its stamp. Every view
(status prompt, reminders, sweep, workload, the desk) reads "latest" through the builders
below; the history (the export) is another question and orders by `at`.

A task's status is its lead's word (issue 14): the latest answer among its leads (chủ trì),
read through `task_status_ids` / `task_status`. A coordinator's answers are their part:
kept and shown as theirs, they never change the task's status.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, ScalarSelect, SQLColumnExpression, Subquery, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db import audit
from db.models import AssigneeRole, Official, StatusUpdate, Task, TaskAssignee, TaskState

# The same answer again this soon is one answer tapped twice (a double tap, a tap repeated
# while the first was still on its way), not a second answer.
REPEAT_WINDOW = timedelta(seconds=10)


def latest_answer_ids(*criteria: ColumnElement[bool]) -> Subquery:
    """A subquery: for each (task_id, official_id) among the answers matching `criteria`
    (over `StatusUpdate`), the `id` of the latest; join `StatusUpdate` on it for the row."""
    return (
        select(
            StatusUpdate.task_id,
            StatusUpdate.official_id,
            func.max(StatusUpdate.id).label("id"),
        )
        .where(*criteria)
        .group_by(StatusUpdate.task_id, StatusUpdate.official_id)
        .subquery("latest_answers")
    )


def task_status_ids(*criteria: ColumnElement[bool]) -> Subquery:
    """A subquery: for each task among the answers matching `criteria`, the `id` of its
    status, the latest answer of any of its leads; join `StatusUpdate` on it for the row."""
    return (
        select(StatusUpdate.task_id, func.max(StatusUpdate.id).label("id"))
        .join(
            TaskAssignee,
            (TaskAssignee.task_id == StatusUpdate.task_id)
            & (TaskAssignee.official_id == StatusUpdate.official_id),
        )
        .where(TaskAssignee.role == AssigneeRole.LEAD, *criteria)
        .group_by(StatusUpdate.task_id)
        .subquery("task_status")
    )


async def task_status(session: AsyncSession, task_id: int) -> StatusUpdate | None:
    """The task's status: its leads' latest answer, or None when no lead answered."""
    status = task_status_ids(StatusUpdate.task_id == task_id)
    return await session.scalar(select(StatusUpdate).join(status, status.c.id == StatusUpdate.id))


def latest_answer_id(
    task_id: SQLColumnExpression[int] | int, official_id: SQLColumnExpression[int] | int
) -> ScalarSelect[int]:
    """The id of one (task, official)'s latest answer (NULL if none): correlated when given
    columns of an enclosing query, such as `TaskAssignee.task_id, TaskAssignee.official_id`."""
    # An alias of its own, so an enclosing query that joins StatusUpdate does not capture it.
    answer = aliased(StatusUpdate)
    return (
        select(func.max(answer.id))
        .where(answer.task_id == task_id, answer.official_id == official_id)
        .scalar_subquery()
    )


async def latest_answer(
    session: AsyncSession, task_id: int, official_id: int
) -> StatusUpdate | None:
    """The official's latest answer to the task, or None."""
    return await session.scalar(
        select(StatusUpdate).where(StatusUpdate.id == latest_answer_id(task_id, official_id))
    )


async def latest_answer_by(session: AsyncSession, official_id: int) -> StatusUpdate | None:
    """The official's latest answer to any task (the greatest `id`), or None."""
    return await session.scalar(
        select(StatusUpdate)
        .where(StatusUpdate.official_id == official_id)
        .order_by(StatusUpdate.id.desc())
        .limit(1)
    )


async def latest_answers_for(
    session: AsyncSession, task_id: int, official_ids: Collection[int]
) -> dict[int, StatusUpdate]:
    """The latest answer to the task of each of `official_ids` who answered, by official id."""
    if not official_ids:
        return {}
    latest = latest_answer_ids(
        StatusUpdate.task_id == task_id, StatusUpdate.official_id.in_(sorted(official_ids))
    )
    rows = await session.scalars(select(StatusUpdate).join(latest, latest.c.id == StatusUpdate.id))
    return {update.official_id: update for update in rows}


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
    """Add a status answer (never edits an earlier one) and its audit entry.

    The same answer (state, note, percent) as the official's latest one to the task, within
    `REPEAT_WINDOW` of it, is that answer given twice: it is returned and nothing is added."""
    # Two taps handled at once wait for each other here, so the second sees the first.
    await session.execute(
        select(TaskAssignee.task_id)
        .where(TaskAssignee.task_id == task.id, TaskAssignee.official_id == official.id)
        .with_for_update()
    )
    latest = await latest_answer(session, task.id, official.id)
    if (
        latest is not None
        and (latest.state, latest.note, latest.percent) == (state, note, percent)
        and abs(at - latest.at) <= REPEAT_WINDOW
    ):
        return latest
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
