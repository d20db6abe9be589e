"""Cutting a long message into pieces a channel accepts, at clean boundaries.

A cut falls between paragraphs if it can, else between lines, else between words, else
anywhere that is safe. In HTML (Telegram's parse mode) "safe" means never inside an entity
(`&lt;`) or a tag, and a cut inside an open element closes it at the end of the piece and
opens it again at the start of the next, so every piece parses on its own.

Lengths are counted in characters of the source. Telegram counts its 4096 after entity
parsing (and in UTF-16 units): an escaped `&lt;` is one character there and four here, so the
source length is the cautious measure — it may cut sooner than needed, never too late.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One token of Telegram's HTML: a start or end tag, or a character entity.
_TOKEN = re.compile(
    r"<(?P<end>/)?(?P<name>[a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?>"
    r"|&(?:[a-zA-Z]+|#[0-9]+|#[xX][0-9a-fA-F]+);"
)
_TAGS = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?>")

# Cut kinds, best first: a paragraph break, a line break, a space, any safe point.
_PARAGRAPH, _LINE, _WORD, _ANY = range(4)


@dataclass(frozen=True)
class _Open:
    """An element open at some point: its name and its start tag as written."""

    name: str
    start_tag: str


@dataclass(frozen=True)
class _Layout:
    """Where a text may be cut, and which elements are open at each point."""

    safe: list[bool]  # safe[i]: a cut before text[i] (or at the end) splits no token
    open_at: list[tuple[_Open, ...]]  # the elements open at each point, outermost first


def split_text(text: str, limit: int, *, html: bool = True) -> list[str]:
    """Pieces of at most `limit` characters, cut between blocks, then lines, then words.

    With `html` (the default: Telegram's parse mode) no cut falls inside a tag or an entity,
    and elements open at a cut are closed at the end of the piece and reopened after it.
    """
    if len(text) <= limit:
        return [text]
    layout = _layout(text, html)
    pieces: list[str] = []
    start = _skip(text, 0, "\n")
    while start < len(text):
        reopen = "".join(element.start_tag for element in layout.open_at[start])
        budget = limit - len(reopen)
        end, kind = _cut(text, layout, start, budget)
        body = text[start:end].rstrip("\n") if kind != _ANY else text[start:end]
        if _visible(body, html):
            pieces.append(reopen + body + _closers(layout.open_at[end]))
        if kind == _WORD:
            start = _skip(text, end, " ")
        elif kind == _ANY:
            start = end
        else:
            start = _skip(text, end, "\n")
    return pieces or [text[:limit]]


def _cut(text: str, layout: _Layout, start: int, budget: int) -> tuple[int, int]:
    """Where the piece from `start` ends (the latest point of the best kind that fits)."""
    if _fits(layout, start, len(text), budget):
        return len(text), _PARAGRAPH
    best: dict[int, int] = {}
    for end in range(min(len(text) - 1, start + budget), start, -1):
        if not layout.safe[end] or not _fits(layout, start, end, budget):
            continue
        kind = _kind(text, end)
        best.setdefault(kind, end)
        if kind == _PARAGRAPH:
            break
    if _PARAGRAPH in best:
        return best[_PARAGRAPH], _PARAGRAPH
    # Within a paragraph, a line break (or a space) that would leave the piece less than half
    # full gives way to the next kind: a lone title line, or a word cut before a very long one,
    # would waste a message.
    for kind in (_LINE, _WORD, _ANY):
        if kind in best and best[kind] - start >= budget // 2:
            return best[kind], kind
    if best:
        kind = min(best)
        return best[kind], kind
    # Nothing fits (a limit smaller than the tags around a single character): take the
    # smallest safe step rather than loop forever.
    end = start + 1
    while end < len(text) and not layout.safe[end]:
        end += 1
    return end, _ANY


def _fits(layout: _Layout, start: int, end: int, budget: int) -> bool:
    return end - start + len(_closers(layout.open_at[end])) <= budget


def _kind(text: str, end: int) -> int:
    # `end` is the position of the separator the cut replaces: it starts the next piece.
    if text.startswith("\n\n", end):
        return _PARAGRAPH
    if text[end] == "\n":
        return _LINE
    if text[end] == " ":
        return _WORD
    return _ANY


def _visible(body: str, html: bool) -> bool:
    # A piece of nothing but tags would be an empty message, which Telegram refuses.
    return bool((_TOKEN.sub("x", _TAGS.sub("", body)) if html else body).strip())


def _skip(text: str, index: int, chars: str) -> int:
    while index < len(text) and text[index] in chars:
        index += 1
    return index


def _closers(elements: tuple[_Open, ...]) -> str:
    return "".join(f"</{element.name}>" for element in reversed(elements))


def _layout(text: str, html: bool) -> _Layout:
    safe = [True] * (len(text) + 1)
    open_at: list[tuple[_Open, ...]] = [()] * (len(text) + 1)
    if not html:
        return _Layout(safe, open_at)
    stack: tuple[_Open, ...] = ()
    position = 0
    for match in _TOKEN.finditer(text):
        for i in range(position, match.start() + 1):
            open_at[i] = stack
        for i in range(match.start() + 1, match.end()):
            safe[i] = False
        name = match.group("name")
        if name is not None:
            name = name.lower()
            if match.group("end"):
                # Close the innermost element of that name (well-formed text: the top).
                for depth in range(len(stack) - 1, -1, -1):
                    if stack[depth].name == name:
                        stack = stack[:depth]
                        break
            else:
                stack = (*stack, _Open(name, match.group()))
        position = match.end()
    for i in range(position, len(text) + 1):
        open_at[i] = stack
    return _Layout(safe, open_at)
