"""/invite <name>: the clerk's registration code in chat (see `handlers.invitation`)."""

from __future__ import annotations

from db.clock import format_datetime
from handlers.catalog import t
from handlers.clerk.context import Desk, DeskInputError, Tools
from handlers.free_text import echo
from handlers.invitation import NoSingleOfficial, invite_official
from handlers.presenting import h
from handlers.turn import Turn
from handlers.types import Reply


async def invite_reply(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    """A code for the one official matching the name; candidates when several match."""
    name = " ".join(args.split())
    if not name:
        raise DeskInputError(t("clerk.invite.usage", desk.lang))
    try:
        invitation = await invite_official(
            desk.session,
            desk.unit_id,
            name,
            desk.now,
            actor=turn.actor,
            by=turn.official,
            link=tools.invite_link,
        )
    except NoSingleOfficial as refused:
        raise DeskInputError(_refusal(desk, refused)) from None
    official = invitation.official
    lines = [
        t(
            "clerk.invite.created",
            desk.lang,
            name=h(official.full_name),
            code=invitation.code,
            expires=format_datetime(invitation.expires_at, desk.tz),
        )
    ]
    if tools.telegram or tools.zalo_bot is None:
        if invitation.link:
            lines.append(t("clerk.invite.link", desk.lang, link=h(invitation.link)))
        else:
            lines.append(t("clerk.invite.no_username", desk.lang, code=invitation.code))
    if tools.zalo_bot is not None:
        bot = h(tools.zalo_bot) or t("invite.zalo_unnamed", desk.lang)
        lines.append(t("invite.zalo", desk.lang, bot=bot, code=invitation.code))
    return Reply("\n".join(lines))


def _refusal(desk: Desk, refused: NoSingleOfficial) -> str:
    name = h(echo(refused.name))
    if not refused.candidates:
        return t("clerk.invite.not_found", desk.lang, name=name)
    listing = "\n".join(
        t(
            "clerk.invite.candidate",
            desk.lang,
            name=h(o.full_name),
            key=h(o.key),
            department=h(o.department),
        )
        for o in refused.candidates
    )
    return t("clerk.invite.ambiguous", desk.lang, name=name, candidates=listing)
