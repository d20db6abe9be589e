"""Figures as the commune writes them, and a unit's figures made of its submitters' (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.figures import Figure, Indicator, canonical
from handlers.indicators import (
    NotANumber,
    format_number,
    parse_number,
    parse_yes_no,
    percent_text,
    ratio_of,
    totals,
)

ONLINE = Indicator("hs_truc_tuyen", "Hồ sơ trực tuyến", "hồ sơ", "sum")
RECEIVED = Indicator("hs_tiep_nhan", "Hồ sơ tiếp nhận", "hồ sơ", "sum")
ONLINE_SHARE = Indicator(
    "ty_le", "Tỷ lệ trực tuyến", "%", "ratio", "hs_truc_tuyen", "hs_tiep_nhan", 1
)
LATE = Indicator("hs_tre", "Hồ sơ trễ hẹn", "hồ sơ", "sum")
LATE_SHARE = Indicator("ty_le_tre", "Tỷ lệ trễ hẹn", "%", "ratio", "hs_tre", "hs_tiep_nhan", 2)
DIGITISED = Indicator("so_hoa", "Đã số hóa", "", "count")
PROBLEMS = Indicator("kho_khan", "Khó khăn", "", "text")
ALL = [ONLINE, RECEIVED, ONLINE_SHARE, LATE, LATE_SHARE, DIGITISED, PROBLEMS]


def n(value: str) -> Figure:
    return Figure(Decimal(value))


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("376", "376"),
        ("1.234", "1234"),
        ("1.234.567", "1234567"),
        ("12,5", "12.5"),
        ("1.234,5", "1234.5"),
        ("12.5", "12.5"),
        (" 1 234 ", "1234"),
        ("0", "0"),
    ],
)
def test_vietnamese_numbers_are_read(typed: str, value: str) -> None:
    assert parse_number(typed) == Decimal(value)


@pytest.mark.parametrize("typed", ["", "abc", "-5", "12%", "1,2,3", "1.23.4", "một trăm"])
def test_what_is_not_a_number_is_refused(typed: str) -> None:
    with pytest.raises(NotANumber):
        parse_number(typed)


def test_yes_and_no_in_either_language() -> None:
    assert [parse_yes_no(x) for x in ("có", "Co", "yes", "rồi", "1")] == [True] * 5
    assert [parse_yes_no(x) for x in ("không", "KHONG", "no", "chưa", "0")] == [False] * 5
    with pytest.raises(NotANumber):
        parse_yes_no("có lẽ")


def test_numbers_and_percentages_as_the_documents_write_them() -> None:
    assert format_number(Decimal("1234567"), "vi") == "1.234.567"
    assert format_number(Decimal("1234.5"), "vi") == "1.234,5"
    assert format_number(Decimal("1234.5"), "en") == "1,234.5"
    assert format_number(Decimal("12.50"), "vi") == "12,5"
    assert percent_text(Decimal(162), Decimal(376), "vi", 1) == "43,1%"
    assert percent_text(Decimal(51), Decimal(376), "vi", 2) == "13,56%"
    assert percent_text(Decimal(51), Decimal(376), "en", 2) == "13.56%"
    # Half up, as people round: 1/8 = 12,5 % → 13 % with no decimals.
    assert percent_text(Decimal(1), Decimal(8), "vi", 0) == "13%"
    assert percent_text(Decimal(5), Decimal(0), "vi", 1) == "—"
    assert canonical(Decimal("12.500")) == "12.5" and canonical(Decimal("1E+3")) == "1000"


def test_the_seed_figures_are_recomputed_from_sums_never_averaged() -> None:
    people = [
        {"hs_truc_tuyen": n("100"), "hs_tiep_nhan": n("200"), "hs_tre": n("30"),
         "so_hoa": n("1"), "kho_khan": Figure(text="Thiếu máy quét")},
        {"hs_truc_tuyen": n("40"), "hs_tiep_nhan": n("100"), "hs_tre": n("15"),
         "so_hoa": n("0")},
        {"hs_truc_tuyen": n("22"), "hs_tiep_nhan": n("76"), "hs_tre": n("6"),
         "so_hoa": n("1"), "kho_khan": Figure(text="Mạng chậm")},
    ]  # fmt: skip
    found = totals(ALL, people)
    assert found["hs_truc_tuyen"].number == 162 and found["hs_tiep_nhan"].number == 376
    assert found["ty_le"].shown("vi") == "43,1%"
    assert found["hs_tre"].number == 51
    assert found["ty_le_tre"].shown("vi") == "13,56%"
    assert found["so_hoa"].number == 2 and found["so_hoa"].given == 3
    assert found["kho_khan"].shown("vi") == "Thiếu máy quét; Mạng chậm"
    assert found["hs_tiep_nhan"].shown("vi") == "376"
    # The average of the three officials' own shares is another, wrong, figure.
    own = [ratio_of(ONLINE_SHARE, p, "vi") for p in people]
    assert own == ["50,0%", "40,0%", "28,9%"]
    averaged = sum(Decimal(x.rstrip("%").replace(",", ".")) for x in own if x) / 3
    assert f"{averaged:.1f}" == "39.6" != "43.1"


def test_nothing_given_is_zero_and_a_missing_part_has_no_ratio() -> None:
    found = totals(ALL, [])
    assert found["ty_le"].shown("vi") == "—" and found["hs_tre"].given == 0
    assert ratio_of(ONLINE_SHARE, {"hs_truc_tuyen": n("3")}, "vi") is None


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)), min_size=1, max_size=30))
def test_a_ratio_is_the_ratio_of_the_sums(pairs: list[tuple[int, int]]) -> None:
    people = [{"hs_truc_tuyen": n(str(a)), "hs_tiep_nhan": n(str(b))} for a, b in pairs]
    found = totals([ONLINE, RECEIVED, ONLINE_SHARE], people)
    top, bottom = sum(a for a, _ in pairs), sum(b for _, b in pairs)
    assert found["ty_le"].shown("vi") == percent_text(Decimal(top), Decimal(bottom), "vi", 1)
    assert (found["ty_le"].numerator, found["ty_le"].denominator) == (top, bottom)
