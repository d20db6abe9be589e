"""Issue 14: the overdue cadence decays (every 2 working days for two weeks, then weekly) and
ends (after the report's `chase_days`, or when the next report of its series is due)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.kinds import DIGEST_CLERK, OVERDUE
from db.models import Obligation, Unit
from db.plan import load_plan
from db.plan.source import PlanError, parse_plan
from scheduler.policy import (
    AssigneeState,
    DueReminder,
    ObligationView,
    OfficialView,
    PlanSnapshot,
    PolicyConfig,
    TaskView,
    preview,
)
from scheduler.snapshot import load_snapshot
from tests.conftest import EXAMPLE_PLAN

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CONFIG = PolicyConfig()
CLERK, HOA = 1, 4
PEOPLE = {
    CLERK: OfficialView(CLERK, roles=frozenset({"official", "clerk"})),
    HOA: OfficialView(HOA),
}


def d(text: str) -> date:
    day, month, year = (int(p) for p in text.split("/"))
    return date(year, month, day)


def q1(**extra: object) -> ObligationView:
    """CCHC Quý I 2024 (due Sun 10/03/2024), owed by Hoa."""
    return ObligationView(
        1,
        "CCHC-Q1-2024",
        "Báo cáo CCHC Quý I năm 2024",
        d("10/03/2024"),
        d("15/12/2023"),
        d("14/03/2024"),
        assignees=(AssigneeState(HOA),),
        **extra,  # type: ignore[arg-type]
    )


def overdue_days(got: list[DueReminder]) -> list[str]:
    return [
        r.slot_at.astimezone(HCM).strftime("%a %d/%m")
        for r in got
        if r.kind == OVERDUE and r.recipient_id == HOA
    ]


def year_of(snapshot: PlanSnapshot) -> list[DueReminder]:
    return preview(snapshot, CONFIG, d("01/01/2024"), d("31/12/2024"))


FAST = ["Mon 11/03", "Wed 13/03", "Fri 15/03", "Tue 19/03", "Thu 21/03"]


def test_by_default_two_weeks_fast_then_weekly_and_nothing_after_30_days() -> None:
    got = year_of(PlanSnapshot(PEOPLE, [q1()]))
    # Fast while the nominal day is within 14 days of Sun 10/03 (to Sun 24/03), then every
    # 7 days from Thu 21/03; 10/03 + 30 days is Tue 09/04, so Thu 11/04 is not sent.
    assert overdue_days(got) == [*FAST, "Thu 28/03", "Thu 04/04"]


def test_a_report_chased_longer_goes_on_weekly_until_its_own_chase_days() -> None:
    got = year_of(PlanSnapshot(PEOPLE, [q1(chase_days=60)]))
    # Thu 18/04 is the Hùng Kings' day: that one is sent the day after, and the next is again
    # a Thursday (the weekly days are counted in calendar days, only the slot moves).
    weekly = ["Thu 28/03", "Thu 04/04", "Thu 11/04", "Fri 19/04", "Thu 25/04", "Thu 02/05"]
    # 10/03 + 60 days is Thu 09/05: the last weekly day is sent that day.
    assert overdue_days(got) == [*FAST, *weekly, "Thu 09/05"]


def test_the_chase_ends_the_day_before_the_next_report_of_the_series_is_due() -> None:
    got = year_of(PlanSnapshot(PEOPLE, [q1(chase_days=365, series_next_due=d("19/03/2024"))]))
    assert overdue_days(got) == ["Mon 11/03", "Wed 13/03", "Fri 15/03"]


def test_no_chase_at_all_still_tells_the_clerk() -> None:
    got = year_of(PlanSnapshot(PEOPLE, [q1(chase_days=0)]))
    assert overdue_days(got) == []
    assert [r.kind for r in got if r.recipient_id == CLERK] == [DIGEST_CLERK]


def test_a_weekly_day_moved_past_the_last_day_by_days_off_is_not_sent() -> None:
    def chased(days: int) -> list[str]:
        ob = ObligationView(
            2, "R", "R", d("09/04/2024"), d("01/01/2024"), d("31/03/2024"),
            assignees=(AssigneeState(HOA),), chase_days=days,
        )  # fmt: skip
        return overdue_days(year_of(PlanSnapshot(PEOPLE, [ob])))

    # Due Tue 09/04/2024: every second working day to 23/04 (Thu 18/04, the Hùng Kings' day,
    # is off); the weekly day after it, Tue 30/04, is off too (29/04–01/05/2024), so it is
    # sent on Thu 02/05: after 09/04 + 21 days, so not at all; with 23 days it is.
    fast = ["Wed 10/04", "Fri 12/04", "Tue 16/04", "Fri 19/04", "Tue 23/04"]
    assert chased(21) == fast
    assert chased(23) == [*fast, "Thu 02/05"]


def test_a_task_has_the_same_decay_and_the_default_30_days() -> None:
    task = TaskView(7, "2.8", "T", d("10/03/2024"), assignees=(AssigneeState(HOA),))
    got = year_of(PlanSnapshot(PEOPLE, tasks=[task]))
    assert overdue_days(got) == [*FAST, "Thu 28/03", "Thu 04/04"]


def test_the_config_sets_the_default_and_refuses_nonsense() -> None:
    got = preview(
        PlanSnapshot(PEOPLE, [q1()]), PolicyConfig(chase_days=7), d("01/03/2024"), d("30/04/2024")
    )
    assert overdue_days(got) == ["Mon 11/03", "Wed 13/03", "Fri 15/03"]
    with pytest.raises(ValueError):
        PolicyConfig(chase_days=-1)
    with pytest.raises(ValueError):
        PolicyConfig(overdue_slow_every_days=0)


# -- from the plan and the database --------------------------------------------------------------


def example_with(line: str) -> str:
    """The example plan with `line` added to the CCHC-Q1 report."""
    text = EXAMPLE_PLAN.read_text(encoding="utf-8")
    anchor = "  - code: CCHC-Q1\n    kind: cchc\n"
    assert anchor in text
    return text.replace(anchor, f"{anchor}    {line}\n")


def test_chase_days_must_be_a_whole_number_of_days_from_0() -> None:
    with pytest.raises(PlanError):
        parse_plan(example_with("chase_days: -1"), "plan.yaml")
    assert parse_plan(example_with("chase_days: 0"), "plan.yaml").spec.reports[0].chase_days == 0


async def test_the_snapshot_carries_chase_days_and_the_series_next_due(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    plan = parse_plan(example_with("chase_days: 45"), str(EXAMPLE_PLAN))
    async with sessionmaker() as session:
        await load_plan(session, plan, clock)
    async with sessionmaker() as session:
        rows = await session.execute(select(Obligation.code, Obligation.chase_days))
        chase = {code: days for code, days in rows}
        unit = await session.scalar(select(Unit))
        assert unit is not None
        snapshot = await load_snapshot(session, unit.id)
    assert chase == {
        "CCHC-Q1-2024": 45,
        "CCHC-6T-2024": 30,
        "CCHC-Q3-2024": 30,
        "CCHC-NAM-2024": 30,
    }
    views = {o.code: o for o in snapshot.obligations}
    assert {code: (o.chase_days, o.series_next_due) for code, o in views.items()} == {
        # The 6-month window (15/12/2023–14/06) covers Quý I's; Quý III's (from 15/06) does
        # not cover the 6-month one, so that one runs to the year's report, which covers all.
        "CCHC-Q1-2024": (45, d("10/06/2024")),
        "CCHC-6T-2024": (30, d("10/12/2024")),
        "CCHC-Q3-2024": (30, d("10/12/2024")),
        "CCHC-NAM-2024": (30, None),
    }


async def test_an_inactive_next_report_does_not_end_the_chase(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with sessionmaker() as session:
        await load_plan(session, parse_plan(example_with(""), str(EXAMPLE_PLAN)), clock)
    async with sessionmaker() as session, session.begin():
        for row in await session.scalars(
            select(Obligation).where(Obligation.code.in_(["CCHC-6T-2024", "CCHC-NAM-2024"]))
        ):
            row.active = False
    async with sessionmaker() as session:
        unit = await session.scalar(select(Unit))
        assert unit is not None
        snapshot = await load_snapshot(session, unit.id)
    views = {o.code: o.series_next_due for o in snapshot.obligations}
    assert views == {"CCHC-Q1-2024": None, "CCHC-Q3-2024": None}


def test_the_slots_are_aware_utc() -> None:
    got = year_of(PlanSnapshot(PEOPLE, [q1()]))
    assert all(isinstance(r.slot_at, datetime) and r.slot_at.utcoffset() is not None for r in got)
