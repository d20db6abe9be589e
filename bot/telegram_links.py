"""How a registration code is used on Telegram: the bot's deep link `t.me/<bot>?start=<code>`."""

from __future__ import annotations

from telegram.helpers import create_deep_linked_url

from handlers.invitation import InviteLink, no_link


def telegram_invite_link(bot_username: str | None) -> InviteLink:
    """The deep links of the bot called `bot_username`; no links while its name is unknown."""
    if not bot_username:
        return no_link
    username = bot_username

    def link(code: str) -> str | None:
        try:
            return create_deep_linked_url(username, code)
        except ValueError:
            # A name too short for Telegram or a code it cannot carry: `/start <code>` still works.
            return None

    return link
