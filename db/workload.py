"""What one official owes: their tasks and reports, with their last answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.answers import latest_answer_ids, task_status_ids
from db.desk.dues import effective_due
from db.models import (
    AssigneeRole,
    Obligation,
    ObligationAssignee,
    ReviewState,
    StatusUpdate,
    Submission,
    Task,
    TaskAssignee,
    TaskState,
)
from db.task_codes import code_order


@dataclass(frozen=True)
class TaskItem:
    """A task assigned to the official, with their latest status answer."""

    task: Task
    role: AssigneeRole
    last_state: TaskState | None
    last_at: datetime | None
    extended_due: date | None = None
    # The task's status: its leads' latest answer (the same as `last_state` for a sole lead).
    task_state: TaskState | None = None

    @property
    def due(self) -> date | None:
        """This official's due date: the task's, or their approved extension."""
        if self.task.due_date is None:
            return self.extended_due
        return effective_due(self.task.due_date, self.extended_due)

    @property
    def open(self) -> bool:
        """Still to work on: the task is not done, nor is this official's own part."""
        return self.task_state is not TaskState.DONE and self.last_state is not TaskState.DONE


@dataclass(frozen=True)
class ReportItem:
    """An obligation the official must submit, with their latest submission."""

    obligation: Obligation
    last_version: int | None
    last_review: ReviewState | None
    last_at: datetime | None
    extended_due: date | None = None
    # Their own date from the plan (a child unit's forward_due on its parent's report).
    own_due: date | None = None

    @property
    def due(self) -> date:
        """This official's due date: the report's or their own, or their approved extension."""
        return effective_due(self.obligation.due_date, self.extended_due, self.own_due)

    @property
    def submitted(self) -> bool:
        """Handed in and not sent back: no reminders are owed for it."""
        return self.last_version is not None and self.last_review is not ReviewState.RETURNED

    @property
    def accepted(self) -> bool:
        return self.last_review is ReviewState.ACCEPTED


def urgency(due: date | None) -> tuple[int, date]:
    """Sort key: dated items by due date (the latest-overdue first), undated last."""
    return (0, due) if due is not None else (1, date.max)


async def task_items(session: AsyncSession, official_id: int) -> list[TaskItem]:
    """Active tasks the official leads or coordinates, most urgent first."""
    latest = latest_answer_ids(StatusUpdate.official_id == official_id)
    mine = select(TaskAssignee.task_id).where(TaskAssignee.official_id == official_id)
    status = task_status_ids(StatusUpdate.task_id.in_(mine))
    lead = aliased(StatusUpdate)
    rows = await session.execute(
        select(
            Task,
            TaskAssignee.role,
            StatusUpdate.state,
            StatusUpdate.at,
            TaskAssignee.extended_due,
            lead.state,
        )
        .join(TaskAssignee, TaskAssignee.task_id == Task.id)
        .outerjoin(latest, latest.c.task_id == Task.id)
        .outerjoin(StatusUpdate, StatusUpdate.id == latest.c.id)
        .outerjoin(status, status.c.task_id == Task.id)
        .outerjoin(lead, lead.id == status.c.id)
        .where(TaskAssignee.official_id == official_id, Task.active.is_(True))
    )
    items = [TaskItem(*row) for row in rows]
    items.sort(key=lambda i: (not i.task.priority, *urgency(i.due), code_order(i.task.code)))
    return items


async def report_items(session: AsyncSession, official_id: int) -> list[ReportItem]:
    """Active obligations the official must submit, by due date."""
    latest = (
        select(
            Submission.obligation_id.label("obligation_id"),
            func.max(Submission.version).label("version"),
        )
        .where(Submission.official_id == official_id, Submission.obligation_id.is_not(None))
        .group_by(Submission.obligation_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Obligation,
            Submission.version,
            Submission.review_state,
            Submission.submitted_at,
            ObligationAssignee.extended_due,
            ObligationAssignee.own_due,
        )
        .join(ObligationAssignee, ObligationAssignee.obligation_id == Obligation.id)
        .outerjoin(latest, latest.c.obligation_id == Obligation.id)
        .outerjoin(
            Submission,
            (Submission.obligation_id == Obligation.id)
            & (Submission.official_id == official_id)
            & (Submission.version == latest.c.version),
        )
        .where(ObligationAssignee.official_id == official_id, Obligation.active.is_(True))
    )
    items = [ReportItem(*row) for row in rows]
    items.sort(key=lambda i: (i.due, i.obligation.code))
    return items
