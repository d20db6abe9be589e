"""What the fake Bot API remembers: users, chats, messages, files, callback queries, requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AnsweredCallback",
    "ApiError",
    "ApiRequest",
    "FakeChat",
    "FakeUser",
    "StoredFile",
    "StoredMessage",
]

JSON = dict[str, Any]


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code", "description", "parameters"}``."""

    def __init__(self, error_code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> JSON:
        """The response body Telegram sends for this error."""
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body

    @classmethod
    def bad_request(cls, what: str) -> ApiError:
        """400 with Telegram's "Bad Request: " prefix."""
        return cls(400, f"Bad Request: {what}")

    @classmethod
    def forbidden(cls, what: str) -> ApiError:
        """403 with Telegram's "Forbidden: " prefix."""
        return cls(403, f"Forbidden: {what}")


@dataclass
class FakeUser:
    """A Telegram user (or the bot itself when ``is_bot``)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "vi"
    is_bot: bool = False

    def to_json(self) -> JSON:
        """The Bot API ``User`` object."""
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass
class FakeChat:
    """A chat the fake knows, with the states that make sending to it fail.

    A private chat has ``id == user.id``. ``started`` is whether the user ever pressed Start:
    Telegram refuses a bot's first message otherwise.
    """

    id: int
    type: str  # "private" | "group" | "supergroup"
    title: str | None = None
    user: FakeUser | None = None
    username: str | None = None
    started: bool = True
    blocked: bool = False
    deactivated: bool = False
    kicked: bool = False
    migrated_to: int | None = None
    members: dict[int, FakeUser] = field(default_factory=dict)

    def to_json(self) -> JSON:
        """The Bot API ``Chat`` object as it appears inside a message."""
        data: JSON = {"id": self.id, "type": self.type}
        if self.type == "private" and self.user is not None:
            data["first_name"] = self.user.first_name
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
        else:
            data["title"] = self.title or ""
            if self.username:
                data["username"] = self.username
        return data


@dataclass
class StoredFile:
    """A file the fake holds, sent by a user or uploaded by the bot."""

    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str
    kind: str  # "document" | "photo"
    file_name: str | None = None
    mime_type: str | None = None
    # Lets a test fake a 25 MB file without allocating it.
    declared_size: int | None = None
    width: int | None = None
    height: int | None = None
    uploaded_by_bot: bool = False

    @property
    def file_size(self) -> int:
        """The size Telegram reports."""
        return self.declared_size if self.declared_size is not None else len(self.content)

    def document_json(self) -> JSON:
        """The Bot API ``Document`` object."""
        data: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }
        if self.file_name is not None:
            data["file_name"] = self.file_name
        if self.mime_type is not None:
            data["mime_type"] = self.mime_type
        return data

    def photo_size_json(self) -> JSON:
        """The Bot API ``PhotoSize`` object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "width": self.width or 0,
            "height": self.height or 0,
        }

    def file_json(self) -> JSON:
        """The Bot API ``File`` object returned by getFile."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


@dataclass
class StoredMessage:
    """One message in a chat, from the bot or from a user, with edits applied in place.

    ``text``/``caption`` are what the bot sent (HTML markup and all); ``plain_text`` and
    ``plain_caption`` are what the person reads after Telegram parsed the entities and trimmed
    the ends. ``history`` keeps every earlier version as ``{"text", "plain_text", "caption",
    "reply_markup", "edit_date"}``.
    """

    chat: JSON
    message_id: int
    sender: JSON
    date: int
    from_bot: bool
    text: str | None = None
    plain_text: str | None = None
    parse_mode: str | None = None
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    plain_caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    document: JSON | None = None
    photo: list[JSON] | None = None
    media_group_id: str | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    deleted: bool = False
    history: list[JSON] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        """The id of the chat the message is in."""
        chat_id: int = self.chat["id"]
        return chat_id

    @property
    def buttons(self) -> list[list[JSON]]:
        """The inline keyboard rows (empty when there is none)."""
        if not self.reply_markup:
            return []
        rows: list[list[JSON]] = self.reply_markup.get("inline_keyboard", [])
        return rows

    def callback_data(self) -> list[str]:
        """Every ``callback_data`` of the inline keyboard, row by row."""
        return [b["callback_data"] for row in self.buttons for b in row if "callback_data" in b]

    def button(self, text: str) -> JSON:
        """The inline button with this label (exact match); KeyError when absent."""
        for row in self.buttons:
            for candidate in row:
                if candidate.get("text") == text:
                    return candidate
        labels = [b.get("text") for row in self.buttons for b in row]
        raise KeyError(f"no button {text!r} in message {self.message_id}; buttons: {labels}")

    def to_json(self, *, with_reply: StoredMessage | None = None) -> JSON:
        """The Bot API ``Message`` object."""
        data: JSON = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": self.date,
        }
        if self.plain_text is not None:
            data["text"] = self.plain_text
            if self.entities:
                data["entities"] = self.entities
        if self.document is not None:
            data["document"] = self.document
        if self.photo is not None:
            data["photo"] = self.photo
        if self.plain_caption:
            data["caption"] = self.plain_caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.media_group_id is not None:
            data["media_group_id"] = self.media_group_id
        # Telegram echoes only inline keyboards in Message.reply_markup.
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if with_reply is not None:
            data["reply_to_message"] = with_reply.to_json()
        return data


@dataclass
class AnsweredCallback:
    """An answerCallbackQuery the bot made, with the query it answered."""

    callback_query_id: str
    data: str | None
    chat_id: int | None
    message_id: int | None
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int | None = None


@dataclass
class ApiRequest:
    """One call the bot made. ``params`` are decoded (JSON fields parsed, files summarised);
    the token is never recorded. ``status`` is the HTTP status the fake answered with."""

    method: str
    params: JSON
    status: int = 200
    description: str | None = None
    at: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the fake answered ``{"ok": true}``."""
        return self.status == 200
