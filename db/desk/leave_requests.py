"""Leave asked for in the chat (/nghiphep): recorded pending, decided once by a clerk or a
leader; approved, it silences the official's reminders on those days (`db.leaves`) and moves
each of their deadlines inside it to the first working day after it, as an extension.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import audit
from db.desk import extensions
from db.desk.decisions import decide_once
from db.desk.subjects import Subject, subject_type_of
from db.leaves import Stretch, leave_days_of
from db.models import ExtensionState, LeaveKind, LeaveRequest, Official
from db.workload import report_items, task_items


async def overlapping(
    session: AsyncSession, official_id: int, first: date, last: date
) -> Stretch | None:
    """A stretch of the official's leave (the plan's, approved or still pending) that shares
    a day with `first`..`last`, or None."""
    taken = (await leave_days_of(session, Official.id == official_id)).get(official_id, [])
    waiting = await session.execute(
        select(LeaveRequest.starts_on, LeaveRequest.ends_on).where(
            LeaveRequest.official_id == official_id,
            LeaveRequest.state == ExtensionState.PENDING,
        )
    )
    for start, end in sorted([*taken, *((s, e) for s, e in waiting)]):
        if start <= last and first <= end:
            return (start, end)
    return None


async def request_leave(
    session: AsyncSession,
    official: Official,
    kind: LeaveKind,
    first: date,
    last: date,
    reason: str,
    at: datetime,
    *,
    actor: str,
) -> LeaveRequest:
    """Record a pending leave request and its audit entry; the caller checked it makes sense."""
    request = LeaveRequest(
        unit_id=official.unit_id,
        official_id=official.id,
        kind=kind,
        starts_on=first,
        ends_on=last,
        reason=reason,
        requested_at=at,
        state=ExtensionState.PENDING,
    )
    session.add(request)
    await session.flush()
    audit.record(
        session,
        at=at,
        actor=actor,
        action="leave.request",
        unit_id=official.unit_id,
        official=official,
        target=f"leave:{request.id}",
        details={
            "kind": kind.value,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "reason": reason,
        },
    )
    return request


async def pending_leaves(session: AsyncSession, unit_id: int) -> list[LeaveRequest]:
    """The unit's leave requests still waiting for a decision, oldest first, with who asked."""
    return list(
        await session.scalars(
            select(LeaveRequest)
            .where(LeaveRequest.unit_id == unit_id, LeaveRequest.state == ExtensionState.PENDING)
            .order_by(LeaveRequest.requested_at, LeaveRequest.id)
            .options(selectinload(LeaveRequest.official))
        )
    )


async def leave_in_unit(
    session: AsyncSession, unit_id: int, request_id: int
) -> LeaveRequest | None:
    """The leave request with this id if it belongs to the unit, with the people involved."""
    return await session.scalar(
        select(LeaveRequest)
        .where(LeaveRequest.id == request_id, LeaveRequest.unit_id == unit_id)
        .options(selectinload(LeaveRequest.official), selectinload(LeaveRequest.decided_by))
    )


@dataclass(frozen=True)
class MovedDeadline:
    """A deadline of the official's that fell within their leave, and where it went."""

    subject: Subject
    was: date
    now: date


@dataclass(frozen=True)
class LeaveDecision:
    """The outcome of a tap: `decided` is False when someone else decided first."""

    request: LeaveRequest
    decided: bool
    moved: list[MovedDeadline] = field(default_factory=list)


async def decide_leave(
    session: AsyncSession,
    request: LeaveRequest,
    approve: bool,
    decider: Official,
    at: datetime,
    back_on: date,
    *,
    actor: str,
) -> LeaveDecision:
    """Approve or refuse a pending leave once; an approval moves each of the official's open
    deadlines inside the leave to `back_on` (the first working day after it)."""
    if not await decide_once(session, request, approve, decider, at):
        return LeaveDecision(request, decided=False)
    moved = await _move_deadlines(session, request, decider, at, back_on) if approve else []
    audit.record(
        session,
        at=at,
        actor=actor,
        action="leave.approve" if approve else "leave.refuse",
        unit_id=request.unit_id,
        official=decider,
        target=f"leave:{request.id}",
        details={
            "official_id": request.official_id,
            "from": request.starts_on.isoformat(),
            "to": request.ends_on.isoformat(),
            "moved": [
                f"{subject_type_of(m.subject)}:{m.subject.code}:{m.now.isoformat()}" for m in moved
            ],
        },
    )
    await session.flush()
    return LeaveDecision(request, decided=True, moved=moved)


def _within(request: LeaveRequest, due: date | None) -> bool:
    return due is not None and request.starts_on <= due <= request.ends_on


async def _move_deadlines(
    session: AsyncSession, request: LeaveRequest, decider: Official, at: datetime, back_on: date
) -> list[MovedDeadline]:
    owed: list[tuple[Subject, date]] = [
        (item.obligation, item.due)
        for item in await report_items(session, request.official_id)
        if not item.submitted and _within(request, item.due)
    ]
    for task in await task_items(session, request.official_id):
        if task.open and task.due is not None and _within(request, task.due):
            owed.append((task.task, task.due))
    moved = []
    for subject, due in owed:
        await extensions.grant(
            session, request.official_id, subject, due, back_on, request.reason, decider, at
        )
        moved.append(MovedDeadline(subject, due, back_on))
    moved.sort(key=lambda m: (m.was, m.subject.code))
    return moved
