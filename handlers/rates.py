"""A rate of n out of m in words, as the commune's documents write it: one function for all.

A good rate "đạt" (reached): "Nộp đúng hạn: 2/10, đạt 20,0%"; a bad one "chiếm" (makes up):
"7/10 chưa nộp, chiếm 70,0%" — the seed writes "162 hồ sơ/376 hồ sơ, đạt 43,1%" and "51 hồ
sơ/376 hồ sơ, chiếm 13,56%". The decimals are the unit's (`Unit.percent_decimals`) or an
indicator's. Rates are made from summed counts, never averaged; 0 of 0 is "—", not "0,0%".
"""

from __future__ import annotations

from decimal import Decimal

from handlers.catalog import t
from handlers.indicators import format_number, percent_text


def share(part: int | Decimal, whole: int | Decimal, lang: str = "vi") -> str:
    """ "3/12" (numbers written as the documents write them: "1.234/2.000")."""
    return f"{format_number(Decimal(part), lang)}/{format_number(Decimal(whole), lang)}"


def rate(
    part: int | Decimal, whole: int | Decimal, lang: str, *, good: bool, decimals: int = 1
) -> str:
    """`part` of `whole` in words: "đạt 20,0%" when more is better, "chiếm 70,0%" when more is
    worse; "—" when there is nothing to count."""
    if whole <= 0:
        return t("rate.none", lang)
    # Decimal rounds 12,25 up the way people do; binary floats would give 12,2.
    percent = percent_text(Decimal(part), Decimal(whole), lang, decimals)
    return t("rate.good" if good else "rate.bad", lang, percent=percent)
