"""/kenh: which of the official's channels gets the reminders.

By default reminders follow the chat the person wrote from last; `/kenh zalo` or
`/kenh telegram` fixes one of the channels they are registered on, `/kenh tudong` goes back.
"""

from __future__ import annotations

from db import audit
from db.models import Channel
from handlers.catalog import t
from handlers.office import office_name
from handlers.turn import Turn
from handlers.types import Reply

_CHOSEN = {"telegram": Channel.TELEGRAM, "zalo": Channel.ZALO}
_AUTOMATIC = {"tudong", "tự động", "tu dong", "auto"}


# How people call each channel (the same in both languages).
def channel_name(channel: Channel, lang: str | None) -> str:
    """How a person calls the channel (Telegram, Zalo, the demo's console)."""
    return t(f"channel.name.{channel.value}", lang)


async def channel_command(turn: Turn, args: str) -> Reply:
    """Show or set the channel that gets the official's reminders."""
    official = turn.official
    await turn.session.refresh(official, ["identities"])
    bound = sorted({i.channel for i in official.identities}, key=lambda c: c.value)
    wanted = args.strip().casefold()
    if not wanted:
        return Reply(_current(turn, bound))
    if wanted in _AUTOMATIC:
        chosen: Channel | None = None
    elif wanted in _CHOSEN:
        chosen = _CHOSEN[wanted]
        if chosen not in bound:
            office = office_name(official.unit, turn.lang)
            return Reply(
                t(
                    "channel.not_bound",
                    turn.lang,
                    channel=channel_name(chosen, turn.lang),
                    office=office,
                )
            )
    else:
        return Reply(t("channel.usage", turn.lang))
    if official.preferred_channel != chosen:
        audit.record(
            turn.session,
            at=turn.now,
            actor=turn.actor,
            action="official.channel",
            unit_id=official.unit_id,
            official=official,
            details={
                "from": official.preferred_channel.value if official.preferred_channel else None,
                "to": chosen.value if chosen else None,
            },
        )
        official.preferred_channel = chosen
    if chosen is None:
        return Reply(t("channel.set_automatic", turn.lang))
    return Reply(t("channel.set", turn.lang, channel=channel_name(chosen, turn.lang)))


def _current(turn: Turn, bound: list[Channel]) -> str:
    names = ", ".join(channel_name(c, turn.lang) for c in bound)
    preferred = turn.official.preferred_channel
    if preferred is not None and preferred in bound:
        now = t("channel.now_fixed", turn.lang, channel=channel_name(preferred, turn.lang))
    else:
        now = t("channel.now_automatic", turn.lang)
    return t("channel.show", turn.lang, channels=names, now=now)
