"""What extension (/giahan) and leave (/nghiphep) requests share on the desk: who decides,
the two one-tap buttons, who may tap them, and the line saying who decided when.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.people import desk_people
from db.models import ExtensionRequest, LeaveRequest, Official
from handlers.catalog import t
from handlers.clerk import notices
from handlers.clerk.access import may_use_desk, refusal
from handlers.presenting import h, moment
from handlers.turn import Turn
from handlers.types import Choice, Reply


async def deciders(session: AsyncSession, asker: Official) -> list[Official]:
    """Who gets a request to decide: the unit's clerks and leaders, never the asker."""
    return [p for p in await desk_people(session, asker.unit_id) if p.id != asker.id]


def buttons(lang: str, approve: str, refuse: str) -> list[Choice]:
    """Đồng ý / Từ chối, carrying the request's tap data."""
    return [
        Choice(t("clerk.button.approve", lang), approve),
        Choice(t("clerk.button.refuse", lang), refuse),
    ]


def buttons_for(lang: str, who: str, approve: str, refuse: str) -> list[Choice]:
    """Đồng ý: <who> / Từ chối: <who>, for a list of several requests."""
    return [
        Choice(t("clerk.extension.approve_who", lang, who=who), approve),
        Choice(t("clerk.extension.refuse_who", lang, who=who), refuse),
    ]


async def ask(
    session: AsyncSession,
    asker: Official,
    at: datetime,
    notice: Callable[[Official], notices.Notice],
) -> None:
    """Queue the request to every decider, each in their own language."""
    await notices.queue(session, [notice(p) for p in await deciders(session, asker)], at)


def tap_refusal(
    turn: Turn, request: ExtensionRequest | LeaveRequest | None, own_key: str
) -> Reply | None:
    """Why this tap decides nothing (not a decider, no such request here, one's own request),
    or None when it may decide."""
    lang = turn.lang
    if not may_use_desk(turn.official):
        return refusal(turn.official, lang)
    if request is None:
        text = t("refuse.bad_choice", lang)
        return Reply(text, notice=text)
    if request.official_id == turn.official.id:
        text = t(own_key, lang)
        return Reply(text, notice=text)
    return None


def decided_by(request: ExtensionRequest | LeaveRequest, tz: ZoneInfo) -> dict[str, str]:
    """Who decided the request and when, as the outcome lines show them."""
    decider = request.decided_by
    return {
        "name": h(decider.full_name) if decider else "",
        "time": moment(request.decided_at, tz) if request.decided_at else "",
    }
