"""Figures as the commune writes them, and a unit's figures made of its submitters'.

Vietnamese numbers: "1.234" is one thousand two hundred and thirty-four, "12,5" is twelve and
a half, "1.234,5" both. A unit's figure is the sum of its submitters' (or the count of those
who said yes); a ratio is recomputed from the summed numerator and denominator, never averaged,
and shown as the documents show it: "43,1%", "13,56%".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from db.figures import COUNT, RATIO, SUM, TEXT, Figure, Indicator
from db.names import fold_name

_GROUPED = re.compile(r"^\d{1,3}(?:\.\d{3})+(?:,\d+)?$")
_PLAIN = re.compile(r"^\d+(?:[.,]\d+)?$")
_YES = {"co", "yes", "y", "1", "x", "dung", "roi", "da"}
_NO = {"khong", "no", "n", "0", "chua"}


class NotANumber(ValueError):
    """A figure that is not a number the bot can read."""


def parse_number(text: str) -> Decimal:
    """A non-negative number as people type it: "1.234", "12,5", "1.234,5", "12.5", "376"."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if _GROUPED.match(cleaned):
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif _PLAIN.match(cleaned):
        cleaned = cleaned.replace(",", ".")
    else:
        raise NotANumber(text)
    try:
        return Decimal(cleaned)
    except InvalidOperation as exc:
        raise NotANumber(text) from exc


def parse_yes_no(text: str) -> bool:
    """ "có" / "không" (and yes/no, 1/0), accents and case aside."""
    folded = fold_name(text)
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise NotANumber(text)


def format_number(number: Decimal, lang: str) -> str:
    """A number as the documents write it: "1.234" and "12,5" in Vietnamese, "1,234" and
    "12.5" in English."""
    sign = "-" if number < 0 else ""
    whole, _, fraction = f"{abs(number.normalize()):f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    thousands, point = (".", ",") if lang == "vi" else (",", ".")
    text = thousands.join(groups)
    return f"{sign}{text}{point}{fraction}" if fraction else f"{sign}{text}"


def percent_text(numerator: Decimal, denominator: Decimal, lang: str, decimals: int = 1) -> str:
    """`numerator` over `denominator` as a percentage rounded half up to `decimals` places,
    decimal comma in Vietnamese: "43,1%"; "—" when there is nothing to divide by (0 of 0 is
    no rate at all, not "0,0%")."""
    if denominator <= 0:
        return "—"
    step = Decimal(1).scaleb(-decimals)
    value = numerator * 100 / denominator
    text = f"{value.quantize(step, rounding=ROUND_HALF_UP):.{decimals}f}%"
    return text.replace(".", ",") if lang == "vi" else text


@dataclass(frozen=True)
class Total:
    """A unit's figure for one indicator: the number (sum, count) or the ratio's parts, or
    the words given; `given` is how many submitters gave it."""

    indicator: Indicator
    number: Decimal | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    texts: tuple[str, ...] = ()
    given: int = 0

    def shown(self, lang: str) -> str:
        """The figure as the report shows it."""
        if self.indicator.combine == RATIO:
            assert self.numerator is not None and self.denominator is not None
            return percent_text(self.numerator, self.denominator, lang, self.indicator.decimals)
        if self.indicator.combine == TEXT:
            return "; ".join(self.texts)
        return format_number(self.number or Decimal(0), lang)


def totals(
    indicators: Sequence[Indicator], figures: Iterable[Mapping[str, Figure]]
) -> dict[str, Total]:
    """The unit's figure of every indicator from each submitter's figures (one mapping each):
    sums added, yeses counted, ratios from the sums, words listed."""
    people = list(figures)
    found: dict[str, Total] = {}
    for indicator in indicators:
        given = [p[indicator.code] for p in people if indicator.code in p]
        if indicator.combine == SUM:
            number = sum((f.number for f in given if f.number is not None), Decimal(0))
            found[indicator.code] = Total(indicator, number=number, given=len(given))
        elif indicator.combine == COUNT:
            yes = sum(1 for f in given if f.number is not None and f.number != 0)
            found[indicator.code] = Total(indicator, number=Decimal(yes), given=len(given))
        elif indicator.combine == TEXT:
            texts = tuple(f.text for f in given if f.text)
            found[indicator.code] = Total(indicator, texts=texts, given=len(given))
    for indicator in indicators:
        if indicator.combine == RATIO:
            assert indicator.numerator is not None and indicator.denominator is not None
            top, bottom = found[indicator.numerator], found[indicator.denominator]
            found[indicator.code] = Total(
                indicator,
                numerator=top.number or Decimal(0),
                denominator=bottom.number or Decimal(0),
                given=min(top.given, bottom.given),
            )
    return {i.code: found[i.code] for i in indicators}


def ratio_of(indicator: Indicator, figures: Mapping[str, Figure], lang: str) -> str | None:
    """One submitter's own ratio ("43,1%"), or None when a part is missing."""
    assert indicator.numerator is not None and indicator.denominator is not None
    top, bottom = figures.get(indicator.numerator), figures.get(indicator.denominator)
    if top is None or bottom is None or top.number is None or bottom.number is None:
        return None
    return percent_text(top.number, bottom.number, lang, indicator.decimals)
