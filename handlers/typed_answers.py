"""A typed answer to numbered choices, in chats without buttons (Zalo).

The channel numbered the choices when it sent them and recorded them as the chat's latest
prompt (`db.chat_prompts`). A number, or a choice's words, answers that prompt once, within a
day; a number for an older, answered or expired prompt is refused with the reason, and
nothing changes.
"""

from __future__ import annotations

from datetime import timedelta

from db import chat_prompts
from handlers.catalog import t
from handlers.numbered_choices import typed_choice, typed_number
from handlers.turn import Turn
from handlers.types import ChoiceTapped, Reply

# A reminder sent at 08:00 is still answerable at the end of the working day, not next week.
PROMPT_TTL = timedelta(hours=24)


async def typed_answer(turn: Turn, text: str, *, words: bool = True) -> ChoiceTapped | Reply | None:
    """The tap a typed text stands for, a refusal saying why it stands for none, or None when
    the text is not an answer to choices at all; `words` False reads numbers only."""
    number = typed_number(text)
    if number is None and not words:
        return None
    sender = turn.sender
    prompt = await chat_prompts.latest(turn.session, sender.channel, sender.external_id)
    if prompt is None:
        return Reply(t("choice.none", turn.lang)) if number is not None else None
    labels = [label for label, _ in prompt.choices]
    index = number if number is not None else typed_choice(text, labels)
    if index is None:
        return None
    if prompt.answered_at is not None:
        return Reply(t("choice.stale", turn.lang))
    if prompt.sent_at + PROMPT_TTL <= turn.now:
        return Reply(t("choice.expired", turn.lang))
    if not 1 <= index <= len(labels):
        return Reply(t("choice.out_of_range", turn.lang, count=len(labels)))
    if not await chat_prompts.mark_answered(
        turn.session, sender.channel, sender.external_id, prompt.sent_at, turn.now
    ):
        # Another message answered it a moment ago.
        return Reply(t("choice.stale", turn.lang))
    return ChoiceTapped(prompt.choices[index - 1][1])
