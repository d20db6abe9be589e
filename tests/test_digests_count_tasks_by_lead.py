"""Digests count a task by its lead (chủ trì) and list its coordinators (phối hợp) apart: the
lead owns the task's status."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.answers import record_status
from db.files import FileStore
from db.kinds import DIGEST_LEADERS, TASK
from db.models import Official, Reminder, TaskState
from handlers.clerk.digest import digest
from handlers.reminder_messages import reminder_reply
from tests.factories import Commune
from tests.wording import vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 7, 3, 8, tzinfo=TZ)  # task 2.4 was due 30/06/2024


def leaders_digest(commune: Commune) -> Reminder:
    return Reminder(
        unit_id=commune.unit.id,
        idempotency_key="test:digest",
        recipient_id=commune.leader.id,
        subject_type=TASK,
        subject_id=commune.task_24.id,
        kind=DIGEST_LEADERS,
        slot_at=NOW.astimezone(UTC),
        due_at=NOW.astimezone(UTC),
        payload={"missing": []},
    )


async def done(session: AsyncSession, who: Official, commune: Commune) -> None:
    at = datetime(2024, 6, 28, 9, tzinfo=TZ)
    await record_status(session, who, commune.task_24, TaskState.DONE, at, actor="test")
    await session.commit()


async def test_the_lead_not_done_is_counted_and_coordinators_are_listed_apart(
    session: AsyncSession, commune: Commune, tmp_path: Path
) -> None:
    reply = await reminder_reply(session, leaders_digest(commune), FileStore(tmp_path))
    assert reply is not None
    lines = reply.text.split("\n")
    assert lines[0] == vi(
        "desk.digest_task_by_lead",
        code="2.4",
        title="Đẩy mạnh số hóa hồ sơ &lt;TTHC&gt; &amp; kết nối dữ liệu dân cư",
        due="30/06/2024",
        share="1/1",
        rate="chiếm 100,0%",
    )
    assert lines[1].startswith("• Trần Văn An —")  # the lead
    assert lines[2] == vi("desk.overdue.coordinators")
    assert lines[3].startswith("• Lê Thị Bình —")

    text, _ = await digest(session, commune.unit.id, NOW, "vi")
    line = vi("desk.digest.overdue_task_by_lead", code="2.4", share="1/1", rate="chiếm 100,0%")
    coordinators = vi("desk.digest.coordinators", names="Lê Thị Bình")
    assert f"{line}{coordinators}" in text.split("\n")


async def test_a_task_its_lead_finished_is_not_in_the_digest(
    session: AsyncSession, commune: Commune, tmp_path: Path
) -> None:
    await done(session, commune.an, commune)
    # Bình, coordinating, has not said "done": the task is the lead's, and he has finished.
    reply = await reminder_reply(session, leaders_digest(commune), FileStore(tmp_path))
    assert reply is None
    text, _ = await digest(session, commune.unit.id, NOW, "vi")
    line = vi("desk.digest.overdue_task_by_lead", code="2.4", share="0/1", rate="chiếm 0,0%")
    coordinators = vi("desk.digest.coordinators", names="Lê Thị Bình")
    assert f"{line}{coordinators}" in text.split("\n")


async def test_a_coordinator_done_does_not_count_for_the_lead(
    session: AsyncSession, commune: Commune, tmp_path: Path
) -> None:
    await done(session, commune.binh, commune)
    reply = await reminder_reply(session, leaders_digest(commune), FileStore(tmp_path))
    assert reply is not None
    assert "1/1" in reply.text.split("\n")[0]
    assert "Lê Thị Bình" not in reply.text and vi("desk.overdue.coordinators") not in reply.text
