"""`python -m bot invite "<name>"`: a one-time registration link for an official."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.error import TelegramError

from bot import wiring
from bot.command_error import CommandError
from bot.plain_text import to_plain_text
from bot.settings import Settings
from bot.telegram_channel import telegram_bot
from bot.telegram_links import telegram_invite_link
from bot.unit_choice import chosen_unit
from db.clock import Clock, format_datetime
from handlers.catalog import t
from handlers.invitation import NoSingleOfficial, invite_official
from handlers.presenting import h

log = logging.getLogger(__name__)

# The command line speaks Vietnamese, like the other commands.
LANGUAGE = "vi"


async def invite(
    settings: Settings, name: str, unit_code: str | None, days: int, clock: Clock
) -> str:
    """Create an invite for the official called `name`; return the text to show the clerk."""
    username = settings.telegram_bot_username or await _bot_username(settings)
    async with (
        wiring.database(settings) as sessionmaker,
        sessionmaker() as session,
        session.begin(),
    ):
        unit = await chosen_unit(session, unit_code)
        try:
            invitation = await invite_official(
                session,
                unit.id,
                name,
                clock.now(),
                actor="cli",
                ttl=timedelta(days=days),
                link=telegram_invite_link(username),
            )
        except NoSingleOfficial as refused:
            raise CommandError(_refusal(refused)) from None
    expires = format_datetime(invitation.expires_at, settings.tz)
    official = invitation.official
    code = invitation.code
    lines = [t("cli.invite.created", LANGUAGE, name=official.full_name, code=code, expires=expires)]
    # Each channel the bot runs says how the code is used there; with none configured (a
    # newcomer's first look) Telegram's way is shown, as before Zalo.
    if settings.telegram_token or not settings.zalo_token:
        if invitation.link:
            lines.append(t("cli.invite.link", LANGUAGE, link=invitation.link))
        else:
            lines.append(t("cli.invite.no_username", LANGUAGE, code=code))
    if settings.zalo_token:
        bot = settings.zalo_bot_name or t("invite.zalo_unnamed", LANGUAGE)
        lines.append(to_plain_text(t("invite.zalo", LANGUAGE, bot=h(bot), code=code)))
    return "\n".join(lines)


def _refusal(refused: NoSingleOfficial) -> str:
    if not refused.candidates:
        return t("cli.invite.not_found", LANGUAGE, name=refused.name)
    listing = "\n".join(f"  - {o.full_name} ({o.key}, {o.department})" for o in refused.candidates)
    return t("cli.invite.ambiguous", LANGUAGE, name=refused.name, candidates=listing)


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
