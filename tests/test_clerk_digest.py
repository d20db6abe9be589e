"""The weekly digest: its text on a Monday morning, and a small valid PNG with one bar a report."""

from __future__ import annotations

import io
import struct

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.clerk.digest import (
    BAR_COLOUR,
    TRACK_COLOUR,
    Progress,
    digest,
    progress_chart,
    weekly_digest,
)
from tests.test_clerk_scenario import BaBich, local, story
from tests.wording import en, vi

__all__ = ["story"]  # fixture

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

DIGEST_JUNE_10 = "\n\n".join(
    [
        vi("clerk.digest.header", start="10/06/2024", end="16/06/2024", unit="UBND xã Ba Bích"),
        vi("clerk.digest.due_header")
        + "\n"
        + vi("clerk.digest.due_report", code="CCHC-6T-2024", due="10/06/2024", share="0/10"),
        vi("clerk.digest.overdue_header")
        + "\n"
        + vi("clerk.digest.overdue_report", code="CCHC-Q1-2024", share="5/10", rate="chiếm 50,0%"),
        vi("clerk.digest.rate", year=2024, share="4/10", rate="đạt 40,0%"),
    ]
)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk."""
    assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def bars_in(png: bytes) -> int:
    """Count the bars a person sees: runs of bar colour down one column inside the bars."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = {_rgb(TRACK_COLOUR), _rgb(BAR_COLOUR)}
    width, height = image.size
    # Columns where bar colour appears span 0% to 100%; take one near the right end.
    columns = [
        x
        for x in range(width)
        if any(_near(image.getpixel((x, y)), colours) for y in range(0, height, 2))
    ]
    if not columns:
        return 0
    x = columns[int(len(columns) * 0.9)]
    runs, inside = 0, False
    for y in range(height):
        hit = _near(image.getpixel((x, y)), colours)
        runs += hit and not inside
        inside = hit
    return runs


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def _near(pixel: object, colours: set[tuple[int, int, int]]) -> bool:
    assert isinstance(pixel, tuple)
    return any(sum(abs(a - b) for a, b in zip(pixel[:3], c, strict=True)) < 24 for c in colours)


async def test_the_monday_digest_text(story: BaBich, session: AsyncSession) -> None:
    text, png = await weekly_digest(session, story.q1.unit_id, local(10, 6, 8))
    assert text == DIGEST_JUNE_10
    assert png.startswith(PNG_SIGNATURE)


async def test_the_chart_has_one_bar_per_report_of_the_year(
    story: BaBich, session: AsyncSession
) -> None:
    _, chart = await digest(session, story.q1.unit_id, local(10, 6, 8), "vi")
    assert chart.bars == 4
    assert len(chart.png) <= 100 * 1024
    width, height = png_size(chart.png)
    assert (width, height) == (600, round((1.3 + 0.45 * 4) * 100))
    assert bars_in(chart.png) == 4


def test_the_chart_draws_what_it_is_given() -> None:
    progress = [Progress(f"R{i}", i, 10) for i in range(7)]
    chart = progress_chart("Tiến độ nộp báo cáo năm 2024", progress)
    assert chart.bars == 7 and bars_in(chart.png) == 7
    empty = progress_chart("Không có báo cáo", [])
    assert empty.bars == 0 and empty.png.startswith(PNG_SIGNATURE)


async def test_a_quiet_week_and_english(story: BaBich, session: AsyncSession) -> None:
    text, _ = await digest(session, story.q1.unit_id, local(4, 3, 8), "en")
    assert text == "\n\n".join(
        [
            en("clerk.digest.header", start="04/03/2024", end="10/03/2024", unit="UBND xã Ba Bích"),
            en("clerk.digest.due_header")
            + "\n"
            + en("clerk.digest.due_report", code="CCHC-Q1-2024", due="10/03/2024", share="5/10"),
            en("clerk.digest.overdue_header") + "\n" + en("clerk.digest.overdue_none"),
            en("clerk.digest.rate_none", year=2024),
        ]
    )
