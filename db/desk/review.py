"""Reviewing submissions: list them, find one, accept it or send it back with a comment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import audit
from db.desk.subjects import Subject
from db.kinds import OBLIGATION, TASK
from db.models import Obligation, Official, ReviewState, Submission


async def submissions_of(session: AsyncSession, subject: Subject) -> list[Submission]:
    """Every version every official sent for a report or task, oldest first."""
    column = Submission.obligation_id if isinstance(subject, Obligation) else Submission.task_id
    return list(
        await session.scalars(
            select(Submission)
            .where(column == subject.id)
            .options(selectinload(Submission.official), selectinload(Submission.files))
            .order_by(Submission.submitted_at, Submission.id)
        )
    )


async def submission_in_unit(
    session: AsyncSession, unit_id: int, submission_id: int
) -> Submission | None:
    """The submission with this id if it belongs to the unit, with its files and official."""
    return await session.scalar(
        select(Submission)
        .where(Submission.id == submission_id, Submission.unit_id == unit_id)
        .options(selectinload(Submission.official), selectinload(Submission.files))
    )


async def latest_version(session: AsyncSession, submission: Submission) -> int:
    """The newest version number the same official sent for the same subject."""
    subject = (
        Submission.obligation_id == submission.obligation_id
        if submission.obligation_id is not None
        else Submission.task_id == submission.task_id
    )
    newest = await session.scalar(
        select(func.max(Submission.version)).where(
            Submission.official_id == submission.official_id, subject
        )
    )
    return int(newest or submission.version)


@dataclass(frozen=True)
class Reviewed:
    """What a review changed: the state before, for the audit trail and the reply."""

    before: ReviewState
    after: ReviewState


async def review(
    session: AsyncSession,
    submission: Submission,
    state: ReviewState,
    reviewer: Official,
    at: datetime,
    *,
    actor: str,
    comment: str | None = None,
) -> Reviewed:
    """Record a review decision on a submission, with who, when and the comment; audited."""
    before = submission.review_state
    submission.review_state = state
    submission.review_comment = comment
    submission.reviewed_by_id = reviewer.id
    submission.reviewed_at = at
    subject = OBLIGATION if submission.obligation_id is not None else TASK
    audit.record(
        session,
        at=at,
        actor=actor,
        action="submission.accept" if state is ReviewState.ACCEPTED else "submission.return",
        unit_id=submission.unit_id,
        official=reviewer,
        target=f"submission:{submission.id}",
        details={
            "from": before.value,
            "to": state.value,
            "comment": comment or "",
            "official_id": submission.official_id,
            "version": submission.version,
            "subject": f"{subject}:{submission.obligation_id or submission.task_id}",
        },
    )
    await session.flush()
    return Reviewed(before, state)
