"""Messages the desk sends to people other than the speaker, through the outbox.

The conversation can only answer whoever spoke; a returned report, a nudge or an extension
decision must reach someone else. Each is written into the outbox (`db.outbox`) with
its text and buttons already rendered in the recipient's language, so the dispatcher's
renderer only has to copy them (`notice_reply`). Their kinds are in `db.kinds`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Reminder
from db.outbox import NewReminder, enqueue
from handlers.types import Choice, Reply


@dataclass(frozen=True)
class Notice:
    """One message to one official about one report or task."""

    unit_id: int
    recipient_id: int
    kind: str
    subject_type: str  # db.kinds.OBLIGATION or TASK; OFFICIAL for leave (the asker)
    subject_id: int
    # What makes this message unique besides recipient, subject and kind (a submission id
    # and review time, the clerk's request time): writing it twice then sends it once.
    ref: str
    text: str
    choices: Sequence[Sequence[Choice]] = ()
    details: dict[str, Any] | None = None

    @property
    def idempotency_key(self) -> str:
        return f"{self.recipient_id}:{self.subject_type}:{self.subject_id}:{self.kind}:{self.ref}"


def stamp(at: datetime) -> str:
    """A minute-precision UTC stamp for idempotency keys."""
    return at.astimezone(UTC).strftime("%Y%m%d%H%M")


async def queue(session: AsyncSession, notices: Sequence[Notice], at: datetime) -> int:
    """Write the notices into the outbox, due at once; return how many were new."""
    return await enqueue(
        session,
        [
            NewReminder(
                unit_id=n.unit_id,
                idempotency_key=n.idempotency_key,
                recipient_id=n.recipient_id,
                subject_type=n.subject_type,
                subject_id=n.subject_id,
                kind=n.kind,
                slot_at=at,
                due_at=at,
                payload={
                    **(n.details or {}),
                    "text": n.text,
                    "choices": [
                        [{"label": c.label, "data": c.data} for c in row] for row in n.choices
                    ],
                },
            )
            for n in notices
        ],
    )


def notice_reply(row: Reminder) -> Reply:
    """The message a desk notice row stands for (the dispatcher's renderer calls this)."""
    payload = row.payload or {}
    choices = [
        [Choice(str(c["label"]), str(c["data"])) for c in line]
        for line in payload.get("choices", [])
    ]
    return Reply(str(payload.get("text", "")), choices)
