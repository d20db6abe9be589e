"""The latest numbered choices of a chat without buttons (Zalo), which a typed answer picks.

A chat keeps one prompt: sending new choices replaces it, so a number always answers the
latest question. A prompt is answered once; a second answer to it is stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Channel, ChatPrompt


@dataclass(frozen=True)
class Prompt:
    """Choices as offered: (label, data) in the order they were numbered, from 1."""

    choices: tuple[tuple[str, str], ...]
    sent_at: datetime
    answered_at: datetime | None


async def remember(
    session: AsyncSession,
    channel: Channel,
    external_id: str,
    choices: Sequence[tuple[str, str]],
    at: datetime,
) -> None:
    """Make `choices` the chat's latest prompt (replacing any earlier one)."""
    prompt = await session.scalar(
        select(ChatPrompt).where(
            ChatPrompt.channel == channel, ChatPrompt.external_id == external_id
        )
    )
    if prompt is None:
        prompt = ChatPrompt(channel=channel, external_id=external_id)
        session.add(prompt)
    prompt.choices = [[label, data] for label, data in choices]
    prompt.sent_at = at
    prompt.answered_at = None
    await session.flush()


async def latest(session: AsyncSession, channel: Channel, external_id: str) -> Prompt | None:
    """The chat's latest prompt, answered or not; None when it was never offered choices."""
    prompt = await session.scalar(
        select(ChatPrompt).where(
            ChatPrompt.channel == channel, ChatPrompt.external_id == external_id
        )
    )
    if prompt is None:
        return None
    return Prompt(
        tuple((str(label), str(data)) for label, data in prompt.choices),
        prompt.sent_at,
        prompt.answered_at,
    )


async def mark_answered(
    session: AsyncSession, channel: Channel, external_id: str, sent_at: datetime, at: datetime
) -> bool:
    """Mark the prompt sent at `sent_at` answered; False when it was answered or replaced."""
    result = await session.execute(
        update(ChatPrompt)
        .where(
            ChatPrompt.channel == channel,
            ChatPrompt.external_id == external_id,
            ChatPrompt.sent_at == sent_at,
            ChatPrompt.answered_at.is_(None),
        )
        .values(answered_at=at)
        .returning(ChatPrompt.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None
