"""Finding the report or task a clerk names, and the unit's departments."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.kinds import OBLIGATION, TASK
from db.models import ExtensionRequest, Obligation, Official, Submission, Task
from db.names import fold_name
from db.task_codes import typed_code

Subject = Obligation | Task


def subject_type_of(subject: Subject) -> str:
    """The outbox's subject type of a report or a task (`db.kinds`)."""
    return OBLIGATION if isinstance(subject, Obligation) else TASK


async def subject_of(session: AsyncSession, row: Submission | ExtensionRequest) -> Subject:
    """The report or task a submission or an extension request is about."""
    if row.obligation_id is not None:
        obligation = await session.get(Obligation, row.obligation_id)
        assert obligation is not None
        return obligation
    assert row.task_id is not None
    task = await session.get(Task, row.task_id)
    assert task is not None
    return task


async def find_obligation(
    session: AsyncSession, unit_id: int, text: str, today: date
) -> Obligation | None:
    """The active report instance named by its code ("CCHC-Q1-2024") or its report's code.

    A report code ("CCHC-Q1") names the instance due this year; failing that the latest one
    already due, failing that the next one to come.
    """
    wanted = text.strip().lower()
    if not wanted:
        return None
    exact = await session.scalar(
        select(Obligation).where(
            Obligation.unit_id == unit_id,
            Obligation.active.is_(True),
            func.lower(Obligation.code) == wanted,
        )
    )
    if exact is not None:
        return exact
    family = list(
        await session.scalars(
            select(Obligation)
            .where(
                Obligation.unit_id == unit_id,
                Obligation.active.is_(True),
                func.lower(Obligation.report_code) == wanted,
            )
            .order_by(Obligation.due_date)
        )
    )
    if not family:
        return None
    this_year = [o for o in family if o.due_date.year == today.year]
    if this_year:
        return this_year[0]
    past = [o for o in family if o.due_date <= today]
    return past[-1] if past else family[0]


async def find_task(session: AsyncSession, unit_id: int, text: str) -> Task | None:
    """The active task with this code ("2.4", typed "2,4" too)."""
    code = typed_code(text)
    if not code:
        return None
    return await session.scalar(
        select(Task).where(
            Task.unit_id == unit_id,
            Task.active.is_(True),
            func.lower(Task.code) == code.lower(),
        )
    )


async def find_subject(
    session: AsyncSession, unit_id: int, text: str, today: date
) -> Subject | None:
    """A report (see `find_obligation`) or else a task named by `text`."""
    obligation = await find_obligation(session, unit_id, text, today)
    if obligation is not None:
        return obligation
    return await find_task(session, unit_id, text)


async def obligations_due_in(session: AsyncSession, unit_id: int, year: int) -> list[Obligation]:
    """The active report instances due in `year`, in due-date order."""
    return list(
        await session.scalars(
            select(Obligation)
            .where(
                Obligation.unit_id == unit_id,
                Obligation.active.is_(True),
                Obligation.due_date >= date(year, 1, 1),
                Obligation.due_date <= date(year, 12, 31),
            )
            .order_by(Obligation.due_date, Obligation.code)
        )
    )


async def find_departments(session: AsyncSession, unit_id: int, text: str) -> list[str]:
    """The departments of active officials matching `text`, accents and case ignored.

    The whole name wins; otherwise every department containing the text.
    """
    folded = fold_name(text)
    if not folded:
        return []
    names = list(
        await session.scalars(
            select(Official.department)
            .where(Official.unit_id == unit_id, Official.active.is_(True))
            .distinct()
        )
    )
    exact = [n for n in names if n and fold_name(n) == folded]
    if exact:
        return exact
    return sorted(n for n in names if n and folded in fold_name(n))
