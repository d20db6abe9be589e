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
    with (LOCALES_DIR / f"{language}.yaml").open(encoding="utf-8") as fh:
        loaded = yaml.safe_load(fh) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{language}.yaml must be a mapping of keys to messages")
    return {str(k): str(v) for k, v in loaded.items()}


def message_keys(language: str) -> set[str]:
    """All keys a language defines (used by the catalog's own tests)."""
    return set(_messages(language))


def placeholders(template: str) -> set[str]:
    """The `{name}` fields a message expects."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def t(key: str, language: str | None = None, /, **params: Any) -> str:
    """The message `key` in `language` (Vietnamese when unknown), filled with `params`."""
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    messages = _messages(lang)
    template = messages.get(key)
    if template is None:
        template = _messages(DEFAULT_LANGUAGE)[key]
    return template.format(**params)
