"""Submissions: a new version each time, files stored by content, nothing overwritten."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import audit
from db.deadlines import days_late
from db.desk.dues import official_due
from db.desk.subjects import subject_type_of
from db.models import Channel, Obligation, Official, StoredFile, Submission, Task


@dataclass(frozen=True)
class ReceivedFile:
    """A file already written to the file store, ready to be recorded."""

    name: str
    mime_type: str
    size: int
    sha256: str
    path: str
    channel: Channel | None = None
    channel_file_id: str | None = None
    channel_file_unique_id: str | None = None


def stored_file(received: ReceivedFile, at: datetime) -> StoredFile:
    """A StoredFile row for a received file, not yet attached to a submission."""
    return StoredFile(
        sha256=received.sha256,
        size=received.size,
        mime_type=received.mime_type,
        original_name=received.name,
        path=received.path,
        received_at=at,
        channel=received.channel,
        channel_file_id=received.channel_file_id,
        channel_file_unique_id=received.channel_file_unique_id,
    )


async def next_version(
    session: AsyncSession, official_id: int, *, obligation_id: int | None, task_id: int | None
) -> int:
    """The version number the official's next submission for this subject gets."""
    subject = (
        Submission.obligation_id == obligation_id
        if obligation_id is not None
        else Submission.task_id == task_id
    )
    current = await session.scalar(
        select(func.max(Submission.version)).where(Submission.official_id == official_id, subject)
    )
    return (current or 0) + 1


async def submit(
    session: AsyncSession,
    official: Official,
    subject: Obligation | Task,
    files: list[StoredFile],
    at: datetime,
    tz: ZoneInfo,
    *,
    actor: str,
    note: str = "",
) -> Submission:
    """Record a submission of `files` for an obligation or a task, as a new version."""
    obligation_id = subject.id if isinstance(subject, Obligation) else None
    task_id = subject.id if isinstance(subject, Task) else None
    due = await official_due(session, subject, official.id)
    submission = Submission(
        unit_id=subject.unit_id,
        obligation_id=obligation_id,
        task_id=task_id,
        official_id=official.id,
        version=await next_version(
            session, official.id, obligation_id=obligation_id, task_id=task_id
        ),
        note=note,
        submitted_at=at,
        late_days=days_late(due, at, tz) if due is not None else 0,
    )
    session.add(submission)
    await session.flush()
    for f in files:
        f.submission_id = submission.id
        session.add(f)
    await session.flush()
    audit.record(
        session,
        at=at,
        actor=actor,
        action="submission.create",
        unit_id=subject.unit_id,
        official=official,
        target=f"{subject_type_of(subject)}:{subject.code}",
        details={
            "submission_id": submission.id,
            "version": submission.version,
            "late_days": submission.late_days,
            "files": [{"name": f.original_name, "sha256": f.sha256, "size": f.size} for f in files],
        },
    )
    return submission
