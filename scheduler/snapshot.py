"""Reading the policy's view of a unit from the database: who owes what, who is away.

Only narrow columns are read (no ORM objects), because the sweep reads every open
assignment of the unit whenever a reminder slot comes round.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.dues import effective_due
from db.models import (
    ChannelIdentity,
    LeavePeriod,
    Obligation,
    ObligationAssignee,
    Official,
    ReviewState,
    StatusUpdate,
    Submission,
    Task,
    TaskAssignee,
    TaskState,
)
from scheduler.policy import (
    ROLE_CLERK,
    ROLE_LEADER,
    ROLE_OFFICIAL,
    AssigneeState,
    ObligationView,
    OfficialView,
    PlanSnapshot,
    TaskView,
)


async def load_snapshot(session: AsyncSession, unit_id: int) -> PlanSnapshot:
    """The unit's officials, active obligations and active tasks, with each assignee's state."""
    return PlanSnapshot(
        officials=await _officials(session, unit_id),
        obligations=await _obligations(session, unit_id),
        tasks=await _tasks(session, unit_id),
    )


async def _officials(session: AsyncSession, unit_id: int) -> dict[int, OfficialView]:
    leaves: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for official_id, start, end in await session.execute(
        select(LeavePeriod.official_id, LeavePeriod.starts_on, LeavePeriod.ends_on)
        .join(Official, Official.id == LeavePeriod.official_id)
        .where(Official.unit_id == unit_id)
    ):
        leaves[official_id].append((start, end))
    reachable = set(
        await session.scalars(
            select(ChannelIdentity.official_id)
            .join(Official, Official.id == ChannelIdentity.official_id)
            .where(Official.unit_id == unit_id, ChannelIdentity.reachable.is_(True))
        )
    )
    views = {}
    for official_id, active, is_official, is_clerk, is_leader in await session.execute(
        select(
            Official.id,
            Official.active,
            Official.is_official,
            Official.is_clerk,
            Official.is_leader,
        ).where(Official.unit_id == unit_id)
    ):
        flags = ((ROLE_OFFICIAL, is_official), (ROLE_CLERK, is_clerk), (ROLE_LEADER, is_leader))
        views[official_id] = OfficialView(
            official_id,
            active=active,
            roles=frozenset(role for role, on in flags if on),
            leaves=tuple(sorted(leaves.get(official_id, ()))),
            reachable=official_id in reachable,
        )
    return views


async def _obligations(session: AsyncSession, unit_id: int) -> list[ObligationView]:
    latest = (
        select(
            Submission.obligation_id,
            Submission.official_id,
            func.max(Submission.version).label("version"),
        )
        .where(Submission.unit_id == unit_id, Submission.obligation_id.is_not(None))
        .group_by(Submission.obligation_id, Submission.official_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Obligation.id,
            Obligation.code,
            Obligation.title,
            Obligation.due_date,
            Obligation.window_start,
            Obligation.window_end,
            Obligation.templates,
            ObligationAssignee.official_id,
            ObligationAssignee.extended_due,
            Submission.review_state,
            Submission.reviewed_at,
            Submission.submitted_at,
        )
        .join(ObligationAssignee, ObligationAssignee.obligation_id == Obligation.id)
        .outerjoin(
            latest,
            (latest.c.obligation_id == Obligation.id)
            & (latest.c.official_id == ObligationAssignee.official_id),
        )
        .outerjoin(
            Submission,
            (Submission.obligation_id == Obligation.id)
            & (Submission.official_id == ObligationAssignee.official_id)
            & (Submission.version == latest.c.version),
        )
        # Who handed in gets no reminder and is in no digest: read only who still owes
        # (handed_in is kept by triggers, see db/desk/handed_in.py).
        .where(
            Obligation.unit_id == unit_id,
            Obligation.active.is_(True),
            ObligationAssignee.handed_in.is_(False),
        )
        .order_by(Obligation.id, ObligationAssignee.official_id)
    )
    # An approved extension gives its official a due date of their own: a view of its own.
    groups: dict[tuple[int, date], list[AssigneeState]] = defaultdict(list)
    subjects: dict[int, Any] = {}
    for row in rows:
        subjects[row.id] = row
        due = effective_due(row.due_date, row.extended_due)
        returned = row.review_state is ReviewState.RETURNED
        groups[(row.id, due)].append(
            AssigneeState(
                row.official_id,
                done=row.review_state is not None and not returned,
                done_at=row.submitted_at if row.review_state and not returned else None,
                restarted_at=row.reviewed_at if returned else None,
            )
        )
    return [
        ObligationView(
            ob_id,
            subjects[ob_id].code,
            subjects[ob_id].title,
            due,
            subjects[ob_id].window_start,
            subjects[ob_id].window_end,
            templates=_templates(subjects[ob_id].templates),
            assignees=tuple(states),
        )
        for (ob_id, due), states in groups.items()
    ]


def _templates(stored: list[Any]) -> tuple[tuple[str, str | None], ...]:
    return tuple((t["name"], t.get("path")) for t in stored if isinstance(t, dict))


async def _tasks(session: AsyncSession, unit_id: int) -> list[TaskView]:
    latest = (
        select(
            StatusUpdate.task_id, StatusUpdate.official_id, func.max(StatusUpdate.id).label("id")
        )
        .where(StatusUpdate.unit_id == unit_id)
        .group_by(StatusUpdate.task_id, StatusUpdate.official_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Task.id,
            Task.code,
            Task.title,
            Task.due_date,
            Task.checkin_rrule,
            Task.checkin_start,
            TaskAssignee.official_id,
            TaskAssignee.extended_due,
            StatusUpdate.state,
            StatusUpdate.at,
        )
        .join(TaskAssignee, TaskAssignee.task_id == Task.id)
        .outerjoin(
            latest,
            (latest.c.task_id == Task.id) & (latest.c.official_id == TaskAssignee.official_id),
        )
        .outerjoin(StatusUpdate, StatusUpdate.id == latest.c.id)
        .where(Task.unit_id == unit_id, Task.active.is_(True))
        .order_by(Task.id, TaskAssignee.official_id)
    )
    groups: dict[tuple[int, date | None], list[AssigneeState]] = defaultdict(list)
    subjects: dict[int, Any] = {}
    for row in rows:
        subjects[row.id] = row
        due = effective_due(row.due_date, row.extended_due) if row.due_date else row.extended_due
        done = row.state is TaskState.DONE
        groups[(row.id, due)].append(
            AssigneeState(row.official_id, done=done, done_at=row.at if done else None)
        )
    return [
        TaskView(
            task_id,
            subjects[task_id].code,
            subjects[task_id].title,
            due,
            subjects[task_id].checkin_rrule,
            subjects[task_id].checkin_start,
            assignees=tuple(states),
        )
        for (task_id, due), states in groups.items()
    ]
