"""What is overdue now: the reports and tasks someone's date has passed on, with everyone who
has not handed them in (or finished them), each marked by the one standing of
`db.desk.standing`.

Which reports and tasks to show is found cheaply: the reports side starts from the obligations
already past their date (index on `obligations (unit_id, active, due_date)`) and reads only
their open assignee rows (index on `obligation_assignees (obligation_id, handed_in)`, the flag
kept by triggers, see `db.desk.handed_in`). For the few found, the standings are read whole, so
/quahan lists the same people as /tonghop, the digests and the export: an extension not yet run
out, leave or a returned version is a mark on a row, never a reason to leave someone out.

A report the child units submit (a province's) is owed by each commune's clerk by their own
date; its rows carry the commune, and are ordered by it. A task is counted by its lead (chủ
trì); its coordinators are listed apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import outbox
from db.answers import latest_answer_id
from db.desk.dues import effective_due, effective_due_sql
from db.desk.standing import (
    ReportStanding,
    TaskStanding,
    name_key,
    report_standings,
    task_standings,
)
from db.kinds import OBLIGATION, TASK
from db.models import (
    AssigneeRole,
    Obligation,
    ObligationAssignee,
    Official,
    ReviewState,
    StatusUpdate,
    Task,
    TaskAssignee,
    TaskState,
)
from db.names import fold_name
from db.task_codes import code_order
from db.unit_tree import unit_names_of


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
    # Their whole standing: the marks every view words the same way.
    standing: ReportStanding | TaskStanding | None = None

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
    leads: int = 0  # tasks: how many lead it (its count is by lead)

    @property
    def counted(self) -> tuple[int, int]:
        """(not handed in / not done, out of): a task by its leads, a report by everyone."""
        if self.kind == TASK and self.leads:
            return sum(1 for r in self.rows if r.role is AssigneeRole.LEAD), self.leads
        return len(self.rows), self.total


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
                Obligation.due_date,
            )
            .join(Obligation, Obligation.id == ObligationAssignee.obligation_id)
            .where(
                ObligationAssignee.obligation_id.in_(past.scalar_subquery()),
                ObligationAssignee.handed_in == false(),
            )
        )
    ).all()
    late = {
        (obligation_id, official_id)
        for obligation_id, official_id, extended_due, own_due, due in open_rows
        if effective_due(due, extended_due, own_due) < today
    }
    people = await _in_scope(session, {official_id for _, official_id in late}, only)
    subjects = sorted(
        {obligation_id for obligation_id, official_id in late if official_id in people}
    )
    if not subjects:
        return []
    # Standings are read only for the open rows: everyone else handed in, and is only counted
    # (a report of a thousand people would otherwise load a thousand people's submissions).
    open_of: dict[int, set[int]] = defaultdict(set)
    for obligation_id, official_id, *_ in open_rows:
        open_of[obligation_id].add(official_id)
    totals = await _owed_by(session, subjects, only)
    groups = []
    for obligation in await session.scalars(select(Obligation).where(Obligation.id.in_(subjects))):
        owing = [
            s
            for s in await report_standings(session, obligation, today, open_of[obligation.id])
            if _wanted(s, only) and not s.handed_in
        ]
        communes = (
            await unit_names_of(session, [s.official.id for s in owing])
            if obligation.children_submit
            else {}
        )
        sent = await outbox.reminders_sent(
            session, OBLIGATION, [s.official.id for s in owing], [obligation.id]
        )
        members = []
        for s in owing:
            latest = s.latest
            row = OverdueRow(
                official_id=s.official.id,
                full_name=s.official.full_name,
                department=s.official.department,
                due=s.due,
                role=None,
                last_state=latest.review_state if latest is not None else None,
                last_at=latest.reviewed_at if latest is not None else None,
                leave_until=s.leave_until,
                reminders_sent=sent.get((s.official.id, obligation.id), 0),
                extended=s.extended,
                unit_name=communes.get(s.official.id, ""),
                standing=s,
            )
            # A commune's list is read by commune, a commune office's by person.
            folded = (
                fold_name(row.unit_name) if obligation.children_submit else s.official.name_folded
            )
            members.append((row, folded))
        groups.append(
            OverdueGroup(
                OBLIGATION,
                obligation.id,
                obligation.code,
                obligation.title,
                obligation.due_date,
                totals.get(obligation.id, 0),
                _ordered(members, by_unit=obligation.children_submit),
                children_submit=obligation.children_submit,
            )
        )
    return sorted(groups, key=lambda g: (g.due, g.code))


def _wanted(standing: ReportStanding | TaskStanding, only: OverdueFilter) -> bool:
    return only.departments is None or standing.official.department in only.departments


async def _owed_by(
    session: AsyncSession, obligation_ids: Collection[int], only: OverdueFilter
) -> dict[int, int]:
    """How many active officials (in the departments asked for) owe each report."""
    rows = await session.execute(
        select(ObligationAssignee.obligation_id, func.count())
        .join(Official, Official.id == ObligationAssignee.official_id)
        .where(
            ObligationAssignee.obligation_id.in_(sorted(obligation_ids)),
            Official.active.is_(True),
            *_department(only),
        )
        .group_by(ObligationAssignee.obligation_id)
    )
    return {obligation_id: int(count) for obligation_id, count in rows}


async def _in_scope(
    session: AsyncSession, official_ids: Collection[int], only: OverdueFilter
) -> set[int]:
    """The active officials among `official_ids` in the departments asked for."""
    if not official_ids:
        return set()
    found = await session.scalars(
        select(Official.id).where(
            Official.id.in_(sorted(official_ids)), Official.active.is_(True), *_department(only)
        )
    )
    return set(found)


async def _overdue_tasks(
    session: AsyncSession, unit_id: int, today: date, only: OverdueFilter
) -> list[OverdueGroup]:
    due = effective_due_sql(Task.due_date, TaskAssignee.extended_due)
    subjects = [Task.unit_id == unit_id, Task.active.is_(True), Task.due_date.is_not(None)]
    if only.task_id is not None:
        subjects.append(Task.id == only.task_id)
    query = (
        select(Task.id)
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
        .distinct()
    )
    task_ids = sorted(set((await session.scalars(query)).all()))
    if not task_ids:
        return []
    groups = []
    for task in await session.scalars(select(Task).where(Task.id.in_(task_ids))):
        assert task.due_date is not None
        standings = [s for s in await task_standings(session, task, today) if _wanted(s, only)]
        owing = [s for s in standings if not s.done]
        sent = await outbox.reminders_sent(session, TASK, [s.official.id for s in owing], [task.id])
        members = []
        for s in owing:
            row = OverdueRow(
                official_id=s.official.id,
                full_name=s.official.full_name,
                department=s.official.department,
                due=s.due or task.due_date,
                role=s.role,
                last_state=s.last.state if s.last is not None else None,
                last_at=s.last.at if s.last is not None else None,
                leave_until=s.leave_until,
                reminders_sent=sent.get((s.official.id, task.id), 0),
                extended=s.extended,
                standing=s,
            )
            members.append((row, s.official.name_folded))
        groups.append(
            OverdueGroup(
                TASK,
                task.id,
                task.code,
                task.title,
                task.due_date,
                len(standings),
                _ordered(members, leads_first=True),
                leads=sum(1 for s in standings if s.lead),
            )
        )
    return sorted(groups, key=lambda g: (g.due, code_order(g.code)))


def _ordered(
    members: list[tuple[OverdueRow, str]], by_unit: bool = False, leads_first: bool = False
) -> tuple[OverdueRow, ...]:
    # The longest late first; then by given name, the way the clerk reads a list, or by the
    # commune's name (folded) when each row is a commune. A task's leads come before its
    # coordinators, who are listed apart.
    if by_unit:
        members.sort(key=lambda m: (m[0].due, m[1], m[0].official_id))
    else:
        members.sort(
            key=lambda m: (
                leads_first and m[0].role is not AssigneeRole.LEAD,
                m[0].due,
                *name_key(m[1], m[0].official_id),
            )
        )
    return tuple(row for row, _ in members)
