"""What the clerk must hear at once (issue 14): a "vướng mắc" answer with its reason, a late
submission, and a resubmission after /tralai.

Each is a ready-made notice (`handlers.clerk.notices`) queued for the unit's next working slot
(`scheduler.next_slot`), where the dispatcher bundles it with that slot's reminders: one
message per person, not one more ping. A "vướng mắc" a coordinator sends reaches the task's
lead too, who owns the task's status. One row per answer or submission (its id is in the key);
the reason typed after a "vướng mắc" tap rewrites the notice while it waits for its slot.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import assignees, outbox
from db.desk.people import desk_people
from db.desk.subjects import subject_type_of
from db.kinds import BLOCKED_NOTICE, SUBMISSION_NOTICE, TASK
from db.models import (
    AssigneeRole,
    Obligation,
    Official,
    ReviewState,
    StatusUpdate,
    Submission,
    Task,
    Unit,
)
from handlers.catalog import t
from handlers.clerk.notices import Notice, queue
from handlers.clerk.standing_words import blocked
from handlers.presenting import h, moment
from scheduler.next_slot import next_working_slot
from scheduler.sweep import policy_config


async def _clerks(session: AsyncSession, unit_id: int) -> dict[int, Official]:
    return {o.id: o for o in await desk_people(session, unit_id) if o.is_clerk}


async def _unit_slot(
    session: AsyncSession, unit_id: int, now: datetime
) -> tuple[ZoneInfo, datetime]:
    """The unit's time zone and its next working slot after `now`."""
    unit = await session.get(Unit, unit_id)
    assert unit is not None
    config = policy_config(unit)
    return config.tz, next_working_slot(config, now)


async def blocked_answer(
    session: AsyncSession, official: Official, task: Task, update: StatusUpdate, now: datetime
) -> int:
    """Queue "<name> báo vướng mắc: <lý do>" for the clerks, and for the task's lead when a
    coordinator sent it, at the next working slot; called again when the reason comes, it
    rewrites the notice still waiting (or, already sent, queues the reason). How many."""
    role = await assignees.task_role(session, task.id, official.id)
    if role is None:
        return 0
    recipients = await _clerks(session, task.unit_id)
    if role is AssigneeRole.COORDINATE:
        leads = await assignees.task_leads(session, task.id)
        recipients.update({lead.id: lead for lead in leads if lead.active})
    recipients.pop(official.id, None)  # nobody is told what they said themselves
    tz, slot = await _unit_slot(session, task.unit_id, now)
    for recipient in recipients.values():
        lang = recipient.language
        text = t(
            "desk.notice.blocked",
            lang,
            name=h(official.full_name),
            role=t(f"role.{role.value}", lang),
            code=h(task.code),
            title=h(task.title),
            state=blocked(lang, update.note.strip()),
            time=moment(update.at, tz),
        )
        notice = Notice(
            unit_id=task.unit_id,
            recipient_id=recipient.id,
            kind=BLOCKED_NOTICE,
            subject_type=TASK,
            subject_id=task.id,
            ref=str(update.id),
            text=text,
        )
        if not update.note.strip():
            await queue(session, [notice], slot)
        elif not await outbox.rewrite_pending(
            session, notice.idempotency_key, {"text": text, "choices": []}
        ):
            # The tap's notice has gone out already (or was never written): the reason follows.
            await queue(session, [replace(notice, ref=f"{update.id}:reason")], slot)
    return len(recipients)


async def _previous_returned(session: AsyncSession, submission: Submission) -> bool:
    """Whether the version before `submission` was sent back (this one answers a /tralai)."""
    if submission.version <= 1:
        return False
    state = await session.scalar(
        select(Submission.review_state).where(
            Submission.official_id == submission.official_id,
            Submission.obligation_id == submission.obligation_id,
            Submission.task_id == submission.task_id,
            Submission.version == submission.version - 1,
        )
    )
    return state is ReviewState.RETURNED


async def submission_made(
    session: AsyncSession,
    official: Official,
    subject: Obligation | Task,
    submission: Submission,
) -> int:
    """Queue a notice for the clerk when `submission` is late or follows a /tralai, at the next
    working slot (one row per submission); how many were queued."""
    resubmitted = await _previous_returned(session, submission)
    if not submission.late_days and not resubmitted:
        return 0
    recipients = await _clerks(session, subject.unit_id)
    if isinstance(subject, Obligation) and subject.collector_id is not None:
        # A report's collector is the one to hear of it (a province's report: its clerk).
        collector = await session.get(Official, subject.collector_id)
        if collector is not None and collector.active:
            recipients = {collector.id: collector}
    recipients.pop(official.id, None)
    tz, slot = await _unit_slot(session, subject.unit_id, submission.submitted_at)
    title = subject.title if isinstance(subject, Obligation) else f"{subject.code} {subject.title}"
    notices = []
    for recipient in recipients.values():
        lang = recipient.language
        late = (
            t("desk.notice.late_part", lang, days=submission.late_days)
            if submission.late_days
            else ""
        )
        text = t(
            "desk.notice.resubmitted" if resubmitted else "desk.notice.late",
            lang,
            name=h(official.full_name),
            title=h(title),
            version=submission.version,
            time=moment(submission.submitted_at, tz),
            late=late,
        )
        notices.append(
            Notice(
                unit_id=subject.unit_id,
                recipient_id=recipient.id,
                kind=SUBMISSION_NOTICE,
                subject_type=subject_type_of(subject),
                subject_id=subject.id,
                ref=str(submission.id),
                text=text,
            )
        )
    return await queue(session, notices, slot)
