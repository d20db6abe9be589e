"""The Telegram channel: python-telegram-bot updates in, `handlers` replies out.

Only this module and `bot.telegram_transport` know Telegram. This one turns updates into
`handlers.types` events and answers every callback query once; the replies go out through the
transport, the one send path that reminders use too (splitting, keyboards, files, pacing).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from telegram import Bot, BotCommand, Message, Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.channel_health import ChannelHealth
from bot.outages import ConnectionWatch
from bot.reply_delivery import deliver_handled, language_of
from bot.settings import Settings
from bot.telegram_transport import TelegramTransport
from bot.telegram_updates import ChatOrderedUpdates, readable_updates, telegram_sender
from handlers import command_names
from handlers.catalog import t
from handlers.chat_gate import ChatGate
from handlers.types import (
    ChoiceTapped,
    CommandSent,
    Event,
    FilesSent,
    IncomingFile,
    Reply,
    Sender,
    TextSent,
)
from scheduler.delivery import DeliveryError
from scheduler.pacing import Pacer, RateLimits

if TYPE_CHECKING:
    # Only for annotations: the reminder worker imports this module and needs no conversation.
    from handlers.conversation import Conversation

log = logging.getLogger(__name__)

# The command menu: the Vietnamese names of what every official uses, from the one table of
# names; descriptions are Vietnamese (the catalog's default language).
MENU_COMMANDS = tuple(command.vi for command in command_names.menu())
ALBUM_WAIT_SECONDS = 1.5
BOT_CONNECTIONS = 32


def bot_api_urls(api_url: str) -> tuple[str, str]:
    """The method and file base URLs PTB needs for a Bot API server at `api_url`."""
    base = api_url.rstrip("/")
    return f"{base}/bot", f"{base}/file/bot"


@dataclass
class _Album:
    chat_id: int
    sender: Sender
    files: list[IncomingFile] = field(default_factory=list)
    caption: str = ""
    flush: asyncio.TimerHandle | None = None


class TelegramChannel:
    """Translates between python-telegram-bot and the channel-agnostic conversation."""

    def __init__(
        self,
        conversation: Conversation,
        album_wait: float = ALBUM_WAIT_SECONDS,
        pacer: Pacer | None = None,
    ) -> None:
        self.conversation = conversation
        self.album_wait = album_wait
        self.pacer = pacer
        self._albums: dict[str, _Album] = {}
        self._album_tasks: set[asyncio.Task[None]] = set()
        self.application: Application | None = None  # type: ignore[type-arg]
        self.transport: TelegramTransport | None = None

    def attach(self, application: Application) -> None:  # type: ignore[type-arg]
        """Register this channel's handlers on an application; its bot sends through the
        channel's transport (which the reminders may share, pacer and all)."""
        self.application = application
        self.transport = TelegramTransport(application.bot, self.pacer)
        private = filters.ChatType.PRIVATE
        application.add_handler(CallbackQueryHandler(self.on_tap))
        application.add_handler(MessageHandler(private & filters.COMMAND, self.on_command))
        application.add_handler(
            MessageHandler(private & (filters.Document.ALL | filters.PHOTO), self.on_file)
        )
        application.add_handler(
            MessageHandler(private & filters.TEXT & ~filters.COMMAND, self.on_text)
        )
        application.add_error_handler(self.on_error)

    # --- updates in -------------------------------------------------------------------

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.text is not None
        head, _, args = message.text.partition(" ")
        name = head.lstrip("/").split("@", 1)[0].lower()
        await self._converse(message, CommandSent(name, args.strip()))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.text is not None
        await self._converse(message, TextSent(message.text))

    async def on_file(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        incoming = self._incoming_file(message)
        if message.media_group_id is None:
            await self._converse(message, FilesSent([incoming], message.caption or ""))
            return
        # An album arrives as one update per file with nothing marking the last one: collect
        # the parts and hand them over together once no new part came for a moment.
        key = f"{message.chat_id}:{message.media_group_id}"
        album = self._albums.get(key)
        if album is None:
            album = self._albums[key] = _Album(message.chat_id, _sender(message))
        album.files.append(incoming)
        album.caption = album.caption or message.caption or ""
        if album.flush is not None:
            album.flush.cancel()
        loop = asyncio.get_running_loop()
        album.flush = loop.call_later(self.album_wait, self._schedule_album, key)

    def _schedule_album(self, key: str) -> None:
        task = asyncio.get_running_loop().create_task(self._flush_album(key))
        self._album_tasks.add(task)
        task.add_done_callback(self._album_tasks.discard)

    async def _flush_album(self, key: str) -> None:
        album = self._albums.pop(key, None)
        if album is None:
            return
        event = FilesSent(list(album.files), album.caption)
        try:
            replies = await self.conversation.handle(album.sender, event)
            await deliver_handled(
                partial(self.send, album.chat_id),
                replies,
                language_of(album.sender.language_hint),
            )
        except Exception:
            log.exception("could not answer an album")

    async def flush_albums(self) -> None:
        """Hand over every album still being collected (at shutdown: nothing sent is lost)."""
        for key, album in list(self._albums.items()):
            if album.flush is not None:
                album.flush.cancel()
            await self._flush_album(key)
        if self._album_tasks:
            await asyncio.gather(*self._album_tasks, return_exceptions=True)

    async def on_tap(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        answered = False
        try:
            message = query.message
            if not isinstance(message, Message) or message.chat.type != "private":
                return
            sender = telegram_sender(message.chat_id, query.from_user)
            replies = await self.conversation.handle(sender, ChoiceTapped(query.data or ""))
            notice = next((r.notice for r in replies if r.notice), None)
            answered = True

            async def answer_query() -> None:
                # The toast only stops the button's spinner: a query too old to answer (the
                # bot was down) or a network failure loses nothing the person needs.
                try:
                    await query.answer(text=notice[:200] if notice else None)
                except TelegramError as exc:
                    log.info("could not answer a tap: %s", exc)

            # The answer (it stops the button's spinner) and the edit are independent calls:
            # made together, the person waits one round trip to Telegram instead of two.
            # Neither failing may say "nothing recorded": the tap is handled and committed.
            await asyncio.gather(
                answer_query(),
                deliver_handled(
                    partial(self.send, message.chat_id, tapped_message_id=message.message_id),
                    replies,
                    language_of(sender.language_hint),
                ),
            )
        finally:
            if not answered:
                await query.answer()

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure and tell the person, in their language, without any detail.

        Whether the conversation committed anything is unknown here (its own failures roll
        back and apologise in its replies), so the words send them to /nhiemvu to check."""
        log.error("error while handling an update", exc_info=context.error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        user = update.effective_user
        language = language_of(user.language_code if user else None)
        try:
            await self.send(update.effective_chat.id, [Reply(t("error.unknown", language))])
        except DeliveryError:
            log.warning("could not tell the person about the error either")

    async def _converse(self, message: Message, event: Event) -> None:
        sender = _sender(message)
        replies = await self.conversation.handle(sender, event)
        await deliver_handled(
            partial(self.send, message.chat_id), replies, language_of(sender.language_hint)
        )

    def _incoming_file(self, message: Message) -> IncomingFile:
        bot = message.get_bot()
        if message.document is not None:
            doc = message.document
            file_id = doc.file_id
            name = doc.file_name or f"{doc.file_unique_id}"
            return IncomingFile(
                name=name,
                mime_type=doc.mime_type or "application/octet-stream",
                size=doc.file_size,
                fetch=lambda: _download(bot, file_id),
                channel_file_id=doc.file_id,
                channel_file_unique_id=doc.file_unique_id,
            )
        photo = max(message.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
        photo_id = photo.file_id
        return IncomingFile(
            name=f"photo_{photo.file_unique_id}.jpg",
            mime_type="image/jpeg",
            size=photo.file_size,
            fetch=lambda: _download(bot, photo_id),
            channel_file_id=photo.file_id,
            channel_file_unique_id=photo.file_unique_id,
            is_photo=True,
        )

    # --- replies out ------------------------------------------------------------------

    async def send(
        self, chat_id: int, replies: Sequence[Reply], tapped_message_id: int | None = None
    ) -> None:
        """Send the replies through the transport; one marked `edit` replaces the tapped
        message. A person is waiting: the replies go before queued reminders, and a short
        flood-control wait is waited out in place."""
        assert self.transport is not None, "attach the channel to an application first"
        for reply in replies:
            await self.transport.send(
                str(chat_id), reply, tapped_message_id=tapped_message_id, urgent=True
            )


def _sender(message: Message) -> Sender:
    return telegram_sender(message.chat_id, message.from_user)


async def _download(bot: object, file_id: str) -> bytes:
    from telegram import Bot
    from telegram.error import BadRequest

    from handlers.types import FileTooBig

    assert isinstance(bot, Bot)
    # The File's path embeds the bot token: it is used here and never stored or logged.
    try:
        telegram_file = await bot.get_file(file_id)
    except BadRequest as exc:
        # Past 20 MB getFile refuses, even when the message declared a smaller size or none.
        if "too big" in exc.message.lower():
            raise FileTooBig(exc.message) from exc
        raise
    return bytes(await telegram_file.download_as_bytearray())


async def set_menu(application: Application) -> None:  # type: ignore[type-arg]
    """Set the command menu with Vietnamese descriptions; a failure is logged, not fatal."""
    commands = [BotCommand(name, t(f"menu.{name}", "vi")) for name in MENU_COMMANDS]
    try:
        await application.bot.set_my_commands(commands)
    except TelegramError as exc:
        log.warning("could not set the command menu: %s", exc)


def telegram_pacer(settings: Settings) -> Pacer:
    """The pacer of one process sending on Telegram: its share (`rate_share`) of the bot's
    overall rate, scaled for a test server by TELEGRAM_RATE_SCALE.

    Only the overall rate is shared: the per-chat and per-group limits stay whole, since the
    outbox's claims give one chat's reminders to one process at a time."""
    limits = RateLimits()
    shared = replace(limits, global_per_second=limits.global_per_second * settings.rate_share)
    return Pacer(shared.scaled(settings.telegram_rate_scale))


def telegram_bot(settings: Settings) -> Bot:
    """A bare Bot for TELEGRAM_TOKEN at Telegram or at TELEGRAM_API_URL (use `async with`)."""
    if not settings.telegram_token:
        raise ValueError("TELEGRAM_TOKEN is not set")
    # A bare Bot gets one pooled connection; the dispatcher serves many chats at once.
    request = HTTPXRequest(connection_pool_size=BOT_CONNECTIONS)
    if settings.telegram_api_url:
        base_url, base_file_url = bot_api_urls(settings.telegram_api_url)
        return Bot(
            settings.telegram_token, base_url=base_url, base_file_url=base_file_url, request=request
        )
    return Bot(settings.telegram_token, request=request)


class HealthReportingRequest(HTTPXRequest):
    """PTB's HTTP client, telling `ChannelHealth` how each call to Telegram went: every
    answer (an error answer too: Telegram was reached) is a sign of life, a network failure
    or a 5xx is not. With a `watch` (the getUpdates client), a lost connection is logged once
    when it is lost and once when it is back, instead of at every failed poll. A 401 (the
    token revoked while running) calls `rejected`: PTB would otherwise end polling silently."""

    def __init__(
        self,
        health: ChannelHealth | None,
        watch: ConnectionWatch | None = None,
        rejected: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.health = health
        self.watch = watch
        self.rejected = rejected

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            status, payload = await super().do_request(*args, **kwargs)
        except TelegramError as exc:
            self._failed(type(exc).__name__)
            raise
        if status == 401 and self.rejected is not None:
            self.rejected()
        if status >= 500:
            self._failed(f"HTTP {status}")
        else:
            if self.health is not None:
                self.health.ok("telegram")
            if self.watch is not None:
                self.watch.ok()
        return status, payload

    def _failed(self, reason: str) -> None:
        if self.health is not None:
            self.health.failed("telegram", reason)
        if self.watch is not None:
            self.watch.failed(reason)


class UpdatesRequest(HealthReportingRequest):
    """The getUpdates client: a `HealthReportingRequest` that also skips the updates PTB
    cannot read (`readable_updates`), so one of them cannot stop polling for good."""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, payload = await super().do_request(*args, **kwargs)
        if status == 200:
            payload = readable_updates(payload)
        return status, payload


def polling_error(error: TelegramError) -> None:
    """PTB's `error_callback` of `start_polling`: PTB retries getUpdates with a capped
    backoff by itself; without this callback it would log a traceback at every failed poll.
    A network failure is logged by the getUpdates client's `ConnectionWatch` (once when lost,
    once when back); anything else (another process polling: Conflict) in one line."""
    if isinstance(error, NetworkError):
        log.debug("Telegram getUpdates failed: %s", error)
    else:
        log.warning("Telegram getUpdates failed: %s", error)


def build_application(
    settings: Settings,
    conversation: Conversation,
    album_wait: float = ALBUM_WAIT_SECONDS,
    *,
    webhook: bool = False,
    health: ChannelHealth | None = None,
    token_rejected: Callable[[], None] | None = None,
) -> tuple[Application, TelegramChannel]:  # type: ignore[type-arg]
    """A python-telegram-bot application wired to the conversation; with `webhook`, it has no
    updater: the web app puts each update on its queue (PTB's customwebhookbot pattern).
    `token_rejected` is called when Telegram answers 401 (the token was revoked)."""
    if not settings.telegram_token:
        raise ValueError("TELEGRAM_TOKEN is not set")
    channel = TelegramChannel(conversation, album_wait, telegram_pacer(settings))
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .concurrent_updates(ChatOrderedUpdates(ChatGate(), channel.send))
    )
    if webhook:
        builder = builder.updater(None)
    if health is not None:
        health.expect("telegram")
    # PTB's defaults: a pool for the bot's calls, one connection for getUpdates.
    builder = builder.request(
        HealthReportingRequest(health, rejected=token_rejected, connection_pool_size=256)
    ).get_updates_request(
        UpdatesRequest(
            health,
            ConnectionWatch("Telegram Bot API"),
            rejected=token_rejected,
            connection_pool_size=1,
        )
    )
    if settings.telegram_api_url:
        base_url, base_file_url = bot_api_urls(settings.telegram_api_url)
        builder = builder.base_url(base_url).base_file_url(base_file_url)
    application = builder.build()
    channel.attach(application)
    return application, channel
