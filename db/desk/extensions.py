"""Extension requests (/giahan): asked by an official, decided once by a clerk or a leader.

An approved request moves that official's own due date (`extended_due` on their assignee
row), so their reminders, their "days late" and the clerk's overdue list follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import audit, outbox
from db.desk.decisions import decide_once
from db.desk.dues import effective_due
from db.desk.subjects import Subject, subject_of, subject_type_of
from db.models import (
    ExtensionRequest,
    ExtensionState,
    Obligation,
    ObligationAssignee,
    Official,
    Task,
    TaskAssignee,
)


async def assignment(
    session: AsyncSession, subject: Subject, official_id: int
) -> ObligationAssignee | TaskAssignee | None:
    """The official's assignee row for a report or task, if they owe it."""
    if isinstance(subject, Obligation):
        return await session.scalar(
            select(ObligationAssignee).where(
                ObligationAssignee.obligation_id == subject.id,
                ObligationAssignee.official_id == official_id,
            )
        )
    return await session.scalar(
        select(TaskAssignee).where(
            TaskAssignee.task_id == subject.id, TaskAssignee.official_id == official_id
        )
    )


def own_due(subject: Subject, row: ObligationAssignee | TaskAssignee) -> date | None:
    """The official's due date for the subject, extension included; None for undated tasks."""
    if subject.due_date is None:
        return None
    own = row.own_due if isinstance(row, ObligationAssignee) else None
    return effective_due(subject.due_date, row.extended_due, own)


def _subject_filter(subject: Subject) -> Any:
    if isinstance(subject, Obligation):
        return ExtensionRequest.obligation_id == subject.id
    return ExtensionRequest.task_id == subject.id


async def pending_request(
    session: AsyncSession, official_id: int, subject: Subject
) -> ExtensionRequest | None:
    """The official's request for this subject still waiting for a decision."""
    return await session.scalar(
        select(ExtensionRequest).where(
            ExtensionRequest.official_id == official_id,
            ExtensionRequest.state == ExtensionState.PENDING,
            _subject_filter(subject),
        )
    )


async def pending_requests(session: AsyncSession, unit_id: int) -> list[ExtensionRequest]:
    """The unit's requests still waiting for a decision, oldest first, with who asked."""
    return list(
        await session.scalars(
            select(ExtensionRequest)
            .where(
                ExtensionRequest.unit_id == unit_id,
                ExtensionRequest.state == ExtensionState.PENDING,
            )
            .order_by(ExtensionRequest.requested_at, ExtensionRequest.id)
            .options(selectinload(ExtensionRequest.official))
        )
    )


async def request_extension(
    session: AsyncSession,
    official: Official,
    subject: Subject,
    current_due: date,
    requested_due: date,
    reason: str,
    at: datetime,
    *,
    actor: str,
) -> ExtensionRequest:
    """Record a pending request and its audit entry; the caller checked it makes sense."""
    request = ExtensionRequest(
        unit_id=subject.unit_id,
        official_id=official.id,
        obligation_id=subject.id if isinstance(subject, Obligation) else None,
        task_id=subject.id if isinstance(subject, Task) else None,
        current_due=current_due,
        requested_due=requested_due,
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
        action="extension.request",
        unit_id=subject.unit_id,
        official=official,
        target=f"extension:{request.id}",
        details={
            "subject": f"{subject_type_of(subject)}:{subject.code}",
            "from": current_due.isoformat(),
            "to": requested_due.isoformat(),
            "reason": reason,
        },
    )
    return request


async def request_in_unit(
    session: AsyncSession, unit_id: int, request_id: int
) -> ExtensionRequest | None:
    """The request with this id if it belongs to the unit, with the people involved."""
    return await session.scalar(
        select(ExtensionRequest)
        .where(ExtensionRequest.id == request_id, ExtensionRequest.unit_id == unit_id)
        .options(selectinload(ExtensionRequest.official), selectinload(ExtensionRequest.decided_by))
    )


async def move_due(session: AsyncSession, subject: Subject, official_id: int, due: date) -> None:
    """Move one official's due date for a report or task to `due` (their extension); an
    extension never shortens one already granted (a request decided after leave moved it)."""
    row = await assignment(session, subject, official_id)
    if row is not None and (row.extended_due is None or row.extended_due < due):
        row.extended_due = due
    # Reminders queued for the old date would now be wrong; the sweep writes new ones.
    await outbox.drop_pending(
        session,
        recipient_id=official_id,
        subject_type=subject_type_of(subject),
        subject_id=subject.id,
        reason="due date extended",
        deadline_only=True,
    )


async def grant(
    session: AsyncSession,
    official_id: int,
    subject: Subject,
    current_due: date,
    new_due: date,
    reason: str,
    decider: Official,
    at: datetime,
) -> ExtensionRequest:
    """An extension granted without being asked (a deadline inside approved leave): recorded
    as an approved request, so it reads like any other extension, and the due date moved."""
    granted = ExtensionRequest(
        unit_id=subject.unit_id,
        official_id=official_id,
        obligation_id=subject.id if isinstance(subject, Obligation) else None,
        task_id=subject.id if isinstance(subject, Task) else None,
        current_due=current_due,
        requested_due=new_due,
        reason=reason,
        requested_at=at,
        state=ExtensionState.APPROVED,
        decided_by_id=decider.id,
        decided_at=at,
    )
    session.add(granted)
    await move_due(session, subject, official_id, new_due)
    await session.flush()
    return granted


@dataclass(frozen=True)
class Decision:
    """The outcome of a tap: `decided` is False when someone else decided first."""

    request: ExtensionRequest
    decided: bool


async def decide(
    session: AsyncSession,
    request: ExtensionRequest,
    approve: bool,
    decider: Official,
    at: datetime,
    *,
    actor: str,
) -> Decision:
    """Approve or refuse a pending request once (`decide_once`); an approval moves the
    official's due date."""
    if not await decide_once(session, request, approve, decider, at):
        return Decision(request, decided=False)
    subject = await subject_of(session, request)
    if approve:
        await move_due(session, subject, request.official_id, request.requested_due)
    audit.record(
        session,
        at=at,
        actor=actor,
        action="extension.approve" if approve else "extension.refuse",
        unit_id=request.unit_id,
        official=decider,
        target=f"extension:{request.id}",
        details={
            "official_id": request.official_id,
            "subject": f"{subject_type_of(subject)}:{subject.code}",
            "from": request.current_due.isoformat(),
            "to": request.requested_due.isoformat(),
        },
    )
    await session.flush()
    return Decision(request, decided=True)


@dataclass(frozen=True)
class EndingExtension:
    """An approved extension that is the date holding for its official, ending `until`."""

    subject: Subject
    official: Official
    until: date


async def extensions_ending(
    session: AsyncSession, unit_id: int, first: date, last: date
) -> list[EndingExtension]:
    """The unit's extensions that end between `first` and `last` (inclusive) and are the
    date that holds (a plan date later than the extension wins over it)."""
    found: list[EndingExtension] = []
    reports = await session.execute(
        select(Obligation, Official, ObligationAssignee.extended_due, ObligationAssignee.own_due)
        .join(ObligationAssignee, ObligationAssignee.obligation_id == Obligation.id)
        .join(Official, Official.id == ObligationAssignee.official_id)
        .where(
            Obligation.unit_id == unit_id,
            Obligation.active.is_(True),
            Official.active.is_(True),
            ObligationAssignee.extended_due >= first,
            ObligationAssignee.extended_due <= last,
        )
    )
    for obligation, official, extended, own in reports.all():
        if effective_due(obligation.due_date, extended, own) == extended:
            found.append(EndingExtension(obligation, official, extended))
    tasks = await session.execute(
        select(Task, Official, TaskAssignee.extended_due)
        .join(TaskAssignee, TaskAssignee.task_id == Task.id)
        .join(Official, Official.id == TaskAssignee.official_id)
        .where(
            Task.unit_id == unit_id,
            Task.active.is_(True),
            Task.due_date.is_not(None),
            Official.active.is_(True),
            TaskAssignee.extended_due >= first,
            TaskAssignee.extended_due <= last,
        )
    )
    for task, official, extended in tasks.all():
        assert task.due_date is not None
        if effective_due(task.due_date, extended) == extended:
            found.append(EndingExtension(task, official, extended))
    return found
