"""The outbox's SQL, all of it: rows written once by key, claimed, marked, released, dropped.

`enqueue` is every writer's insert (the sweep, the desk's notices, the dispatcher's own
notices): an insert-if-absent on the unique `idempotency_key`, so writing the same reminders
twice (a repeated sweep, two processes sweeping) adds nothing. `drop_pending` stops a person's
reminders for a subject the moment they submit. `coalesce_stale` keeps one message per person
and subject out of a backlog left by downtime.

The dispatcher's side (`claim`, `mark_sent`, `finish`, `retry_at`, `release`) works on rows
leased to one worker: every statement re-checks `claimed_by` (and PENDING), so a worker whose
lease was taken over changes nothing. The dispatcher decides what happens to a row; these
functions only say it to the database. None of them commits: the caller's transaction decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.kinds import BEFORE_PREFIX, DEADLINE_KINDS, REMINDER_KINDS, is_digest
from db.models import Reminder, ReminderStatus

# Rows per INSERT/UPDATE statement: well under SQLite's bound-parameter limit (32766).
_CHUNK = 500


@dataclass(frozen=True)
class NewReminder:
    """A reminder to write into the outbox; the key makes a second write a no-op."""

    unit_id: int
    idempotency_key: str
    recipient_id: int
    subject_type: str
    subject_id: int | None
    kind: str
    slot_at: datetime
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict, hash=False)


async def enqueue(session: AsyncSession, reminders: Iterable[NewReminder]) -> int:
    """Insert the reminders whose key is not in the outbox yet; return how many were new."""
    rows: dict[str, dict[str, Any]] = {}
    for r in reminders:
        # The first of two reminders with one key wins, as it would across two calls.
        rows.setdefault(
            r.idempotency_key,
            {
                "unit_id": r.unit_id,
                "idempotency_key": r.idempotency_key,
                "recipient_id": r.recipient_id,
                "subject_type": r.subject_type,
                "subject_id": r.subject_id,
                "kind": r.kind,
                "slot_at": r.slot_at,
                "due_at": r.due_at,
                "payload": dict(r.payload),
                "status": ReminderStatus.PENDING,
                "attempts": 0,
            },
        )
    if not rows:
        return 0
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    statement = (
        insert(Reminder)
        .on_conflict_do_nothing(index_elements=[Reminder.idempotency_key])
        .returning(Reminder.id)
    )
    # One executemany: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues"),
    # and RETURNING lists only the rows written, on both databases (rowcount is unreliable).
    inserted = len((await session.execute(statement, list(rows.values()))).all())
    return inserted


async def drop_pending(
    session: AsyncSession,
    *,
    recipient_id: int,
    subject_type: str,
    subject_id: int | None,
    reason: str,
    deadline_only: bool = False,
) -> int:
    """Mark the person's pending reminders for the subject DROPPED; return how many.

    `deadline_only` drops only those that state the due date (before_N, due_day, overdue):
    after an extension they would be wrong, and the sweep writes new ones. A row being sent at
    this moment still goes out (the send marks it SENT afterwards): stopping is immediate for
    everything not already on its way.
    """
    subject = (
        Reminder.subject_id.is_(None) if subject_id is None else Reminder.subject_id == subject_id
    )
    which = [
        Reminder.status == ReminderStatus.PENDING,
        Reminder.recipient_id == recipient_id,
        Reminder.subject_type == subject_type,
        subject,
    ]
    if deadline_only:
        which.append(
            or_(Reminder.kind.in_(DEADLINE_KINDS), Reminder.kind.like(f"{BEFORE_PREFIX}%"))
        )
    result = await session.execute(
        update(Reminder)
        .where(*which)
        .values(status=ReminderStatus.DROPPED, last_error=reason[:500])
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


async def rewrite_pending(
    session: AsyncSession, idempotency_key: str, payload: dict[str, Any]
) -> bool:
    """Replace the payload of the row with this key while it is still PENDING and no
    dispatcher holds it (a notice written ready-made that has learnt more before its slot);
    whether it was. A claimed row may be rendered already: the caller then sends more apart."""
    result = await session.execute(
        update(Reminder)
        .where(
            Reminder.idempotency_key == idempotency_key,
            Reminder.status == ReminderStatus.PENDING,
            Reminder.claimed_by.is_(None),
        )
        .values(payload=payload)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )
    return bool(result.all())


async def reminders_sent(
    session: AsyncSession,
    subject_type: str,
    official_ids: Sequence[int],
    subject_ids: Sequence[int],
) -> dict[tuple[int, int], int]:
    """How many times each (official, subject) was reminded: the rows SENT of the kinds that
    count as reminding (`db.kinds.REMINDER_KINDS`, the before_N ones), digests left out."""
    if not official_ids or not subject_ids:
        return {}
    rows = await session.execute(
        select(Reminder.recipient_id, Reminder.subject_id, func.count())
        .where(
            Reminder.recipient_id.in_(list(official_ids)),
            Reminder.subject_type == subject_type,
            Reminder.subject_id.in_(list(subject_ids)),
            Reminder.status == ReminderStatus.SENT,
            or_(Reminder.kind.in_(REMINDER_KINDS), Reminder.kind.like(f"{BEFORE_PREFIX}%")),
        )
        .group_by(Reminder.recipient_id, Reminder.subject_id)
    )
    return {(official, subject): n for official, subject, n in rows if subject is not None}


async def coalesce_stale(session: AsyncSession, now: datetime, max_age: timedelta) -> int:
    """Drop stale backlog: per recipient and subject keep only the newest due reminder.

    A pending row is stale when it fell due more than `max_age` before `now` (the process was
    down, or Telegram was). Of each recipient's due rows for one subject (and one kind, for
    escalation digests, which are separate messages), the newest by slot survives; the stale
    others are DROPPED. Rows not stale yet are never dropped. When a dropped row carried the
    report's templates (the subject's first reminder) and the survivor does not, the survivor
    inherits them. Returns the number of rows dropped.
    """
    cutoff = now - max_age
    stale_exists = await session.scalar(
        select(Reminder.id)
        .where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at < cutoff)
        .limit(1)
    )
    if stale_exists is None:
        return 0
    # One read of the due backlog, narrow columns only; it is bounded by the outage.
    due = (
        await session.execute(
            select(
                Reminder.id,
                Reminder.recipient_id,
                Reminder.subject_type,
                Reminder.subject_id,
                Reminder.kind,
                Reminder.slot_at,
                Reminder.due_at,
            ).where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)
        )
    ).all()
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for row in due:
        key: tuple[Any, ...] = (row.recipient_id, row.subject_type, row.subject_id)
        if is_digest(row.kind):
            key = (*key, row.kind)
        groups.setdefault(key, []).append(row)
    drop: list[int] = []
    heirs: dict[int, list[int]] = {}
    for members in groups.values():
        keep = max(members, key=lambda r: (r.slot_at, r.due_at, r.id))
        losers = [r.id for r in members if r.id != keep.id and r.due_at < cutoff]
        if losers:
            drop.extend(losers)
            heirs[keep.id] = losers
    if not drop:
        return 0
    await _inherit_templates(session, heirs)
    dropped = 0
    for start in range(0, len(drop), _CHUNK):
        chunk = sorted(drop[start : start + _CHUNK])
        # Locking in id order keeps two processes coalescing at once from deadlocking.
        locked = (
            select(Reminder.id)
            .where(Reminder.id.in_(chunk), Reminder.status == ReminderStatus.PENDING)
            .order_by(Reminder.id)
            .with_for_update()
        )
        result = await session.execute(
            update(Reminder)
            .where(Reminder.id.in_(locked))
            .values(status=ReminderStatus.DROPPED, last_error="coalesced after downtime")
            .returning(Reminder.id)
            .execution_options(synchronize_session=False)
        )
        dropped += len(result.all())
    return dropped


async def _inherit_templates(session: AsyncSession, heirs: dict[int, list[int]]) -> None:
    ids = [*heirs, *(i for losers in heirs.values() for i in losers)]
    payloads: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = await session.execute(
            select(Reminder.id, Reminder.payload).where(
                Reminder.id.in_(ids[start : start + _CHUNK])
            )
        )
        payloads.update({row.id: row.payload for row in rows})
    for keep, losers in heirs.items():
        payload = payloads.get(keep) or {}
        if "templates" in payload:
            continue
        templates = _first_templates(payloads.get(i) for i in sorted(losers))
        if templates is not None:
            await session.execute(
                update(Reminder)
                .where(Reminder.id == keep)
                .values(payload={**payload, "templates": templates})
                .execution_options(synchronize_session=False)
            )


def _first_templates(payloads: Iterable[dict[str, Any] | None]) -> Sequence[Any] | None:
    for payload in payloads:
        if payload and payload.get("templates"):
            return list(payload["templates"])
    return None


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


# --- the dispatcher's side: rows leased to one worker ----------------------------------------


# Claims take turns on PostgreSQL (a transaction-scoped advisory lock with this key), so each
# sees the people the previous claim took. SQLite runs one writing statement at a time anyway.
_CLAIM_LOCK = 0x6E68_6163  # "nhac"


async def claim(
    session: AsyncSession,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    spacing: timedelta = timedelta(seconds=1),
) -> list[Reminder]:
    """Lease up to `limit` due rows to `worker_id` until `now` + `lease`; the rows, in due order,
    one person's rows of one slot together (the dispatcher sends them as one message).

    Several workers write to one person's chat one at a time: a person with rows another
    worker holds, or sent to within `spacing` (the chat API's per-chat interval), is left for
    later. The caller commits before sending anything (which also ends the claim's turn), and
    may expunge the rows to keep them readable.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(_CLAIM_LOCK)))
    free = or_(Reminder.lease_until.is_(None), Reminder.lease_until < now)
    other = aliased(Reminder)
    held_elsewhere = (
        select(other.id)
        .where(
            other.recipient_id == Reminder.recipient_id,
            other.status == ReminderStatus.PENDING,
            other.lease_until >= now,
            other.claimed_by != worker_id,
        )
        .exists()
    )
    just_sent = (
        select(other.id)
        .where(
            other.recipient_id == Reminder.recipient_id,
            other.status == ReminderStatus.SENT,
            other.sent_at > now - spacing,
            other.claimed_by != worker_id,
        )
        .exists()
    )
    # A MATERIALIZED CTE picks the candidates once per statement. As a plain IN (subquery)
    # PostgreSQL may rescan it per row; LockRows then skips the rows this very UPDATE has
    # changed and returns fresh ones, so the LIMIT would not bound the claim at all.
    picked = (
        select(Reminder.id)
        .where(
            Reminder.status == ReminderStatus.PENDING,
            Reminder.due_at <= now,
            free,
            ~held_elsewhere,
            ~just_sent,
        )
        .order_by(Reminder.due_at, Reminder.recipient_id, Reminder.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite serialises writers
        .cte("picked")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    claimed = await session.execute(
        update(Reminder)
        # The conditions again: a row another worker claimed since is not ours.
        .where(
            Reminder.id.in_(select(picked.c.id)),
            Reminder.status == ReminderStatus.PENDING,
            free,
        )
        .values(claimed_by=worker_id, lease_until=now + lease)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )
    ids = [row.id for row in claimed]
    if not ids:
        return []
    return list(
        await session.scalars(
            select(Reminder)
            .where(Reminder.id.in_(ids))
            .order_by(Reminder.due_at, Reminder.recipient_id, Reminder.id)
        )
    )


def _owned(worker_id: str, ids: Iterable[int]) -> tuple[ColumnElement[bool], ...]:
    return Reminder.id.in_(list(ids)), Reminder.claimed_by == worker_id


async def mark_sent(
    session: AsyncSession, worker_id: str, ids: Iterable[int], at: datetime
) -> set[int]:
    """Mark SENT the rows of `ids` that `worker_id` still owns; the ids so marked."""
    result = await session.execute(
        update(Reminder)
        # A row dropped while it was on its way was delivered all the same.
        .where(
            *_owned(worker_id, ids),
            Reminder.status.in_((ReminderStatus.PENDING, ReminderStatus.DROPPED)),
        )
        .values(status=ReminderStatus.SENT, sent_at=at, lease_until=None)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars())


async def finish(
    session: AsyncSession,
    worker_id: str,
    ids: Iterable[int],
    status: ReminderStatus,
    error: str,
    *,
    attempts: int | None = None,
) -> int:
    """End the owned pending rows of `ids` as `status` (FAILED, DROPPED) with `error`; how many."""
    values: dict[str, Any] = {"status": status, "last_error": error, "lease_until": None}
    if attempts is not None:
        values["attempts"] = attempts
    result = await session.execute(
        update(Reminder)
        .where(*_owned(worker_id, ids), Reminder.status == ReminderStatus.PENDING)
        .values(**values)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


async def retry_at(
    session: AsyncSession, worker_id: str, row_id: int, at: datetime, error: str, *, count: bool
) -> None:
    """Give an owned row back, claimable again at `at`; `count` adds one to its attempts."""
    values: dict[str, Any] = {"claimed_by": None, "lease_until": at, "last_error": error}
    if count:
        values["attempts"] = Reminder.attempts + 1
    await session.execute(
        update(Reminder)
        .where(*_owned(worker_id, [row_id]), Reminder.status == ReminderStatus.PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def release(
    session: AsyncSession, worker_id: str, ids: Iterable[int], until: datetime | None
) -> int:
    """Give owned rows back unsent: claimable again at `until` (None: at once); how many."""
    result = await session.execute(
        update(Reminder)
        .where(*_owned(worker_id, ids), Reminder.status == ReminderStatus.PENDING)
        .values(claimed_by=None, lease_until=until)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())
