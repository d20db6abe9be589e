"""The Zalo channel: Zalo Bot API updates in, `handlers` replies out.

Updates come from `poll` (getUpdates, one update per call) or from the web app's webhook
route, which hands each request body to `receive`. Either way Zalo may hand out the
same update twice (getUpdates has no offset and no acknowledgement; a webhook retries), so
every update is first recorded by its `message_id` (`db.received_updates.record_once`, its
own committed transaction) and a repeat is dropped: several processes may poll or receive,
and the database is the one place they all see. Then the update becomes a `handlers.types`
event for the conversation, acted on in the background in its chat's turn
(`handlers.chat_gate`: a chat's updates in order, many chats at once, a flood told once to
slow down), and the replies go out through `ZaloTransport` (urgent: a person is waiting).

Dropped before anything is recorded: the bot's own messages coming back as updates, and
anything malformed (logged). A message in a group is answered with one polite refusal (at
most once an hour per group, so a busy group is not flooded) and neither recorded nor
stored: the bot works in private chats only.

Construction::

    channel = ZaloChannel(conversation, transport, sessionmaker, clock, bot_id, health)
    await channel.poll(stop)                  # polling mode, until `stop` is set
    await channel.receive(body)               # webhook mode, from the web app's route
    await channel.finish()                    # at shutdown, after either

`bot_id` is the bot's own id (getMe's `id`, or `ZaloApi.bot_id` from the token).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channel_health import ChannelHealth
from bot.outages import ConnectionWatch
from bot.reply_delivery import deliver_handled
from bot.zalo_api import ZaloApiError, network_error
from bot.zalo_transport import HEALTH_NAME, ZaloTransport
from db import received_updates
from db.clock import Clock
from db.models import Channel
from handlers.catalog import t
from handlers.chat_gate import ChatGate
from handlers.types import (
    ZALO_TRAITS,
    CommandSent,
    Event,
    FilesSent,
    IncomingFile,
    Reply,
    Sender,
    TextSent,
    UnfetchableFile,
    UnreadableMessage,
)
from scheduler.delivery import DeliveryError

log = logging.getLogger(__name__)

# The polling loop's wait after a failure: doubled each time up to the cap, reset on success.
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
# A group is told once in this many seconds that the bot works in private chats only.
GROUP_REFUSAL_EVERY = 3600.0
_MAX_GROUPS_REMEMBERED = 1024
PHOTO_TIMEOUT = httpx.Timeout(60.0, connect=10.0)

_UNREADABLE = {
    "message.sticker.received": "sticker",
    "message.voice.received": "voice",
}


class Answerer(Protocol):
    """What the channel talks to: `handlers.conversation.Conversation` (or a test double)."""

    async def handle(self, sender: Sender, event: Event) -> list[Reply]:
        """The replies to one event from one chat."""
        ...


class MalformedUpdate(ValueError):
    """An update without the fields every Zalo message carries."""


class ZaloChannel:
    """Translates between Zalo updates and the channel-agnostic conversation."""

    def __init__(
        self,
        conversation: Answerer,
        transport: ZaloTransport,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        bot_id: str | None,
        health: ChannelHealth | None = None,
        *,
        downloads: httpx.AsyncClient | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        token_rejected: Callable[[], None] | None = None,
    ) -> None:
        self.conversation = conversation
        self.transport = transport
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.bot_id = bot_id
        self.health = health
        # Photos are fetched with this client when given (tests, a shared pool), else with a
        # short-lived one per photo: photos are few.
        self.downloads = downloads
        self._monotonic = monotonic
        self._groups_refused: dict[str, float] = {}
        self._acting: set[asyncio.Task[None]] = set()
        self.gate = ChatGate(monotonic=monotonic)
        # Called when Zalo answers 401 to a poll (the token revoked while running).
        self.token_rejected = token_rejected

    # --- updates in -------------------------------------------------------------------

    async def handle_update(self, payload: Mapping[str, Any]) -> None:
        """Act on one update, bare (`{"event_name", "message"}`) or wrapped (`{"ok": true,
        "result": …}`); never raises: what cannot be handled is logged and dropped."""
        try:
            work = await self._accept(payload)
            if work is not None:
                await work()
        except Exception:
            log.exception("could not handle a Zalo update")

    async def receive(self, payload: Mapping[str, Any]) -> None:
        """The webhook's way in: record the update now, raising if that fails (the web app
        then answers 500 and Zalo sends the update again), and act on it in the background,
        so Zalo gets its answer at once."""
        work = await self._accept(payload)
        if work is None:
            return
        task = asyncio.get_running_loop().create_task(self._logged(work))
        self._acting.add(task)
        task.add_done_callback(self._acting.discard)

    async def finish(self) -> None:
        """Wait for the updates still being acted on (at shutdown: nothing received is left
        half done)."""
        if self._acting:
            await asyncio.gather(*self._acting, return_exceptions=True)

    async def _logged(self, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        except Exception:
            log.exception("could not handle a Zalo update")

    async def _accept(self, payload: Mapping[str, Any]) -> Callable[[], Awaitable[None]] | None:
        """Check and record the update; the work left to do, or None when there is none."""
        try:
            update = _unwrap(payload)
            message = update["message"]
            message_id, user, chat = _envelope(message)
        except MalformedUpdate as exc:
            log.warning("dropped a malformed Zalo update: %s", exc)
            return None
        if self.bot_id is not None and str(user.get("id")) == self.bot_id:
            return None  # the bot's own message coming back
        if user.get("is_bot") is True:
            return None
        chat_id = str(chat["id"])
        if chat.get("chat_type") == "GROUP":
            return partial(self._refuse_group, chat_id)
        async with self.sessionmaker() as session, session.begin():
            first = await received_updates.record_once(
                session, Channel.ZALO, message_id, dict(update), self.clock.now()
            )
        if not first:
            log.info("dropped a Zalo update delivered again")
            return None
        event = self._event(str(update.get("event_name") or ""), message, message_id)
        if event is None:
            return None
        sender = Sender(
            Channel.ZALO, chat_id, str(user.get("display_name") or ""), None, ZALO_TRAITS
        )
        # Decided on arrival; the work waits for the chat's earlier updates.
        admission = self.gate.admit(sender)
        return partial(
            self.gate.take_turn,
            sender,
            admission,
            partial(self._converse, sender, event),
            partial(self._notify, chat_id),
        )

    async def _converse(self, sender: Sender, event: Event) -> None:
        replies = await self.conversation.handle(sender, event)
        # Handled (committed, or rolled back with its apology): a failure to send is not
        # followed by "nothing was recorded" but by one short plain reply.
        await deliver_handled(partial(self.send, sender.external_id), replies, None)

    async def _notify(self, chat_id: str, replies: Sequence[Reply]) -> None:
        # The gate's notice to slow down: nothing was handled, so no short "recorded" reply.
        try:
            await self.send(chat_id, replies)
        except DeliveryError as exc:
            log.warning("could not tell a flooding Zalo chat to slow down: %s", exc.message)

    def _event(self, name: str, message: Mapping[str, Any], message_id: str) -> Event | None:
        if name == "message.text.received":
            text = message.get("text")
            if not isinstance(text, str):
                log.warning("dropped a Zalo text message without text")
                return None
            return _text_event(text)
        if name == "message.image.received":
            url = message.get("photo_url")
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                log.warning("dropped a Zalo image without a photo_url")
                return None
            caption = message.get("caption")
            photo = IncomingFile(
                name=f"anh-{message_id}.jpg",
                mime_type="image/jpeg",
                size=None,
                fetch=photo_fetcher(url, ZALO_TRAITS.max_download_bytes, self.downloads),
                is_photo=True,
            )
            return FilesSent([photo], caption if isinstance(caption, str) else "")
        if name == "message.unsupported.received":
            return UnfetchableFile()
        if name in _UNREADABLE:
            return UnreadableMessage(_UNREADABLE[name])
        log.warning("dropped a Zalo update of unknown kind %r", name[:80])
        return None

    async def _refuse_group(self, chat_id: str) -> None:
        now = self._monotonic()
        last = self._groups_refused.get(chat_id)
        if last is not None and now - last < GROUP_REFUSAL_EVERY:
            return
        if len(self._groups_refused) >= _MAX_GROUPS_REMEMBERED:
            self._groups_refused = {
                c: at for c, at in self._groups_refused.items() if now - at < GROUP_REFUSAL_EVERY
            }
        self._groups_refused[chat_id] = now
        try:
            await self.send(chat_id, [Reply(t("zalo.group_refused", None))])
        except DeliveryError as exc:
            log.warning("could not decline a Zalo group: %s", exc.message)

    # --- polling ----------------------------------------------------------------------

    # `timeout` is getUpdates' long-poll parameter, not a deadline of this call.
    async def poll(self, stop: asyncio.Event, timeout: int = 30) -> None:  # noqa: ASYNC109
        """Take updates from getUpdates until `stop` is set, each acted on in the background
        (in its chat's turn; `finish` waits for them).

        "Nothing new" (408) is the idle answer; a failure is reported to the health registry
        and waited out, the wait doubling up to 30 s and reset by the next success; the log
        says once that Zalo is lost, and once that it is back.
        """
        backoff = 0.0
        # One WARNING when the connection is lost and one INFO when it is back, not a line
        # at every failed poll.
        watch = ConnectionWatch("Zalo Bot API")
        while not stop.is_set():
            try:
                update = await _until_stopped(self.transport.api.get_updates(timeout=timeout), stop)
            except _Stopped:
                return
            except Exception as exc:
                if isinstance(exc, ZaloApiError) and exc.code == 401 and self.token_rejected:
                    # Revoked while running: no backoff will help; `run` ends in one line.
                    self.token_rejected()
                    return
                # ZaloApiError above all; anything else must not end the loop either.
                if self.health is not None:
                    self.health.failed(HEALTH_NAME, str(exc))
                backoff = next_backoff(backoff)
                watch.failed(str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                continue
            backoff = 0.0
            watch.ok()
            if self.health is not None:
                self.health.ok(HEALTH_NAME)
            if update is not None:
                # Acted on in the background, as a webhook's: one chat's flood of messages,
                # each reply paced, must not hold up the next poll and everyone else.
                try:
                    await self.receive(update)
                except Exception:
                    log.exception("could not handle a Zalo update")

    # --- replies out ------------------------------------------------------------------

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Send the replies through the transport; a person is waiting, so they go before
        queued reminders and a short 429 is waited out in place."""
        for reply in replies:
            await self.transport.send(chat_id, reply, urgent=True)


def next_backoff(previous: float) -> float:
    """The wait after a failed poll: the first, then double the previous, up to the cap."""
    return min(MAX_BACKOFF_SECONDS, previous * 2 or FIRST_BACKOFF_SECONDS)


class _Stopped(Exception):
    pass


async def _until_stopped(call: Awaitable[dict[str, Any] | None], stop: asyncio.Event) -> Any:
    """The call's result, or `_Stopped` as soon as `stop` is set (the call is cancelled)."""
    task = asyncio.ensure_future(call)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            # Waits for the cancelled long poll to end, without raising its CancelledError.
            await asyncio.wait({task})
    if task.cancelled():
        raise _Stopped
    return task.result()


def _unwrap(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    # Webhooks have been seen delivering the update bare and wrapped like getUpdates' answer.
    if not isinstance(payload, Mapping):
        raise MalformedUpdate("not a JSON object")
    if "result" in payload and "message" not in payload:
        if payload.get("ok") is not True:
            raise MalformedUpdate("a wrapped update that is not ok")
        payload = payload["result"]
        if not isinstance(payload, Mapping):
            raise MalformedUpdate("the wrapped result is not an object")
    if not isinstance(payload.get("message"), Mapping):
        raise MalformedUpdate("no message")
    if not isinstance(payload.get("event_name"), str):
        raise MalformedUpdate("no event_name")
    return payload


def _envelope(
    message: Mapping[str, Any],
) -> tuple[str, Mapping[str, Any], Mapping[str, Any]]:
    """The message's id, sender and chat; `MalformedUpdate` when one is missing."""
    message_id = message.get("message_id")
    if not isinstance(message_id, str | int) or isinstance(message_id, bool) or not message_id:
        raise MalformedUpdate("no message_id")
    user = message.get("from")
    chat = message.get("chat")
    if not isinstance(user, Mapping) or not isinstance(chat, Mapping):
        raise MalformedUpdate("no sender or no chat")
    if not isinstance(chat.get("id"), str | int) or chat.get("id") in ("", None):
        raise MalformedUpdate("no chat id")
    return str(message_id)[:128], user, chat


def _text_event(text: str) -> Event:
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1:
        head, _, args = stripped.partition(" ")
        name = head[1:].split("@", 1)[0].lower()
        if name:
            return CommandSent(name, args.strip())
    return TextSent(text)


def photo_fetcher(
    url: str, limit: int, client: httpx.AsyncClient | None = None
) -> Callable[[], Awaitable[bytes]]:
    """Downloads the photo at `url`, reading at most `limit` + 1 bytes.

    A photo over `limit` is not read to its end: the bytes returned are then one more than
    the limit, which the conversation refuses as too large (and never stores)."""

    async def fetch() -> bytes:
        if client is not None:
            return await _download(client, url, limit)
        async with httpx.AsyncClient(timeout=PHOTO_TIMEOUT) as own:
            return await _download(own, url, limit)

    return fetch


async def _download(client: httpx.AsyncClient, url: str, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    try:
        async with client.stream("GET", url, follow_redirects=True) as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                total += len(chunk)
                if total > limit:
                    break
    except httpx.HTTPError as exc:
        # Photo URLs may carry access keys: the URL is masked in the message.
        raise network_error(exc, url) from None
    return b"".join(chunks)[: limit + 1]
