"""A strict fake Zalo Bot API server for tests of the Zalo channel.

The bot talks to it over real HTTP exactly as it talks to bot-api.zaloplatforms.com::

    async with FakeZaloApi() as server:
        api = ZaloApi(server.token, server.url)
        an = server.add_user(display_name="An")
        update = server.user_sends_text(an, "/start MA-MOI")
        reply = await server.wait_for_message(an.id, after=update)

What it mirrors from Zalo's documentation (/work/shared/ZALO.md), because the bot must cope:

* every answer is HTTP 200: `{"ok": true, "result": …}` or `{"ok": false, "error_code",
  "description"}`: 401 wrong token, 404 unknown method (there is no sendDocument), 400 bad
  request, 408 nothing new for getUpdates, 429 over quota;
* `POST /bot{token}/{method}` with a JSON body;
* getUpdates hands out ONE update per call, or 408 once its timeout passed (capped by
  `max_poll_wait` so tests stay quick); there is no offset and no acknowledgement: an update
  handed out is gone, and `deliver_again` hands one out a second time, as Zalo may;
* sendMessage takes 1–2000 characters of plain text; sendPhoto a public http(s) URL;
  setWebhook an https URL and a secret of 8–256 characters; polling and webhook exclusive;
* updates `{"event_name", "message"}` with hex `message_id`, `from {id, display_name,
  is_bot}`, `chat {id, chat_type: PRIVATE | GROUP}` and `date` in milliseconds.

Where the documentation is silent the fake ASSUMES (and says so in each place):

* writing to a user who never wrote to the bot: `403 "Forbidden: the user has not interacted
  with the bot"`; to an id the fake does not know: `400 "Bad Request: chat not found"`;
* getUpdates while a webhook is set: `409 "Conflict: can't use getUpdates while webhook is
  active; use deleteWebhook to delete the webhook first"` (Telegram's answer, whose API
  Zalo's copies);
* 408's description is "Request timeout"; a 429 carries no `retry_after`;
* a request body that is not JSON: `400 "Bad Request: the body must be a JSON object"`;
  method names are case-sensitive; text length counts characters (code points);
* a private chat's id is its user's id; ids are 20 hex digits, the bot's id is the token's
  first part; the bot's own messages, echoed with `echo_bot_messages`, come from that id with
  `is_bot: true`;
* setWebhook/deleteWebhook/getWebhookInfo answer `{"url", "updated_at"}`; with a webhook set,
  new updates are POSTed to it (with header `X-Bot-Api-Secret-Token`) instead of queued.
  `allow_insecure_webhook=True` accepts an http:// URL, so a test's local web app can be one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from tests.local_server import OUTAGE_PAGE, serve_locally

__all__ = [
    "DEFAULT_TOKEN",
    "JPEG",
    "SECRET_HEADER",
    "FakeZaloApi",
    "FakeZaloError",
    "FakeZaloGroup",
    "FakeZaloUser",
    "SentMessage",
    "WebhookDelivery",
    "ZaloRequest",
]

JSON = dict[str, Any]
T = TypeVar("T")

DEFAULT_TOKEN = "1234567890:FakeZaloSecretForTestsOnly_nhacviec_01"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_TEXT = 2000
MIN_SECRET, MAX_SECRET = 8, 256
# A tiny JPEG-looking payload for photos a test does not care about.
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + b"anh chup bao cao " * 20 + b"\xff\xd9"

# Methods that count against the rate limits of `enforce_limits`.
_LIMITED_METHODS = frozenset({"sendMessage", "sendPhoto", "sendSticker"})
_EVENT_TEXT = "message.text.received"
_EVENT_IMAGE = "message.image.received"
_EVENT_STICKER = "message.sticker.received"
_EVENT_VOICE = "message.voice.received"
_EVENT_UNSUPPORTED = "message.unsupported.received"


class FakeZaloError(Exception):
    """An `{"ok": false}` answer of the fake."""

    def __init__(self, error_code: int, description: str) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description

    def to_json(self) -> JSON:
        """The answer's body."""
        return {"ok": False, "error_code": self.error_code, "description": self.description}


def _bad_request(what: str) -> FakeZaloError:
    return FakeZaloError(400, what)


@dataclass
class FakeZaloUser:
    """A Zalo user; `wrote` is whether they ever wrote to the bot (it may write back only
    then)."""

    id: str
    display_name: str
    wrote: bool = False
    is_bot: bool = False

    def to_json(self) -> JSON:
        """The update's `from` object."""
        return {"id": self.id, "display_name": self.display_name, "is_bot": self.is_bot}


@dataclass
class FakeZaloGroup:
    """A Zalo group the bot is in."""

    id: str
    name: str


@dataclass
class SentMessage:
    """A message the bot sent: `text` for sendMessage, `photo` (+ `caption`) for sendPhoto,
    `sticker` for sendSticker. `seq` orders every message of the fake, users' and bot's."""

    chat_id: str
    message_id: str
    seq: int
    date: int  # milliseconds
    text: str | None = None
    photo: str | None = None
    caption: str | None = None
    sticker: str | None = None


@dataclass
class ZaloRequest:
    """One call the bot made (the token is never recorded)."""

    method: str
    params: JSON
    ok: bool
    error_code: int | None = None
    description: str | None = None
    at: float = 0.0


@dataclass
class WebhookDelivery:
    """One POST of an update to the webhook, and how the web app answered (0: no answer)."""

    url: str
    update: JSON
    status: int
    body: str = ""


@dataclass
class _Failure:
    error: FakeZaloError | None
    http_status: int
    raw_body: bytes | None
    remaining: int


@dataclass
class _Limits:
    per_chat_per_second: int
    global_per_second: int
    global_window: deque[float] = field(default_factory=deque)
    chat_windows: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))


class FakeZaloApi:
    """An in-process Zalo Bot API on 127.0.0.1 (random port), used as an async context manager.

    `url` is what ZALO_API_URL should be; `token` the bot's token.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_name: str = "Nhắc việc (thử nghiệm)",
        max_poll_wait: float = 1.0,
        allow_insecure_webhook: bool = False,
        echo_bot_messages: bool = False,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        port: int = 0,
    ) -> None:
        """Set up the state; the server starts in `__aenter__` / `start`, on `port` (0: a free
        one; a given one lets the bot be started before the server is up).

        `max_poll_wait` caps getUpdates' long poll (Zalo's default is 30 s); `clock` gives
        message dates (Unix seconds, sent as milliseconds); `monotonic` drives rate limits.
        """
        self.token = token
        self.bot_id = token.split(":", 1)[0]
        self.bot_name = bot_name
        self.max_poll_wait = max_poll_wait
        self.allow_insecure_webhook = allow_insecure_webhook
        self.echo_bot_messages = echo_bot_messages
        self._clock = clock
        self._monotonic = monotonic

        self.users: dict[str, FakeZaloUser] = {}
        self.groups: dict[str, FakeZaloGroup] = {}
        self.requests: list[ZaloRequest] = []
        self.sent: list[SentMessage] = []
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.photo_downloads: list[str] = []

        self._updates: deque[JSON] = deque()
        self._handed_out = 0
        self._seq = 0
        self._seq_of: dict[str, int] = {}
        self._photos: dict[str, bytes] = {}
        self._pollers = 0
        self._failures: dict[str, list[_Failure]] = defaultdict(list)
        self._delays: dict[str, list[float]] = defaultdict(list)
        self._limits: _Limits | None = None
        self._pushes: set[asyncio.Task[None]] = set()

        # Broadcast "something changed": set and replaced on every change, so the sync
        # helpers that inject updates can wake waiters.
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.port = port
        self.url = ""
        # During an outage (`go_down`) every call is answered by a gateway's 502 page;
        # `refused` counts those calls.
        self.down = False
        self.refused = 0

        self._methods: dict[str, Callable[[JSON], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "sendSticker": self._send_sticker,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeZaloApi:
        """Start listening on 127.0.0.1 on a free port of the OS's choosing."""
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle_api)
        app.router.add_get("/photos/{name}", self._handle_photo)
        self._runner, self.url = await serve_locally(app, self.port)
        self._client = aiohttp.ClientSession()
        return self

    async def close(self) -> None:
        """Stop the server: waiting long polls end, then connections close."""
        self._closing = True
        self._notify()
        for task in list(self._pushes):
            task.cancel()
        if self._pushes:
            await asyncio.gather(*self._pushes, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeZaloApi:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ users and groups

    def add_user(
        self,
        user_id: str | None = None,
        display_name: str = "Nguyễn Văn An",
        *,
        wrote: bool = False,
    ) -> FakeZaloUser:
        """A Zalo user (their private chat has their id). `wrote=True`: they already wrote to
        the bot, so it may write to them; any `user_sends_*` sets it too."""
        user_id = user_id or secrets.token_hex(10)
        if user_id in self.users or user_id in self.groups:
            raise ValueError(f"id {user_id} already exists")
        user = FakeZaloUser(user_id, display_name, wrote)
        self.users[user_id] = user
        return user

    def add_group(
        self, group_id: str | None = None, name: str = "Văn phòng UBND xã"
    ) -> FakeZaloGroup:
        """A group the bot was added to."""
        group_id = group_id or secrets.token_hex(10)
        if group_id in self.users or group_id in self.groups:
            raise ValueError(f"id {group_id} already exists")
        group = FakeZaloGroup(group_id, name)
        self.groups[group_id] = group
        return group

    # ------------------------------------------------------------------ what users do

    def user_sends_text(
        self, user: FakeZaloUser | str, text: str, *, group: FakeZaloGroup | None = None
    ) -> JSON:
        """`user` writes `text` (privately, or in `group`); returns the update (bare)."""
        return self._user_message(user, group, _EVENT_TEXT, {"text": text})

    def user_sends_command(self, user: FakeZaloUser | str, command: str, args: str = "") -> JSON:
        """`user` writes `/command args`: on Zalo that is just text."""
        head = "/" + command.lstrip("/")
        return self.user_sends_text(user, f"{head} {args}" if args else head)

    def user_sends_image(
        self,
        user: FakeZaloUser | str,
        url: str | None = None,
        caption: str | None = None,
        *,
        content: bytes = JPEG,
        group: FakeZaloGroup | None = None,
    ) -> JSON:
        """`user` sends a photo. Without `url` the fake serves `content` at a local URL of
        its own (`{server.url}/photos/<message_id>.jpg`) and counts its downloads."""
        message_id = secrets.token_hex(16)
        if url is None:
            name = f"{message_id}.jpg"
            self._photos[name] = content
            url = f"{self.url}/photos/{name}"
        fields: JSON = {"photo_url": url}
        if caption is not None:
            fields["caption"] = caption
        return self._user_message(user, group, _EVENT_IMAGE, fields, message_id)

    def user_sends_sticker(
        self,
        user: FakeZaloUser | str,
        sticker: str = "bfe2e9b5a2f0",
        *,
        group: FakeZaloGroup | None = None,
    ) -> JSON:
        """`user` sends a sticker."""
        return self._user_message(user, group, _EVENT_STICKER, {"sticker": sticker})

    def user_sends_voice(
        self, user: FakeZaloUser | str, *, group: FakeZaloGroup | None = None
    ) -> JSON:
        """`user` sends a voice message (its URL leads nowhere: the bot never fetches it)."""
        voice_url = f"{self.url}/voice/{secrets.token_hex(8)}.aac"
        return self._user_message(user, group, _EVENT_VOICE, {"voice_url": voice_url})

    def user_sends_unsupported(
        self, user: FakeZaloUser | str, *, group: FakeZaloGroup | None = None
    ) -> JSON:
        """`user` sends what the bot cannot receive (a PDF, Word or Excel file): nothing of
        it reaches the bot."""
        return self._user_message(user, group, _EVENT_UNSUPPORTED, {})

    def deliver_again(self, update: JSON) -> None:
        """Hand the same update out once more, as Zalo may (duplicate delivery)."""
        self._deliver(json.loads(json.dumps(update)))

    def echo(self, message: SentMessage) -> JSON:
        """The bot's own message coming back as an update (one report says it happens)."""
        bot = FakeZaloUser(self.bot_id, self.bot_name, is_bot=True)
        update = {
            "event_name": _EVENT_TEXT,
            "message": {
                "message_id": message.message_id,
                "from": bot.to_json(),
                "chat": {"id": message.chat_id, "chat_type": self._chat_type(message.chat_id)},
                "date": message.date,
                "text": message.text or "",
            },
        }
        self._deliver(update)
        return update

    async def post_to_webhook(
        self, url: str, update: JSON, secret: str | None = None, *, wrapped: bool = False
    ) -> tuple[int, str]:
        """POST `update` to `url` as Zalo's webhook does (header `X-Bot-Api-Secret-Token`
        when `secret` is given; `wrapped` sends `{"ok": true, "result": update}`); returns
        the HTTP status and body of the answer."""
        assert self._client is not None, "start the server first"
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        body = {"ok": True, "result": update} if wrapped else update
        async with self._client.post(url, json=body, headers=headers) as response:
            return response.status, await response.text()

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        method: str,
        error_code: int = 500,
        description: str | None = None,
        *,
        times: int = 1,
        http_status: int = 200,
        raw_body: bytes | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with `{"ok": false, error_code}` (HTTP
        200, as Zalo), or with `raw_body` and `http_status` (a proxy's error page)."""
        error = None
        if raw_body is None:
            error = FakeZaloError(error_code, description or _default_description(error_code))
        self._failures[method].append(_Failure(error, http_status, raw_body, times))

    def go_down(self) -> None:
        """An outage: from now every call, and the long poll waiting now, is answered with a
        gateway's 502 page; nothing queued is lost."""
        self.down = True
        self._notify()

    def come_back(self) -> None:
        """The outage is over: calls are handled again."""
        self.down = False
        self._notify()

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Handle the next `times` calls of `method` normally but answer `seconds` late (a
        client's read timeout then hides a delivered message)."""
        self._delays[method].extend([seconds] * times)

    def enforce_limits(self, per_chat_per_second: int = 1, global_per_second: int = 5) -> None:
        """Answer sends over these rates (sliding one-second windows) with `ok: false,
        error_code: 429` and no retry_after, as Zalo publishes neither limits nor waits."""
        self._limits = _Limits(per_chat_per_second, global_per_second)

    def disable_limits(self) -> None:
        """Turn the rate limits off again."""
        self._limits = None

    # ------------------------------------------------------------------ inspection

    def sent_messages(self, chat_id: str | None = None) -> list[SentMessage]:
        """What the bot sent (to `chat_id`, or anywhere), oldest first."""
        return [m for m in self.sent if chat_id is None or m.chat_id == chat_id]

    def texts(self, chat_id: str) -> list[str]:
        """The texts the bot sent to `chat_id`, oldest first."""
        return [m.text for m in self.sent_messages(chat_id) if m.text is not None]

    def requests_for(self, method: str) -> list[ZaloRequest]:
        """The calls of one method, oldest first."""
        return [r for r in self.requests if r.method == method]

    @property
    def polling(self) -> bool:
        """Whether a getUpdates long poll is waiting right now."""
        return self._pollers > 0

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet handed out."""
        return len(self._updates)

    @property
    def handed_out(self) -> int:
        """How many updates getUpdates has handed out."""
        return self._handed_out

    # ------------------------------------------------------------------ waiting

    # The waits take a plain `timeout` argument (ASYNC109): it reads best in a test.
    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> T:
        """Re-check `predicate` after every request and injected update until it returns
        something truthy, and return that; TimeoutError after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(
                    f"{r.method}->{'ok' if r.ok else r.error_code}" for r in self.requests[-8:]
                )
                raise TimeoutError(
                    f"condition not met within {timeout} s; last requests: [{recent}]"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def wait_for_messages(
        self,
        chat_id: str,
        count: int = 1,
        *,
        after: JSON | int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """Wait until the bot has sent `count` messages to the chat after `after` (a user's
        update, or a `seq`); return all the messages after it."""
        since = self.seq_of(after)

        def ready() -> list[SentMessage]:
            found = [m for m in self.sent_messages(chat_id) if m.seq > since]
            return found if len(found) >= count else []

        return await self.wait_for(ready, timeout)

    async def wait_for_message(
        self,
        chat_id: str,
        count: int = 1,
        *,
        after: JSON | int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """Like `wait_for_messages`, returning the latest message."""
        return (await self.wait_for_messages(chat_id, count, after=after, timeout=timeout))[-1]

    def seq_of(self, marker: JSON | int) -> int:
        """The `seq` of a user's update (or `marker` itself when it is a number)."""
        if isinstance(marker, int):
            return marker
        return self._seq_of[str(marker["message"]["message_id"])]

    @property
    def seq(self) -> int:
        """The latest `seq` handed out: wait for messages `after=server.seq`."""
        return self._seq

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if self.down:
            self.refused += 1
            return web.Response(body=OUTAGE_PAGE, status=502, content_type="text/html")
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _answer(FakeZaloError(401, "Unauthorized").to_json())
        handler = self._methods.get(method)
        if handler is None:
            self._log(method, {}, FakeZaloError(404, "Not Found"))
            return _answer(FakeZaloError(404, "Not Found").to_json())
        params: JSON = {}
        raw: _Failure | None = None
        try:
            params = await _read_params(request)
            failure = self._take_failure(method)
            if failure is not None and failure.raw_body is not None:
                raw = failure
                raise FakeZaloError(failure.http_status, "raw answer")
            if failure is not None and failure.error is not None:
                raise failure.error
            self._check_limits(method, params)
            result = await handler(params)
            self._count_for_limits(method, params)
            body: JSON = {"ok": True, "result": result}
            self._log(method, params, None)
        except FakeZaloError as error:
            body = error.to_json()
            self._log(method, params, error)
        delays = self._delays.get(method)
        if delays:
            await asyncio.sleep(delays.pop(0))
        if raw is not None:
            assert raw.raw_body is not None
            return web.Response(body=raw.raw_body, status=raw.http_status, content_type="text/html")
        return _answer(body)

    async def _handle_photo(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        content = self._photos.get(name)
        if content is None:
            return web.Response(status=404)
        self.photo_downloads.append(name)
        self._notify()
        return web.Response(body=content, content_type="image/jpeg")

    def _log(self, method: str, params: JSON, error: FakeZaloError | None) -> None:
        self.requests.append(
            ZaloRequest(
                method,
                params,
                error is None,
                error.error_code if error else None,
                error.description if error else None,
                self._monotonic(),
            )
        )
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        return failure

    # ------------------------------------------------------------------ rate limits

    def _windows(self, method: str, params: JSON) -> list[tuple[deque[float], int]]:
        limits = self._limits
        if limits is None or method not in _LIMITED_METHODS:
            return []
        chat = str(params.get("chat_id") or "")
        return [
            (limits.global_window, limits.global_per_second),
            (limits.chat_windows[chat], limits.per_chat_per_second),
        ]

    def _check_limits(self, method: str, params: JSON) -> None:
        now = self._monotonic()
        for window, allowed in self._windows(method, params):
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= allowed:
                # ASSUMED: no parameters.retry_after; Zalo documents none.
                raise FakeZaloError(429, "Too Many Requests")

    def _count_for_limits(self, method: str, params: JSON) -> None:
        now = self._monotonic()
        for window, _ in self._windows(method, params):
            window.append(now)

    # ------------------------------------------------------------------ updates

    def _user_message(
        self,
        user: FakeZaloUser | str,
        group: FakeZaloGroup | None,
        event_name: str,
        fields: JSON,
        message_id: str | None = None,
    ) -> JSON:
        sender = self.users.get(user) if isinstance(user, str) else user
        if sender is None:
            assert isinstance(user, str)
            sender = self.add_user(user, f"Người dùng {user[:6]}")
        if group is None:
            sender.wrote = True
        message_id = message_id or secrets.token_hex(16)
        self._seq += 1
        self._seq_of[message_id] = self._seq
        chat = (
            {"id": group.id, "chat_type": "GROUP"}
            if group is not None
            else {"id": sender.id, "chat_type": "PRIVATE"}
        )
        update = {
            "event_name": event_name,
            "message": {
                "message_id": message_id,
                "from": sender.to_json(),
                "chat": chat,
                "date": self._now_ms(),
                **fields,
            },
        }
        self._deliver(json.loads(json.dumps(update)))
        return update

    def _deliver(self, update: JSON) -> None:
        if self.webhook_url:
            task = asyncio.get_running_loop().create_task(self._push(self.webhook_url, update))
            self._pushes.add(task)
            task.add_done_callback(self._pushes.discard)
        else:
            self._updates.append(update)
        self._notify()

    async def _push(self, url: str, update: JSON) -> None:
        try:
            status, body = await self.post_to_webhook(url, update, self.webhook_secret)
        except aiohttp.ClientError as exc:
            status, body = 0, str(exc)
        self.webhook_deliveries.append(WebhookDelivery(url, update, status, body))
        self._notify()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _chat_type(self, chat_id: str) -> str:
        return "GROUP" if chat_id in self.groups else "PRIVATE"

    # ------------------------------------------------------------------ methods

    async def _get_me(self, params: JSON) -> JSON:
        return {
            "id": self.bot_id,
            "account_name": self.bot_name,
            "account_type": "BASIC",
            "can_join_groups": True,
        }

    async def _get_updates(self, params: JSON) -> JSON:
        if self.webhook_url:
            # ASSUMED: Telegram's answer, which Zalo's API copies elsewhere.
            raise FakeZaloError(
                409,
                "Conflict: can't use getUpdates while webhook is active; use deleteWebhook "
                "to delete the webhook first",
            )
        raw_timeout = params.get("timeout", 30)
        if isinstance(raw_timeout, str) and raw_timeout.strip().isdigit():
            raw_timeout = int(raw_timeout)
        if not isinstance(raw_timeout, int | float) or isinstance(raw_timeout, bool):
            raise _bad_request("Bad Request: timeout must be a number of seconds")
        wait = min(max(float(raw_timeout), 0.0), self.max_poll_wait)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        self._pollers += 1
        self._notify()
        try:
            while True:
                if self.down:
                    raise FakeZaloError(502, "Bad Gateway")
                if self._updates:
                    # One update per call; handed out, it is gone (no offset, no ack).
                    self._handed_out += 1
                    return self._updates.popleft()
                remaining = deadline - loop.time()
                if remaining <= 0 or self._closing:
                    raise FakeZaloError(408, "Request timeout")
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
        finally:
            self._pollers -= 1

    async def _set_webhook(self, params: JSON) -> JSON:
        url = params.get("url")
        secret = params.get("secret_token")
        if not isinstance(url, str) or not url:
            raise _bad_request("Bad Request: url must not be empty")
        schemes = ("https://", "http://") if self.allow_insecure_webhook else ("https://",)
        if not url.startswith(schemes) or len(url) <= len("https://"):
            raise _bad_request("Bad Request: url must be an https URL")
        if not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= MAX_SECRET:
            raise _bad_request(
                f"Bad Request: secret_token must be {MIN_SECRET} to {MAX_SECRET} characters"
            )
        self.webhook_url, self.webhook_secret = url, secret
        return {"url": url, "updated_at": self._now_ms()}

    async def _delete_webhook(self, params: JSON) -> JSON:
        self.webhook_url, self.webhook_secret = "", ""
        return {"url": "", "updated_at": self._now_ms()}

    async def _get_webhook_info(self, params: JSON) -> JSON:
        return {"url": self.webhook_url, "updated_at": self._now_ms()}

    def _target(self, params: JSON) -> str:
        chat_id = params.get("chat_id")
        if chat_id is None or (isinstance(chat_id, str) and not chat_id.strip()):
            raise _bad_request("The chat_id must not be empty")
        chat = str(chat_id)
        if chat in self.groups:
            return chat
        user = self.users.get(chat)
        if user is None:
            # ASSUMED wording for an id Zalo does not know.
            raise _bad_request("Bad Request: chat not found")
        if not user.wrote:
            # ASSUMED: the code and wording of Zalo's refusal to write first to someone.
            raise FakeZaloError(403, "Forbidden: the user has not interacted with the bot")
        return chat

    def _store(self, chat_id: str, **content: str | None) -> SentMessage:
        self._seq += 1
        message = SentMessage(chat_id, secrets.token_hex(16), self._seq, self._now_ms(), **content)
        self.sent.append(message)
        if self.echo_bot_messages and message.text is not None:
            self.echo(message)
        return message

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._target(params)
        text = params.get("text")
        if not isinstance(text, str):
            raise _bad_request("The text must be a string")
        if not text.strip():
            raise _bad_request("The text must not be empty")
        if len(text) > MAX_TEXT:
            raise _bad_request(f"The text must not be longer than {MAX_TEXT} characters")
        message = self._store(chat, text=text)
        return {"message_id": message.message_id, "date": message.date}

    async def _send_photo(self, params: JSON) -> JSON:
        chat = self._target(params)
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("https://", "http://")):
            raise _bad_request("The photo must be a public http(s) URL")
        caption = params.get("caption")
        if caption is not None and (not isinstance(caption, str) or len(caption) > MAX_TEXT):
            # ASSUMED: a caption has the text's limit.
            raise _bad_request(f"The caption must not be longer than {MAX_TEXT} characters")
        message = self._store(chat, photo=photo, caption=caption)
        return {"message_id": message.message_id, "date": message.date}

    async def _send_sticker(self, params: JSON) -> JSON:
        chat = self._target(params)
        sticker = params.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            raise _bad_request("The sticker must not be empty")
        message = self._store(chat, sticker=sticker)
        return {"message_id": message.message_id, "date": message.date}

    async def _send_chat_action(self, params: JSON) -> bool:
        self._target(params)
        if params.get("action") != "typing":
            raise _bad_request("Bad Request: action must be typing")
        return True


async def _read_params(request: web.Request) -> JSON:
    """The JSON body as parameters; an empty body is no parameters."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise _bad_request("Bad Request: the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise _bad_request("Bad Request: the body must be a JSON object")
    return body


def _answer(body: JSON) -> web.Response:
    # Every answer is HTTP 200, errors included: only `ok` tells them apart.
    return web.json_response(body, status=200, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def _default_description(code: int) -> str:
    return {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        408: "Request timeout",
        429: "Too Many Requests",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }.get(code, f"Error {code}")
