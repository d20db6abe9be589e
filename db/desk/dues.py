"""Whose deadline is when: a subject's due date, or an official's own date from the plan (a
child unit's `forward_due` on its parent's report), moved later for one official by an extension."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Obligation, ObligationAssignee, Task, TaskAssignee


def effective_due(
    subject_due: date, extended_due: date | None, own_due: date | None = None
) -> date:
    """The official's due date: their own date from the plan, else the subject's; an
    extension counts when it is later."""
    base = own_due if own_due is not None else subject_due
    if extended_due is not None and extended_due > base:
        return extended_due
    return base


def effective_due_sql(
    subject_due: SQLColumnExpression[Any], extended_due: SQLColumnExpression[Any]
) -> ColumnElement[date]:
    """`effective_due` as SQL (tasks: no own date); a plan that later moves the subject's
    date still wins if later."""
    return case((extended_due > subject_due, extended_due), else_=subject_due)


async def official_due(
    session: AsyncSession, subject: Obligation | Task, official_id: int
) -> date | None:
    """The due date that holds for one official: the subject's, or their approved extension."""
    if isinstance(subject, Obligation):
        row = (
            await session.execute(
                select(ObligationAssignee.extended_due, ObligationAssignee.own_due).where(
                    ObligationAssignee.obligation_id == subject.id,
                    ObligationAssignee.official_id == official_id,
                )
            )
        ).first()
        extended, own = row if row is not None else (None, None)
        return effective_due(subject.due_date, extended, own)
    extended = await session.scalar(
        select(TaskAssignee.extended_due).where(
            TaskAssignee.task_id == subject.id, TaskAssignee.official_id == official_id
        )
    )
    if subject.due_date is None:
        return extended
    return effective_due(subject.due_date, extended)
