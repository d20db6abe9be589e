"""The audit log: one row for every change a person makes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Official


def record(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    action: str,
    unit_id: int | None,
    official: Official | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the session's transaction (committed with the change itself)."""
    entry = AuditEntry(
        unit_id=unit_id,
        actor_official_id=official.id if official else None,
        actor=actor,
        action=action,
        target=target,
        at=at,
        details=details or {},
    )
    session.add(entry)
    return entry
