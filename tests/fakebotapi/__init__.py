"""A fake Telegram Bot API server for end-to-end tests (see ``server.FakeBotApi``)."""

from tests.fakebotapi.html_check import EntityParseError, ParsedText, parse_html
from tests.fakebotapi.server import DEFAULT_TOKEN, FakeBotApi
from tests.fakebotapi.state import (
    AnsweredCallback,
    ApiError,
    ApiRequest,
    FakeChat,
    FakeUser,
    StoredFile,
    StoredMessage,
)

__all__ = [
    "DEFAULT_TOKEN",
    "AnsweredCallback",
    "ApiError",
    "ApiRequest",
    "EntityParseError",
    "FakeBotApi",
    "FakeChat",
    "FakeUser",
    "ParsedText",
    "StoredFile",
    "StoredMessage",
    "parse_html",
]
