"""/invite <name>: the same one-time registration link as `python -m bot invite`."""

from __future__ import annotations

from datetime import timedelta

from db import audit
from db.clock import format_datetime
from db.invites import DEFAULT_TTL, create_invite
from db.names import find_officials
from handlers.catalog import t
from handlers.clerk.context import Desk, DeskInputError, Tools
from handlers.presenting import h
from handlers.turn import Turn
from handlers.types import Reply


async def invite_reply(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    """A code for the one official matching the name; candidates when several match."""
    name = " ".join(args.split())
    if not name:
        raise DeskInputError(t("clerk.invite.usage", desk.lang))
    match = await find_officials(desk.session, desk.unit_id, name)
    official = match.official
    if official is None:
        if not match.candidates:
            raise DeskInputError(t("clerk.invite.not_found", desk.lang, name=h(name)))
        listing = "\n".join(
            t(
                "clerk.invite.candidate",
                desk.lang,
                name=h(o.full_name),
                key=h(o.key),
                department=h(o.department),
            )
            for o in match.candidates
        )
        raise DeskInputError(
            t("clerk.invite.ambiguous", desk.lang, name=h(name), candidates=listing)
        )
    ttl: timedelta = DEFAULT_TTL
    code = await create_invite(desk.session, official, desk.now, ttl=ttl)
    audit.record(
        desk.session,
        at=desk.now,
        actor=turn.actor,
        action="invite.create",
        unit_id=desk.unit_id,
        official=turn.official,
        target=f"official:{official.key}",
        details={"days": ttl.days},
    )
    lines = [
        t(
            "clerk.invite.created",
            desk.lang,
            name=h(official.full_name),
            code=code,
            expires=format_datetime(desk.now + ttl, desk.tz),
        )
    ]
    if tools.bot_username:
        link = f"https://t.me/{tools.bot_username}?start={code}"
        lines.append(t("clerk.invite.link", desk.lang, link=h(link)))
    else:
        lines.append(t("clerk.invite.no_username", desk.lang, code=code))
    return Reply("\n".join(lines))
