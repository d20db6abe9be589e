"""Finding officials by the names people type: accents, đ, NFC/NFD and stray spaces."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Official, Unit
from db.names import find_officials, fold_name, rank_by_name

NAMES = {
    "vp-tk": "Nguyễn Văn Nhứt",
    "dia-chinh": "Đặng Thị Hoa",
    "tu-phap": "Phạm Văn Lương",
    "van-hoa": "Phạm Văn Mạnh",
}


def _official(key: str, name: str, unit: Unit | None = None) -> Official:
    return Official(unit=unit, key=key, full_name=name, name_folded=fold_name(name))


OFFICIALS = [_official(key, name) for key, name in NAMES.items()]


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def _found(query: str) -> list[str]:
    return sorted(o.full_name for o in rank_by_name(query, OFFICIALS).candidates)


# --- fold_name


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Nguyễn Văn Nhứt", "nguyen van nhut"),
        (_nfd("Nguyễn Văn Nhứt"), "nguyen van nhut"),
        ("Đặng Thị Hoa", "dang thi hoa"),
        ("đặng thị hoa", "dang thi hoa"),
        ("  Phạm   Văn\tLương \n", "pham van luong"),
        ("PHẠM VĂN MẠNH", "pham van manh"),
        ("", ""),
    ],
)
def test_fold_name(typed: str, folded: str) -> None:
    assert fold_name(typed) == folded


def test_nfc_and_nfd_are_different_strings_that_fold_alike() -> None:
    nfc = unicodedata.normalize("NFC", "Nhứt")
    nfd = _nfd("Nhứt")
    assert nfc != nfd  # otherwise the test below proves nothing

    assert fold_name(nfc) == fold_name(nfd) == "nhut"


# --- rank_by_name


@pytest.mark.parametrize(
    "query", ["nhut", "Nhứt", _nfd("Nhứt"), "NHỨT", "  nhứt  ", "nguyen  van nhut", "van nhut"]
)
def test_every_way_of_typing_nhut_finds_him(query: str) -> None:
    match = rank_by_name(query, OFFICIALS)

    assert match.official is not None
    assert match.official.full_name == "Nguyễn Văn Nhứt"
    assert not match.ambiguous


@pytest.mark.parametrize("query", ["dang", "Đặng", "đặng", _nfd("Đặng"), "DANG THI HOA"])
def test_d_with_stroke_is_typed_as_d(query: str) -> None:
    assert _found(query) == ["Đặng Thị Hoa"]


def test_an_ambiguous_name_lists_every_candidate() -> None:
    match = rank_by_name("Phạm Văn", OFFICIALS)

    assert match.ambiguous
    assert match.official is None
    assert _found("Phạm Văn") == ["Phạm Văn Lương", "Phạm Văn Mạnh"]


def test_a_full_name_beats_a_shared_word() -> None:
    # "Văn" is in three names; the full name must still pick exactly one person.
    assert _found("pham van luong") == ["Phạm Văn Lương"]


def test_the_plan_key_finds_the_official() -> None:
    assert _found("tu-phap") == ["Phạm Văn Lương"]


@pytest.mark.parametrize("query", ["Trần", "nhat", "   ", "", "Lương Nhứt"])
def test_no_match_is_empty(query: str) -> None:
    match = rank_by_name(query, OFFICIALS)

    assert list(match.candidates) == []
    assert match.official is None and not match.ambiguous


# --- find_officials (database)


async def test_find_officials_searches_active_officials_of_the_unit(session: AsyncSession) -> None:
    ba_bich = Unit(code="ba-bich", name="UBND xã Ba Bích", timezone="Asia/Ho_Chi_Minh")
    other = Unit(code="ba-dien", name="UBND xã Ba Điền", timezone="Asia/Ho_Chi_Minh")
    people = [_official(key, name, ba_bich) for key, name in NAMES.items()]
    retired = _official("cu", "Phạm Văn Cũ", ba_bich)
    retired.active = False
    namesake = _official("vp-tk", "Nguyễn Văn Nhứt", other)
    session.add_all([*people, retired, namesake])
    await session.commit()

    for query in ["nhut", "Nhứt", _nfd("Nhứt")]:
        match = await find_officials(session, ba_bich.id, query)
        assert [o.id for o in match.candidates] == [people[0].id], query

    phams = await find_officials(session, ba_bich.id, "Phạm Văn")
    assert [o.full_name for o in phams.candidates] == ["Phạm Văn Lương", "Phạm Văn Mạnh"]

    assert (await find_officials(session, ba_bich.id, "dang")).official is people[1]
    assert list((await find_officials(session, ba_bich.id, "Trần")).candidates) == []


# --- property

_TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]  # ngang huyền sắc ngã hỏi nặng
_VOWELS = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"]
_CONSONANTS = list("bcdđghklmnpqrstvx")
_LOWER = sorted(
    {unicodedata.normalize("NFC", v + tone) for v in _VOWELS for tone in _TONES} | set(_CONSONANTS)
)
VIETNAMESE_LETTERS = _LOWER + [letter.upper() for letter in _LOWER]

names = st.text(alphabet=st.sampled_from([*VIETNAMESE_LETTERS, " "]), max_size=40)


def test_the_alphabet_is_vietnamese() -> None:
    # 12 vowels x 6 tones + 17 consonants, each in two cases.
    assert len(VIETNAMESE_LETTERS) == 2 * (12 * 6 + 17)
    assert "Ữ" in VIETNAMESE_LETTERS and "ặ" in VIETNAMESE_LETTERS and "Đ" in VIETNAMESE_LETTERS


@given(names)
def test_folding_ignores_the_unicode_form_and_is_idempotent(name: str) -> None:
    nfc = unicodedata.normalize("NFC", name)
    nfd = unicodedata.normalize("NFD", name)

    assert fold_name(nfc) == fold_name(nfd) == fold_name(fold_name(name))
    # What remains is what anyone can type on a bare keyboard.
    assert all(ch == " " or "a" <= ch <= "z" for ch in fold_name(name))
