"""How much free text a person may give, in one place: what is stored, and what is echoed.

Stored text (a reason, a comment, a text figure) over its limit is refused with a polite
reply and nothing changes — it is never cut silently, since what a person wrote is kept as
written. Input echoed back in a reply (a code, a name or a date not understood) is only a
reminder of what was typed, so it is cut short, at a word, with "…" — as is a title too long
for a button (`shorten`, the one place text is shortened).
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.catalog import t


@dataclass(frozen=True)
class TextLimit:
    """The most characters one kind of stored text may have, and the key of its refusal (a
    catalog message with the fields `limit` and `length`)."""

    most: int
    refusal_key: str


# A reason: of a "vướng mắc" answer, of a request for more time or for leave.
REASON = TextLimit(500, "free_text.reason_too_long")
# A clerk's comment on a returned submission: what to fix may take a few sentences.
COMMENT = TextLimit(1000, "clerk.return.too_long")
# A figure answered in words (difficulties, proposals); long texts belong in the report file.
FIGURE_TEXT = TextLimit(2000, "figures.too_long")

# An echo of typed input: enough to recognise it, never a wall of text.
ECHO_MOST = 60


def too_long(text: str, limit: TextLimit, lang: str) -> str | None:
    """The refusal in `lang` when `text` is longer than `limit` allows, else None."""
    if len(text) <= limit.most:
        return None
    return t(limit.refusal_key, lang, limit=limit.most, length=len(text))


def echo(text: str, most: int = ECHO_MOST) -> str:
    """Typed input echoed back: `shorten` to `most` characters (not escaped: the caller
    escapes it like any other text)."""
    return shorten(text, most)


def shorten(text: str, most: int) -> str:
    """`text` on one line and at most `most` characters, cut at a word with "…": an echo, or a
    title on a button ("…đội ngũ công chức", never "…đội ngũ công chứ")."""
    flat = " ".join(text.split())
    if len(flat) <= most:
        return flat
    cut = flat[: most - 1]
    if flat[most - 1] != " ":  # the cut falls inside a word: go back to the word before it
        space = cut.rfind(" ")
        if space >= most // 2:  # a word boundary not too far back; else cut inside the word
            cut = cut[:space]
    return cut.rstrip() + "…"
