"""Where each official stands on one report or task at an instant: the one definition of
"chưa nộp" that every view of the desk reads (/quahan, /tonghop, the digests, the export).

A report's submitter has handed in on time, late, or not yet (`ReportOutcome`); "not yet"
carries its marks instead of being split into categories that one view counts and another
leaves out: an approved extension ("gia hạn đến …", `extended`), leave on the day
(`leave_until`), a returned version (`returned`), a date already past (`overdue`), and the
end of the overdue reminders (`chase_ended`, "đã ngừng nhắc"). A task's assignee is done or
not; a "blocked" answer keeps its reason (`blocked_reason`) after the deadline too.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.answers import latest_answers_for
from db.chase import CHASE_DAYS, chase_last
from db.deadlines import days_late
from db.desk.away import away_until
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
from db.series import series_next_due


class ReportOutcome(enum.StrEnum):
    """The matrix categories of a report; they partition its submitters."""

    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"  # not handed in (never, or returned); leave etc. are marks on it


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
    # The last day overdue reminders are sent for their date (`db.chase`).
    chase_last: date | None = None

    @property
    def on_leave(self) -> bool:
        return self.leave_until is not None

    @property
    def handed_in(self) -> bool:
        """Whether a version stands (handed in and not returned): the opposite of "chưa nộp"."""
        return self.current is not None

    @property
    def returned(self) -> bool:
        """Not handed in because the latest version was sent back."""
        return bool(self.versions) and self.current is None

    def overdue(self, today: date) -> bool:
        """Not handed in, and their date is over on local day `today`."""
        return self.current is None and self.due < today

    def chase_ended(self, today: date) -> bool:
        """Overdue, and the overdue reminders have ended ("đã ngừng nhắc")."""
        return self.overdue(today) and self.chase_last is not None and today > self.chase_last

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
            return ReportOutcome.MISSING
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
    # The task's own date when an extension moved theirs (None: no extension, or no date).
    subject_due: date | None = None

    @property
    def on_leave(self) -> bool:
        return self.leave_until is not None

    @property
    def lead(self) -> bool:
        """Whether they lead the task (chủ trì): digests count a task by its lead."""
        return self.role is AssigneeRole.LEAD

    @property
    def done(self) -> bool:
        """Whether their latest answer is "done"."""
        return self.last is not None and self.last.state is TaskState.DONE

    @property
    def extended(self) -> bool:
        """Whether an approved extension is the date that holds for them."""
        return self.due is not None and self.due != self.subject_due

    @property
    def blocked_reason(self) -> str | None:
        """The reason of their latest answer when it is "blocked" ("" when none was given)."""
        if self.last is None or self.last.state is not TaskState.BLOCKED:
            return None
        return self.last.note.strip()

    def overdue(self, today: date) -> bool:
        """Not done, and their date is over on local day `today`."""
        return not self.done and self.due is not None and self.due < today

    def chase_ended(self, today: date) -> bool:
        """Overdue, and the overdue reminders have ended ("đã ngừng nhắc")."""
        return (
            self.overdue(today)
            and self.due is not None
            and today > chase_last(self.due, CHASE_DAYS)
        )

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


def name_key(name_folded: str, official_id: int) -> tuple[str, str, int]:
    """Sort key of Vietnamese lists: by given name (the last word), then the full name."""
    return (name_folded.rsplit(" ", 1)[-1], name_folded, official_id)


def _by_name(official: Official) -> tuple[str, str, int]:
    return name_key(official.name_folded, official.id)


async def report_standings(
    session: AsyncSession,
    obligation: Obligation,
    today: date,
    among: Collection[int] | None = None,
) -> list[ReportStanding]:
    """Every active submitter of `obligation` (or those of them in `among`) with their
    versions, by name."""
    people_query = (
        select(Official, ObligationAssignee.extended_due, ObligationAssignee.own_due)
        .join(ObligationAssignee, ObligationAssignee.official_id == Official.id)
        .where(ObligationAssignee.obligation_id == obligation.id, Official.active.is_(True))
    )
    submissions = (
        select(Submission)
        .where(Submission.obligation_id == obligation.id)
        .options(selectinload(Submission.files))
        .order_by(Submission.official_id, Submission.version)
    )
    if among is not None:
        people_query = people_query.where(Official.id.in_(among))
        submissions = submissions.where(Submission.official_id.in_(among))
    people = list((await session.execute(people_query)).all())
    away = await away_until(session, [official.id for official, _, _ in people], today)
    next_due = (await series_next_due(session, [obligation.id])).get(obligation.id)
    versions: dict[int, list[Submission]] = defaultdict(list)
    for submission in await session.scalars(submissions):
        versions[submission.official_id].append(submission)
    standings = []
    for official, extended, own in people:
        due = effective_due(obligation.due_date, extended, own)
        standings.append(
            ReportStanding(
                official=official,
                due=due,
                subject_due=obligation.due_date,
                versions=tuple(versions.get(official.id, ())),
                leave_until=away.get(official.id),
                own_due=own,
                chase_last=chase_last(due, obligation.chase_days, next_due),
            )
        )
    return sorted(standings, key=lambda s: _by_name(s.official))


async def task_standings(session: AsyncSession, task: Task, today: date) -> list[TaskStanding]:
    """Every active assignee of `task` (leads first) with their latest status answer."""
    rows = await session.execute(
        select(Official, TaskAssignee.role, TaskAssignee.extended_due)
        .join(TaskAssignee, TaskAssignee.official_id == Official.id)
        .where(TaskAssignee.task_id == task.id, Official.active.is_(True))
    )
    people = list(rows.all())
    ids = [official.id for official, _, _ in people]
    latest = await latest_answers_for(session, task.id, ids)
    away = await away_until(session, ids, today)
    standings = [
        TaskStanding(
            official=official,
            role=role,
            due=effective_due(task.due_date, extended) if task.due_date else extended,
            last=latest.get(official.id),
            leave_until=away.get(official.id),
            subject_due=task.due_date,
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
