"""The reply text's small HTML subset as plain text, for channels without formatting.

`handlers.types.Reply` text uses <b>, <i> and <code> with every user-supplied string escaped;
the console and Zalo show it as plain text: tags dropped, entities unescaped.
"""

from __future__ import annotations

import html
import re

_BOLD = re.compile(r"<b>(.*?)</b>", re.DOTALL)
_ITALIC = re.compile(r"<i>(.*?)</i>", re.DOTALL)
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")


def to_terminal_text(text: str, *, ansi: bool = False) -> str:
    """The HTML subset as readable terminal text: tags dropped, entities unescaped."""
    if ansi:
        text = _BOLD.sub("\x1b[1m\\1\x1b[0m", text)
        text = _ITALIC.sub("\x1b[3m\\1\x1b[0m", text)
    # User text is escaped in replies, so every "<" left is one of our tags.
    return html.unescape(_TAG.sub("", text))


def to_plain_text(text: str) -> str:
    """The HTML subset as plain text (tags dropped, entities unescaped)."""
    return to_terminal_text(text)
