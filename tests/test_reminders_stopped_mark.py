"""'Đã ngừng nhắc': when the overdue reminders end (after the report's chase_days, or the day
before the next report of its series is due), the desk shows the late person as "quá hạn — đã
ngừng nhắc", from the same rule the policy stops by (`db.chase`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.kinds import OVERDUE
from db.models import Obligation
from db.series import series_next_due
from handlers.clerk.context import Desk
from handlers.clerk.overdue import overdue_text
from scheduler.policy import (
    AssigneeState,
    ObligationView,
    OfficialView,
    PlanSnapshot,
    PolicyConfig,
    preview,
)
from tests.factories import Commune
from tests.wording import vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def desk(session: AsyncSession, commune: Commune, day: date) -> Desk:
    return Desk(
        session, commune.unit.id, TZ, datetime(day.year, day.month, day.day, 9, tzinfo=TZ), "vi"
    )


def stopped(days: int) -> str:
    return vi(
        "desk.state.joined",
        first=vi("desk.state.overdue", days=days),
        second=vi("desk.state.chase_ended"),
    )


async def last_overdue_day(session: AsyncSession, commune: Commune) -> date:
    """The last local day the policy sends An an overdue reminder about Quý I, from the
    report as stored (its chase days, the next report of its series)."""
    q1 = await session.get(Obligation, commune.q1.id)
    assert q1 is not None
    await session.refresh(q1)
    view = ObligationView(
        q1.id,
        q1.code,
        q1.title,
        q1.due_date,
        q1.window_start,
        q1.window_end,
        assignees=(AssigneeState(commune.an.id),),
        chase_days=q1.chase_days,
        series_next_due=(await series_next_due(session, [q1.id])).get(q1.id),
    )
    snapshot = PlanSnapshot({commune.an.id: OfficialView(commune.an.id)}, [view])
    sent = [
        r.slot_at.astimezone(TZ).date()
        for r in preview(snapshot, PolicyConfig(), date(2024, 3, 1), date(2024, 7, 31))
        if r.kind == OVERDUE
    ]
    return max(sent)


async def test_after_the_chase_days_the_late_are_shown_as_no_longer_reminded(
    session: AsyncSession, commune: Commune
) -> None:
    # Quý I, due 10/03/2024, chased 30 days: the last reminder goes out by 09/04.
    last = await last_overdue_day(session, commune)
    assert date(2024, 4, 1) < last <= date(2024, 4, 9)

    still = await overdue_text(desk(session, commune, date(2024, 4, 9)), "CCHC-Q1")
    assert vi("desk.state.overdue", days=30) in still
    assert vi("desk.state.chase_ended") not in still

    after = await overdue_text(desk(session, commune, date(2024, 4, 10)), "CCHC-Q1")
    assert after.count(stopped(31)) == 2  # An and Bình, both never handed in


async def test_the_next_report_of_the_series_ends_the_chase(
    session: AsyncSession, commune: Commune
) -> None:
    # Chased for 120 days, Quý I still stops when the 6-month report (its data window covers
    # Quý I's) is due on 10/06: that report asks for the same data.
    await session.execute(
        update(Obligation).where(Obligation.id == commune.q1.id).values(chase_days=120)
    )
    await session.commit()
    last = await last_overdue_day(session, commune)
    assert date(2024, 6, 1) < last <= date(2024, 6, 9)

    day_before = await overdue_text(desk(session, commune, date(2024, 6, 9)), "CCHC-Q1")
    assert vi("desk.state.chase_ended") not in day_before
    due_day = date(2024, 6, 10)
    on_the_day = await overdue_text(desk(session, commune, due_day), "CCHC-Q1")
    assert stopped((due_day - date(2024, 3, 10)).days) in on_the_day
    assert (due_day - timedelta(days=1)) >= last
