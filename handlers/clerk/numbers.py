"""Ratios the way the commune is judged: "3/12", "25,0%" — summed, never averaged."""

from __future__ import annotations

from decimal import Decimal

from handlers.indicators import percent_text


def percent(count: int, total: int, lang: str) -> str:
    """`count` out of `total` as a percentage with one decimal, a decimal comma in Vietnamese."""
    # Decimal rounds 12,25 up the way people do; binary floats would give 12,2.
    return percent_text(Decimal(count), Decimal(total), lang, 1)


def share(count: int, total: int) -> str:
    """ "3/12"."""
    return f"{count}/{total}"
