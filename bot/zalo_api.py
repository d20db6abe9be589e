"""A thin client of the Zalo Bot API over httpx, with error handling we control.

Every call is `POST {base_url}/bot{token}/{method}` with a JSON body, and every answer is
HTTP 200: success is `{"ok": true, "result": …}`, failure `{"ok": false, "error_code",
"description"}`. So `call` always reads `ok` and raises `ZaloApiError` on failure; a network
failure becomes a `ZaloNetworkError`. Neither ever carries the token: it is part of every
URL, and httpx's messages may quote the URL.

Construction (the composition root owns the client's life)::

    async with ZaloApi(settings.zalo_token, settings.zalo_api_url) as api:
        me = await api.get_me()

`to_delivery_error` says what a failure means for the outbox (`scheduler.delivery`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from scheduler.delivery import DeliveryError

log = logging.getLogger(__name__)

# Zalo's 429 says nothing of how long to wait; this is how long a chat is paused then.
DEFAULT_RETRY_AFTER = 5.0
# The long poll's own timeout plus this margin is how long the HTTP read may take.
POLL_GRACE_SECONDS = 10.0
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# The dispatcher serves many chats at once; a bare client's default pool is 100 anyway, this
# only bounds it explicitly.
MAX_CONNECTIONS = 32
NOTHING_NEW = 408

# 400 answers meaning the chat cannot be written to at all, not that this message is wrong.
# Zalo's exact wording is not documented; these are the phrases its answers and ours use.
_UNREACHABLE_400 = (
    "not interacted",
    "has not interacted",
    "chat not found",
    "user not found",
    "not found user",
)
# Logged once until the next successful call: a wrong token fails every call the same way.
_token_rejection_logged = False


class ZaloApiError(Exception):
    """A Zalo Bot API failure: `code` is Zalo's `error_code` (0 when the network failed)."""

    def __init__(
        self, code: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"Zalo error {code}: {description}")
        self.code = code
        self.description = description
        self.parameters: Mapping[str, Any] = parameters or {}


class ZaloNetworkError(ZaloApiError):
    """No answer came; `may_have_arrived` when the request left before the failure (a read
    or write timeout), so the message may have been delivered."""

    def __init__(self, description: str, *, may_have_arrived: bool) -> None:
        super().__init__(0, description)
        self.may_have_arrived = may_have_arrived


class ZaloApi:
    """The Zalo Bot API's methods for one bot token."""

    def __init__(self, token: str, base_url: str, client: httpx.AsyncClient | None = None) -> None:
        if not token:
            raise ValueError("the Zalo bot token is empty")
        self.token = token
        self.base_url = base_url.rstrip("/")
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=DEFAULT_TIMEOUT,
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS),
        )

    @property
    def bot_id(self) -> str:
        """The bot's id as the token's first part says it (`<bot_id>:<secret>`)."""
        return self.token.split(":", 1)[0]

    async def aclose(self) -> None:
        """Close the HTTP client when this object created it."""
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> ZaloApi:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def call(self, method: str, **params: Any) -> Any:
        """Call `method` with `params` as its JSON body; its `result`, or `ZaloApiError`."""
        return await self._post(method, params, None)

    async def _post(self, method: str, params: Mapping[str, Any], read: float | None) -> Any:
        global _token_rejection_logged
        url = f"{self.base_url}/bot{self.token}/{method}"
        try:
            if read is None:
                response = await self._client.post(url, json=dict(params))
            else:
                # The long poll: the client's read timeout would cut it short.
                timeout = self._client.timeout
                response = await self._client.post(
                    url,
                    json=dict(params),
                    timeout=httpx.Timeout(read, connect=timeout.connect, pool=timeout.pool),
                )
        except httpx.HTTPError as exc:
            # `from None`: the httpx error's request holds the URL, hence the token.
            raise network_error(exc, self.token) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
            # A proxy's error page or a truncated answer: not Zalo speaking, so an outage.
            status = response.status_code
            raise ZaloApiError(
                status if status >= 400 else 0, f"HTTP {status}: not a Bot API answer"
            )
        if body["ok"]:
            _token_rejection_logged = False
            return body.get("result")
        code = body.get("error_code")
        description = _redact(str(body.get("description") or ""), self.token)
        parameters = body.get("parameters")
        raise ZaloApiError(
            code if isinstance(code, int) else 0,
            description,
            parameters if isinstance(parameters, dict) else None,
        )

    async def get_me(self) -> dict[str, Any]:
        """The bot's account: `{id, account_name, account_type, can_join_groups}`."""
        result: dict[str, Any] = await self.call("getMe")
        return result

    # `timeout` is getUpdates' long-poll parameter, not a deadline of this call.
    async def get_updates(self, timeout: int = 30) -> dict[str, Any] | None:  # noqa: ASYNC109
        """The next update, waiting up to `timeout` seconds; None when nothing came (408).

        There is no offset and no acknowledgement: an update returned here is gone."""
        try:
            result = await self._post(
                "getUpdates", {"timeout": timeout}, timeout + POLL_GRACE_SECONDS
            )
        except ZaloApiError as exc:
            if exc.code == NOTHING_NEW:
                return None
            raise
        return result if isinstance(result, dict) else None

    async def set_webhook(self, url: str, secret_token: str) -> Any:
        """Have Zalo POST updates to `url` with header `X-Bot-Api-Secret-Token`; polling stops
        working until `delete_webhook`."""
        return await self.call("setWebhook", url=url, secret_token=secret_token)

    async def delete_webhook(self) -> Any:
        """Remove the webhook, so that getUpdates works again."""
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict[str, Any]:
        """The webhook as Zalo has it (its `url`, empty when none)."""
        result: dict[str, Any] = await self.call("getWebhookInfo")
        return result

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        """Send plain text (1–2000 characters); returns `{message_id, date}`."""
        result: dict[str, Any] = await self.call("sendMessage", chat_id=chat_id, text=text)
        return result

    async def send_photo(
        self, chat_id: str, photo: str, caption: str | None = None
    ) -> dict[str, Any]:
        """Send the photo at the public http(s) URL `photo` (Zalo uploads no bytes)."""
        params: dict[str, Any] = {"chat_id": chat_id, "photo": photo}
        if caption:
            params["caption"] = caption
        result: dict[str, Any] = await self.call("sendPhoto", **params)
        return result

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> Any:
        """Show "typing…" in the chat."""
        return await self.call("sendChatAction", chat_id=chat_id, action=action)


def network_error(exc: httpx.HTTPError, secret: str = "") -> ZaloNetworkError:
    """The `ZaloNetworkError` an httpx failure stands for, `secret` masked in its text."""
    text = _redact(f"{type(exc).__name__}: {exc}", secret)
    # A read or write timeout may come after Zalo got the request; a connect or pool
    # timeout, or a refused connection, before anything left.
    may_have_arrived = isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout)
    return ZaloNetworkError(text, may_have_arrived=may_have_arrived)


def to_delivery_error(exc: ZaloApiError | httpx.HTTPError, secret: str = "") -> DeliveryError:
    """What a failed call means for the outbox; `secret` (the token) is masked in the message."""
    global _token_rejection_logged
    if isinstance(exc, httpx.HTTPError):
        exc = network_error(exc, secret)
    text = _redact(str(exc), secret)
    if isinstance(exc, ZaloNetworkError):
        return DeliveryError(text, ambiguous=exc.may_have_arrived)
    code = exc.code
    if code == 429:
        return DeliveryError(text, retry_after=_retry_after(exc.parameters))
    if code == 401:
        # A configuration error of the whole bot: failing every row would lose them all, so it
        # is retried like an outage until someone fixes the token.
        if not _token_rejection_logged:
            _token_rejection_logged = True
            log.error("Zalo rejected the bot token (ZALO_TOKEN); messages wait until it is fixed")
        return DeliveryError(text)
    if code == 403:
        return DeliveryError(text, unreachable=True)
    if code == 400:
        lowered = exc.description.lower()
        unreachable = any(marker in lowered for marker in _UNREACHABLE_400)
        return DeliveryError(text, permanent=True, unreachable=unreachable)
    if code == 404:
        return DeliveryError(text, permanent=True)
    # 5xx, an answer that was not the API's, an unknown code: retried like an outage.
    return DeliveryError(text)


def _retry_after(parameters: Mapping[str, Any]) -> float:
    value = parameters.get("retry_after")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return DEFAULT_RETRY_AFTER


def _redact(text: str, secret: str) -> str:
    if not secret:
        return text
    text = text.replace(secret, "***")
    # The secret half alone must not leak either (a URL may be cut or re-encoded around it).
    _, _, tail = secret.partition(":")
    return text.replace(tail, "***") if len(tail) >= 8 else text
