"""Every view agrees on an official's latest status answer, even with a backdated clock.

The latest answer is the one recorded last (db.answers). With `--at` set back, an answer can
be recorded after another one yet carry an earlier `at`; views that ordered by `at` used to
disagree with views that ordered by id.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from db import answers, kinds
from db.desk.overdue import overdue
from db.desk.standing import task_standings
from db.files import FileStore
from db.models import Channel, ChannelIdentity, Official, Reminder, TaskState
from db.workload import task_items
from handlers.catalog import t
from handlers.presenting import last_answer
from handlers.reminder_messages import reminder_reply
from handlers.status import prompt_for
from handlers.turn import Turn
from handlers.types import Sender
from scheduler.snapshot import load_snapshot
from tests.factories import Commune, build_commune

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LATER = datetime(2024, 7, 10, 9, 0, tzinfo=TZ)  # after task 2.4's due date, 30/06/2024
EARLIER = datetime(2024, 6, 20, 9, 0, tzinfo=TZ)
TODAY = date(2024, 7, 15)


async def answer_twice(session: AsyncSession, first: TaskState, then: TaskState) -> Commune:
    """An answers task 2.4 with `first` stamped 10/07, then with `then` stamped 20/06."""
    commune = await build_commune(session)
    for state, at in ((first, LATER), (then, EARLIER)):
        await answers.record_status(
            session, commune.an, commune.task_24, state, at, actor="test", note=state.value
        )
    await session.commit()
    return commune


def reminder(commune: Commune, kind: str, recipient: Official, **payload: object) -> Reminder:
    return Reminder(
        unit_id=commune.unit.id,
        idempotency_key=f"test:{kind}:{recipient.id}",
        recipient_id=recipient.id,
        subject_type=kinds.TASK,
        subject_id=commune.task_24.id,
        kind=kind,
        slot_at=LATER,
        due_at=LATER,
        payload=dict(payload),
    )


async def status_prompt(session: AsyncSession, commune: Commune) -> str:
    identity = ChannelIdentity(
        official=commune.an, channel=Channel.TELEGRAM, external_id="1001", bound_at=LATER
    )
    session.add(identity)
    sender = Sender(Channel.TELEGRAM, "1001", "An")
    turn = Turn(session, sender, datetime(2024, 7, 15, 9, 0, tzinfo=TZ), TZ, "vi", identity)
    return (await prompt_for(turn, commune.task_24)).text


@pytest.mark.parametrize(
    ("first", "then"),
    [(TaskState.DONE, TaskState.IN_PROGRESS), (TaskState.IN_PROGRESS, TaskState.DONE)],
)
async def test_every_view_takes_the_answer_recorded_last(
    session: AsyncSession, tmp_path: Path, first: TaskState, then: TaskState
) -> None:
    commune = await answer_twice(session, first, then)
    an, task = commune.an, commune.task_24
    done = then is TaskState.DONE

    latest = await answers.latest_answer(session, task.id, an.id)
    assert latest is not None and (latest.state, latest.note) == (then, then.value)
    batch = await answers.latest_answers_for(session, task.id, {an.id, commune.binh.id})
    assert set(batch) == {an.id} and batch[an.id].id == latest.id

    # The official's status prompt shows the answer recorded last, with its own date.
    shown = last_answer(then, EARLIER, TZ, "vi")
    assert shown in await status_prompt(session, commune)

    # Reminder rendering: a check-in still goes out (showing that answer) unless it is "done";
    # the clerk's digest lists An as missing unless it is "done".
    checkin = await reminder_reply(
        session, reminder(commune, kinds.CHECKIN, an), FileStore(tmp_path / "data")
    )
    if done:
        assert checkin is None
    else:
        assert checkin is not None and shown in checkin.text
    digest = await reminder_reply(
        session,
        reminder(
            commune,
            kinds.DIGEST_CLERK,
            commune.clerk,
            missing=[{"official_id": an.id}],
            due_date="2024-06-30",
            code=task.code,
            title=task.title,
        ),
        FileStore(tmp_path / "data"),
    )
    assert (digest is None) if done else (digest is not None and an.full_name in digest.text)

    # The sweep's snapshot: "done" stops An's reminders.
    snapshot = await load_snapshot(session, commune.unit.id)
    (view,) = [v for v in snapshot.tasks if v.id == task.id]
    assert {a.official_id: a.done for a in view.assignees}[an.id] is done

    # The official's own list of tasks.
    (item,) = [i for i in await task_items(session, an.id) if i.task.id == task.id]
    assert (item.last_state, item.last_at, item.open) == (then, EARLIER, not done)

    # The desk: /overdue lists An on 2.4 unless "done", with the answer recorded last.
    groups = [g for g in await overdue(session, commune.unit.id, TODAY) if g.kind == kinds.TASK]
    late = {row.official_id: row for g in groups if g.subject_id == task.id for row in g.rows}
    if done:
        assert an.id not in late
    else:
        assert (late[an.id].last_state, late[an.id].last_at) == (then, EARLIER)
    assert commune.binh.id in late

    # The desk's matrix of the task.
    standings = {s.official.id: s for s in await task_standings(session, task, TODAY)}
    assert standings[an.id].last is not None
    assert standings[an.id].last.id == latest.id


async def test_no_answer_is_no_latest_answer(session: AsyncSession) -> None:
    commune = await build_commune(session)
    assert await answers.latest_answer(session, commune.task_24.id, commune.an.id) is None
    assert await answers.latest_answers_for(session, commune.task_24.id, {commune.an.id}) == {}
    assert await answers.latest_answers_for(session, commune.task_24.id, set()) == {}
    assert t("tasks.no_answer", "vi") in await status_prompt(session, commune)
