"""/overdue on a big commune: 10,000 report assignments loaded by bulk inserts.

One unit, 100 officials and 100 report instances (25 years of four reports). Everything
already due was handed in except by a few people, so the answer is small while the tables
are not. Plain Core inserts, as an import would do, must keep the `handed_in` flags right
(the triggers). How fast this is at 100,000 rows is measured in bench/, not asserted here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.desk.overdue import overdue
from db.models import (
    Obligation,
    ObligationAssignee,
    Official,
    ReviewState,
    Submission,
    Unit,
)
from handlers.clerk.context import Desk
from handlers.clerk.overdue import overdue_text
from tests.wording import vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICIALS = 100
YEARS = range(2010, 2035)
QUARTERS = ((3, "Q1"), (6, "6T"), (9, "Q3"), (12, "NAM"))
TODAY = date(2030, 7, 1)
# (official index, obligation index) pairs that were never handed in, among the past ones.
MISSING = {(7, 0), (8, 40), (50, 79), (99, 81), (12, 12)}
RETURNED = {(42, 80)}  # handed in, then sent back


async def _build(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        unit = Unit(code="lon", name="UBND xã Lớn", timezone="Asia/Ho_Chi_Minh")
        session.add(unit)
        await session.flush()
        unit_id = unit.id
        await session.execute(
            insert(Official),
            [
                {
                    "unit_id": unit_id,
                    "key": f"p{i}",
                    "full_name": f"Cán bộ {i}",
                    "name_folded": f"can bo {i}",
                    "position": "",
                    "department": f"Bộ phận {i % 10}",
                    "is_official": True,
                    "is_clerk": i == 0,
                    "is_leader": False,
                    "active": True,
                    "language": "vi",
                }
                for i in range(OFFICIALS)
            ],
        )
        due_dates = [date(y, m, 10) for y in YEARS for m, _ in QUARTERS]
        await session.execute(
            insert(Obligation),
            [
                {
                    "unit_id": unit_id,
                    "code": f"CCHC-{name}-{y}",
                    "report_code": f"CCHC-{name}",
                    "kind": "cchc",
                    "title": f"Báo cáo {name} năm {y}",
                    "due_date": date(y, m, 10),
                    "window_start": date(y, 1, 1),
                    "window_end": date(y, m, 14),
                    "templates": [],
                    "active": True,
                }
                for y in YEARS
                for m, name in QUARTERS
            ],
        )
        await session.commit()
    async with sessions() as session:
        official_ids = list(await session.scalars(select(Official.id).order_by(Official.id)))
        obligation_ids = list(
            await session.scalars(select(Obligation.id).order_by(Obligation.due_date))
        )
        assignees = [
            {"obligation_id": o, "official_id": p} for o in obligation_ids for p in official_ids
        ]
        for start in range(0, len(assignees), 5_000):
            await session.execute(insert(ObligationAssignee), assignees[start : start + 5_000])
        at = datetime(2010, 1, 1, tzinfo=UTC)
        rows = []
        # Core bulk inserts, as an import would do: the triggers keep handed_in all the same.
        for j, (obligation_id, due) in enumerate(zip(obligation_ids, due_dates, strict=True)):
            if due >= TODAY:
                continue
            for i, official_id in enumerate(official_ids):
                if (i, j) in MISSING:
                    continue
                rows.append(
                    {
                        "unit_id": unit_id,
                        "obligation_id": obligation_id,
                        "official_id": official_id,
                        "version": 1,
                        "note": "",
                        "submitted_at": at,
                        "late_days": 0,
                        "review_state": (
                            ReviewState.RETURNED if (i, j) in RETURNED else ReviewState.PENDING
                        ),
                    }
                )
        for start in range(0, len(rows), 5_000):
            await session.execute(insert(Submission), rows[start : start + 5_000])
        await session.commit()
    return unit_id


async def test_overdue_finds_exactly_the_few_missing_among_many(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    unit_id = await _build(sessionmaker)
    now = datetime(2030, 7, 1, 9, 0, tzinfo=TZ)
    async with sessionmaker() as session:
        groups = await overdue(session, unit_id, TODAY)  # warm the caches once
        assert sum(len(g.rows) for g in groups) == len(MISSING) + len(RETURNED)
        text = await overdue_text(Desk(session, unit_id, TZ, now, "vi"), "")
    # The returned one was bulk-loaded without a review time: no date after "returned".
    assert "Cán bộ 99" in text and vi("clerk.returned_on", date="") in text


async def test_overdue_reads_the_versions_of_the_missing_only(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # Everyone else handed in and is only counted: loading the thousands of versions of the
    # people who did made /quahan grow with the table (0.3-0.6 s at 100,000 assignments).
    unit_id = await _build(sessionmaker)
    loaded: list[Submission] = []

    def count(target: Submission, _context: object) -> None:
        loaded.append(target)

    event.listen(Submission, "load", count)
    try:
        async with sessionmaker() as session:
            groups = await overdue(session, unit_id, TODAY)
    finally:
        event.remove(Submission, "load", count)

    assert sum(len(g.rows) for g in groups) == len(MISSING) + len(RETURNED)
    assert len(loaded) <= len(RETURNED)  # only a returned version is read
    assert all(g.total == OFFICIALS for g in groups)  # the denominator still counts everyone
