"""A fake Telegram Bot API server for end-to-end tests of the bot.

The bot under test talks to it over real HTTP exactly as it talks to api.telegram.org::

    async with FakeBotApi() as server:
        app = server.application_builder().build()   # or ApplicationBuilder().token(...)
        ...
        update = server.user_sends_command(server.add_user().id, "start")
        reply = await server.wait_for_message(update["message"]["chat"]["id"])

What it mirrors from Telegram, because the bot must cope with it:

* request decoding as PTB sends it: form-encoded or multipart bodies whose nested values
  (reply_markup, commands, ...) are JSON strings inside form fields;
* answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description",
  "parameters"}`` with Telegram's own descriptions, so PTB raises the same exception classes
  (BadRequest, Forbidden, RetryAfter, ChatMigrated, NetworkError, InvalidToken);
* the limits that bite in production: text length after HTML parsing, caption length,
  callback_data bytes, inline keyboard shape, bot command syntax, HTML validity, 20 MB
  downloads, unreachable chats, flood control.

Everything lives in memory and in the event loop of the test that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
from aiohttp import web

from tests.fakebotapi.html_check import (
    EntityParseError,
    ParsedText,
    detect_bot_commands,
    parse_html,
    strip_text,
)
from tests.fakebotapi.state import (
    AnsweredCallback,
    ApiError,
    ApiRequest,
    FakeChat,
    FakeUser,
    StoredFile,
    StoredMessage,
)
from tests.local_server import OUTAGE_PAGE, serve_locally

if TYPE_CHECKING:
    from telegram import Bot
    from telegram.ext import ApplicationBuilder

__all__ = ["DEFAULT_TOKEN", "FakeBotApi"]

JSON = dict[str, Any]
T = TypeVar("T")

DEFAULT_TOKEN = "123456789:AAFakeTokenForTestsOnly_nhacviec_0001"

# Telegram's limits (https://core.telegram.org/bots/api and tdlib).
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_COMMANDS = 100
MAX_COMMAND_LEN = 32
MAX_COMMAND_DESCRIPTION = 256
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_UPLOAD = 50 * 1024 * 1024

_NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}
_UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}
_TOKEN_SHAPE = re.compile(r"^\d+:[\w-]+$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]+$")

# Nested values PTB sends as JSON strings inside form fields.
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "media",
    }
)
_INT_FIELDS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "user_id",
        "cache_time",
        "message_thread_id",
        "reply_to_message_id",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
    }
)
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_COMMAND_SCOPES = {
    "default": (),
    "all_private_chats": (),
    "all_group_chats": (),
    "all_chat_administrators": (),
    "chat": ("chat_id",),
    "chat_administrators": ("chat_id",),
    "chat_member": ("chat_id", "user_id"),
}
# Updates getUpdates sends when allowed_updates was never given (Bot API default).
_DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "my_chat_member",
        "pre_checkout_query",
        "shipping_query",
        "poll",
        "poll_answer",
        "chat_join_request",
    }
)
# Methods that count against flood control in enforce_limits() mode.
_DEFAULT_LIMITED_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})


@dataclass
class _Upload:
    """A file part of a multipart request."""

    file_name: str | None
    mime_type: str | None
    content: bytes


@dataclass
class _InjectedFailure:
    error: ApiError | None
    raw_body: bytes | None
    raw_status: int
    remaining: int


@dataclass
class _Limits:
    per_chat_per_second: int
    global_per_second: int
    group_per_minute: int
    scale: float
    methods: frozenset[str]
    global_window: deque[float] = field(default_factory=deque)
    chat_windows: dict[int, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    group_windows: dict[int, deque[float]] = field(default_factory=lambda: defaultdict(deque))


@dataclass
class _PendingCallback:
    data: str | None
    chat_id: int | None
    message_id: int | None
    answered: bool = False


class FakeBotApi:
    """An in-process Bot API server on 127.0.0.1 (random port), used as an async context manager.

    ``url`` is ``http://127.0.0.1:PORT``; point the bot at it with
    ``base_url=f"{server.url}/bot"`` and ``base_file_url=f"{server.url}/file/bot"``.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "nhacviec_test_bot",
        bot_first_name: str = "Nhắc việc (thử nghiệm)",
        strict_html_ampersand: bool = True,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        allow_insecure_webhook: bool = False,
        port: int = 0,
    ) -> None:
        """Set up the state; the server starts in ``__aenter__`` / :meth:`start`, on ``port``
        (0: a free one; a given one lets the bot be started before the server is up).

        ``clock`` gives message dates (Unix seconds); ``monotonic`` drives flood control.
        ``strict_html_ampersand`` rejects an unescaped ``&`` (see ``html_check``).
        ``allow_insecure_webhook`` accepts an http:// webhook (a test's local web app);
        Telegram itself takes https only.
        """
        self.token = token
        bot_id = token.split(":", 1)[0]
        # Telegram's bot id is the number before the colon of the token.
        self.bot_user = FakeUser(
            id=int(bot_id) if bot_id.isdigit() else 1_000_001,
            first_name=bot_first_name,
            username=bot_username,
            language_code=None,
            is_bot=True,
        )
        self.strict_html_ampersand = strict_html_ampersand
        self._clock = clock
        self._monotonic = monotonic

        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.files: dict[str, StoredFile] = {}
        self.requests: list[ApiRequest] = []
        self.answered_callbacks: list[AnsweredCallback] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}

        self._messages: dict[int, dict[int, StoredMessage]] = defaultdict(dict)
        self._next_message_id: dict[int, int] = defaultdict(lambda: 1)
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = 0
        self._user_counter = 100_000_000
        self._group_counter = 0
        self._callbacks: dict[str, _PendingCallback] = {}
        self._callback_counter = 0

        self._updates: deque[JSON] = deque()
        self.allow_insecure_webhook = allow_insecure_webhook
        # setWebhook: new updates are POSTed there (with the secret header), not queued.
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_answers: list[int] = []
        self._webhook_tasks: set[asyncio.Task[None]] = set()
        self._next_update_id = 1000
        self._last_delivered_update_id = 0
        self._allowed_updates: frozenset[str] = _DEFAULT_UPDATE_TYPES
        self._poller: object | None = None

        self._failures: dict[str, list[_InjectedFailure]] = defaultdict(list)
        self._delays: dict[str, list[float]] = defaultdict(list)
        self._limits: _Limits | None = None
        self._holds_collector = False

        # Broadcast "something changed": set and replaced on every change, so sync code (the
        # update injectors) can wake waiters without holding an asyncio.Condition lock.
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port = port
        self.url = ""
        # During an outage (`go_down`) every call is answered by a gateway's 502 page;
        # `refused` counts those calls.
        self.down = False
        self.refused = 0

        self._methods: dict[str, tuple[str, Callable[[JSON], Awaitable[Any]]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setWebhook": self._set_webhook,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "editMessageCaption": self._edit_message_caption,
                "deleteMessage": self._delete_message,
                "sendChatAction": self._send_chat_action,
                "getChat": self._get_chat,
                "answerCallbackQuery": self._answer_callback_query,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "getFile": self._get_file,
                "sendDocument": self._send_document,
                "sendPhoto": self._send_photo,
                "close": self._ok,
                "logOut": self._ok,
            }.items()
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeBotApi:
        """Start listening on 127.0.0.1 on a free port of the OS's choosing."""
        # Uploads up to Telegram's 50 MB must reach the handler to be refused Telegram-style.
        app = web.Application(client_max_size=MAX_UPLOAD + 10 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner, self.url = await serve_locally(app, self.port)
        return self

    async def close(self) -> None:
        """Stop the server: pending long polls return ``[]`` at once, then connections close."""
        self._release_collector()
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """What to pass as PTB's ``base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass as PTB's ``base_file_url``."""
        return f"{self.url}/file/bot"

    def make_bot(self) -> Bot:
        """A ``telegram.Bot`` pointed at this server (not initialized)."""
        from telegram import Bot

        return Bot(self.token, base_url=self.base_url, base_file_url=self.base_file_url)

    def application_builder(self) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
        """An ``ApplicationBuilder`` with token, base_url and base_file_url set."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )

    # ------------------------------------------------------------------ users and chats

    def add_user(
        self,
        user_id: int | None = None,
        first_name: str = "Nguyễn Văn An",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        started: bool = True,
    ) -> FakeUser:
        """Register a user and their private chat with the bot (chat id == user id).

        ``started=False`` models a user who never pressed Start: the bot cannot write first.
        """
        if user_id is None:
            self._user_counter += 1
            user_id = self._user_counter
        if user_id in self.chats:
            raise ValueError(f"chat {user_id} already exists")
        user = FakeUser(user_id, first_name, last_name, username, language_code)
        self.users[user_id] = user
        self.chats[user_id] = FakeChat(
            id=user_id, type="private", user=user, username=username, started=started
        )
        return user

    def add_group(
        self,
        chat_id: int | None = None,
        title: str = "UBND xã - Văn phòng",
        *,
        supergroup: bool = False,
        members: Iterable[FakeUser] = (),
        username: str | None = None,
    ) -> FakeChat:
        """Register a group (negative id) or supergroup (``-100...`` id) the bot is in."""
        if chat_id is None:
            self._group_counter += 1
            # Shapes of real ids: basic groups -4xxxxxxxxx, supergroups -100xxxxxxxxxx.
            base = 1_000_000_000_000 if supergroup else 4_000_000_000
            chat_id = -(base + self._group_counter)
        if chat_id in self.chats:
            raise ValueError(f"chat {chat_id} already exists")
        chat = FakeChat(
            id=chat_id,
            type="supergroup" if supergroup else "group",
            title=title,
            username=username,
            members={m.id: m for m in members},
        )
        for member in chat.members.values():
            self.users.setdefault(member.id, member)
        self.chats[chat_id] = chat
        return chat

    def chat(self, chat_id: int) -> FakeChat:
        """The chat with this id (KeyError when unknown)."""
        return self.chats[chat_id]

    def block(self, chat_id: int, *, notify_bot: bool = True) -> None:
        """The user blocks the bot: sends answer 403 "bot was blocked by the user".

        Like Telegram, the bot also gets a ``my_chat_member`` update (status ``kicked``)
        unless ``notify_bot`` is false.
        """
        chat = self.chats[chat_id]
        chat.blocked = True
        if notify_bot:
            self._enqueue_my_chat_member(chat, "member", "kicked")

    def unblock(self, chat_id: int, *, notify_bot: bool = True) -> None:
        """The user restarts the bot after blocking it."""
        chat = self.chats[chat_id]
        chat.blocked = False
        chat.started = True
        if notify_bot:
            self._enqueue_my_chat_member(chat, "kicked", "member")

    def deactivate(self, user_id: int) -> None:
        """The user deleted their account: sends answer 403 "user is deactivated"."""
        self.chats[user_id].deactivated = True

    def kick_bot(self, chat_id: int) -> None:
        """The bot is removed from a group: sends answer 403 "bot was kicked from the ..."."""
        self.chats[chat_id].kicked = True

    def migrate(self, chat_id: int, new_chat_id: int | None = None) -> int:
        """The group becomes a supergroup; sends to the old id answer 400 with
        ``parameters.migrate_to_chat_id``. Returns the new id, which is a known chat."""
        old = self.chats[chat_id]
        if new_chat_id is None:
            new_chat_id = -(1_000_000_000_000 + abs(chat_id))
        old.migrated_to = new_chat_id
        self.chats[new_chat_id] = FakeChat(
            id=new_chat_id, type="supergroup", title=old.title, members=dict(old.members)
        )
        return new_chat_id

    def forget_chat(self, chat_id: int) -> None:
        """Drop a chat: sends to it answer 400 "chat not found"."""
        self.chats.pop(chat_id, None)

    # ------------------------------------------------------------------ what users do

    def user_sends_text(
        self, chat_id: int, text: str, *, user: FakeUser | int | None = None
    ) -> JSON:
        """A user writes ``text`` in the chat; returns the queued Update (JSON).

        Bot commands in the text get ``bot_command`` entities like a real client adds.
        Unknown positive ids become new users, unknown negative ids new groups.
        """
        chat = self._chat_for_injection(chat_id)
        sender = self._sender(chat, user)
        message = self._store_message(
            chat,
            sender.to_json(),
            from_bot=False,
            text=text,
            plain_text=text,
            entities=detect_bot_commands(text),
        )
        return self._enqueue({"message": message.to_json()})

    def sends_raw_update(self, payload: JSON) -> JSON:
        """Queue an update as given (plus its ``update_id``): one of a shape the library may not
        read, as Telegram sends when it adds a field or changes one."""
        return self._enqueue(payload)

    def user_sends_command(
        self,
        chat_id: int,
        command: str,
        args: str = "",
        *,
        user: FakeUser | int | None = None,
        mention_bot: bool = False,
    ) -> JSON:
        """A user sends ``/command args`` (``/command@bot_username`` with ``mention_bot``,
        as clients do in groups). The text starts with a ``bot_command`` entity at offset 0,
        which PTB's CommandHandler requires."""
        head = "/" + command.lstrip("/")
        if mention_bot:
            head += f"@{self.bot_user.username}"
        text = f"{head} {args}" if args else head
        return self.user_sends_text(chat_id, text, user=user)

    def user_taps(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str,
        *,
        user: FakeUser | int | None = None,
    ) -> JSON:
        """A user taps an inline button with ``callback_data`` under the bot's message.

        The data need not be on the keyboard (a stale or forged tap); use :meth:`user_presses`
        to tap a button by its label. Returns the Update; its ``callback_query.id`` is unique.
        """
        chat = self._chat_for_injection(chat_id)
        message = self._messages[chat_id].get(message_id)
        if message is None or not message.from_bot or message.deleted:
            raise ValueError(f"no message {message_id} from the bot in chat {chat_id}")
        sender = self._sender(chat, user)
        self._callback_counter += 1
        query_id = f"{self.bot_user.id % 10_000}{self._callback_counter:08d}"
        self._callbacks[query_id] = _PendingCallback(callback_data, chat_id, message_id)
        return self._enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": sender.to_json(),
                    "message": message.to_json(),
                    "chat_instance": str(abs(chat_id) * 7 + 13),
                    "data": callback_data,
                }
            }
        )

    def user_presses(
        self, chat_id: int, message_id: int, button_text: str, *, user: FakeUser | int | None = None
    ) -> JSON:
        """A user taps the inline button labelled ``button_text`` (must carry callback_data)."""
        message = self.message(chat_id, message_id)
        data = message.button(button_text).get("callback_data")
        if data is None:
            raise ValueError(f"button {button_text!r} has no callback_data")
        return self.user_taps(chat_id, message_id, data, user=user)

    def user_sends_document(
        self,
        chat_id: int,
        file_name: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        media_group_id: str | None = None,
        *,
        user: FakeUser | int | None = None,
        file_size: int | None = None,
    ) -> JSON:
        """A user sends a file. ``file_size`` overrides the reported size (to fake a 25 MB
        file cheaply). The stored file is in ``update["message"]["document"]``."""
        chat = self._chat_for_injection(chat_id)
        sender = self._sender(chat, user)
        stored = self._store_file(
            content,
            kind="document",
            file_name=file_name,
            mime_type=mime_type,
            declared_size=file_size,
        )
        message = self._store_message(
            chat,
            sender.to_json(),
            from_bot=False,
            caption=caption,
            plain_caption=caption,
            document=stored.document_json(),
            media_group_id=media_group_id,
        )
        return self._enqueue({"message": message.to_json()})

    def user_sends_photo(
        self,
        chat_id: int,
        content: bytes,
        caption: str | None = None,
        media_group_id: str | None = None,
        *,
        user: FakeUser | int | None = None,
        width: int = 1280,
        height: int = 960,
        file_size: int | None = None,
    ) -> JSON:
        """A user sends a photo. Like Telegram, ``message.photo`` lists three sizes, smallest
        first; the last (biggest) one is ``content`` itself."""
        chat = self._chat_for_injection(chat_id)
        sender = self._sender(chat, user)
        sizes = self._store_photo_sizes(content, width, height, file_size, by_bot=False)
        message = self._store_message(
            chat,
            sender.to_json(),
            from_bot=False,
            caption=caption,
            plain_caption=caption,
            photo=[s.photo_size_json() for s in sizes],
            media_group_id=media_group_id,
        )
        return self._enqueue({"message": message.to_json()})

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        method: str,
        status: int = 502,
        *,
        retry_after: float | None = None,
        migrate_to_chat_id: int | None = None,
        description: str | None = None,
        times: int = 1,
        raw_body: bytes | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error instead of handling them.

        ``status=429`` sends ``parameters.retry_after`` (default 1 s) so PTB raises
        RetryAfter; ``migrate_to_chat_id`` makes PTB raise ChatMigrated; 5xx raise
        NetworkError. ``raw_body`` replaces the JSON body (e.g. nginx's HTML 502 page).
        Failures queue up in order per method.
        """
        if raw_body is not None:
            failure = _InjectedFailure(None, raw_body, status, times)
        else:
            parameters: JSON | None = None
            if migrate_to_chat_id is not None:
                parameters = {"migrate_to_chat_id": migrate_to_chat_id}
                description = (
                    description or "Bad Request: group chat was upgraded to a supergroup chat"
                )
            elif status == 429:
                wait = 1 if retry_after is None else retry_after
                parameters = {"retry_after": wait}
                description = description or f"Too Many Requests: retry after {wait}"
            failure = _InjectedFailure(
                ApiError(status, description or _default_description(status), parameters),
                None,
                status,
                times,
            )
        self._failures[self._canonical(method)].append(failure)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Handle the next ``times`` calls of ``method`` normally but answer ``seconds`` late.

        With a shorter client read timeout PTB raises TimedOut although the message was
        delivered: the case where a blind retry duplicates it.
        """
        self._delays[self._canonical(method)].extend([seconds] * times)

    def go_down(self) -> None:
        """An outage: from now every call, and the long poll waiting now, is answered with a
        gateway's 502 page (PTB raises NetworkError); nothing queued is lost."""
        self.down = True
        self._notify()

    def come_back(self) -> None:
        """The outage is over: calls are handled again."""
        self.down = False
        self._notify()

    def enforce_limits(
        self,
        per_chat_per_second: int = 1,
        global_per_second: int = 30,
        group_per_minute: int = 20,
        scale: float = 1.0,
        *,
        methods: Iterable[str] = _DEFAULT_LIMITED_METHODS,
    ) -> None:
        """Turn on flood control: sends over the limits answer 429 with ``retry_after``.

        Sliding windows on the server's monotonic clock: ``per_chat_per_second`` per chat,
        ``global_per_second`` overall, ``group_per_minute`` per group. ``scale`` speeds time
        up: with ``scale=10`` the windows last 0.1 s and 6 s, so a benchmark runs 10x faster
        (retry_after is then a float; with scale 1 it is whole seconds like Telegram's).
        """
        self._limits = _Limits(
            per_chat_per_second,
            global_per_second,
            group_per_minute,
            scale,
            frozenset(self._canonical(m) for m in methods),
        )
        # While the fake counts arrivals, no collector pause in its process: a pause holds
        # the bot's requests back and then stamps them within a few ms, 429s of the
        # instrument's making (a test process that ran hundreds of tests has a large heap).
        # Reference counting still frees garbage; `disable_limits` or `close` restore it.
        if not self._holds_collector:
            gc.collect()
            gc.freeze()
            gc.disable()
            self._holds_collector = True

    def disable_limits(self) -> None:
        """Turn flood control off again."""
        self._limits = None
        self._release_collector()

    def _release_collector(self) -> None:
        if self._holds_collector:
            gc.enable()
            gc.unfreeze()
            self._holds_collector = False

    # ------------------------------------------------------------------ inspection

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[StoredMessage]:
        """Every message in the chat, the users' and the bot's, oldest first."""
        return [
            m
            for _, m in sorted(self._messages.get(chat_id, {}).items())
            if include_deleted or not m.deleted
        ]

    def sent_messages(self, chat_id: int, *, include_deleted: bool = False) -> list[StoredMessage]:
        """The bot's messages in the chat, oldest first, with edits applied."""
        return [m for m in self.messages(chat_id, include_deleted=include_deleted) if m.from_bot]

    def last_message(self, chat_id: int) -> StoredMessage:
        """The bot's latest message in the chat; AssertionError when it sent none."""
        sent = self.sent_messages(chat_id)
        if not sent:
            raise AssertionError(f"the bot sent nothing to chat {chat_id}")
        return sent[-1]

    def message(self, chat_id: int, message_id: int) -> StoredMessage:
        """One message by id (KeyError when unknown)."""
        return self._messages[chat_id][message_id]

    def requests_for(self, method: str) -> list[ApiRequest]:
        """The logged calls of one method (any case), oldest first."""
        name = self._canonical(method)
        return [r for r in self.requests if r.method == name]

    def unanswered_callbacks(self) -> list[str]:
        """Ids of callback queries the bot never answered (each leaves a spinning button)."""
        return [qid for qid, cb in self._callbacks.items() if not cb.answered]

    @property
    def my_commands(self) -> list[JSON]:
        """The commands set for the default scope and no language."""
        return self.commands_for()

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The commands set for a scope (``{"type": "default"}`` when None) and language."""
        return list(self.commands.get((_scope_key(scope), language_code), []))

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a stored file (KeyError when unknown)."""
        return self.files[file_id].content

    @property
    def uploaded_files(self) -> list[StoredFile]:
        """Files the bot uploaded with sendDocument/sendPhoto, oldest first."""
        return [f for f in self.files.values() if f.uploaded_by_bot]

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot."""
        return len(self._updates)

    # ------------------------------------------------------------------ waiting

    # The waits take a plain ``timeout`` argument (ASYNC109): it reads best in a test.
    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> T:
        """Re-check ``predicate`` after every request and injected update until it returns
        something truthy, and return that; TimeoutError after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(f"{r.method}->{r.status}" for r in self.requests[-8:])
                raise TimeoutError(
                    f"condition not met within {timeout} s; last requests: [{recent}]"
                )
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue

    async def wait_for_message(
        self,
        chat_id: int,
        count: int = 1,
        *,
        after: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> StoredMessage:
        """Wait until the bot has ``count`` messages in the chat with an id above ``after``
        (pass the user's message id to wait for replies to it); return the latest."""
        messages = await self.wait_for_messages(chat_id, count, after=after, timeout=timeout)
        return messages[-1]

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        *,
        after: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[StoredMessage]:
        """Like :meth:`wait_for_message` but return all the bot's messages above ``after``."""

        def ready() -> list[StoredMessage]:
            found = [m for m in self.sent_messages(chat_id) if m.message_id > after]
            return found if len(found) >= count else []

        return await self.wait_for(ready, timeout)

    @property
    def polling(self) -> bool:
        """Whether a getUpdates long poll is waiting right now (the bot is ready for updates)."""
        return self._poller is not None

    async def wait_for_request(
        self,
        method: str,
        count: int = 1,
        *,
        where: Callable[[ApiRequest], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ApiRequest:
        """Wait until ``method`` was called ``count`` times (matching ``where``); return the
        latest such call."""

        def ready() -> list[ApiRequest]:
            calls = [r for r in self.requests_for(method) if where is None or where(r)]
            return calls if len(calls) >= count else []

        return (await self.wait_for(ready, timeout))[-1]

    async def wait_for_answer(
        self,
        update: JSON,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> AnsweredCallback:
        """Wait until the callback query of ``update`` (from :meth:`user_taps`) is answered."""
        query_id = update["callback_query"]["id"]

        def ready() -> AnsweredCallback | None:
            return next(
                (a for a in self.answered_callbacks if a.callback_query_id == query_id), None
            )

        return await self.wait_for(ready, timeout)

    async def wait_until_delivered(
        self,
        update: JSON | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until getUpdates handed out ``update`` (default: every queued update)."""
        target = update["update_id"] if update else self._next_update_id - 1
        await self.wait_for(lambda: self._last_delivered_update_id >= target, timeout)

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if self.down:
            self.refused += 1
            return web.Response(body=OUTAGE_PAGE, status=502, content_type="text/html")
        token = request.match_info["token"]
        method = request.match_info["method"]
        if token != self.token:
            # Like Telegram: a token that is not "<digits>:<secret>" is 404, a wrong one 401.
            if not _TOKEN_SHAPE.match(token):
                return web.json_response(_NOT_FOUND, status=404)
            return web.json_response(_UNAUTHORIZED, status=401)
        entry = self._methods.get(method.lower())
        if entry is None:
            self._log(method, {}, 404, "Not Found")
            return web.json_response(_NOT_FOUND, status=404)
        name, handler = entry

        status = 200
        description: str | None = None
        log_params: JSON = {}
        raw: bytes | None = None
        try:
            params = await self._read_params(request)
            log_params = _loggable(params)
            failure = self._take_failure(name)
            if failure is not None and failure.raw_body is not None:
                status, raw = failure.raw_status, failure.raw_body
                description = raw.decode("utf-8", "replace")[:200]
                body: JSON = {}
            elif failure is not None and failure.error is not None:
                raise failure.error
            else:
                self._check_limits(name, params)
                result = await handler(params)
                self._count_for_limits(name, params)
                body = {"ok": True, "result": result}
        except ApiError as error:
            status, description, body = error.error_code, error.description, error.to_json()
        self._log(name, log_params, status, description)
        delays = self._delays.get(name)
        if delays:
            await asyncio.sleep(delays.pop(0))
        if raw is not None:
            return web.Response(body=raw, status=status, content_type="text/html")
        return web.json_response(body, status=status, dumps=_dumps)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(_UNAUTHORIZED, status=401)
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return web.json_response(_NOT_FOUND, status=404)
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _read_params(self, request: web.Request) -> JSON:
        """Decode query string, form, multipart or JSON body into typed parameters."""
        params: JSON = dict(request.query)
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise ApiError.bad_request("can't parse JSON object") from exc
            if isinstance(body, dict):
                params.update(body)
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = _Upload(value.filename, value.content_type, value.file.read())
                else:
                    params[key] = value
        return _decode_params(params)

    def _log(self, method: str, params: JSON, status: int, description: str | None) -> None:
        self.requests.append(ApiRequest(method, params, status, description, self._monotonic()))
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _canonical(self, method: str) -> str:
        entry = self._methods.get(method.lower())
        return entry[0] if entry else method

    def _take_failure(self, method: str) -> _InjectedFailure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        return failure

    # ------------------------------------------------------------------ flood control

    def _limit_windows(self, method: str, params: JSON) -> list[tuple[deque[float], int, float]]:
        limits = self._limits
        if limits is None or method not in limits.methods:
            return []
        chat = self._lookup_chat(params.get("chat_id"))
        if chat is None:
            return []
        windows = [
            (limits.global_window, limits.global_per_second, 1.0 / limits.scale),
            (limits.chat_windows[chat.id], limits.per_chat_per_second, 1.0 / limits.scale),
        ]
        if chat.type != "private":
            windows.append(
                (limits.group_windows[chat.id], limits.group_per_minute, 60.0 / limits.scale)
            )
        return windows

    def _check_limits(self, method: str, params: JSON) -> None:
        now = self._monotonic()
        wait = 0.0
        for window, allowed, length in self._limit_windows(method, params):
            while window and window[0] <= now - length:
                window.popleft()
            if len(window) >= allowed:
                wait = max(wait, window[len(window) - allowed] + length - now)
        if wait > 0:
            assert self._limits is not None
            retry: float = (
                max(1, math.ceil(wait))
                if self._limits.scale == 1
                else math.ceil(wait * 1000) / 1000
            )
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})

    def _count_for_limits(self, method: str, params: JSON) -> None:
        now = self._monotonic()
        for window, _, _ in self._limit_windows(method, params):
            window.append(now)

    # ------------------------------------------------------------------ helpers

    def _chat_for_injection(self, chat_id: int) -> FakeChat:
        chat = self.chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                self.add_user(chat_id, f"Người dùng {chat_id}")
            else:
                self.add_group(chat_id, f"Nhóm {abs(chat_id)}")
            chat = self.chats[chat_id]
        return chat

    def _sender(self, chat: FakeChat, user: FakeUser | int | None) -> FakeUser:
        if isinstance(user, FakeUser):
            self.users.setdefault(user.id, user)
            sender = user
        elif isinstance(user, int):
            sender = self.users.get(user) or self.add_user(user, f"Người dùng {user}")
        elif chat.type == "private":
            assert chat.user is not None
            sender = chat.user
        elif chat.members:
            sender = next(iter(chat.members.values()))
        else:
            sender = self.add_user()
        if chat.type == "private":
            # Writing to the bot counts as pressing Start.
            chat.started = True
        else:
            chat.members.setdefault(sender.id, sender)
        return sender

    def _enqueue(self, payload: JSON) -> JSON:
        update = {"update_id": self._next_update_id, **payload}
        self._next_update_id += 1
        if self.webhook_url:
            task = asyncio.get_running_loop().create_task(self._push(update))
            self._webhook_tasks.add(task)
            task.add_done_callback(self._webhook_tasks.discard)
            return update
        self._updates.append(update)
        self._notify()
        return update

    async def _push(self, update: JSON) -> None:
        # Telegram POSTs the update as JSON with the secret header, and retries on failure;
        # the fake records the status and does not retry.
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook_url, data=json.dumps(update), headers=headers) as answer,
        ):
            self.webhook_answers.append(answer.status)

    def _enqueue_my_chat_member(self, chat: FakeChat, old: str, new: str) -> None:
        sender = chat.user or self.add_user()

        def member(status: str) -> JSON:
            data: JSON = {"status": status, "user": self.bot_user.to_json()}
            if status == "kicked":
                data["until_date"] = 0
            return data

        self._enqueue(
            {
                "my_chat_member": {
                    "chat": chat.to_json(),
                    "from": sender.to_json(),
                    "date": int(self._clock()),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def _store_message(
        self, chat: FakeChat, sender: JSON, *, from_bot: bool, **fields: Any
    ) -> StoredMessage:
        message_id = self._next_message_id[chat.id]
        self._next_message_id[chat.id] = message_id + 1
        message = StoredMessage(
            chat=chat.to_json(),
            message_id=message_id,
            sender=sender,
            date=int(self._clock()),
            from_bot=from_bot,
            **fields,
        )
        self._messages[chat.id][message_id] = message
        return message

    def _store_file(
        self,
        content: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        declared_size: int | None = None,
        width: int | None = None,
        height: int | None = None,
        by_bot: bool = False,
    ) -> StoredFile:
        self._file_counter += 1
        n = self._file_counter
        if kind == "photo":
            path = f"photos/file_{n}.jpg"
            file_id = f"AgACAgIAAxkBAAI{n:06d}"
        else:
            suffix = PurePosixPath(file_name or "").suffix.lower() or ".bin"
            path = f"documents/file_{n}{suffix}"
            file_id = f"BQACAgIAAxkBAAI{n:06d}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"AgAD{n:06d}",
            content=content,
            file_path=path,
            kind=kind,
            file_name=file_name,
            mime_type=mime_type,
            declared_size=declared_size,
            width=width,
            height=height,
            uploaded_by_bot=by_bot,
        )
        self.files[file_id] = stored
        self._files_by_path[path] = stored
        return stored

    def _store_photo_sizes(
        self, content: bytes, width: int, height: int, file_size: int | None, *, by_bot: bool
    ) -> list[StoredFile]:
        sizes = []
        # Thumbnails first, as Telegram lists them; their bytes are a prefix of the real file.
        for scale in (16, 4):
            part = content[: max(1, len(content) // scale)]
            sizes.append(
                self._store_file(
                    part,
                    kind="photo",
                    mime_type="image/jpeg",
                    width=max(1, width // scale),
                    height=max(1, height // scale),
                    by_bot=by_bot,
                )
            )
        sizes.append(
            self._store_file(
                content,
                kind="photo",
                mime_type="image/jpeg",
                width=width,
                height=height,
                declared_size=file_size,
                by_bot=by_bot,
            )
        )
        return sizes

    def _lookup_chat(self, raw: Any) -> FakeChat | None:
        if raw is None or raw == "":
            return None
        if isinstance(raw, int) and not isinstance(raw, bool):
            return self.chats.get(raw)
        text = str(raw).strip()
        if text.startswith("@"):
            name = text[1:].lower()
            return next(
                (c for c in self.chats.values() if c.username and c.username.lower() == name),
                None,
            )
        try:
            return self.chats.get(int(text))
        except ValueError:
            return None

    def _target_chat(self, params: JSON) -> FakeChat:
        """The chat a method writes to, or Telegram's error for why it cannot."""
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise ApiError.bad_request("chat_id is empty")
        chat = self._lookup_chat(raw)
        if chat is None:
            raise ApiError.bad_request("chat not found")
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "private":
            if chat.deactivated:
                raise ApiError.forbidden("user is deactivated")
            if chat.blocked:
                raise ApiError.forbidden("bot was blocked by the user")
            if not chat.started:
                raise ApiError.forbidden("bot can't initiate conversation with a user")
        elif chat.kicked:
            raise ApiError.forbidden(f"bot was kicked from the {chat.type} chat")
        return chat

    def _format(
        self,
        raw: str,
        parse_mode: Any,
        entities: Any,
        *,
        limit: int,
        too_long: str,
    ) -> ParsedText:
        """Parse entities, trim and check the length, as Telegram does for text and caption."""
        mode = str(parse_mode or "").lower()
        try:
            if mode == "html":
                parsed = parse_html(raw, strict_ampersand=self.strict_html_ampersand)
            elif mode == "":
                parsed = ParsedText(raw, list(entities) if isinstance(entities, list) else [])
            elif mode in ("markdown", "markdownv2"):
                # Not checked by the fake: the bot uses HTML. Counted as raw text.
                parsed = ParsedText(raw, [])
            else:
                raise ApiError.bad_request("unsupported parse_mode")
        except EntityParseError as exc:
            raise ApiError.bad_request(f"can't parse entities: {exc}") from exc
        parsed = strip_text(parsed)
        # tdlib counts Unicode code points (utf8_length), not UTF-16 units or bytes.
        if len(parsed.text) > limit:
            raise ApiError.bad_request(too_long)
        return parsed

    def _format_text(self, params: JSON) -> ParsedText:
        raw = params.get("text")
        if raw is None or raw == "":
            raise ApiError.bad_request("message text is empty")
        parsed = self._format(
            str(raw),
            params.get("parse_mode"),
            params.get("entities"),
            limit=MAX_TEXT,
            too_long="message is too long",
        )
        if not parsed.text:
            raise ApiError.bad_request("text must be non-empty")
        return parsed

    def _format_caption(self, params: JSON) -> ParsedText | None:
        raw = params.get("caption")
        if raw is None or raw == "":
            return None
        return self._format(
            str(raw),
            params.get("parse_mode"),
            params.get("caption_entities"),
            limit=MAX_CAPTION,
            too_long="message caption is too long",
        )

    def _check_reply_markup(self, markup: Any) -> JSON | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError.bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list):
                raise ApiError.bad_request('field "inline_keyboard" must be of type Array')
            count = 0
            for row in rows:
                if not isinstance(row, list):
                    raise ApiError.bad_request(
                        'field "inline_keyboard" must be an Array of Arrays of buttons'
                    )
                for button in row:
                    count += 1
                    _check_inline_button(button)
            if count > MAX_INLINE_BUTTONS:
                raise ApiError.bad_request("reply markup is too long")
        elif "keyboard" in markup:
            if not isinstance(markup["keyboard"], list):
                raise ApiError.bad_request('field "keyboard" must be of type Array')
        elif "remove_keyboard" not in markup and "force_reply" not in markup:
            raise ApiError.bad_request("can't parse reply keyboard markup JSON object")
        return markup

    def _reply_target(self, chat: FakeChat, params: JSON) -> StoredMessage | None:
        reply = params.get("reply_parameters")
        message_id = params.get("reply_to_message_id")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            if "message_id" not in reply:
                raise ApiError.bad_request('can\'t find field "message_id"')
            message_id = reply["message_id"]
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
        if message_id is None:
            return None
        target = self._messages[chat.id].get(int(message_id))
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise ApiError.bad_request("message to be replied not found")
        return target

    def _editable(self, params: JSON) -> StoredMessage:
        if params.get("inline_message_id"):
            raise ApiError.bad_request("MESSAGE_ID_INVALID")
        chat = self._target_chat(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise ApiError.bad_request("message identifier is not specified")
        message = self._messages[chat.id].get(int(message_id))
        if message is None or message.deleted:
            raise ApiError.bad_request("message to edit not found")
        if not message.from_bot:
            raise ApiError.bad_request("message can't be edited")
        return message

    def _apply_edit(self, message: StoredMessage, **changes: Any) -> JSON:
        if all(getattr(message, key) == value for key, value in changes.items()):
            raise _not_modified()
        message.history.append(
            {
                "text": message.text,
                "plain_text": message.plain_text,
                "caption": message.caption,
                "reply_markup": message.reply_markup,
                "edit_date": message.edit_date,
            }
        )
        for key, value in changes.items():
            setattr(message, key, value)
        message.edit_date = int(self._clock())
        return message.to_json()

    def _resolve_input_file(self, params: JSON, field_name: str, kind: str) -> StoredFile | None:
        """The stored file a send refers to: a fresh upload or an existing file_id."""
        value = params.get(field_name)
        if isinstance(value, _Upload):
            if len(value.content) > MAX_UPLOAD:
                raise ApiError(413, "Request Entity Too Large")
            if not value.content:
                raise ApiError.bad_request("file must be non-empty")
            return None
        if value is None or value == "":
            raise ApiError.bad_request(f"there is no {kind} in the request")
        text = str(value)
        stored = self.files.get(text)
        if stored is None:
            if text.startswith(("http://", "https://")):
                raise ApiError.bad_request("failed to get HTTP URL content")
            raise ApiError.bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise ApiError.bad_request("type of file mismatch")
        return stored

    # ------------------------------------------------------------------ Bot API methods

    async def _ok(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self.bot_user.to_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url, self.webhook_secret = "", None
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _set_webhook(self, params: JSON) -> bool:
        url = str(params.get("url") or "")
        if not url:
            # Telegram: an empty url removes the webhook.
            return await self._delete_webhook(params)
        schemes = ("https://", "http://") if self.allow_insecure_webhook else ("https://",)
        if not url.startswith(schemes):
            raise ApiError.bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError.bad_request("bad webhook: secret token contains unallowed characters")
        self.webhook_url, self.webhook_secret = url, (str(secret) if secret else None)
        return True

    async def _get_updates(self, params: JSON) -> list[JSON]:
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            # Telegram keeps the last list given; an empty list means the default set.
            self._allowed_updates = frozenset(allowed) or _DEFAULT_UPDATE_TYPES
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        if offset is not None:
            self._confirm(int(offset))

        # A newer getUpdates terminates the one still waiting, as on Telegram (409).
        me = object()
        self._poller = me
        self._notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                if self._poller is not me:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that "
                        "only one bot instance is running",
                    )
                if self.down:
                    raise ApiError(502, "Bad Gateway")
                batch = self._deliverable(limit)
                remaining = deadline - loop.time()
                if batch or self._closing or remaining <= 0:
                    if batch:
                        self._last_delivered_update_id = max(
                            self._last_delivered_update_id, batch[-1]["update_id"]
                        )
                    return batch
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
        finally:
            if self._poller is me:
                self._poller = None

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            # A negative offset keeps only the last -offset updates.
            while len(self._updates) > -offset:
                self._updates.popleft()
            return
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()

    def _deliverable(self, limit: int) -> list[JSON]:
        # Updates of types the bot did not ask for are dropped, not kept for later.
        kept: deque[JSON] = deque()
        for update in self._updates:
            kind = next(k for k in update if k != "update_id")
            if kind in self._allowed_updates:
                kept.append(update)
        self._updates = kept
        return list(kept)[:limit]

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._target_chat(params)
        parsed = self._format_text(params)
        markup = self._check_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        message = self._store_message(
            chat,
            self.bot_user.to_json(),
            from_bot=True,
            text=str(params["text"]),
            plain_text=parsed.text,
            parse_mode=params.get("parse_mode"),
            entities=parsed.entities,
            reply_markup=markup,
            reply_to_message_id=reply_to.message_id if reply_to else None,
        )
        return message.to_json(with_reply=reply_to)

    async def _edit_message_text(self, params: JSON) -> JSON:
        message = self._editable(params)
        if message.plain_text is None:
            raise ApiError.bad_request("there is no text in the message to edit")
        parsed = self._format_text(params)
        markup = self._check_reply_markup(params.get("reply_markup"))
        # Comparing what the user sees: same visible text, entities and keyboard = no change.
        if (parsed.text, parsed.entities, markup) == (
            message.plain_text,
            message.entities,
            message.reply_markup,
        ):
            raise _not_modified()
        return self._apply_edit(
            message,
            text=str(params["text"]),
            plain_text=parsed.text,
            entities=parsed.entities,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
        )

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        message = self._editable(params)
        markup = self._check_reply_markup(params.get("reply_markup"))
        return self._apply_edit(message, reply_markup=markup)

    async def _edit_message_caption(self, params: JSON) -> JSON:
        message = self._editable(params)
        if message.document is None and message.photo is None:
            raise ApiError.bad_request("there is no caption in the message to edit")
        parsed = self._format_caption(params)
        markup = self._check_reply_markup(params.get("reply_markup"))
        plain = parsed.text if parsed else None
        if (plain, parsed.entities if parsed else [], markup) == (
            message.plain_caption,
            message.caption_entities,
            message.reply_markup,
        ):
            raise _not_modified()
        return self._apply_edit(
            message,
            caption=params.get("caption"),
            plain_caption=plain,
            caption_entities=parsed.entities if parsed else [],
            reply_markup=markup,
        )

    async def _delete_message(self, params: JSON) -> bool:
        chat = self._target_chat(params)
        message = self._messages[chat.id].get(int(params.get("message_id") or 0))
        if message is None or message.deleted:
            raise ApiError.bad_request("message to delete not found")
        message.deleted = True
        return True

    async def _send_chat_action(self, params: JSON) -> bool:
        self._target_chat(params)
        return True

    async def _get_chat(self, params: JSON) -> JSON:
        chat = self._lookup_chat(params.get("chat_id"))
        if chat is None:
            raise ApiError.bad_request("chat not found")
        return {**chat.to_json(), "accent_color_id": 0, "max_reaction_count": 11}

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        pending = self._callbacks.get(query_id)
        if pending is None or pending.answered:
            raise ApiError.bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        pending.answered = True
        self.answered_callbacks.append(
            AnsweredCallback(
                callback_query_id=query_id,
                data=pending.data,
                chat_id=pending.chat_id,
                message_id=pending.message_id,
                text=params.get("text"),
                show_alert=bool(params.get("show_alert")),
                url=params.get("url"),
                cache_time=params.get("cache_time"),
            )
        )
        return True

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError.bad_request('field "commands" must be of type Array')
        if len(commands) > MAX_COMMANDS:
            raise ApiError.bad_request("BOT_COMMANDS_TOO_MUCH")
        for item in commands:
            _check_bot_command(item)
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        if commands:
            self.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return list(self.commands.get(key, []))

    async def _delete_my_commands(self, params: JSON) -> bool:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.commands.pop(key, None)
        return True

    async def _get_file(self, params: JSON) -> JSON:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise ApiError.bad_request("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD:
            raise ApiError.bad_request("file is too big")
        return stored.file_json()

    async def _send_document(self, params: JSON) -> JSON:
        chat = self._target_chat(params)
        existing = self._resolve_input_file(params, "document", "document")
        caption = self._format_caption(params)
        markup = self._check_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        if existing is None:
            upload: _Upload = params["document"]
            existing = self._store_file(
                upload.content,
                kind="document",
                file_name=upload.file_name,
                mime_type=upload.mime_type,
                by_bot=True,
            )
        message = self._store_message(
            chat,
            self.bot_user.to_json(),
            from_bot=True,
            document=existing.document_json(),
            caption=params.get("caption"),
            plain_caption=caption.text if caption else None,
            caption_entities=caption.entities if caption else [],
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply_to.message_id if reply_to else None,
        )
        return message.to_json(with_reply=reply_to)

    async def _send_photo(self, params: JSON) -> JSON:
        chat = self._target_chat(params)
        existing = self._resolve_input_file(params, "photo", "photo")
        caption = self._format_caption(params)
        markup = self._check_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        if existing is None:
            upload: _Upload = params["photo"]
            sizes = self._store_photo_sizes(upload.content, 1280, 960, None, by_bot=True)
        else:
            sizes = [existing]
        message = self._store_message(
            chat,
            self.bot_user.to_json(),
            from_bot=True,
            photo=[s.photo_size_json() for s in sizes],
            caption=params.get("caption"),
            plain_caption=caption.text if caption else None,
            caption_entities=caption.entities if caption else [],
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply_to.message_id if reply_to else None,
        )
        return message.to_json(with_reply=reply_to)


# ---------------------------------------------------------------------- module helpers


def _dumps(data: Any) -> str:
    # Keep Vietnamese readable in responses, like Telegram.
    return json.dumps(data, ensure_ascii=False)


def _not_modified() -> ApiError:
    return ApiError.bad_request(
        "message is not modified: specified new message content and reply markup are "
        "exactly the same as a current content and reply markup of the message"
    )


def _default_description(status: int) -> str:
    return {
        400: "Bad Request: injected failure",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }.get(status, f"Error {status}")


def _decode_params(raw: JSON) -> JSON:
    """Turn form strings into the types Telegram reads them as."""
    params: JSON = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in _JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError as exc:
                    what = "reply keyboard markup" if key == "reply_markup" else key
                    raise ApiError.bad_request(f"can't parse {what} JSON object") from exc
            elif key in _INT_FIELDS:
                try:
                    value = int(value)
                except ValueError as exc:
                    raise ApiError.bad_request(f'field "{key}" must be of type Integer') from exc
            elif key in _BOOL_FIELDS:
                value = value.lower() in ("true", "1")
            elif key == "chat_id" and re.fullmatch(r"-?\d+", value.strip()):
                # An "@channelname" chat_id stays a string.
                value = int(value)
        params[key] = value
    return params


def _loggable(params: JSON) -> JSON:
    """Parameters for the request log: uploads summarised instead of their bytes."""
    return {
        key: (
            {"file_name": v.file_name, "mime_type": v.mime_type, "size": len(v.content)}
            if isinstance(v, _Upload)
            else v
        )
        for key, v in params.items()
    }


def _scope_key(scope: Any) -> str:
    """A hashable key for a BotCommandScope; validates it like Telegram."""
    if scope is None:
        return '{"type": "default"}'
    if not isinstance(scope, dict) or "type" not in scope:
        raise ApiError.bad_request("can't parse BotCommandScope: Can't find field \"type\"")
    required = _COMMAND_SCOPES.get(scope["type"])
    if required is None:
        raise ApiError.bad_request("can't parse BotCommandScope: Unsupported type specified")
    for name in required:
        if name not in scope:
            raise ApiError.bad_request(f"can't parse BotCommandScope: Can't find field \"{name}\"")
    normalised = {"type": scope["type"], **{name: int(scope[name]) for name in required}}
    return json.dumps(normalised, sort_keys=True)


def _check_bot_command(item: Any) -> None:
    if not isinstance(item, dict):
        raise ApiError.bad_request("can't parse BotCommand: Object expected")
    for name in ("command", "description"):
        if name not in item:
            raise ApiError.bad_request(f"can't parse BotCommand: Can't find field \"{name}\"")
        if not isinstance(item[name], str):
            raise ApiError.bad_request(
                f'can\'t parse BotCommand: Field "{name}" must be of type String'
            )
    command, description = item["command"], item["description"]
    if not command:
        raise ApiError.bad_request("command must be non-empty")
    if len(command) > MAX_COMMAND_LEN or not _COMMAND_RE.match(command):
        raise ApiError.bad_request("BOT_COMMAND_INVALID")
    if not description.strip():
        raise ApiError.bad_request("command description must be non-empty")
    if len(description) > MAX_COMMAND_DESCRIPTION:
        raise ApiError.bad_request("BOT_COMMAND_DESCRIPTION_INVALID")


def _check_inline_button(button: Any) -> None:
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise ApiError.bad_request(prefix + "Object expected")
    if "text" not in button:
        raise ApiError.bad_request(prefix + 'Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise ApiError.bad_request(prefix + 'Field "text" must be of type String')
    # Telegram reads an empty callback_data or url as absent.
    actions = [
        key
        for key in _INLINE_ACTIONS
        if key in button and not (key in ("callback_data", "url") and button[key] == "")
    ]
    if not actions:
        raise ApiError.bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
    if "callback_data" in actions:
        data = button["callback_data"]
        if not isinstance(data, str):
            raise ApiError.bad_request(prefix + 'Field "callback_data" must be of type String')
        # The limit is in bytes: 22 Vietnamese letters of 3 bytes each are already too many.
        if len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
            raise ApiError.bad_request("BUTTON_DATA_INVALID")
    if "url" in actions:
        _check_button_url(str(button["url"]))


def _check_button_url(url: str) -> None:
    def invalid(why: str) -> ApiError:
        return ApiError.bad_request(f"inline keyboard button URL '{url}' is invalid: {why}")

    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", url)
    rest = url
    if match:
        scheme = match.group(1).lower()
        if scheme in ("tg", "ton"):
            return
        if scheme not in ("http", "https"):
            raise invalid("Unsupported URL protocol")
        rest = match.group(2)
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    if not host:
        raise invalid("URL host is empty")
    if "." not in host:
        raise invalid("Wrong HTTP URL")
