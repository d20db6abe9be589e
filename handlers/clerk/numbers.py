"""Ratios the way the commune is judged: "3/12", "25,0%" — summed, never averaged."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def percent(count: int, total: int, lang: str) -> str:
    """`count` out of `total` as a percentage with one decimal, a decimal comma in Vietnamese."""
    if total <= 0:
        value = Decimal(0)
    else:
        # Decimal rounds 12,25 up the way people do; binary floats would give 12,2.
        value = (Decimal(count) * 100 / Decimal(total)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
    text = f"{value:.1f}%"
    return text.replace(".", ",") if lang == "vi" else text


def share(count: int, total: int) -> str:
    """ "3/12"."""
    return f"{count}/{total}"
