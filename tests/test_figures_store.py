"""Figures stored with a submission, on both databases: exact, versioned, latest per person."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import FixedClock
from db.figures import Figure, figures_of, latest_figures, record_figures
from db.models import Obligation, Official, ReviewState, Submission
from db.submissions import submit
from tests.factories import build_commune

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


async def hand_in(
    session: AsyncSession, official: Official, obligation_id: int, clock: FixedClock
) -> Submission:
    obligation = await session.get(Obligation, obligation_id)
    assert obligation is not None
    return await submit(session, official, obligation, [], clock.now(), TZ, actor="test")


async def test_figures_are_exact_and_each_version_has_its_own(
    session: AsyncSession, clock: FixedClock
) -> None:
    commune = await build_commune(session)
    first = await hand_in(session, commune.an, commune.q1.id, clock)
    await record_figures(
        session,
        first.id,
        {"a": Figure(Decimal("0.1")), "b": Figure(Decimal("1234.50")), "t": Figure(text="Mạng")},
        "chat",
        clock.now(),
    )
    # Given again before confirming: replaced, not added.
    await record_figures(session, first.id, {"a": Figure(Decimal("0.2"))}, "chat", clock.now())
    second = await hand_in(session, commune.an, commune.q1.id, clock)
    await record_figures(session, second.id, {"a": Figure(Decimal("7"))}, "appendix", clock.now())
    await session.commit()
    assert await figures_of(session, first.id) == {"a": Figure(Decimal("0.2"))}
    assert await figures_of(session, second.id) == {"a": Figure(Decimal("7"))}
    # The latest version's figures are the person's; sums stay exact (0.1 + 0.2 style).
    latest = await latest_figures(session, commune.q1.id)
    assert latest == {commune.an.id: {"a": Figure(Decimal("7"))}}


async def test_a_returned_latest_version_has_no_figures_counted(
    session: AsyncSession, clock: FixedClock
) -> None:
    commune = await build_commune(session)
    an = await hand_in(session, commune.an, commune.q1.id, clock)
    binh = await hand_in(session, commune.binh, commune.q1.id, clock)
    await record_figures(session, an.id, {"a": Figure(Decimal("3"))}, "chat", clock.now())
    await record_figures(session, binh.id, {"a": Figure(Decimal("4"))}, "chat", clock.now())
    binh.review_state = ReviewState.RETURNED
    await session.commit()
    assert await latest_figures(session, commune.q1.id) == {
        commune.an.id: {"a": Figure(Decimal("3"))}
    }
    only = await latest_figures(session, commune.q1.id, [commune.binh.id])
    assert only == {}
