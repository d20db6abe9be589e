"""One message per person per slot: several rendered outbox messages made into one.

The 08:00 wave may hold, for one person, reminders for several reports and tasks, a check-in,
a digest and the desk's notices. Sent apart they are seven pings in one morning (issue 14);
here they become one message of numbered items. Each item keeps its actions: its choices are
labelled with the item's number, and their data is marked as coming from a bundle, so a tap
answers in a new message instead of editing the bundle (which would erase the other items).
Channels without buttons number the choices as usual (`handlers/numbered_choices.py`).
A message carries at most `MAX_CHOICES` (Telegram refuses more than 100 buttons, and the whole
message would be lost): items past that keep their text, and a line says how to answer them.
"""

from __future__ import annotations

from collections.abc import Sequence

from handlers import callbacks
from handlers.catalog import t
from handlers.types import Choice, OutgoingFile, Reply

MAX_CHOICES = 100


def bundle_replies(replies: Sequence[Reply], lang: str | None) -> Reply:
    """The one message that carries `replies` (two or more) as numbered items."""
    if len(replies) == 1:
        return replies[0]
    parts = [t("bundle.head", lang, count=len(replies))]
    choices: list[list[Choice]] = []
    files: list[OutgoingFile] = []
    room = MAX_CHOICES
    without: list[int] = []
    for number, reply in enumerate(replies, start=1):
        parts.append(t("bundle.item", lang, number=number, text=reply.text))
        files.extend(reply.files)
        wanted = sum(len(row) for row in reply.choices)
        if wanted > room:
            without.append(number)
            continue
        room -= wanted
        for row in reply.choices:
            choices.append(
                [
                    Choice(
                        t("bundle.choice", lang, number=number, label=choice.label),
                        callbacks.in_bundle(choice.data),
                    )
                    for choice in row
                ]
            )
    if without:
        numbers = ", ".join(str(n) for n in without)
        parts.append(t("bundle.no_buttons", lang, numbers=numbers))
    return Reply("\n\n".join(parts), choices, files=files)
