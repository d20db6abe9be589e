"""/start: binding a chat to an official with a one-time code, and the summary after."""

from __future__ import annotations

import math
from typing import Any

from db import audit, identities, invites
from handlers.catalog import t
from handlers.chat_added import chat_added
from handlers.office import office_name
from handlers.presenting import h
from handlers.turn import Turn
from handlers.types import Reply
from handlers.workload_view import summary_text


async def start(turn: Turn, code: str) -> Reply:
    """/start [code]: register with a code, or get the summary when already registered."""
    if turn.identity is not None:
        official = turn.identity.official
        if code:
            # Any code opened in a bound chat is refused (and left unused): a chat belongs to
            # one official, and re-opening one's own link just says so.
            return Reply(t("register.already", turn.lang, name=h(official.full_name)))
        greeting = t("summary.greeting", turn.lang, name=h(official.full_name))
        return Reply(f"{greeting}\n{await summary_text(turn)}")
    if not code:
        return Reply(t("register.how", turn.lang, office=office_name(None, turn.lang)))
    until = await invites.locked_until(turn.session, turn.actor, turn.now)
    if until is not None:
        # Too many wrong codes: this one is not even looked up, right or wrong.
        _audit_refusal(turn, invites.LOCKED_OUT_ACTION, {"until": until.isoformat()})
        minutes = max(1, math.ceil((until - turn.now).total_seconds() / 60))
        return Reply(t("register.locked_out", turn.lang, minutes=minutes))
    redeemed = await invites.redeem_invite(turn.session, code, turn.now)
    if redeemed is None:
        _audit_refusal(turn, invites.WRONG_CODE_ACTION, {})
        return Reply(t("register.bad_code", turn.lang, office=office_name(None, turn.lang)))
    official = redeemed.official
    identity = await identities.bind(
        turn.session, official, turn.sender.channel, turn.sender.external_id, turn.now
    )
    await invites.mark_used_by(turn.session, redeemed.invite_id, identity.id)
    await turn.session.refresh(official, ["unit", "leaves"])
    # One more chat for someone already registered: nobody is left unaware of it.
    await chat_added(turn.session, official, identity, turn.now)
    audit.record(
        turn.session,
        at=turn.now,
        actor=turn.actor,
        action="identity.bind",
        unit_id=official.unit_id,
        official=official,
        target=f"identity:{identity.id}",
        details={"channel": turn.sender.channel.value, "invite_id": redeemed.invite_id},
    )
    turn.identity = identity
    turn.lang = official.language
    welcome = t(
        "register.welcome", turn.lang, name=h(official.full_name), unit=h(official.unit.name)
    )
    return Reply(f"{welcome}\n\n{await summary_text(turn)}\n\n{t('help.body', turn.lang)}")


def _audit_refusal(turn: Turn, action: str, details: dict[str, Any]) -> None:
    # The code itself is never written down: a wrong one may be a right one mistyped.
    audit.record(
        turn.session,
        at=turn.now,
        actor=turn.actor,
        action=action,
        unit_id=None,
        details={"channel": turn.sender.channel.value, **details},
    )
