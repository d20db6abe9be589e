"""Where each official stands on one report or task: the cells of the clerk's matrix."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.answers import latest_answers_for
from db.deadlines import days_late
from db.desk.dues import effective_due
from db.models import (
    AssigneeRole,
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


class ReportOutcome(enum.StrEnum):
    """The matrix categories of a report; they partition its submitters."""

    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"
    ON_LEAVE = "on_leave"  # not submitted, and on leave today


class TaskOutcome(enum.StrEnum):
    """The categories Vietnamese task tracking uses; they partition a task's assignees."""

    DONE_ON_TIME = "done_on_time"
    DONE_LATE = "done_late"
    # Done, and the task has no deadline: neither on time nor late, so never "đúng hạn".
    DONE = "done"
    IN_PROGRESS = "in_progress"
    OVERDUE = "overdue"  # past the official's due date and not done
    BLOCKED = "blocked"
    NOT_STARTED = "not_started"

    @property
    def done(self) -> bool:
        """Whether the assignee has finished (on time, late, or without a deadline)."""
        return self in (TaskOutcome.DONE_ON_TIME, TaskOutcome.DONE_LATE, TaskOutcome.DONE)


@dataclass(frozen=True)
class ReportStanding:
    """One submitter of a report: their due date, every version they sent, leave today."""

    official: Official
    due: date
    subject_due: date
    versions: tuple[Submission, ...]
    leave_until: date | None  # the last day of the leave they are on today
    # Their own date from the plan (a child unit's clerk on the parent's report), if any.
    own_due: date | None = None

    @property
    def on_leave(self) -> bool:
        return self.leave_until is not None

    @property
    def extended(self) -> bool:
        """Whether an approved extension is the date that holds for them."""
        return self.due != (self.own_due or self.subject_due)

    @property
    def latest(self) -> Submission | None:
        return self.versions[-1] if self.versions else None

    @property
    def current(self) -> Submission | None:
        """The first version since the last one sent back: it decides on time or late.

        A correction sent after an accepted or pending version does not make a report late.
        """
        if not self.versions or self.versions[-1].review_state is ReviewState.RETURNED:
            return None
        returned = [s.version for s in self.versions if s.review_state is ReviewState.RETURNED]
        after = max(returned, default=0)
        return next(s for s in self.versions if s.version > after)

    def outcome(self, tz: ZoneInfo) -> ReportOutcome:
        current = self.current
        if current is None:
            return ReportOutcome.ON_LEAVE if self.on_leave else ReportOutcome.MISSING
        late = days_late(self.due, current.submitted_at, tz)
        return ReportOutcome.LATE if late else ReportOutcome.ON_TIME

    def late_days(self, tz: ZoneInfo) -> int:
        """Days late of the submission that counts (0 when none or on time)."""
        current = self.current
        return days_late(self.due, current.submitted_at, tz) if current else 0


@dataclass(frozen=True)
class TaskStanding:
    """One assignee of a task: role, own due date, latest status answer, leave today."""

    official: Official
    role: AssigneeRole
    due: date | None
    last: StatusUpdate | None
    leave_until: date | None

    @property
    def on_leave(self) -> bool:
        return self.leave_until is not None

    def outcome(self, today: date, tz: ZoneInfo) -> TaskOutcome:
        state = self.last.state if self.last else None
        if state is TaskState.DONE:
            assert self.last is not None
            if self.due is None:
                return TaskOutcome.DONE
            if days_late(self.due, self.last.at, tz):
                return TaskOutcome.DONE_LATE
            return TaskOutcome.DONE_ON_TIME
        if self.due is not None and self.due < today:
            return TaskOutcome.OVERDUE
        if state is TaskState.BLOCKED:
            return TaskOutcome.BLOCKED
        if state is TaskState.IN_PROGRESS:
            return TaskOutcome.IN_PROGRESS
        return TaskOutcome.NOT_STARTED


def leave_until(official: Official, today: date) -> date | None:
    """The last day of the leave `official` is on today, or None (leaves must be loaded)."""
    return max(
        (p.ends_on for p in official.leaves if p.starts_on <= today <= p.ends_on), default=None
    )


def name_key(name_folded: str, official_id: int) -> tuple[str, str, int]:
    """Sort key of Vietnamese lists: by given name (the last word), then the full name."""
    return (name_folded.rsplit(" ", 1)[-1], name_folded, official_id)


def _by_name(official: Official) -> tuple[str, str, int]:
    return name_key(official.name_folded, official.id)


async def report_standings(
    session: AsyncSession, obligation: Obligation, today: date
) -> list[ReportStanding]:
    """Every active submitter of `obligation` with their versions, by name."""
    rows = await session.execute(
        select(Official, ObligationAssignee.extended_due, ObligationAssignee.own_due)
        .join(ObligationAssignee, ObligationAssignee.official_id == Official.id)
        .where(ObligationAssignee.obligation_id == obligation.id, Official.active.is_(True))
        .options(selectinload(Official.leaves))
    )
    people = list(rows.all())
    versions: dict[int, list[Submission]] = defaultdict(list)
    for submission in await session.scalars(
        select(Submission)
        .where(Submission.obligation_id == obligation.id)
        .options(selectinload(Submission.files))
        .order_by(Submission.official_id, Submission.version)
    ):
        versions[submission.official_id].append(submission)
    standings = [
        ReportStanding(
            official=official,
            due=effective_due(obligation.due_date, extended, own),
            subject_due=obligation.due_date,
            versions=tuple(versions.get(official.id, ())),
            leave_until=leave_until(official, today),
            own_due=own,
        )
        for official, extended, own in people
    ]
    return sorted(standings, key=lambda s: _by_name(s.official))


async def task_standings(session: AsyncSession, task: Task, today: date) -> list[TaskStanding]:
    """Every active assignee of `task` (leads first) with their latest status answer."""
    rows = await session.execute(
        select(Official, TaskAssignee.role, TaskAssignee.extended_due)
        .join(TaskAssignee, TaskAssignee.official_id == Official.id)
        .where(TaskAssignee.task_id == task.id, Official.active.is_(True))
        .options(selectinload(Official.leaves))
    )
    people = list(rows.all())
    latest = await latest_answers_for(session, task.id, [official.id for official, _, _ in people])
    standings = [
        TaskStanding(
            official=official,
            role=role,
            due=effective_due(task.due_date, extended) if task.due_date else None,
            last=latest.get(official.id),
            leave_until=leave_until(official, today),
        )
        for official, role, extended in people
    ]
    return sorted(standings, key=lambda s: (s.role is not AssigneeRole.LEAD, *_by_name(s.official)))


def count_outcomes(outcomes: Sequence[enum.StrEnum]) -> dict[str, int]:
    """How many of each outcome value."""
    counts: dict[str, int] = defaultdict(int)
    for outcome in outcomes:
        counts[outcome.value] += 1
    return dict(counts)
