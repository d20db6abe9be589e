"""The message catalog: every user-facing string, Vietnamese first, English beside it."""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "vi"
LANGUAGES = ("vi", "en")


@cache
def _messages(language: str) -> dict[str, str]:
    # One file per area of the product (vi.yaml, vi.officials.yaml, ...), merged; a key defined
    # twice is a mistake that would silently shadow a message.
    merged: dict[str, str] = {}
    for path in sorted(LOCALES_DIR.glob(f"{language}.*yaml")):
        with path.open(encoding="utf-8") as fh:
            loaded = yaml.safe_load(fh) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path.name} must be a mapping of keys to messages")
        for key, value in loaded.items():
            if str(key) in merged:
                raise ValueError(f"{path.name}: message {key!r} is defined twice")
            merged[str(key)] = str(value)
    return merged


def message_keys(language: str) -> set[str]:
    """All keys a language defines (used by the catalog's own tests)."""
    return set(_messages(language))


def placeholders(template: str) -> set[str]:
    """The `{name}` fields a message expects (`{days:day|days}` expects `days`)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class _Formatter(string.Formatter):
    """`str.format`, plus English plurals: `{days:day|days}` is "1 day" or "3 days"."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if "|" in format_spec:
            one, _, many = format_spec.partition("|")
            # Counts arrive as numbers or already written ("1", "1.234"): one is "1".
            return f"{value} {one if str(value).strip() == '1' else many}"
        return str(super().format_field(value, format_spec))


_FORMATTER = _Formatter()


def t(key: str, language: str | None = None, /, **params: Any) -> str:
    """The message `key` in `language` (Vietnamese when unknown), filled with `params`."""
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    messages = _messages(lang)
    template = messages.get(key)
    if template is None:
        template = _messages(DEFAULT_LANGUAGE)[key]
    return _FORMATTER.vformat(template, (), params)
