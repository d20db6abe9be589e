"""The sweep of many units at once (issue 17): an idle minute costs the same few statements
however many units there are, and sweeping all units writes what sweeping each one writes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.models import (
    Channel,
    ChannelIdentity,
    LeavePeriod,
    ObligationAssignee,
    Reminder,
    SweepMark,
    Unit,
)
from db.units import all_units
from scheduler.sweep import sweep_all, sweep_unit
from tests.factories import build_commune
from tests.plans import bind_chats, load_example

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
Sessions = async_sessionmaker[AsyncSession]


def local(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M").replace(tzinfo=TZ)


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements the engine sends inside the block."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)


async def add_units(sessions: Sessions, prefix: str, count: int, marked: datetime | None) -> None:
    """`count` bare units; every other one has its mark at `marked`, the rest none yet."""
    async with sessions() as session, session.begin():
        ids = list(
            await session.scalars(
                insert(Unit).returning(Unit.id),
                [
                    {"code": f"{prefix}-{i:04}", "name": f"UBND xã {i}", "timezone": TZ.key}
                    for i in range(count)
                ],
            )
        )
        if marked is not None:
            await session.execute(
                insert(SweepMark), [{"unit_id": u, "swept_until": marked} for u in ids[::2]]
            )


async def idle_minute(engine: AsyncEngine, sessions: Sessions, at: datetime) -> int:
    async with sessions() as session, session.begin():
        with counted(engine) as seen:
            reports = await sweep_all(session, at)
    assert all(r.enqueued == 0 for r in reports)
    return len(seen)


async def marks(sessions: Sessions) -> dict[int, datetime]:
    async with sessions() as session:
        rows = await session.execute(select(SweepMark.unit_id, SweepMark.swept_until))
        return {unit_id: at for unit_id, at in rows}


async def test_an_idle_minute_costs_the_same_statements_for_5_or_300_units(
    engine: AsyncEngine, sessionmaker: Sessions
) -> None:
    # Tuesday 07:30: no reminder slot in (07:29, 07:30], nor in a first window (00:00, 07:30].
    await add_units(sessionmaker, "a", 5, marked=local("12/03/2024 07:29"))
    few = await idle_minute(engine, sessionmaker, local("12/03/2024 07:30"))
    assert set((await marks(sessionmaker)).values()) == {local("12/03/2024 07:30")}
    assert len(await marks(sessionmaker)) == 5

    await add_units(sessionmaker, "b", 295, marked=None)
    # 5 units with a mark, 295 without one: their first marks are written in one statement.
    first = await idle_minute(engine, sessionmaker, local("12/03/2024 07:31"))
    assert len(await marks(sessionmaker)) == 300
    many = await idle_minute(engine, sessionmaker, local("12/03/2024 07:32"))

    # The units, the marks, one UPDATE (and at the first sweep, one INSERT).
    assert few == 4  # 5 units: 3 with a mark, 2 given their first
    assert first == 4
    assert many == 3
    assert set((await marks(sessionmaker)).values()) == {local("12/03/2024 07:32")}


async def test_a_mark_ahead_of_now_is_not_pulled_back(sessionmaker: Sessions) -> None:
    await add_units(sessionmaker, "a", 4, marked=local("12/03/2024 07:40"))
    async with sessionmaker() as session, session.begin():
        await sweep_all(session, local("12/03/2024 07:30"))
    found = await marks(sessionmaker)
    # The two with a mark keep theirs; the two without one start at 07:30.
    assert (
        sorted(found.values()) == [local("12/03/2024 07:30")] * 2 + [local("12/03/2024 07:40")] * 2
    )


Sweep = Callable[[AsyncSession, datetime], Awaitable[object]]


async def each_unit(session: AsyncSession, at: datetime) -> None:
    for unit in await all_units(session):
        await sweep_unit(session, unit, at)


async def outbox_after(sessions: Sessions, sweep: Sweep, times: list[str]) -> tuple[Any, Any]:
    """The outbox rows and marks after sweeping at each of `times`, then rolled back."""
    async with sessions() as session:
        for at in times:
            await sweep(session, local(at))
        rows = (
            await session.execute(
                select(
                    Reminder.unit_id,
                    Reminder.idempotency_key,
                    Reminder.recipient_id,
                    Reminder.subject_type,
                    Reminder.subject_id,
                    Reminder.kind,
                    Reminder.slot_at,
                    Reminder.due_at,
                    Reminder.payload,
                ).order_by(Reminder.idempotency_key)
            )
        ).all()
        found = await session.execute(select(SweepMark.unit_id, SweepMark.swept_until))
        result = [tuple(r) for r in rows], dict(tuple(m) for m in found)
        await session.rollback()
    return result


async def build_communes(sessions: Sessions) -> None:
    """Eight communes that differ in what falls due on and around Friday 08/03/2024."""
    async with sessions() as session:
        for i in range(8):
            c = await build_commune(session)
            c.unit.code = f"xa-{i}"
            for n, person in enumerate((c.clerk, c.leader, c.an, c.binh)):
                session.add(
                    ChannelIdentity(
                        official_id=person.id,
                        channel=Channel.TELEGRAM,
                        external_id=f"{i}-{n}",
                        bound_at=local("01/03/2024 07:00"),
                        reachable=True,
                    )
                )
            # Q1 due Sunday 10/03: its due-day reminder moves back to Friday 08/03 08:00.
            if i in (1, 2, 3, 4, 6, 7):
                c.q1.due_date = date(2024, 3, 20)
            assignees = {
                (a.obligation_id, a.official_id): a
                for a in await session.scalars(
                    select(ObligationAssignee).where(ObligationAssignee.obligation_id == c.q1.id)
                )
            }
            an_q1, binh_q1 = assignees[(c.q1.id, c.an.id)], assignees[(c.q1.id, c.binh.id)]
            if i == 2:
                # An extension and an own date, each its own view.
                an_q1.extended_due = date(2024, 3, 15)
                binh_q1.own_due = date(2024, 3, 12)
            if i == 3:
                c.task_25.checkin_rrule = "FREQ=WEEKLY;BYDAY=TH"
                c.task_25.checkin_start = date(2024, 3, 6)
            if i == 4:
                # A fresh assignment (a notice on Friday), and one whose notice waits out a leave.
                an_q1.assigned_at = local("07/03/2024 10:00")
                binh_q1.assigned_at = local("01/01/2024 10:00")
                session.add(
                    LeavePeriod(
                        official_id=c.binh.id,
                        starts_on=date(2024, 3, 5),
                        ends_on=date(2024, 3, 12),
                    )
                )
            if i == 7:
                # Assigned in a leave of six weeks: the notice comes after it, Thursday 14/03.
                binh_q1.assigned_at = local("01/02/2024 10:00")
                session.add(
                    LeavePeriod(
                        official_id=c.binh.id,
                        starts_on=date(2024, 2, 1),
                        ends_on=date(2024, 3, 13),
                    )
                )
            if i == 5:
                c.task_24.due_date = date(2024, 3, 1)  # overdue: the chase goes on
            if i == 6:
                c.q1.chase_days = 3
                c.q1.due_date = date(2024, 2, 28)  # overdue, its chase over by Friday
            if i % 3 == 0:
                session.add(SweepMark(unit_id=c.unit.id, swept_until=local("07/03/2024 07:58")))
            elif i % 3 == 1:
                session.add(SweepMark(unit_id=c.unit.id, swept_until=local("01/03/2024 09:00")))
            await session.commit()


# Before, on and after the slot; an hour with none; a Saturday; Monday's digest; later days.
TIMES = [
    "07/03/2024 07:59",
    "07/03/2024 08:00",
    "08/03/2024 07:59",
    "08/03/2024 08:00",
    "08/03/2024 08:01",
    "08/03/2024 09:30",
    "09/03/2024 08:00",
    "11/03/2024 07:59",
    "11/03/2024 08:00",
    "11/03/2024 08:01",
    "12/03/2024 08:00",
    "13/03/2024 08:00",
    "14/03/2024 08:00",
    "15/03/2024 08:00",
    "18/03/2024 08:00",
    "20/03/2024 08:00",
    "21/03/2024 08:00",
]


async def test_sweeping_all_units_writes_what_sweeping_each_writes(
    sessionmaker: Sessions,
) -> None:
    await build_communes(sessionmaker)
    rows, ends = await outbox_after(sessionmaker, sweep_all, TIMES)
    expected_rows, expected_ends = await outbox_after(sessionmaker, each_unit, TIMES)
    assert len(rows) > 50
    kinds = {row[5] for row in rows}
    assert {"assigned", "overdue", "weekly_digest", "due_day"} <= kinds, kinds
    assert rows == expected_rows
    assert ends == expected_ends
    assert set(ends.values()) == {local("21/03/2024 08:00")}


async def test_the_slot_minute_loads_only_units_with_something_due(
    engine: AsyncEngine, sessionmaker: Sessions
) -> None:
    await build_communes(sessionmaker)
    async with sessionmaker() as session:
        await session.execute(delete(SweepMark))
        with counted(engine) as seen:
            reports = await sweep_all(session, local("08/03/2024 08:00"))
        await session.rollback()
    # The 08:00 of Friday 08/03 (the first sweep ever of every unit, from midnight): due in
    # xã 0 (Q1), 2 (binh's own date, Tuesday 12/03: "3 days before" moves back to Friday),
    # 4 (a notice) and 5 (an overdue task). xã 7 is read too, for nothing: someone it chases
    # is on leave, which can delay a notice any time. xã 1, 3 and 6 are not read.
    swept = [r.unit_id for r in reports if r.found]
    assert len(swept) == 4
    snapshots = [s for s in seen if "FROM channel_identities JOIN officials" in s]
    assert len(snapshots) == 5


async def test_the_bundled_plan_swept_all_at_once_or_unit_by_unit(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    officials = await load_example(sessionmaker, clock)
    await bind_chats(sessionmaker, officials, clock.now())
    days = [f"{d:02}/03/2024 08:00" for d in range(8, 32)] + ["01/04/2024 07:59"]
    days += [f"{d:02}/04/2024 08:00" for d in range(1, 16)]
    rows, ends = await outbox_after(sessionmaker, sweep_all, days)
    expected_rows, expected_ends = await outbox_after(sessionmaker, each_unit, days)
    assert len(rows) > 20
    assert rows == expected_rows
    assert ends == expected_ends
