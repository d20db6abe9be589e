"""A "vướng mắc" answer keeps its reason after the deadline: /quahan, /tonghop and the clerk's
digest show "quá hạn — vướng mắc: <lý do>", not only "quá hạn"."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.answers import add_reason, record_status
from db.files import FileStore
from db.kinds import DIGEST_CLERK, TASK
from db.models import Reminder, TaskState
from handlers.clerk.context import Desk
from handlers.clerk.matrix import summary_text
from handlers.clerk.overdue import overdue_text
from handlers.reminder_messages import reminder_reply
from tests.factories import Commune
from tests.wording import vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
REASON = "Chờ số liệu dân cư của huyện"


async def test_a_blocked_task_past_its_deadline_shows_the_reason_everywhere(
    session: AsyncSession, commune: Commune, tmp_path: Path
) -> None:
    task = commune.task_24  # due 30/06/2024: An leads, Bình coordinates
    answered = datetime(2024, 6, 20, 9, tzinfo=TZ)
    update = await record_status(
        session, commune.binh, task, TaskState.BLOCKED, answered, actor="test"
    )
    await add_reason(session, commune.binh, update, REASON, answered, actor="test")
    await session.commit()

    now = datetime(2024, 7, 2, 9, tzinfo=TZ)
    desk = Desk(session, commune.unit.id, TZ, now, "vi")
    state = vi(
        "desk.state.joined",
        first=vi("desk.state.overdue", days=2),
        second=vi("desk.state.blocked", reason=REASON),
    )
    quahan = await overdue_text(desk, "2.4")
    tonghop = await summary_text(desk, "2.4")
    row = Reminder(
        unit_id=commune.unit.id,
        idempotency_key="test:digest",
        recipient_id=commune.clerk.id,
        subject_type=TASK,
        subject_id=task.id,
        kind=DIGEST_CLERK,
        slot_at=now.astimezone(UTC),
        due_at=now.astimezone(UTC),
        payload={"missing": []},
    )
    digest = await reminder_reply(session, row, FileStore(tmp_path))
    assert digest is not None
    for view in (quahan, tonghop, digest.text):
        assert state in about(view, "Lê Thị Bình")
        # An, who gave no answer, is only overdue.
        an = about(view, "Trần Văn An")
        assert vi("desk.state.overdue", days=2) in an
        assert vi("desk.state.blocked", reason=REASON) not in an


def about(view: str, name: str) -> str:
    """The line naming `name`, with the indented facts under it (where /quahan puts them)."""
    lines = [*view.split("\n"), ""]
    (i,) = [i for i, line in enumerate(lines) if name in line]
    return lines[i] + ("\n" + lines[i + 1] if lines[i + 1].startswith("  ") else "")
