"""Whether a report's compilation can go up: the report of the level above it feeds, when the
clerk is the one who owes it, and the choice that offers it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Obligation, ObligationAssignee, Official, Unit
from db.unit_tree import fed_report
from handlers import callbacks
from handlers.catalog import t
from handlers.types import Choice


async def owed_parent(
    session: AsyncSession, obligation: Obligation, official: Official
) -> Obligation | None:
    """The active report `obligation` feeds, if `official` is one who owes it."""
    parent = await fed_report(session, obligation)
    if parent is None or not parent.active:
        return None
    owes = await session.scalar(
        select(ObligationAssignee.id).where(
            ObligationAssignee.obligation_id == parent.id,
            ObligationAssignee.official_id == official.id,
        )
    )
    return parent if owes is not None else None


async def forward_choices(
    session: AsyncSession, obligation: Obligation, official: Official, lang: str
) -> list[list[Choice]]:
    """ "Gửi lên <the level above>" when `obligation` feeds a report `official` owes."""
    parent = await owed_parent(session, obligation, official)
    if parent is None:
        return []
    unit = await session.get(Unit, parent.unit_id)
    label = t("compile.forward.button", lang, to=unit.name if unit else parent.title)
    return [[Choice(label, callbacks.forward_data(obligation.id))]]
