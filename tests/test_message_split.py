"""Issue 15: a long HTML message is cut only where every piece still parses.

Each piece is checked with the fake Bot API's port of Telegram's HTML parser; what the
pieces show, put back together, is what the whole message shows (less the spaces and line
breaks a cut replaces).
"""

from __future__ import annotations

import html
import re

import pytest

from bot.message_split import split_text
from bot.zalo_transport import zalo_pieces
from tests.fakebotapi.html_check import parse_html

LIMIT = 4096


def _checked(text: str, limit: int = LIMIT) -> list[str]:
    pieces = split_text(text, limit)
    for piece in pieces:
        assert len(piece) <= limit
        assert parse_html(piece).text.strip(), piece[:80]
    return pieces


def _shown(pieces: list[str]) -> str:
    return re.sub(r"\s+", "", "".join(parse_html(piece).text for piece in pieces))


def test_five_thousand_escaped_angle_brackets_are_never_cut_inside_an_entity() -> None:
    text = "Lý do: " + html.escape("<" * 5000)
    pieces = _checked(text)
    assert len(pieces) == 5
    assert _shown(pieces) == re.sub(r"\s+", "", "Lý do: " + "<" * 5000)


@pytest.mark.parametrize("shift", range(6))
def test_an_ampersand_entity_at_every_position_of_the_boundary(shift: int) -> None:
    # The entity `&amp;` straddles the 4096th character at each of its five offsets.
    text = "x" * (LIMIT - 5 + shift) + "&amp;" * 400
    pieces = _checked(text)
    assert "".join(parse_html(piece).text for piece in pieces) == parse_html(text).text


def test_long_bold_lines_are_closed_and_reopened_across_a_cut() -> None:
    line = "<b>" + " ".join(["Báo cáo"] * 1500) + "</b>"
    text = f"Tiêu đề\n{line}\n<i>{html.escape('a<b & c>d ' * 600)}</i>"
    pieces = _checked(text)
    assert len(pieces) >= 4
    entities = [parse_html(piece).entities for piece in pieces]
    # Every piece that carries part of the bold line shows it bold.
    assert all(any(e["type"] == "bold" for e in found) for found in entities[:3])
    assert pieces[1].startswith("<b>")
    assert _shown(pieces) == re.sub(r"\s+", "", parse_html(text).text)


def test_a_link_and_nested_elements_are_reopened_with_their_attributes() -> None:
    inner = "chi tiết " * 700
    text = f'<b>Mở <a href="https://example.vn/x?a=1&amp;b=2"><i>{inner}</i></a> xong</b>'
    pieces = _checked(text)
    assert len(pieces) == 2
    assert pieces[1].startswith('<b><a href="https://example.vn/x?a=1&amp;b=2"><i>')
    assert pieces[0].endswith("</i></a></b>")
    for piece in pieces:
        links = [e for e in parse_html(piece).entities if e["type"] == "text_link"]
        assert links and links[0]["url"] == "https://example.vn/x?a=1&b=2"


def test_a_long_word_without_spaces_is_cut_hard_at_a_safe_point() -> None:
    word = "".join(f"ab&lt;c&amp;{n}" for n in range(900))
    pieces = _checked(f"<code>{word}</code>")
    assert len(pieces) >= 3
    assert all(piece.startswith("<code>") and piece.endswith("</code>") for piece in pieces)
    assert "".join(parse_html(piece).text for piece in pieces) == html.unescape(word)


def test_a_short_text_is_left_alone_and_paragraphs_are_preferred() -> None:
    assert split_text("<b>a &lt; b</b>", LIMIT) == ["<b>a &lt; b</b>"]
    blocks = ["<b>Khối</b> " + "chữ " * 300 for _ in range(6)]
    pieces = _checked("\n\n".join(blocks))
    assert all(piece.startswith("<b>Khối</b>") for piece in pieces)


def test_zalo_plain_text_is_cut_as_plain_text() -> None:
    # Zalo's text is plain: a "<b>" someone typed is text, not a tag to close and reopen.
    text = "<b> " + "a&amp; " * 700
    pieces = zalo_pieces(text)
    assert all(len(piece) <= 2000 for piece in pieces)
    assert "</b>" not in "".join(pieces)
    assert " ".join(pieces).rstrip() == text.rstrip()
