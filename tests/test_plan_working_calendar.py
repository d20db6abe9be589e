"""The working calendar belongs to the plan: days off, make-up days, office hours, due dates.

Scenarios on the bundled Ba Bích plan (which works the make-up Saturday 04/05/2024), edited
the way a clerk would edit it and loaded again.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.plan_commands import load_plan as load_plan_command
from bot.plan_commands import show_plan
from bot.settings import Settings
from db.clock import FixedClock
from db.kinds import ASSIGNED
from db.models import Obligation, Official, Reminder, SweepMark, Task, Unit
from db.plan import LoadReport, load_plan, parse_plan
from handlers.catalog import t
from handlers.conversation import Conversation
from handlers.types import CommandSent
from scheduler.policy import DueReminder, preview
from scheduler.snapshot import load_snapshot
from scheduler.sweep import policy_config, sweep_all
from tests.conftest import EXAMPLE_PLAN
from tests.plans import bind_chats
from tests.test_clerk_scenario import BaBich, desk, story
from tests.test_plan_loader import edit, example_text
from tests.wording import vi

__all__ = ["desk", "story"]  # fixtures

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
Sessions = async_sessionmaker[AsyncSession]

MAKE_UP_SATURDAY = "    working_days: [04/05/2024]\n"
NO_DAYS_OFF = "    days_off: []\n"
DEFAULT_HOURS = '    # office_hours: "07:00-17:30"\n'
KEEP = "    deadline_on_day_off: keep\n"
# A task due Sunday 05/05/2024, the day after the make-up Saturday.
TASK_DUE_SUNDAY = """  - code: "9.1"
    title: Rà soát hồ sơ tồn đọng
    lead: [hoa]
    due: 05/05/2024

# Báo cáo định kỳ về công tác CCHC"""


def local(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M").replace(tzinfo=TZ)


def plan_text(*edits: tuple[str, str]) -> str:
    text = example_text()
    for old, new in edits:
        text = edit(text, old, new)
    return text


async def load(sessions: Sessions, text: str, clock: FixedClock) -> LoadReport:
    async with sessions() as session:
        return await load_plan(session, parse_plan(text, str(EXAMPLE_PLAN)), clock)


async def load_with_chats(sessions: Sessions, text: str, clock: FixedClock) -> dict[str, int]:
    """Load `text` and give everyone a chat; the official ids by key."""
    await load(sessions, text, clock)
    async with sessions() as session:
        people = {o.key: o for o in await session.scalars(select(Official))}
    await bind_chats(sessions, people, clock.now())
    return {key: official.id for key, official in people.items()}


async def planned(sessions: Sessions, start: date, end: date) -> list[DueReminder]:
    """The clerk's preview of local days start … end, under the unit's own calendar."""
    async with sessions() as session:
        unit = await session.scalar(select(Unit))
        assert unit is not None
        snapshot = await load_snapshot(session, unit.id)
    return preview(snapshot, policy_config(unit), start, end)


async def subject_id(sessions: Sessions, model: type[Obligation] | type[Task], code: str) -> int:
    async with sessions() as session:
        found = await session.scalar(select(model.id).where(model.code == code))
    assert found is not None
    return found


def slots_of(reminders: list[DueReminder], recipient: int, subject: int) -> list[str]:
    """The local slots ("dd/mm HH:MM kind") of one person's reminders about one subject
    (digests and the plan load's assignment notices aside)."""
    return [
        f"{r.slot_at.astimezone(TZ):%d/%m %H:%M} {r.kind}"
        for r in reminders
        if r.recipient_id == recipient
        and r.subject_id == subject
        and not r.is_digest
        and r.kind != ASSIGNED
    ]


async def sweep_between(sessions: Sessions, after: str, until: str) -> list[Reminder]:
    """Sweep (after, until] as the running bot would; the rows it wrote."""
    async with sessions() as session, session.begin():
        unit = await session.scalar(select(Unit))
        assert unit is not None
        await session.execute(delete(SweepMark))
        await session.execute(delete(Reminder))
        session.add(SweepMark(unit_id=unit.id, swept_until=local(after)))
    async with sessions() as session, session.begin():
        await sweep_all(session, local(until))
    async with sessions() as session:
        return list(await session.scalars(select(Reminder).order_by(Reminder.id)))


# -- make-up working days and extra days off ---------------------------------------------------


async def test_a_reminder_lands_on_the_make_up_saturday(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    ids = await load_with_chats(
        sessionmaker,
        plan_text(("\n# Báo cáo định kỳ về công tác CCHC", "\n" + TASK_DUE_SUNDAY)),
        clock,
    )
    task = await subject_id(sessionmaker, Task, "9.1")

    # Sat 04/05/2024 is a working day: the sweep of that morning sends the due-day reminder
    # (Sunday's, moved back to the last working day before it).
    rows = await sweep_between(sessionmaker, "04/05/2024 07:00", "04/05/2024 09:00")
    mine = [r for r in rows if r.subject_type == "task" and r.subject_id == task]
    assert [(r.recipient_id, r.kind, r.slot_at) for r in mine] == [
        (ids["hoa"], "due_day", local("04/05/2024 08:00"))
    ]
    reminders = await planned(sessionmaker, date(2024, 4, 20), date(2024, 5, 5))
    assert slots_of(reminders, ids["hoa"], task) == [
        "26/04 08:00 before_7",  # Sun 28/04 is a Sunday: moved back to Friday
        "02/05 08:00 before_3",  # Thu 02/05, after the 29/04–01/05 break
        "04/05 08:00 due_day",  # before_1 (Sat 04/05) and due_day meet on the make-up Saturday
    ]


async def test_without_the_make_up_day_the_saturday_reminder_moves_to_friday(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    text = plan_text(
        ("\n# Báo cáo định kỳ về công tác CCHC", "\n" + TASK_DUE_SUNDAY),
        (MAKE_UP_SATURDAY, "    working_days: []\n"),
    )
    ids = await load_with_chats(sessionmaker, text, clock)
    task = await subject_id(sessionmaker, Task, "9.1")

    rows = await sweep_between(sessionmaker, "04/05/2024 07:00", "04/05/2024 09:00")
    assert not [r for r in rows if r.subject_type == "task" and r.subject_id == task]
    reminders = await planned(sessionmaker, date(2024, 4, 20), date(2024, 5, 5))
    assert slots_of(reminders, ids["hoa"], task) == [
        "26/04 08:00 before_7",
        "02/05 08:00 before_3",
        "03/05 08:00 due_day",
    ]


async def test_an_extra_day_off_is_skipped_like_a_holiday(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    # Q1 is due Sunday 10/03/2024; the day before (Sat 09/03) falls back to Friday 08/03 —
    # unless the commune takes Friday 08/03 off.
    ids = await load_with_chats(sessionmaker, example_text(), clock)
    q1 = await subject_id(sessionmaker, Obligation, "CCHC-Q1-2024")
    march = await planned(sessionmaker, date(2024, 3, 1), date(2024, 3, 12))
    assert slots_of(march, ids["hoa"], q1) == [
        "01/03 08:00 before_7",
        "07/03 08:00 before_3",
        "08/03 08:00 due_day",
        "11/03 08:00 overdue",
    ]

    await load(sessionmaker, plan_text((NO_DAYS_OFF, "    days_off: [08/03/2024]\n")), clock)

    march = await planned(sessionmaker, date(2024, 3, 1), date(2024, 3, 12))
    assert slots_of(march, ids["hoa"], q1) == [
        "01/03 08:00 before_7",
        "07/03 08:00 due_day",  # before_3, before_1 and due_day all on Thursday: one message
        "11/03 08:00 overdue",
    ]
    assert not [r for r in march if r.slot_at.astimezone(TZ).date() == date(2024, 3, 8)]


async def test_office_hours_move_a_reminder(sessionmaker: Sessions, clock: FixedClock) -> None:
    text = plan_text((DEFAULT_HOURS, '    office_hours: "08:30-17:00"\n'))
    ids = await load_with_chats(sessionmaker, text, clock)
    q1 = await subject_id(sessionmaker, Obligation, "CCHC-Q1-2024")

    march = await planned(sessionmaker, date(2024, 3, 11), date(2024, 3, 13))

    # The 08:00 reminder waits for the office to open: the first overdue one at 08:30.
    assert slots_of(march, ids["hoa"], q1) == ["11/03 08:30 overdue", "13/03 08:30 overdue"]
    rows = await sweep_between(sessionmaker, "11/03/2024 07:00", "11/03/2024 08:15")
    assert not [r for r in rows if r.subject_id == q1 and r.subject_type == "obligation"]


async def test_on_the_make_up_saturday_the_clerk_nudges_at_once(
    desk: Conversation, story: BaBich, clock: FixedClock
) -> None:
    # An ordinary Saturday asks the clerk to confirm first; the make-up Saturday is a
    # working day of Ba Bích, so /nhac sends right away.
    clock.set(local("04/05/2024 10:00"))

    (sent,) = await desk.handle(story.chats["nhut"], CommandSent("nhac", "2.4"))

    assert sent.text.startswith(vi("clerk.remind.sent", code="2.4", count=3))


# -- the deadline rule -------------------------------------------------------------------------


@pytest.fixture
def settings(engine: object, database_url: str) -> Settings:
    """Settings for a database whose schema exists (the `engine` fixture creates it)."""
    return Settings(database_url=database_url)


async def dues(sessions: Sessions) -> dict[str, date | None]:
    async with sessions() as session:
        obligations = {o.code: o.due_date for o in await session.scalars(select(Obligation))}
        tasks = {t.code: t.due_date for t in await session.scalars(select(Task))}
    return {**obligations, **tasks}


async def test_next_working_day_moves_a_sunday_due_date_to_monday_for_everyone(
    settings: Settings, sessionmaker: Sessions, clock: FixedClock, tmp_path: Path
) -> None:
    path = tmp_path / "next-working-day.yaml"
    path.write_text(plan_text((KEEP, "    deadline_on_day_off: next_working_day\n")), "utf-8")

    await load_plan_command(settings, path, clock)

    got = await dues(sessionmaker)
    assert got["CCHC-Q1-2024"] == date(2024, 3, 11)  # Sun 10/03 → Mon 11/03
    assert got["CCHC-6T-2024"] == date(2024, 6, 10)  # a Monday: unchanged
    assert got["2.8"] == date(2024, 7, 1)  # Sun 30/06 → Mon 01/07
    assert got["2.3"] == date(2024, 12, 2)  # Sat 30/11 → Mon 02/12
    async with sessionmaker() as session:
        forward = {o.code: o.forward_due for o in await session.scalars(select(Obligation))}
    assert forward["CCHC-6T-2024"] == date(2024, 6, 17)  # Sat 15/06 → Mon 17/06
    assert forward["CCHC-Q1-2024"] == date(2024, 3, 15)  # a Friday: unchanged

    out = await show_plan(settings, 2024, clock)
    rule = t("plan.calendar.rule.next_working_day", "vi")
    assert rule.split(",")[0] in out and "Điều 148" in out
    [row] = [line for line in out.splitlines() if line.startswith("CCHC-Q1-2024")]
    assert "11/03/2024" in row and "10/03/2024" not in row

    # The reminders follow the one stored date: the due-day reminder is on Monday 11/03.
    async with sessionmaker() as session:
        people = {o.key: o for o in await session.scalars(select(Official))}
    await bind_chats(sessionmaker, people, clock.now())
    q1 = await subject_id(sessionmaker, Obligation, "CCHC-Q1-2024")
    march = await planned(sessionmaker, date(2024, 3, 8), date(2024, 3, 12))
    assert slots_of(march, people["hoa"].id, q1) == [
        "08/03 08:00 before_1",  # Sun 10/03 falls back to Friday, where before_3 is
        "11/03 08:00 due_day",
        "12/03 08:00 overdue",
    ]


async def test_keep_leaves_the_documents_date_and_plan_show_says_so(
    settings: Settings, sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load_plan_command(settings, EXAMPLE_PLAN, clock)

    got = await dues(sessionmaker)
    assert (got["CCHC-Q1-2024"], got["2.8"], got["2.3"]) == (
        date(2024, 3, 10),
        date(2024, 6, 30),
        date(2024, 11, 30),
    )
    out = await show_plan(settings, None, clock)
    assert t("plan.calendar.rule.keep", "vi") in out
    assert t("plan.calendar.hours_default", "vi", start="07:00", end="17:30") in out
    assert t("plan.calendar.working_days", "vi", days="thứ Bảy 04/05/2024") in out
    assert t("plan.calendar.days_off", "vi", days=t("plan.calendar.none", "vi")) in out
    assert max(len(line) for line in out.splitlines()) <= 100
    # Only the days of the year asked for are listed.
    later = await show_plan(settings, 2025, clock)
    assert t("plan.calendar.working_days", "vi", days=t("plan.calendar.none", "vi")) in later


# -- loading again -----------------------------------------------------------------------------


async def test_reloading_with_a_changed_calendar_updates_the_unit(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    first = await load(sessionmaker, example_text(), clock)
    assert first.unit_created
    changed = plan_text(
        (NO_DAYS_OFF, "    days_off: [26/04/2024, 08/03/2024]\n"),
        (DEFAULT_HOURS, '    office_hours: "07:30 – 17:00"\n'),
        (KEEP, "    deadline_on_day_off: next_working_day\n"),
    )

    report = await load(sessionmaker, changed, clock)

    # Q1's due date and three forwarding dates (on a Saturday or Sunday 15th) move to Monday.
    assert report.unit_updated and report.obligations.updated == 4
    async with sessionmaker() as session:
        unit = await session.scalar(select(Unit))
        assert unit is not None
        assert unit.days_off == ["2024-03-08", "2024-04-26"]
        assert unit.working_days == ["2024-05-04"]
        assert (unit.work_start, unit.work_end) == ("07:30", "17:00")
        assert unit.deadline_on_day_off == "next_working_day"
        config = policy_config(unit)
    assert config.extra_days_off == {date(2024, 3, 8), date(2024, 4, 26)}
    assert config.extra_working_days == {date(2024, 5, 4)}
    assert (config.work_start.strftime("%H:%M"), config.work_end.strftime("%H:%M")) == (
        "07:30",
        "17:00",
    )
    assert (await dues(sessionmaker))["CCHC-Q1-2024"] == date(2024, 3, 11)

    again = await load(sessionmaker, changed, clock)
    assert not again.changed

    back = await load(sessionmaker, example_text(), clock)
    assert back.unit_updated
    async with sessionmaker() as session:
        unit = await session.scalar(select(Unit))
        assert unit is not None
        assert (unit.days_off, unit.work_start, unit.work_end) == ([], None, None)
        assert unit.deadline_on_day_off == "keep"
    assert (await dues(sessionmaker))["CCHC-Q1-2024"] == date(2024, 3, 10)
