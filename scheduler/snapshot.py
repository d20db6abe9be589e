"""Reading the policy's view of a unit from the database: who owes what, who is away.

Only narrow columns are read (no ORM objects), because the sweep reads every open
assignment of the unit whenever a reminder slot comes round.

A report the child units submit (a province's, `children_submit`) is owed by other units'
people, their collectors: the unit's view holds them too, with their leave and chats, so they
get its reminders from this unit's sweep by their own date; but it gives them no role here,
so the unit's digests go to its own clerks and leaders only.

Each report carries what ends its overdue chase (issue 14): its `chase_days`, and the due
date of the next report of its series — the unit's next active report of the same kind, due
later, whose data window covers this one's (CCHC Quý I is followed by the 6-month report,
whose window starts on the same day and ends later).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.answers import latest_answer_ids, task_status_ids
from db.desk.dues import effective_due
from db.leaves import leave_days_of
from db.models import (
    ChannelIdentity,
    ExtensionState,
    LeavePeriod,
    LeaveRequest,
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
from scheduler.policy import (
    COORDINATE,
    ROLE_CLERK,
    ROLE_LEADER,
    ROLE_OFFICIAL,
    AssigneeState,
    ObligationView,
    OfficialView,
    PlanSnapshot,
    TaskView,
    UnitTimings,
)

# How far before `due_until` (weeks after the sweep) a plan load may have assigned a report
# whose notice is still to come: the next working slot, or after a leave of up to two months.
NOTICE_REACH = timedelta(days=90)


async def load_snapshot(
    session: AsyncSession, unit_id: int, due_until: date | None = None
) -> PlanSnapshot:
    """The unit's officials, active tasks, and the reports still owed (due by `due_until`,
    when given), with each assignee's state."""
    return PlanSnapshot(
        officials=await _officials(session, unit_id),
        obligations=await _obligations(session, unit_id, due_until),
        tasks=await _tasks(session, unit_id),
    )


def _people(unit_id: int) -> ColumnElement[bool]:
    """The unit's officials, and other units' people who still owe a report the unit's
    children submit."""
    owing_here = (
        select(ObligationAssignee.official_id)
        .join(Obligation, Obligation.id == ObligationAssignee.obligation_id)
        .where(
            Obligation.unit_id == unit_id,
            Obligation.active.is_(True),
            Obligation.children_submit.is_(True),
            ObligationAssignee.handed_in.is_(False),
        )
    )
    # One id list from two index lookups, not `unit_id = ? OR id IN (...)`: PostgreSQL cannot
    # use the unit index for that OR and scanned every official (and every chat) of the
    # database once per unit swept, so a sweep grew with the square of the table
    # (bench/growth.py).
    home = select(Official.id).where(Official.unit_id == unit_id)
    return Official.id.in_(home.union(owing_here))


async def _officials(session: AsyncSession, unit_id: int) -> dict[int, OfficialView]:
    people = _people(unit_id)
    # The plan's leave and leave approved in the chat alike: no reminders on those days.
    leaves = await leave_days_of(session, people)
    reachable = set(
        await session.scalars(
            select(ChannelIdentity.official_id)
            .join(Official, Official.id == ChannelIdentity.official_id)
            .where(people, ChannelIdentity.reachable.is_(True))
        )
    )
    views = {}
    for official_id, home, active, is_official, is_clerk, is_leader in await session.execute(
        select(
            Official.id,
            Official.unit_id,
            Official.active,
            Official.is_official,
            Official.is_clerk,
            Official.is_leader,
        ).where(people)
    ):
        flags: tuple[tuple[str, bool], ...] = (
            (ROLE_OFFICIAL, is_official),
            (ROLE_CLERK, is_clerk),
            (ROLE_LEADER, is_leader),
        )
        if home != unit_id:
            # A commune clerk is no clerk of the province: they only owe its report.
            flags = ((ROLE_OFFICIAL, True),)
        views[official_id] = OfficialView(
            official_id,
            active=active,
            roles=frozenset(role for role, on in flags if on),
            leaves=tuple(sorted(leaves.get(official_id, ()))),
            reachable=official_id in reachable,
        )
    return views


async def _obligations(
    session: AsyncSession, unit_id: int, due_until: date | None
) -> list[ObligationView]:
    # Who handed in gets no reminder and is in no digest: read only who still owes
    # (handed_in is kept by triggers, see db/desk/handed_in.py), and no report due after
    # `due_until`, which no reminder of this window can be about.
    rows = (
        await session.execute(
            select(
                Obligation.id,
                Obligation.code,
                Obligation.title,
                Obligation.due_date,
                Obligation.window_start,
                Obligation.window_end,
                Obligation.templates,
                Obligation.chase_days,
                ObligationAssignee.official_id,
                ObligationAssignee.extended_due,
                ObligationAssignee.own_due,
                ObligationAssignee.assigned_at,
            )
            .join(ObligationAssignee, ObligationAssignee.obligation_id == Obligation.id)
            .where(Obligation.unit_id == unit_id, *_owing(due_until))
            .order_by(Obligation.id, ObligationAssignee.official_id)
        )
    ).all()
    returned = await _returned_at(session, {row.id for row in rows})
    next_due = await series_next_due(session, {row.id for row in rows})
    # An approved extension gives its official a due date of their own: a view of its own.
    groups: dict[tuple[int, date], list[AssigneeState]] = defaultdict(list)
    subjects: dict[int, Any] = {}
    for row in rows:
        subjects[row.id] = row
        due = effective_due(row.due_date, row.extended_due, row.own_due)
        restarted = returned.get((row.id, row.official_id))
        groups[(row.id, due)].append(
            AssigneeState(row.official_id, restarted_at=restarted, assigned_at=row.assigned_at)
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
            chase_days=subjects[ob_id].chase_days,
            series_next_due=next_due.get(ob_id),
        )
        for (ob_id, due), states in groups.items()
    ]


def _owing(due_until: date | None) -> list[ColumnElement[bool]]:
    """The assignments of active reports still owed (and due by `due_until`, when given)."""
    owing: list[ColumnElement[bool]] = [
        Obligation.active.is_(True),
        ObligationAssignee.handed_in.is_(False),
    ]
    if due_until is not None:
        # A child unit's own date on a report its children submit may come before the report's;
        # a row a plan load gave lately may still owe its assignment notice, whatever its date.
        recent = datetime.combine(due_until - NOTICE_REACH, time.min, tzinfo=UTC)
        owing.append(
            or_(
                Obligation.due_date <= due_until,
                Obligation.children_submit.is_(True),
                ObligationAssignee.assigned_at >= recent,
            )
        )
    return owing


async def unit_timings(session: AsyncSession, due_until: date) -> dict[int, UnitTimings]:
    """Every unit's `UnitTimings` over what `load_snapshot(..., due_until)` would read, in
    three statements whatever the number of units: the sweep loads the snapshot only of a
    unit whose timings may give a reminder in its window (issue 17)."""
    subjects: dict[int, set[tuple[date | None, str | None, date | None, int | None]]]
    subjects = defaultdict(set)
    latest: dict[int, datetime] = {}
    away: set[int] = set()

    def assigned(unit_id: int, at: datetime | None) -> None:
        if at is not None and (unit_id not in latest or at > latest[unit_id]):
            latest[unit_id] = at

    owing = _owing(due_until)
    for unit_id, due, extended, own, chase_days, at in await session.execute(
        select(
            Obligation.unit_id,
            Obligation.due_date,
            ObligationAssignee.extended_due,
            ObligationAssignee.own_due,
            Obligation.chase_days,
            func.max(ObligationAssignee.assigned_at),
        )
        .join(ObligationAssignee, ObligationAssignee.obligation_id == Obligation.id)
        .where(*owing)
        .group_by(
            Obligation.unit_id,
            Obligation.due_date,
            ObligationAssignee.extended_due,
            ObligationAssignee.own_due,
            Obligation.chase_days,
        )
    ):
        subjects[unit_id].add((effective_due(due, extended, own), None, None, chase_days))
        assigned(unit_id, at)
    for unit_id, deadline, extension, checkin_rule, checkin_start, at in await session.execute(
        select(
            Task.unit_id,
            Task.due_date,
            TaskAssignee.extended_due,
            Task.checkin_rrule,
            Task.checkin_start,
            func.max(TaskAssignee.assigned_at),
        )
        .join(TaskAssignee, TaskAssignee.task_id == Task.id)
        .where(Task.active.is_(True))
        .group_by(
            Task.unit_id,
            Task.due_date,
            TaskAssignee.extended_due,
            Task.checkin_rrule,
            Task.checkin_start,
        )
    ):
        # As `_tasks` groups them: the task's date, an extension when later, or the extension.
        task_due = effective_due(deadline, extension) if deadline else extension
        subjects[unit_id].add((task_due, checkin_rule, checkin_start, None))
        assigned(unit_id, at)
    # Who has any leave at all, the plan's or approved in the chat, as `leave_days_of` reads.
    on_leave = select(LeavePeriod.official_id).union(
        select(LeaveRequest.official_id).where(LeaveRequest.state == ExtensionState.APPROVED)
    )
    away_units = (
        select(Obligation.unit_id)
        .join(ObligationAssignee, ObligationAssignee.obligation_id == Obligation.id)
        .where(*owing, ObligationAssignee.official_id.in_(on_leave))
        .union(
            select(Task.unit_id)
            .join(TaskAssignee, TaskAssignee.task_id == Task.id)
            .where(Task.active.is_(True), TaskAssignee.official_id.in_(on_leave))
        )
    )
    away.update(await session.scalars(away_units))
    return {
        unit_id: UnitTimings(
            frozenset(subjects.get(unit_id, ())), latest.get(unit_id), unit_id in away
        )
        for unit_id in subjects.keys() | latest.keys() | away
    }


async def _returned_at(
    session: AsyncSession, obligation_ids: set[int]
) -> dict[tuple[int, int], datetime]:
    """When a report owed again was last sent back to its official: reminders restart there."""
    found: dict[tuple[int, int], datetime] = {}
    ids = sorted(obligation_ids)
    for start in range(0, len(ids), 500):
        rows = await session.execute(
            select(
                Submission.obligation_id,
                Submission.official_id,
                func.max(Submission.reviewed_at),
            )
            .where(
                Submission.obligation_id.in_(ids[start : start + 500]),
                Submission.review_state == ReviewState.RETURNED,
            )
            .group_by(Submission.obligation_id, Submission.official_id)
        )
        for obligation_id, official_id, at in rows:
            if obligation_id is not None and at is not None:
                found[(obligation_id, official_id)] = at
    return found


def _templates(stored: list[Any]) -> tuple[tuple[str, str | None], ...]:
    return tuple((t["name"], t.get("path")) for t in stored if isinstance(t, dict))


async def _tasks(session: AsyncSession, unit_id: int) -> list[TaskView]:
    # The task's status is its leads' latest answer; a coordinator's own is their part.
    latest = latest_answer_ids(StatusUpdate.unit_id == unit_id)
    status = task_status_ids(StatusUpdate.unit_id == unit_id)
    own, lead = aliased(StatusUpdate), aliased(StatusUpdate)
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
            TaskAssignee.role,
            TaskAssignee.assigned_at,
            own.state,
            lead.state.label("task_state"),
        )
        .join(TaskAssignee, TaskAssignee.task_id == Task.id)
        .outerjoin(
            latest,
            (latest.c.task_id == Task.id) & (latest.c.official_id == TaskAssignee.official_id),
        )
        .outerjoin(own, own.id == latest.c.id)
        .outerjoin(status, status.c.task_id == Task.id)
        .outerjoin(lead, lead.id == status.c.id)
        .where(Task.unit_id == unit_id, Task.active.is_(True))
        .order_by(Task.id, TaskAssignee.official_id)
    )
    groups: dict[tuple[int, date | None], list[AssigneeState]] = defaultdict(list)
    subjects: dict[int, Any] = {}
    for row in rows:
        subjects[row.id] = row
        due = effective_due(row.due_date, row.extended_due) if row.due_date else row.extended_due
        role = row.role.value
        done = row.task_state is TaskState.DONE or (
            role == COORDINATE and row.state is TaskState.DONE
        )
        groups[(row.id, due)].append(
            AssigneeState(row.official_id, done=done, role=role, assigned_at=row.assigned_at)
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
