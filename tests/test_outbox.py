"""The outbox on both databases: keyed inserts, dropping a person's reminders, catch-up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Official, Reminder, ReminderStatus
from db.outbox import (
    NewReminder,
    claim,
    coalesce_stale,
    drop_pending,
    enqueue,
    rewrite_pending,
)
from tests.factories import Commune, build_commune

# 08:00 on Friday 08/03/2024 in Ba Bích.
T0 = datetime(2024, 3, 8, 1, 0, tzinfo=UTC)


def new_reminder(
    commune: Commune,
    recipient: Official,
    *,
    due: datetime = T0,
    kind: str = "before_1",
    subject: tuple[str, int | None] | None = None,
    payload: dict[str, Any] | None = None,
    key: str | None = None,
) -> NewReminder:
    """A reminder about the Quý I report unless told otherwise; the key follows the policy's."""
    subject_type, subject_id = subject or ("obligation", commune.q1.id)
    return NewReminder(
        unit_id=commune.unit.id,
        idempotency_key=key
        or f"{recipient.id}:{subject_type}:{subject_id}:{kind}:{due:%Y%m%d%H%M}",
        recipient_id=recipient.id,
        subject_type=subject_type,
        subject_id=subject_id,
        kind=kind,
        slot_at=due,
        due_at=due,
        payload=payload or {"code": "CCHC-Q1-2024"},
    )


async def _rows(session: AsyncSession) -> list[Reminder]:
    # Fresh from the database: the statements under test bypass the session's identity map.
    query = select(Reminder).order_by(Reminder.id).execution_options(populate_existing=True)
    return list(await session.scalars(query))


async def _count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Reminder)) or 0)


async def test_enqueue_writes_each_key_once(session: AsyncSession) -> None:
    commune = await build_commune(session)
    batch = [
        new_reminder(commune, commune.an, kind="before_3", due=T0 - timedelta(days=2)),
        new_reminder(commune, commune.an),
        new_reminder(commune, commune.binh),
    ]

    assert await enqueue(session, batch) == 3
    await session.commit()
    assert await enqueue(session, batch) == 0
    later = new_reminder(commune, commune.an, kind="due_day", due=T0 + timedelta(days=2))
    assert await enqueue(session, [*batch, later]) == 1
    await session.commit()

    rows = await _rows(session)
    assert [(r.recipient_id, r.kind) for r in rows] == [
        (commune.an.id, "before_3"),
        (commune.an.id, "before_1"),
        (commune.binh.id, "before_1"),
        (commune.an.id, "due_day"),
    ]
    assert {r.status for r in rows} == {ReminderStatus.PENDING}
    assert {r.attempts for r in rows} == {0}
    assert rows[0].payload == {"code": "CCHC-Q1-2024"}


async def test_enqueue_keeps_the_first_of_one_key_given_twice(session: AsyncSession) -> None:
    commune = await build_commune(session)
    first = new_reminder(commune, commune.an, payload={"n": 1})
    second = new_reminder(commune, commune.an, payload={"n": 2})
    assert first.idempotency_key == second.idempotency_key

    assert await enqueue(session, [first, second]) == 1
    assert await enqueue(session, []) == 0
    await session.commit()

    assert [r.payload for r in await _rows(session)] == [{"n": 1}]


async def test_two_sessions_enqueueing_the_same_keys_at_once_write_them_once(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    commune = await build_commune(session)
    batch = [
        new_reminder(commune, person, due=T0 + timedelta(days=d))
        for person in (commune.an, commune.binh)
        for d in range(50)
    ]

    async def sweep() -> int:
        async with sessionmaker() as s:
            written = await enqueue(s, batch)
            await s.commit()
            return written

    written = await asyncio.gather(sweep(), sweep())

    assert sum(written) == 100
    assert await _count(session) == 100


async def test_enqueue_splits_large_batches(session: AsyncSession) -> None:
    commune = await build_commune(session)
    batch = [new_reminder(commune, commune.an, due=T0 + timedelta(minutes=m)) for m in range(1201)]

    assert await enqueue(session, batch) == 1201
    assert await enqueue(session, batch) == 0
    await session.commit()
    assert await _count(session) == 1201


async def test_drop_pending_stops_that_person_and_subject_only(session: AsyncSession) -> None:
    commune = await build_commune(session)
    six = ("obligation", commune.six_months.id)
    await enqueue(
        session,
        [
            new_reminder(commune, commune.an, kind="before_3", due=T0 - timedelta(days=1)),
            new_reminder(commune, commune.an, kind="before_1", due=T0),
            new_reminder(commune, commune.an, kind="due_day", due=T0 + timedelta(days=2)),
            new_reminder(commune, commune.an, subject=six),
            new_reminder(commune, commune.binh),
        ],
    )
    await session.commit()
    sent = (await _rows(session))[0]
    sent.status = ReminderStatus.SENT
    await session.commit()

    dropped = await drop_pending(
        session,
        recipient_id=commune.an.id,
        subject_type="obligation",
        subject_id=commune.q1.id,
        reason="submitted",
    )
    await session.commit()

    assert dropped == 2
    rows = await _rows(session)
    assert [(r.kind, r.subject_id, r.recipient_id, r.status) for r in rows] == [
        ("before_3", commune.q1.id, commune.an.id, ReminderStatus.SENT),
        ("before_1", commune.q1.id, commune.an.id, ReminderStatus.DROPPED),
        ("due_day", commune.q1.id, commune.an.id, ReminderStatus.DROPPED),
        ("before_1", commune.six_months.id, commune.an.id, ReminderStatus.PENDING),
        ("before_1", commune.q1.id, commune.binh.id, ReminderStatus.PENDING),
    ]
    assert rows[1].last_error == "submitted"


async def test_drop_pending_can_drop_only_what_states_the_deadline(session: AsyncSession) -> None:
    commune = await build_commune(session)
    kinds = ["before_3", "due_day", "overdue", "checkin", "nudge", "extension_decided"]
    await enqueue(
        session,
        [
            new_reminder(commune, commune.an, kind=k, due=T0 + timedelta(minutes=i))
            for i, k in enumerate(kinds)
        ],
    )
    await session.commit()

    dropped = await drop_pending(
        session,
        recipient_id=commune.an.id,
        subject_type="obligation",
        subject_id=commune.q1.id,
        reason="due date extended",
        deadline_only=True,
    )
    await session.commit()

    assert dropped == 3
    assert {r.kind: r.status for r in await _rows(session)} == {
        "before_3": ReminderStatus.DROPPED,
        "due_day": ReminderStatus.DROPPED,
        "overdue": ReminderStatus.DROPPED,
        "checkin": ReminderStatus.PENDING,
        "nudge": ReminderStatus.PENDING,
        "extension_decided": ReminderStatus.PENDING,
    }


async def test_drop_pending_matches_a_subject_without_id(session: AsyncSession) -> None:
    commune = await build_commune(session)
    await enqueue(
        session,
        [
            new_reminder(commune, commune.an, subject=("general", None)),
            new_reminder(commune, commune.an, subject=("general", 7)),
        ],
    )

    dropped = await drop_pending(
        session, recipient_id=commune.an.id, subject_type="general", subject_id=None, reason="x"
    )

    assert dropped == 1
    assert [r.status for r in await _rows(session)] == [
        ReminderStatus.DROPPED,
        ReminderStatus.PENDING,
    ]


async def test_coalesce_keeps_the_newest_stale_reminder_per_person_and_subject(
    session: AsyncSession,
) -> None:
    commune = await build_commune(session)
    now = T0 + timedelta(days=3)  # back after three days down
    templates = {"code": "CCHC-Q1-2024", "templates": ["de-cuong.docx", "phu-luc.xlsx"]}
    await enqueue(
        session,
        [
            # An, Quý I: three stale reminders; the first carried the templates.
            new_reminder(commune, commune.an, kind="before_3", due=T0, payload=templates),
            new_reminder(commune, commune.an, kind="before_1", due=T0 + timedelta(days=1)),
            new_reminder(commune, commune.an, kind="due_day", due=T0 + timedelta(days=2)),
            # Bình, Quý I: one stale, one due a minute ago (not stale): the fresh one wins.
            new_reminder(commune, commune.binh, kind="before_1", due=T0 + timedelta(days=1)),
            new_reminder(commune, commune.binh, kind="overdue", due=now - timedelta(minutes=1)),
            # Bình, 6 tháng: a single stale reminder is the newest of its own group.
            new_reminder(
                commune, commune.binh, subject=("obligation", commune.six_months.id), due=T0
            ),
            # The clerk: a digest is a separate message from their own reminder.
            new_reminder(commune, commune.clerk, kind="before_1", due=T0),
            new_reminder(commune, commune.clerk, kind="digest_clerk", due=T0 + timedelta(days=1)),
            # Not due yet: untouched.
            new_reminder(commune, commune.an, kind="overdue", due=now + timedelta(hours=1)),
        ],
    )
    await session.commit()

    dropped = await coalesce_stale(session, now, timedelta(minutes=30))
    await session.commit()

    assert dropped == 3
    rows = await _rows(session)
    kept = [(r.recipient_id, r.subject_id, r.kind) for r in rows if r.status == "pending"]
    assert kept == [
        (commune.an.id, commune.q1.id, "due_day"),
        (commune.binh.id, commune.q1.id, "overdue"),
        (commune.binh.id, commune.six_months.id, "before_1"),
        (commune.clerk.id, commune.q1.id, "before_1"),
        (commune.clerk.id, commune.q1.id, "digest_clerk"),
        (commune.an.id, commune.q1.id, "overdue"),
    ]
    by_kind = {(r.recipient_id, r.kind): r for r in rows}
    assert by_kind[commune.an.id, "due_day"].payload["templates"] == [
        "de-cuong.docx",
        "phu-luc.xlsx",
    ]
    assert by_kind[commune.an.id, "before_3"].status == ReminderStatus.DROPPED
    assert by_kind[commune.an.id, "before_3"].last_error == "coalesced after downtime"
    assert "templates" not in by_kind[commune.binh.id, "overdue"].payload

    assert await coalesce_stale(session, now, timedelta(minutes=30)) == 0


async def test_coalesce_ignores_sent_rows_and_fresh_backlog(session: AsyncSession) -> None:
    commune = await build_commune(session)
    await enqueue(
        session,
        [
            new_reminder(commune, commune.an, kind="before_3", due=T0),
            new_reminder(commune, commune.an, kind="before_1", due=T0 + timedelta(minutes=10)),
        ],
    )
    await session.commit()

    # Both due, neither older than the limit: nothing is stale.
    assert await coalesce_stale(session, T0 + timedelta(minutes=20), timedelta(hours=1)) == 0
    rows = await _rows(session)
    rows[1].status = ReminderStatus.SENT
    await session.commit()
    # The newer one went out already: the stale pending one is the newest pending, so it stays.
    assert await coalesce_stale(session, T0 + timedelta(days=1), timedelta(hours=1)) == 0
    assert [r.status for r in await _rows(session)] == [
        ReminderStatus.PENDING,
        ReminderStatus.SENT,
    ]


async def test_rewrite_pending_changes_a_waiting_row_but_not_one_a_dispatcher_holds(
    session: AsyncSession,
) -> None:
    commune = await build_commune(session)
    waiting = new_reminder(commune, commune.an, kind="blocked_notice")
    held = new_reminder(commune, commune.binh, kind="blocked_notice")
    await enqueue(session, [waiting, held])
    await session.commit()
    # The dispatcher has claimed An's row (the first by recipient): it may be rendered
    # already, so it stays as it is; Bình's still waits.
    (claimed,) = await claim(session, "w1", T0, timedelta(minutes=2), 1)
    assert claimed.recipient_id == commune.an.id
    await session.commit()

    assert not await rewrite_pending(session, waiting.idempotency_key, {"text": "lý do"})
    assert await rewrite_pending(session, held.idempotency_key, {"text": "lý do"})
    await session.commit()
    rows = {r.recipient_id: r for r in await _rows(session)}
    assert rows[commune.an.id].payload == {"code": "CCHC-Q1-2024"}
    assert rows[commune.binh.id].payload == {"text": "lý do"}
