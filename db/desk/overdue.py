"""What is overdue now: reports not handed in and tasks not done after each official's due date.

The reports side starts from the obligations already past their date (index on
`obligations (unit_id, active, due_date)`) and reads only their open assignee rows (index on
`obligation_assignees (obligation_id, handed_in)`, the flag kept by triggers, see
`db.desk.handed_in`), so the work follows the size of the answer, not of the submissions.
Details (the latest version's review, leave, reminders sent) are then read for the rows of
the answer alone, through `submissions (official_id, obligation_id, version)`.

A report the child units submit (a province's) is owed by each commune's clerk by their own
date; its rows carry the commune, and are ordered by it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import outbox
from db.answers import latest_answer_id
from db.desk.dues import effective_due, effective_due_sql
from db.desk.standing import name_key
from db.kinds import OBLIGATION, TASK
from db.models import (
    AssigneeRole,
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
    Unit,
)
from db.names import fold_name
from db.task_codes import code_order


@dataclass(frozen=True)
class OverdueRow:
    """One official late on one report or task."""

    official_id: int
    full_name: str
    department: str
    due: date
    role: AssigneeRole | None  # tasks only
    # Reports: None (never sent) or RETURNED; tasks: the latest answer, if any.
    last_state: ReviewState | TaskState | None
    last_at: datetime | None
    leave_until: date | None = None  # the last day of the leave they are on today
    reminders_sent: int = 0
    extended: bool = False  # `due` is an approved extension, not their plan's date
    # The official's unit: on a report the children submit, the commune that owes it.
    unit_name: str = ""

    @property
    def on_leave(self) -> bool:
        return self.leave_until is not None


@dataclass(frozen=True)
class OverdueGroup:
    """A report or task with the officials late on it, out of `total` who owe it."""

    kind: str  # OBLIGATION or TASK
    subject_id: int
    code: str
    title: str
    due: date
    total: int
    rows: Sequence[OverdueRow] = field(default_factory=tuple)
    children_submit: bool = False  # owed by the child units' clerks, one row per commune


@dataclass(frozen=True)
class OverdueFilter:
    """Narrow the answer to one report, one task, or some departments."""

    obligation_id: int | None = None
    task_id: int | None = None
    departments: Collection[str] | None = None

    @property
    def reports(self) -> bool:
        return self.task_id is None

    @property
    def tasks(self) -> bool:
        return self.obligation_id is None


async def overdue(
    session: AsyncSession, unit_id: int, today: date, only: OverdueFilter | None = None
) -> list[OverdueGroup]:
    """Reports then tasks overdue on local day `today`, oldest due date first."""
    only = only or OverdueFilter()
    groups: list[OverdueGroup] = []
    if only.reports:
        groups += await _overdue_reports(session, unit_id, today, only)
    if only.tasks:
        groups += await _overdue_tasks(session, unit_id, today, only)
    return groups


def _department(only: OverdueFilter) -> list[ColumnElement[bool]]:
    if only.departments is None:
        return []
    return [Official.department.in_(list(only.departments))]


async def _overdue_reports(
    session: AsyncSession, unit_id: int, today: date, only: OverdueFilter
) -> list[OverdueGroup]:
    # Plain single-table queries, so no planner (even one without statistics after a bulk
    # load) can turn this into a walk over every official times every report.
    past = select(Obligation.id).where(
        Obligation.unit_id == unit_id,
        Obligation.active.is_(True),
        # No extension moves a date earlier, so this bound lets the due-date index work; only
        # a child unit's own date on a report the children submit may fall before the report's.
        or_(Obligation.due_date < today, Obligation.children_submit.is_(True)),
    )
    if only.obligation_id is not None:
        past = past.where(Obligation.id == only.obligation_id)
    open_rows = (
        await session.execute(
            select(
                ObligationAssignee.obligation_id,
                ObligationAssignee.official_id,
                ObligationAssignee.extended_due,
                ObligationAssignee.own_due,
            ).where(
                ObligationAssignee.obligation_id.in_(past.scalar_subquery()),
                ObligationAssignee.handed_in == false(),
            )
        )
    ).all()
    if not open_rows:
        return []
    obligations = {
        o.id: o
        for o in await session.scalars(
            select(Obligation).where(Obligation.id.in_({r[0] for r in open_rows}))
        )
    }
    late: list[tuple[int, int, date, bool]] = []  # report, official, their date, extended
    for obligation_id, official_id, extended_due, own_due in open_rows:
        planned = own_due or obligations[obligation_id].due_date
        theirs = effective_due(planned, extended_due)
        if theirs < today:
            late.append((obligation_id, official_id, theirs, theirs != planned))
    people = await _people(session, {row[1] for row in late}, only)
    late = [row for row in late if row[1] in people]
    if not late:
        return []
    obligation_ids = sorted({row[0] for row in late})
    official_ids = sorted({row[1] for row in late})
    totals = await _report_totals(session, unit_id, obligation_ids, only)
    latest = await _latest_versions(session, official_ids, obligation_ids)
    away = await _on_leave(session, official_ids, today)
    sent = await outbox.reminders_sent(session, OBLIGATION, official_ids, obligation_ids)
    by_subject: dict[int, list[tuple[OverdueRow, str]]] = defaultdict(list)
    for obligation_id, official_id, theirs, extended in late:
        person = people[official_id]
        state, reviewed_at = latest.get((official_id, obligation_id), (None, None))
        row = OverdueRow(
            official_id=official_id,
            full_name=person.name,
            department=person.department,
            due=theirs,
            role=None,
            last_state=state,
            last_at=reviewed_at,
            leave_until=away.get(official_id),
            reminders_sent=sent.get((official_id, obligation_id), 0),
            extended=extended,
            unit_name=person.unit_name,
        )
        # A commune's list is read by commune, a commune office's by person.
        o = obligations[obligation_id]
        by_subject[obligation_id].append(
            (row, fold_name(person.unit_name) if o.children_submit else person.folded)
        )
    groups = []
    for obligation_id, members in by_subject.items():
        o = obligations[obligation_id]
        groups.append(
            OverdueGroup(
                OBLIGATION,
                o.id,
                o.code,
                o.title,
                o.due_date,
                totals.get(o.id, 0),
                _ordered(members, by_unit=o.children_submit),
                children_submit=o.children_submit,
            )
        )
    return sorted(groups, key=lambda g: (g.due, g.code))


@dataclass(frozen=True)
class _Person:
    name: str
    department: str
    folded: str
    unit_name: str


async def _people(
    session: AsyncSession, official_ids: Collection[int], only: OverdueFilter
) -> dict[int, _Person]:
    """Name, department, folded name and unit of the active officials among `official_ids`."""
    if not official_ids:
        return {}
    rows = await session.execute(
        select(
            Official.id,
            Official.full_name,
            Official.department,
            Official.name_folded,
            Unit.name,
        )
        .join(Unit, Unit.id == Official.unit_id)
        .where(Official.id.in_(sorted(official_ids)), Official.active.is_(True), *_department(only))
    )
    return {
        official_id: _Person(name, department, folded, unit_name)
        for official_id, name, department, folded, unit_name in rows
    }


async def _report_totals(
    session: AsyncSession, unit_id: int, obligation_ids: Sequence[int], only: OverdueFilter
) -> dict[int, int]:
    """Active submitters of each report (in the departments asked for), counted in SQL."""
    count = select(ObligationAssignee.obligation_id, func.count()).where(
        ObligationAssignee.obligation_id.in_(obligation_ids)
    )
    if only.departments is not None:
        included = select(Official.id).where(
            Official.unit_id == unit_id, Official.active.is_(True), *_department(only)
        )
        count = count.where(ObligationAssignee.official_id.in_(included.scalar_subquery()))
    else:
        inactive = select(Official.id).where(
            Official.unit_id == unit_id, Official.active.is_(False)
        )
        count = count.where(ObligationAssignee.official_id.not_in(inactive.scalar_subquery()))
    rows = await session.execute(count.group_by(ObligationAssignee.obligation_id))
    return {obligation_id: n for obligation_id, n in rows}


async def _latest_versions(
    session: AsyncSession, official_ids: Sequence[int], obligation_ids: Sequence[int]
) -> dict[tuple[int, int], tuple[ReviewState, datetime | None]]:
    """The review state and time of each (official, report) pair's latest version."""
    rows = await session.execute(
        select(
            Submission.official_id,
            Submission.obligation_id,
            Submission.version,
            Submission.review_state,
            Submission.reviewed_at,
        ).where(
            Submission.official_id.in_(official_ids),
            Submission.obligation_id.in_(obligation_ids),
        )
    )
    latest: dict[tuple[int, int], tuple[int, ReviewState, datetime | None]] = {}
    for official_id, obligation_id, version, state, reviewed_at in rows:
        assert obligation_id is not None
        key = (official_id, obligation_id)
        if key not in latest or latest[key][0] < version:
            latest[key] = (version, state, reviewed_at)
    return {key: (state, at) for key, (_, state, at) in latest.items()}


async def _overdue_tasks(
    session: AsyncSession, unit_id: int, today: date, only: OverdueFilter
) -> list[OverdueGroup]:
    due = effective_due_sql(Task.due_date, TaskAssignee.extended_due)
    subjects = [Task.unit_id == unit_id, Task.active.is_(True), Task.due_date.is_not(None)]
    if only.task_id is not None:
        subjects.append(Task.id == only.task_id)
    query = (
        select(
            Task.id,
            Official.id,
            Official.full_name,
            Official.department,
            Official.name_folded,
            TaskAssignee.role,
            due.label("due"),
            Task.due_date,
            StatusUpdate.state,
            StatusUpdate.at,
        )
        .select_from(Task)
        .join(TaskAssignee, TaskAssignee.task_id == Task.id)
        .join(Official, Official.id == TaskAssignee.official_id)
        .outerjoin(
            StatusUpdate,
            StatusUpdate.id == latest_answer_id(TaskAssignee.task_id, TaskAssignee.official_id),
        )
        .where(
            *subjects,
            Task.due_date < today,
            due < today,
            Official.active.is_(True),
            *_department(only),
            or_(StatusUpdate.id.is_(None), StatusUpdate.state != TaskState.DONE),
        )
    )
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    task_ids = sorted({r[0] for r in rows})
    official_ids = sorted({r[1] for r in rows})
    tasks = {t.id: t for t in await session.scalars(select(Task).where(Task.id.in_(task_ids)))}
    totals = await _totals(
        session,
        select(TaskAssignee.task_id, func.count())
        .join(Official, Official.id == TaskAssignee.official_id)
        .where(TaskAssignee.task_id.in_(task_ids), Official.active.is_(True))
        .group_by(TaskAssignee.task_id),
        only,
    )
    away = await _on_leave(session, official_ids, today)
    sent = await outbox.reminders_sent(session, TASK, official_ids, task_ids)
    by_subject: dict[int, list[tuple[OverdueRow, str]]] = defaultdict(list)
    for task_id, official_id, name, department, folded, role, own_due, task_due, st, at in rows:
        row = OverdueRow(
            official_id=official_id,
            full_name=name,
            department=department,
            due=own_due,
            role=role,
            last_state=st,
            last_at=at,
            leave_until=away.get(official_id),
            reminders_sent=sent.get((official_id, task_id), 0),
            extended=own_due != task_due,
        )
        by_subject[task_id].append((row, folded))
    groups = []
    for task_id, members in by_subject.items():
        task = tasks[task_id]
        assert task.due_date is not None
        groups.append(
            OverdueGroup(
                TASK,
                task.id,
                task.code,
                task.title,
                task.due_date,
                totals.get(task.id, 0),
                _ordered(members),
            )
        )
    return sorted(groups, key=lambda g: (g.due, code_order(g.code)))


def _ordered(
    members: list[tuple[OverdueRow, str]], by_unit: bool = False
) -> tuple[OverdueRow, ...]:
    # The longest late first; then by given name, the way the clerk reads a list, or by the
    # commune's name (folded) when each row is a commune.
    if by_unit:
        members.sort(key=lambda m: (m[0].due, m[1], m[0].official_id))
    else:
        members.sort(key=lambda m: (m[0].due, *name_key(m[1], m[0].official_id)))
    return tuple(row for row, _ in members)


async def _totals(
    session: AsyncSession, query: Select[int, int], only: OverdueFilter
) -> dict[int, int]:
    query = query.where(*_department(only))
    return {subject_id: count for subject_id, count in (await session.execute(query)).all()}


async def _on_leave(
    session: AsyncSession, official_ids: Sequence[int], today: date
) -> dict[int, date]:
    rows = await session.execute(
        select(LeavePeriod.official_id, func.max(LeavePeriod.ends_on))
        .where(
            LeavePeriod.official_id.in_(official_ids),
            LeavePeriod.starts_on <= today,
            LeavePeriod.ends_on >= today,
        )
        .group_by(LeavePeriod.official_id)
    )
    return {official_id: ends_on for official_id, ends_on in rows}
