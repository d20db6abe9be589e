"""Zalo's one send path: every message the bot sends on Zalo goes out here, through the pacer.

Interactive replies (`bot.zalo_channel.ZaloChannel`) and reminders (the dispatcher) alike.
Zalo carries plain text only, up to 2000 characters, with no buttons and no documents, so a
`Reply` becomes:

* its text as plain text (the HTML subset's tags dropped, entities unescaped);
* its choices as numbered lines (`1. Hoàn thành`), answered by typing the number; once the
  message is delivered the choices are recorded (`db.chat_prompts`) so that the number can be
  resolved, in a transaction of its own;
* one line per file, `📎 {name}: {url}`, the url being a download link of the bot's web app
  (Zalo has no sendDocument);

cut at line breaks into messages of at most 2000 characters, each one sendMessage under the
pacer. `edit` and `notice` do not apply: a reply is always a new message. Every failure
becomes one `DeliveryError` (see `bot.zalo_api.to_delivery_error`), and the API's health is
reported to an optional `ChannelHealth`.

Duplicates: Zalo has no idempotency key either; a timeout after the request left may have
delivered the message, and the dispatcher's retry may then repeat it (the one accepted
duplicate, as on Telegram).

Construction::

    api = ZaloApi(settings.zalo_token, settings.zalo_api_url)
    transport = ZaloTransport(
        api, sessionmaker, clock, zalo_pacer(settings.zalo_rate),
        file_url=links_of_the_web_app, health=health,
    )
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channel_health import ChannelHealth
from bot.message_split import split_text
from bot.plain_text import to_plain_text
from bot.settings import DEFAULT_ZALO_RATE
from bot.zalo_api import ZaloApi, ZaloApiError, to_delivery_error
from db import chat_prompts
from db.clock import Clock
from db.models import Channel
from handlers.catalog import t
from handlers.numbered_choices import flat_choices, numbered_lines
from handlers.types import Choice, OutgoingFile, Reply
from scheduler.delivery import DeliveryError
from scheduler.paced_call import paced_call
from scheduler.pacing import ChatLocks, Pacer, RateLimits

log = logging.getLogger(__name__)

HEALTH_NAME = "zalo"
MAX_TEXT_LENGTH = 2000

# The web app's download link of a stored file, or None when there is none to give.
FileUrl = Callable[[OutgoingFile], Awaitable[str | None]]


def zalo_rate_limits(rate: float = DEFAULT_ZALO_RATE) -> RateLimits:
    """Zalo's pacing: `rate` messages a second overall (ZALO_RATE), one a second to a chat.

    The pacer lets any window of one second hold up to rate × headroom + 1.5 calls (see
    `scheduler.pacing`). At Telegram's 30/s the default headroom leaves that under 30; at a
    few a second it would not (5 × 0.93 + 1.5 = 6.15), so the headroom shrinks until no
    one-second window can hold more than `rate` calls (5/s: 4.4/s on average).
    """
    headroom = RateLimits.headroom
    if rate > 0.6:
        headroom = min(headroom, (rate - 0.6) / rate)
    return RateLimits(
        global_per_second=rate, per_chat_per_second=1, group_per_minute=20, headroom=headroom
    )


def _no_group(chat_id: str) -> bool:
    # Zalo's chat ids do not tell groups apart, and the bot writes to groups only to decline.
    return False


def zalo_pacer(rate: float = DEFAULT_ZALO_RATE) -> Pacer:
    """A pacer keeping `zalo_rate_limits(rate)`."""
    return Pacer(zalo_rate_limits(rate), is_group=_no_group)


def zalo_text(reply: Reply, links: Sequence[str | None] = (), lang: str | None = None) -> str:
    """The whole reply as Zalo shows it: plain text, numbered choices, file lines.

    `links[i]` is the download link of `reply.files[i]` (None or missing: the name alone)."""
    text = to_plain_text(reply.text).strip("\n")
    if not text.strip() and reply.notice:
        # Telegram shows a tap's notice as a toast; here it is all there is to say.
        text = to_plain_text(reply.notice).strip("\n")
    blocks = [text] if text.strip() else []
    choices = numbered_lines(reply.choices)
    if choices:
        blocks.append("\n".join(choices))
    files = []
    for i, file in enumerate(reply.files):
        link = links[i] if i < len(links) else None
        if link:
            files.append(t("zalo.file_link", lang, name=file.name, url=link))
        else:
            files.append(t("zalo.file_no_link", lang, name=file.name))
    if files:
        blocks.append("\n".join(files))
    # A blank line between the parts: a long message is cut there first, so the numbered
    # choices stay together.
    return "\n\n".join(blocks)


def zalo_pieces(text: str) -> list[str]:
    """`text` cut at line breaks into messages Zalo accepts (1–2000 characters each)."""
    if not text.strip():
        return []
    return [piece for piece in split_text(text, MAX_TEXT_LENGTH, html=False) if piece.strip()]


class ZaloTransport:
    """Implements `scheduler.delivery.Transport` for `Reply` with a `ZaloApi`."""

    channel = Channel.ZALO

    def __init__(
        self,
        api: ZaloApi,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        pacer: Pacer | None = None,
        *,
        file_url: FileUrl | None = None,
        health: ChannelHealth | None = None,
    ) -> None:
        self.api = api
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.pacer = pacer
        self.file_url = file_url
        self.health = health
        # One message to a chat at a time: its parts are not interleaved with a reminder's
        # that the pacer let in between them (they share the chat's slots).
        self._chats = ChatLocks()

    async def send(self, chat_id: str, message: Reply, *, urgent: bool = False) -> None:
        """Send the reply as one or more plain-text messages, then record its choices.

        `urgent` (a person is waiting for this reply) goes before reminders waiting for the
        pacer, and waits out a short 429 on the first call too, instead of handing the message
        back to be retried later.
        """
        async with self._chats.hold(chat_id):
            links = [await self._link(file) for file in message.files]
            pieces = zalo_pieces(zalo_text(message, links))
            for index, piece in enumerate(pieces):
                await self._call(chat_id, index, piece, urgent=urgent)
            if message.choices and pieces:
                await self._remember(chat_id, flat_choices(message.choices))

    async def _link(self, file: OutgoingFile) -> str | None:
        if self.file_url is None:
            return None
        try:
            return await self.file_url(file)
        except Exception:
            # The text matters more than the link: send it with the file's name alone.
            log.exception("no download link for a file sent on Zalo")
            return None

    async def _remember(self, chat_id: str, choices: Sequence[Choice]) -> None:
        offered = [(choice.label, choice.data) for choice in choices]
        try:
            async with self.sessionmaker() as session, session.begin():
                await chat_prompts.remember(
                    session, Channel.ZALO, chat_id, offered, self.clock.now()
                )
        except Exception:
            # The message is delivered: raising would have it sent again. A number typed in
            # answer will be read against the previous prompt, or asked again.
            log.exception("could not record the choices sent to a Zalo chat")

    async def _call(self, chat_id: str, index: int, text: str, *, urgent: bool) -> None:
        """One sendMessage under the pacer, its failure turned into a `DeliveryError`."""
        await paced_call(
            self.pacer,
            chat_id,
            index,
            partial(self.api.send_message, chat_id, text),
            urgent=urgent,
            failure=ZaloApiError,
            to_error=self._delivery_error,
            on_error=self._report,
        )
        if self.health is not None:
            self.health.ok(HEALTH_NAME)

    def _delivery_error(self, exc: Exception) -> DeliveryError:
        assert isinstance(exc, ZaloApiError)
        return to_delivery_error(exc, self.api.token)

    def _report(self, error: DeliveryError) -> None:
        # Only failures of the API or the network as a whole: a refusal about one chat, or a
        # 429, says nothing about whether Zalo works.
        if self.health is None or error.permanent or error.retry_after is not None:
            return
        self.health.failed(HEALTH_NAME, error.message)
