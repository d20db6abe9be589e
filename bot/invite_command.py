"""`python -m bot invite "<name>"`: a one-time registration link for an official."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram.error import TelegramError

from bot import wiring
from bot.settings import Settings
from bot.telegram_channel import telegram_bot
from db import audit
from db.clock import Clock, format_datetime
from db.invites import create_invite
from db.models import Unit
from db.names import find_officials
from handlers.catalog import t

log = logging.getLogger(__name__)


class InviteError(Exception):
    """The invite cannot be made (no such person, ambiguous name, no unit)."""


async def invite(
    settings: Settings, name: str, unit_code: str | None, days: int, clock: Clock
) -> str:
    """Create an invite for the official called `name`; return the text to show the clerk."""
    now = clock.now()
    async with (
        wiring.database(settings) as sessionmaker,
        sessionmaker() as session,
        session.begin(),
    ):
        unit = await _unit(session, unit_code)
        match = await find_officials(session, unit.id, name)
        official = match.official
        if official is None:
            if not match.candidates:
                raise InviteError(t("cli.invite.not_found", "vi", name=name))
            listing = "\n".join(
                f"  - {o.full_name} ({o.key}, {o.department})" for o in match.candidates
            )
            raise InviteError(t("cli.invite.ambiguous", "vi", name=name, candidates=listing))
        code = await create_invite(session, official, now, ttl=timedelta(days=days))
        audit.record(
            session,
            at=now,
            actor="cli",
            action="invite.create",
            unit_id=unit.id,
            target=f"official:{official.key}",
            details={"days": days},
        )
    expires = format_datetime(now + timedelta(days=days), settings.tz)
    lines = [t("cli.invite.created", "vi", name=official.full_name, code=code, expires=expires)]
    username = settings.telegram_bot_username or await _bot_username(settings)
    if username:
        lines.append(t("cli.invite.link", "vi", link=f"https://t.me/{username}?start={code}"))
    else:
        lines.append(t("cli.invite.no_username", "vi", code=code))
    return "\n".join(lines)


async def _unit(session: AsyncSession, unit_code: str | None) -> Unit:
    query = select(Unit).order_by(Unit.code)
    if unit_code:
        query = query.where(Unit.code == unit_code)
    units = list(await session.scalars(query))
    if not units:
        raise InviteError(t("cli.invite.no_unit", "vi"))
    if len(units) > 1:
        raise InviteError(t("cli.invite.which_unit", "vi", units=", ".join(u.code for u in units)))
    return units[0]


async def _bot_username(settings: Settings) -> str | None:
    if not settings.telegram_token:
        return None
    bot = telegram_bot(settings)
    try:
        async with bot:
            return bot.username
    except TelegramError as exc:
        log.warning("could not ask Telegram for the bot's username: %s", type(exc).__name__)
        return None
