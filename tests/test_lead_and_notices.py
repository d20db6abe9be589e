"""Issue 14: a task's lead and coordinators, and the notice of a new assignment, end to end.

The sweep writes the outbox from the database, the renderer says it: a coordinator is reminded
before the deadline and asked to send their part to the lead, the lead alone is chased after
it; a coordinator's tap is their part, the task's status is the lead's; a plan load tells each
new assignee once, and a reload only the new ones.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import answers
from db.clock import FixedClock
from db.files import FileStore
from db.kinds import ASSIGNED, CHECKIN, DUE_DAY, OVERDUE, TASK
from db.models import (
    Channel,
    ChannelIdentity,
    Obligation,
    Official,
    Reminder,
    SweepMark,
    Task,
    TaskState,
)
from db.plan import load_plan, parse_plan
from db.workload import task_items
from handlers.callbacks import status_data
from handlers.conversation import Conversation
from handlers.reminder_messages import reminder_reply
from handlers.types import ChoiceTapped, CommandSent, Sender
from scheduler.snapshot import load_snapshot
from scheduler.sweep import sweep_all
from tests.conftest import EXAMPLE_PLAN
from tests.factories import Commune
from tests.plans import bind_chats, load_example
from tests.test_clerk_cli import plain
from tests.test_conversation import register
from tests.wording import state, vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
Sessions = async_sessionmaker[AsyncSession]
BINH_CHAT = Sender(Channel.TELEGRAM, "1002", "Bình")
AN_CHAT = Sender(Channel.TELEGRAM, "1001", "An")


def local(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M").replace(tzinfo=TZ)


async def sweep_days(sessionmaker: Sessions, first: date, last: date) -> None:
    """Sweep once each evening from `first` to `last`: every day's slots are written."""
    day = first
    while day <= last:
        async with sessionmaker() as session, session.begin():
            await sweep_all(
                session, datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=18)
            )
        day += timedelta(days=1)


async def rows_of(sessionmaker: Sessions, kind: str | None = None) -> list[Reminder]:
    async with sessionmaker() as session:
        query = select(Reminder).order_by(Reminder.slot_at, Reminder.id)
        if kind is not None:
            query = query.where(Reminder.kind == kind)
        return list(await session.scalars(query))


async def reachable(session: AsyncSession, *people: Official) -> None:
    for i, person in enumerate(people):
        session.add(
            ChannelIdentity(
                official_id=person.id,
                channel=Channel.TELEGRAM,
                external_id=str(5000 + i),
                bound_at=local("01/01/2024 08:00"),
                reachable=True,
            )
        )
    await session.commit()


# -- lead and coordinators -------------------------------------------------------------------------


async def test_the_coordinator_is_asked_for_their_part_and_only_the_lead_is_chased(
    sessionmaker: Sessions, session: AsyncSession, commune: Commune, tmp_path: Path
) -> None:
    # Task 2.4 (due Sunday 30/06/2024): An leads, Bình coordinates; a check-in every Monday.
    task = await session.get(Task, commune.task_24.id)
    assert task is not None
    task.checkin_rrule = "FREQ=WEEKLY;BYDAY=MO"
    task.checkin_start = date(2024, 6, 1)
    await reachable(session, commune.an, commune.binh, commune.clerk, commune.leader)
    await sweep_days(sessionmaker, date(2024, 6, 1), date(2024, 7, 31))
    rows = [r for r in await rows_of(sessionmaker) if r.subject_type == TASK]
    an = [r for r in rows if r.subject_id == task.id and r.recipient_id == commune.an.id]
    binh = [r for r in rows if r.subject_id == task.id and r.recipient_id == commune.binh.id]
    # The coordinator: the before-deadline reminders and the due day, nothing after.
    assert [r.kind for r in binh] == ["before_7", "before_3", DUE_DAY]
    assert all(r.slot_at.astimezone(TZ).date() <= date(2024, 6, 30) for r in binh)
    # The lead: check-ins up to the deadline, then the overdue cadence.
    checkins = [r.slot_at.astimezone(TZ).date() for r in an if r.kind == CHECKIN]
    assert checkins and max(checkins) <= date(2024, 6, 30)
    assert [r.kind for r in an].count(OVERDUE) == 7
    assert {r.kind for r in an} - {CHECKIN, OVERDUE, DUE_DAY} == {"before_7", "before_3"}

    store = FileStore(tmp_path)
    reply = await reminder_reply(session, binh[-1], store)
    assert reply is not None
    assert vi("assign.send_to_lead", leads="Trần Văn An") in reply.text
    assert plain(reply.text).startswith("⏰")
    lead_reply = await reminder_reply(session, an[-1], store)
    assert lead_reply is not None and "assign" not in lead_reply.text
    assert vi("assign.send_to_lead", leads="Trần Văn An") not in lead_reply.text
    # Were an overdue reminder written for Bình while she led (the plan moved her since),
    # it would not be sent: overdue reminders are the lead's.
    stale = Reminder(
        unit_id=commune.unit.id,
        idempotency_key="stale",
        recipient_id=commune.binh.id,
        subject_type=TASK,
        subject_id=task.id,
        kind=OVERDUE,
        slot_at=an[-1].slot_at,
        due_at=an[-1].slot_at,
        payload=an[-1].payload,
    )
    assert await reminder_reply(session, stale, store) is None


async def test_a_coordinator_tap_is_their_part_and_the_status_stays_the_leads(
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    sessionmaker: Sessions,
    clock: FixedClock,
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await register(conversation, session, commune.binh, BINH_CHAT)
    task_id = commune.task_24.id
    (reply,) = await conversation.handle(
        BINH_CHAT, ChoiceTapped(status_data(task_id, TaskState.DONE))
    )
    done = state("done")
    assert reply.notice == vi("assign.part_recorded_notice", state=done)
    assert reply.text.endswith(
        vi("assign.part_recorded", state=done, time="08/03/2024 08:00", leads="Trần Văn An")
    )
    assert vi("tasks.no_answer") in reply.text  # the task's status: the lead has not answered
    await session.commit()
    assert await answers.task_status(session, task_id) is None
    snapshot = await load_snapshot(session, commune.unit.id)
    (view,) = [t for t in snapshot.tasks if t.id == task_id]
    assert {(a.official_id, a.role, a.done) for a in view.assignees} == {
        (commune.an.id, "lead", False),
        (commune.binh.id, "coordinate", True),  # her part is done: no more reminders to her
    }

    clock.set(clock.now() + timedelta(hours=1))
    (lead,) = await conversation.handle(
        AN_CHAT, ChoiceTapped(status_data(task_id, TaskState.IN_PROGRESS))
    )
    assert lead.notice == vi("status.recorded_notice", state=state("in_progress"))
    (prompt,) = await conversation.handle(BINH_CHAT, CommandSent("status", "2.4"))
    in_progress = vi("tasks.last_answer", state=state("in_progress"), date="08/03/2024")
    mine = vi("tasks.last_answer", state=done, date="08/03/2024")
    # The task's status is the lead's answer; her own part is shown apart.
    assert in_progress in prompt.text and in_progress not in prompt.text.splitlines()[-1]
    assert vi("assign.own_part", status=mine, leads="Trần Văn An") in prompt.text

    await conversation.handle(AN_CHAT, ChoiceTapped(status_data(task_id, TaskState.DONE)))
    await session.commit()
    status = await answers.task_status(session, task_id)
    assert status is not None and status.state is TaskState.DONE
    snapshot = await load_snapshot(session, commune.unit.id)
    (view,) = [t for t in snapshot.tasks if t.id == task_id]
    assert all(a.done for a in view.assignees)


async def test_when_the_lead_says_done_the_task_is_done_for_its_coordinators_too(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    task_id = commune.task_24.id
    await conversation.handle(AN_CHAT, ChoiceTapped(status_data(task_id, TaskState.DONE)))
    await session.commit()
    # Bình said nothing, yet nothing is left to her: not in her open work, not reminded.
    (item,) = [i for i in await task_items(session, commune.binh.id) if i.task.id == task_id]
    assert item.last_state is None and item.task_state is TaskState.DONE and not item.open
    snapshot = await load_snapshot(session, commune.unit.id)
    (view,) = [t for t in snapshot.tasks if t.id == task_id]
    assert all(a.done for a in view.assignees)


# -- assignment notices ---------------------------------------------------------------------------

NEW_TASK = """
  - code: "9.1"
    title: Kiểm tra việc niêm yết thủ tục hành chính
    detail: Kiểm tra, cập nhật bảng niêm yết tại Bộ phận một cửa.
    source: Kế hoạch bổ sung
    lead: [hoa]
    coordinate: [thu]
    due: 30/04/2024

reports:"""


async def test_a_plan_load_tells_each_new_assignee_once_and_a_reload_only_the_new_ones(
    sessionmaker: Sessions, tmp_path: Path
) -> None:
    # Loaded on Thursday evening 29/02/2024: the notices go at Friday's 08:00.
    clock = FixedClock(local("29/02/2024 20:00"))
    people = await load_example(sessionmaker, clock)
    await bind_chats(sessionmaker, people, clock.now())
    await sweep_days(sessionmaker, date(2024, 3, 1), date(2024, 3, 3))
    notices = await rows_of(sessionmaker, ASSIGNED)
    assert notices
    assert {r.slot_at.astimezone(TZ).time() for r in notices} == {
        datetime.min.time().replace(hour=8)
    }
    assert Counter(r.slot_at for r in notices).most_common(1)[0][0] == local("01/03/2024 08:00")
    pairs = Counter((r.recipient_id, r.subject_type, r.subject_id) for r in notices)
    assert set(pairs.values()) == {1}
    async with sessionmaker() as session:
        # Nothing past its deadline: no report due before 01/03 is announced.
        announced = {r.subject_id or 0 for r in notices if r.subject_type == "obligation"}
        dues = dict((await session.execute(select(Obligation.id, Obligation.due_date))).all())
        assert min(dues[i] for i in announced) >= date(2024, 3, 1)
        assert {i for i, due in dues.items() if due < date(2024, 3, 1)}.isdisjoint(announced)
        # A notice and a reminder of the same subject never share a slot.
        rows = await rows_of(sessionmaker)
        same_slot = Counter((r.recipient_id, r.subject_type, r.subject_id, r.slot_at) for r in rows)
        assert set(same_slot.values()) == {1}
        # Hoa's notice of task 2.1, which she coordinates (Nhứt leads): two short lines.
        hoa = people["hoa"]
        task_21 = await session.scalar(select(Task.id).where(Task.code == "2.1"))
        (row,) = [r for r in notices if r.recipient_id == hoa.id and r.subject_id == task_21]
        reply = await reminder_reply(session, row, FileStore(tmp_path))
        assert reply is not None
        role = vi("assign.role_coordinate", leads="Trần Văn Nhứt")
        assert reply.text.startswith(vi("assign.notice", title="", due="", role="").split("<b>")[0])
        assert reply.text.endswith(f"{vi('assign.no_due')} · {role}")
        assert len(reply.text.splitlines()) == 2

    # Sweeping the same morning again (a second process, a lost mark) writes nothing new.
    before = len(await rows_of(sessionmaker))
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(SweepMark))
    await sweep_days(sessionmaker, date(2024, 3, 1), date(2024, 3, 3))
    assert len(await rows_of(sessionmaker)) == before

    # A reload adding one task on Monday 04/03 at 10:00: its two people hear of it on
    # Tuesday, once, and nobody else hears anything again.
    clock.set(local("04/03/2024 10:00"))
    text = EXAMPLE_PLAN.read_text(encoding="utf-8").replace("\nreports:", NEW_TASK, 1)
    async with sessionmaker() as session:
        await load_plan(session, parse_plan(text, str(EXAMPLE_PLAN)), clock)
    await sweep_days(sessionmaker, date(2024, 3, 4), date(2024, 3, 12))
    fresh = [
        r for r in await rows_of(sessionmaker, ASSIGNED) if r.id not in {n.id for n in notices}
    ]
    assert sorted((r.recipient_id, r.payload["role"], r.slot_at) for r in fresh) == sorted(
        [
            (people["hoa"].id, "lead", local("05/03/2024 08:00")),
            (people["thu"].id, "coordinate", local("05/03/2024 08:00")),
        ]
    )
    async with sessionmaker() as session:
        lead = await reminder_reply(session, fresh[0], FileStore(tmp_path))
        assert lead is not None and "9.1" in lead.text and "30/04/2024" in lead.text
