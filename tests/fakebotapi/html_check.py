"""Telegram's HTML parse mode, as the Bot API server applies it to ``text`` and ``caption``.

This is a line-by-line port of ``parse_html`` in tdlib (td/telegram/MessageEntity.cpp), which
is what the Bot API server runs: same tag list, same attribute rules, same error texts and the
same *byte* offsets in them, so a test sees the description real Telegram would send.

One deliberate difference: tdlib keeps an ``&`` that does not start an entity as a literal
character, but the Bot API documentation requires every ``&`` to be escaped and a stray one is
the usual sign of a user-typed string that was not passed through ``html.escape``. With
``strict_ampersand=True`` (the default) such a text fails with a "can't parse entities" error
that says it comes from the fake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EntityParseError",
    "ParsedText",
    "detect_bot_commands",
    "parse_html",
    "strip_text",
    "utf16_len",
]

# Tags tdlib accepts; anything else is "Unsupported start tag".
_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)

_SIMPLE_TAG_TYPES = {
    "i": "italic",
    "em": "italic",
    "b": "bold",
    "strong": "bold",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}

# tdlib's is_space(): NUL counts as space, which is what stops its scans at the end of text.
_SPACE_BYTES = frozenset(b" \t\r\n\0\v")

# What Telegram trims from both ends of a message text before storing it.
_TRIMMED = " \t\n\r\x0b\x0c"


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(exc)`` is tdlib's description."""


@dataclass(frozen=True)
class ParsedText:
    """A message text after entity parsing: what the recipient sees, plus its entities."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


class _Bytes:
    """UTF-8 bytes with tdlib's NUL-terminated-string reads (index past the end gives 0)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def __getitem__(self, index: int) -> int:
        return self.data[index] if index < self.size else 0


def _is_alpha(c: int) -> bool:
    return 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def _is_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def _is_hex_digit(c: int) -> bool:
    return _is_digit(c) or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66


def _decode_html_entity(text: _Bytes, pos: int) -> tuple[int, int]:
    """Decode ``&...`` at ``pos``; return (code point, position after it) or (0, pos)."""
    end_pos = pos + 1
    res = 0
    if text[pos + 1] == ord("#"):
        end_pos += 1
        if text[pos + 2] == ord("x"):
            end_pos += 1
            while _is_hex_digit(text[end_pos]):
                res = res * 16 + int(chr(text[end_pos]), 16)
                end_pos += 1
        else:
            while _is_digit(text[end_pos]):
                res = res * 10 + text[end_pos] - 0x30
                end_pos += 1
        if res == 0 or res >= 0x10FFFF or end_pos - pos >= 10:
            return 0, pos
    else:
        while _is_alpha(text[end_pos]):
            end_pos += 1
        name = text.data[pos + 1 : end_pos]
        named = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
        if name not in named:
            return 0, pos
        res = ord(named[name])
    if text[end_pos] == ord(";"):
        return res, end_pos + 1
    return res, end_pos


@dataclass
class _OpenTag:
    name: str
    argument: str
    entity_offset: int  # UTF-16 offset in the result
    begin_pos: int  # byte offset in the result, for <a> without href


def _entity_for(tag: _OpenTag, offset: int, length: int, inner: str) -> dict[str, Any] | None:
    """The Bot API entity an element produces (tdlib's branch after an end tag)."""
    if tag.name in _SIMPLE_TAG_TYPES:
        return {"type": _SIMPLE_TAG_TYPES[tag.name], "offset": offset, "length": length}
    if tag.name == "tg-emoji":
        if not tag.argument.isdigit() or int(tag.argument) == 0 or int(tag.argument) >= 2**63:
            raise EntityParseError("Invalid custom emoji identifier specified")
        return {
            "type": "custom_emoji",
            "offset": offset,
            "length": length,
            "custom_emoji_id": tag.argument,
        }
    if tag.name == "a":
        url = tag.argument or inner
        # tdlib drops links it cannot check instead of failing the message.
        if not re.match(r"^(https?://|tg://|ton://)?[^\s/]+\.[^\s]*|^tg://", url):
            return None
        return {"type": "text_link", "offset": offset, "length": length, "url": url}
    if tag.name == "pre":
        return {"type": "pre", "offset": offset, "length": length}
    if tag.name == "code":
        entity: dict[str, Any] = {"type": "code", "offset": offset, "length": length}
        if tag.argument:
            entity["language"] = tag.argument
        return entity
    if tag.name == "blockquote":
        kind = "expandable_blockquote" if tag.argument == "1" else "blockquote"
        return {"type": kind, "offset": offset, "length": length}
    raise AssertionError(f"unreachable tag {tag.name}")  # pragma: no cover


def parse_html(source: str, *, strict_ampersand: bool = True) -> ParsedText:
    """Parse Telegram HTML like tdlib; raise :class:`EntityParseError` with its description.

    The result is not trimmed yet; see :func:`strip_text`.
    """
    text = _Bytes(source.encode("utf-8"))
    out = bytearray()
    entities: list[dict[str, Any]] = []
    nested: list[_OpenTag] = []
    utf16_offset = 0
    need_recheck_utf8 = False

    i = 0
    while i < text.size:
        c = text[i]
        if c == ord("&"):
            code, after = _decode_html_entity(text, i)
            if code != 0:
                utf16_offset += 2 if code > 0xFFFF else 1
                if 0xD800 <= code <= 0xDFFF:
                    need_recheck_utf8 = True
                out += chr(code).encode("utf-8", "surrogatepass")
                i = after
                continue
            if strict_ampersand:
                raise EntityParseError(
                    f"Character '&' at byte offset {i} does not start an HTML entity: "
                    "escape it as &amp; (strict check of the fake Bot API; "
                    "Telegram would keep it as a literal '&')"
                )
        if c != ord("<"):
            if (c & 0xC0) != 0x80:  # first byte of a UTF-8 sequence
                utf16_offset += 2 if c >= 0xF0 else 1
            out.append(c)
            i += 1
            continue

        begin_pos = i
        i += 1
        if text[i] != ord("/"):
            # Start tag.
            while text[i] not in _SPACE_BYTES and text[i] != ord(">"):
                i += 1
            if text[i] == 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin_pos}")
            tag_name = text.data[begin_pos + 1 : i].decode("utf-8", "replace").lower()
            if tag_name not in _SUPPORTED_TAGS:
                raise EntityParseError(
                    f'Unsupported start tag "{tag_name}" at byte offset {begin_pos}'
                )
            argument = ""
            while text[i] != ord(">"):
                while text[i] != 0 and text[i] in _SPACE_BYTES:
                    i += 1
                if text[i] == ord(">"):
                    break
                attribute_begin = i
                while text[i] not in _SPACE_BYTES and text[i] != ord("=") and text[i] != ord(">"):
                    i += 1
                attribute_name = text.data[attribute_begin:i].decode("utf-8", "replace")
                if not attribute_name:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag_name}" at byte offset {begin_pos}'
                    )
                while text[i] != 0 and text[i] in _SPACE_BYTES:
                    i += 1
                if text[i] != ord("="):
                    # Newer tdlib accepts the valueless <blockquote expandable>.
                    if tag_name == "blockquote" and attribute_name == "expandable":
                        argument = "1"
                        continue
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag_name}" at byte offset {begin_pos}'
                    )
                i += 1
                while text[i] != 0 and text[i] in _SPACE_BYTES:
                    i += 1
                if text[i] == 0:
                    raise EntityParseError(
                        f'Unclosed start tag "{tag_name}" at byte offset {begin_pos}'
                    )
                if text[i] not in (ord("'"), ord('"')):
                    token_begin = i
                    while (
                        _is_alpha(text[i]) or _is_digit(text[i]) or text[i] in (ord("."), ord("-"))
                    ):
                        i += 1
                    attribute_value = text.data[token_begin:i].decode("utf-8", "replace").lower()
                    if text[i] not in _SPACE_BYTES and text[i] != ord(">"):
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:
                    end_character = text[i]
                    i += 1
                    value = bytearray()
                    while text[i] != end_character and text[i] != 0:
                        if text[i] == ord("&"):
                            code, after = _decode_html_entity(text, i)
                            if code != 0:
                                value += chr(code).encode("utf-8", "surrogatepass")
                                i = after
                                continue
                        value.append(text[i])
                        i += 1
                    if text[i] == end_character:
                        i += 1
                    attribute_value = value.decode("utf-8", "replace")
                if text[i] == 0:
                    raise EntityParseError(f"Unclosed start tag at byte offset {begin_pos}")
                if tag_name == "a" and attribute_name == "href":
                    argument = attribute_value
                elif (
                    tag_name == "code"
                    and attribute_name == "class"
                    and attribute_value.startswith("language-")
                ):
                    argument = attribute_value[len("language-") :]
                elif (
                    tag_name == "span"
                    and attribute_name == "class"
                    and attribute_value.startswith("tg-")
                ):
                    argument = attribute_value[len("tg-") :]
                elif tag_name == "tg-emoji" and attribute_name == "emoji-id":
                    argument = attribute_value
            if tag_name == "span" and argument != "spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin_pos}'
                )
            nested.append(_OpenTag(tag_name, argument, utf16_offset, len(out)))
            i += 1  # past '>'
            continue

        # End tag.
        if not nested:
            raise EntityParseError(f"Unexpected end tag at byte offset {begin_pos}")
        while text[i] not in _SPACE_BYTES and text[i] != ord(">"):
            i += 1
        end_tag_name = text.data[begin_pos + 2 : i].decode("utf-8", "replace").lower()
        while text[i] in _SPACE_BYTES and text[i] != 0:
            i += 1
        if text[i] != ord(">"):
            raise EntityParseError(f"Unclosed end tag at byte offset {begin_pos}")
        open_tag = nested[-1]
        if end_tag_name and end_tag_name != open_tag.name:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {begin_pos}, expected "</{open_tag.name}>", '
                f'found "</{end_tag_name}>"'
            )
        if utf16_offset > open_tag.entity_offset:
            inner = out[open_tag.begin_pos :].decode("utf-8", "replace")
            entity = _entity_for(
                open_tag, open_tag.entity_offset, utf16_offset - open_tag.entity_offset, inner
            )
            if entity is not None:
                _merge_pre_code(entities, entity)
        nested.pop()
        i += 1  # past '>'

    if nested:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{nested[-1].name}"'
        )
    if need_recheck_utf8:
        raise EntityParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    for entity in entities:
        # A language only survives on <pre><code class="language-x">, as in tdlib.
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=_entity_order)
    return ParsedText(out.decode("utf-8"), entities)


# tdlib's MessageEntity::get_type_priority, the tie-break when entities share a span.
_TYPE_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}


def _entity_order(entity: dict[str, Any]) -> tuple[int, int, int]:
    return (entity["offset"], -entity["length"], _TYPE_PRIORITY.get(entity["type"], 50))


def _merge_pre_code(entities: list[dict[str, Any]], entity: dict[str, Any]) -> None:
    """<pre><code class="language-x"> becomes one pre entity with a language."""
    if entities:
        last = entities[-1]
        same_span = last["offset"] == entity["offset"] and last["length"] == entity["length"]
        if same_span and {last["type"], entity["type"]} == {"pre", "code"}:
            language = last.get("language") or entity.get("language")
            if language:
                entities[-1] = {**last, "type": "pre", "language": language}
                return
    entities.append(entity)


def strip_text(parsed: ParsedText) -> ParsedText:
    """Trim whitespace from both ends like Telegram does, moving the entities along."""
    stripped_left = parsed.text.lstrip(_TRIMMED)
    shift = utf16_len(parsed.text) - utf16_len(stripped_left)
    result = stripped_left.rstrip(_TRIMMED)
    end = utf16_len(result)
    entities: list[dict[str, Any]] = []
    for entity in parsed.entities:
        start = max(entity["offset"] - shift, 0)
        stop = min(entity["offset"] + entity["length"] - shift, end)
        if stop > start:
            entities.append({**entity, "offset": start, "length": stop - start})
    return ParsedText(result, entities)


# tdlib's match_bot_commands: "/cmd" or "/cmd@bot_name", not glued to a word or to / < >.
_BOT_COMMAND = re.compile(r"(?<![\w/<>])/[a-zA-Z0-9_]{1,64}(?:@[a-zA-Z0-9_]{3,32})?(?![\w/<>])")


def detect_bot_commands(text: str) -> list[dict[str, Any]]:
    """The ``bot_command`` entities a Telegram client would attach to a typed text."""
    entities = []
    for match in _BOT_COMMAND.finditer(text):
        offset = utf16_len(text[: match.start()])
        entities.append(
            {"type": "bot_command", "offset": offset, "length": utf16_len(match.group())}
        )
    return entities
