"""Report indicators and the figures submitters give: stored with the submission, read back
as each submitter's latest.

An obligation keeps its indicators as the plan declared them (JSON); `indicators_of` turns
them into `Indicator`s. A figure is a decimal kept as canonical text (exact sums on SQLite and
PostgreSQL alike) or words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Obligation, ReviewState, Submission, SubmissionFigure

SUM, COUNT, RATIO, TEXT = "sum", "count", "ratio", "text"


@dataclass(frozen=True)
class Indicator:
    """One figure of a report (see `db.plan.schema.IndicatorSpec`)."""

    code: str
    label: str
    unit: str
    combine: str
    numerator: str | None = None
    denominator: str | None = None
    decimals: int = 1
    cell: str | None = None
    # "higher": a higher ratio is good ("đạt"); "lower": it is bad ("chiếm").
    better: str = "higher"

    @property
    def asked(self) -> bool:
        """Whether a submitter gives it (a ratio is computed from the sums instead)."""
        return self.combine != RATIO


def indicators_of(obligation: Obligation) -> list[Indicator]:
    """The obligation's indicators, in the plan's order."""
    return [_indicator(raw) for raw in obligation.indicators or []]


def _indicator(raw: Mapping[str, Any]) -> Indicator:
    return Indicator(
        code=str(raw["code"]),
        label=str(raw["label"]),
        unit=str(raw.get("unit") or ""),
        combine=str(raw["combine"]),
        numerator=raw.get("numerator"),
        denominator=raw.get("denominator"),
        decimals=int(raw.get("decimals", 1)),
        cell=raw.get("cell"),
        better=str(raw.get("better") or "higher"),
    )


@dataclass(frozen=True)
class Figure:
    """A value given for one indicator: a number, or words."""

    number: Decimal | None = None
    text: str | None = None


def canonical(number: Decimal) -> str:
    """The stored form of a number: no exponent, no trailing zeros ("12.5", "376")."""
    text = format(number.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


async def record_figures(
    session: AsyncSession,
    submission_id: int,
    figures: Mapping[str, Figure],
    source: str,
    at: datetime,
) -> None:
    """Store the submission's figures, replacing any it had (given again before confirming)."""
    await session.execute(
        delete(SubmissionFigure).where(SubmissionFigure.submission_id == submission_id)
    )
    session.add_all(
        SubmissionFigure(
            submission_id=submission_id,
            indicator=code,
            number=canonical(figure.number) if figure.number is not None else None,
            text=figure.text,
            source=source,
            recorded_at=at,
        )
        for code, figure in figures.items()
    )
    await session.flush()


async def figures_of(session: AsyncSession, submission_id: int) -> dict[str, Figure]:
    """The figures given with one submission, by indicator code."""
    rows = await session.scalars(
        select(SubmissionFigure).where(SubmissionFigure.submission_id == submission_id)
    )
    return {row.indicator: _figure(row) for row in rows}


async def latest_figures(
    session: AsyncSession, obligation_id: int, official_ids: Sequence[int] | None = None
) -> dict[int, dict[str, Figure]]:
    """Each submitter's figures from their latest submission that was not returned, by
    official id (those without figures are absent)."""
    # The latest version is the greatest: versions only grow (db.submissions.next_version).
    newest = select(Submission.official_id, func.max(Submission.version).label("version")).where(
        Submission.obligation_id == obligation_id
    )
    if official_ids is not None:
        newest = newest.where(Submission.official_id.in_(list(official_ids)))
    latest = newest.group_by(Submission.official_id).subquery()
    rows = await session.execute(
        select(Submission.official_id, SubmissionFigure)
        .join(
            latest,
            (latest.c.official_id == Submission.official_id)
            & (latest.c.version == Submission.version),
        )
        .join(SubmissionFigure, SubmissionFigure.submission_id == Submission.id)
        .where(
            Submission.obligation_id == obligation_id,
            Submission.review_state != ReviewState.RETURNED,
        )
    )
    found: dict[int, dict[str, Figure]] = {}
    for official_id, row in rows:
        found.setdefault(official_id, {})[row.indicator] = _figure(row)
    return found


def _figure(row: SubmissionFigure) -> Figure:
    return Figure(Decimal(row.number) if row.number is not None else None, row.text)
