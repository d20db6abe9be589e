"""The desk's messages and buttons keep Telegram's rules in both languages."""

from __future__ import annotations

import pytest

from handlers import callbacks
from handlers.catalog import _messages, message_keys, placeholders, t
from tests.fakebotapi import parse_html


def clerk_keys(language: str) -> set[str]:
    return {key for key in message_keys(language) if key.startswith("clerk.")}


def test_both_languages_have_the_same_clerk_messages_and_placeholders() -> None:
    assert clerk_keys("vi") == clerk_keys("en")
    for key in clerk_keys("vi"):
        assert placeholders(_messages("vi")[key]) == placeholders(_messages("en")[key]), key


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_clerk_message_is_valid_telegram_html(language: str) -> None:
    for key in sorted(clerk_keys(language)):
        sample = {name: "x" for name in placeholders(_messages(language)[key])}
        text = t(key, language, **sample)
        parse_html(text)  # raises on a bare < or & and on unsupported tags
        assert len(text) < 1024, key


@pytest.mark.parametrize(
    ("data", "tap"),
    [
        ("xa:12", callbacks.ExtensionTap(12, approve=True)),
        ("xr:2147483647", callbacks.ExtensionTap(2147483647, approve=False)),
        ("nd:o4:0:28500000", callbacks.NudgeTap(False, 4, None, 28500000)),
        ("nd:t7:31:28500000", callbacks.NudgeTap(True, 7, 31, 28500000)),
    ],
)
def test_desk_buttons_round_trip(data: str, tap: callbacks.Tap) -> None:
    assert callbacks.parse(data) == tap


@pytest.mark.parametrize(
    "data",
    ["xa:", "xa:1:2", "xb:1", "xa:1\n", "nd:x4:0:1", "nd:o4:0", "nd:o4:0:1:2", "xa:" + "9" * 13],
)
def test_forged_desk_data_is_not_ours(data: str) -> None:
    assert callbacks.parse(data) is None


def test_the_longest_desk_data_fits_telegrams_64_bytes() -> None:
    big = 10**12 - 1
    assert len(callbacks.nudge_data(True, big, big, 10**10 - 1).encode()) <= 64
    assert len(callbacks.extension_data(big, True).encode()) <= 64
