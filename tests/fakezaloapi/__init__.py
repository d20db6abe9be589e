"""A strict fake Zalo Bot API server for tests (see ``server.FakeZaloApi``)."""

from tests.fakezaloapi.server import (
    DEFAULT_TOKEN,
    JPEG,
    SECRET_HEADER,
    FakeZaloApi,
    FakeZaloError,
    FakeZaloGroup,
    FakeZaloUser,
    SentMessage,
    WebhookDelivery,
    ZaloRequest,
)

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
