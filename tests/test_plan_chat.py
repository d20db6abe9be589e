"""The clerk sends the plan workbook in the chat: checked, its changes shown, applied on a tap;
an official's workbook stays a report, and a workbook with mistakes changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.models import AuditEntry, Task
from db.plan import read_plan
from db.plan.workbook import read_workbook
from handlers import callbacks
from handlers.conversation import Conversation
from handlers.plan_workbook import plan_workbook
from handlers.types import ChoiceTapped, FilesSent
from tests.conftest import EXAMPLE_PLAN
from tests.test_appendix import an_xlsx
from tests.test_clerk_scenario import TZ, BaBich, load_ba_bich, local
from tests.test_plan_loader import dump_database
from tests.test_plan_workbook import three_mistakes
from tests.wording import vi

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def town(sessionmaker: Sessions, clock: FixedClock, tmp_path: Path) -> BaBich:
    clock.set(local(20, 1))
    return await load_ba_bich(sessionmaker, clock, tmp_path / "data")


@pytest.fixture
def chat(sessionmaker: Sessions, clock: FixedClock, town: BaBich) -> Conversation:
    return Conversation(sessionmaker, clock, town.store, TZ)


def with_a_new_task() -> bytes:
    spec = read_plan(EXAMPLE_PLAN).spec
    extra = spec.tasks[1].model_copy(update={"code": "3.1", "product": "Kế hoạch tuyên truyền"})
    return plan_workbook(spec.model_copy(update={"tasks": [*spec.tasks, extra]}))


async def snapshot(sessionmaker: Sessions) -> dict[str, object]:
    async with sessionmaker() as session:
        dump = await dump_database(session)
    # The chat's own bookkeeping moves with every message; the plan must not.
    return {k: v for k, v in dump.items() if k in ("units", "officials", "tasks", "task_assignees")}


async def test_the_clerk_sees_the_changes_and_applies_them_with_a_tap(
    chat: Conversation, town: BaBich, sessionmaker: Sessions
) -> None:
    before = await snapshot(sessionmaker)
    (reply,) = await chat.handle(
        town.chats["nhut"], FilesSent([an_xlsx("ke-hoach-2024.xlsx", with_a_new_task())])
    )
    assert reply.text.startswith("📋 Bảng kế hoạch «ke-hoach-2024.xlsx» của UBND xã Ba Bích")
    assert "thêm 1 nhiệm vụ" in reply.text
    (apply,), (cancel,) = reply.choices
    assert apply.label == vi("plan.chat.apply") and cancel.data == callbacks.CANCEL_DATA
    assert await snapshot(sessionmaker) == before  # shown, not applied

    (done,) = await chat.handle(town.chats["nhut"], ChoiceTapped(apply.data))

    assert done.text == vi("plan.chat.applied", unit="UBND xã Ba Bích", changes="thêm 1 nhiệm vụ")
    async with sessionmaker() as session:
        task = await session.scalar(select(Task).where(Task.code == "3.1"))
        assert task is not None and task.product == "Kế hoạch tuyên truyền"
        entry = await session.scalar(
            select(AuditEntry)
            .where(AuditEntry.action == "plan.load")
            .order_by(AuditEntry.id.desc())
        )
    # The plan as it stands can be exported again: the load names the stored workbook.
    assert entry is not None and entry.actor == f"telegram:{town.chats['nhut'].external_id}"
    assert read_workbook(Path(entry.details["file"])).spec.tasks[-1].code == "3.1"

    (again,) = await chat.handle(town.chats["nhut"], ChoiceTapped(apply.data))
    assert again.text == vi("plan.chat.gone")


async def test_a_workbook_with_three_mistakes_gets_three_lines_and_no_button(
    chat: Conversation, town: BaBich, sessionmaker: Sessions
) -> None:
    before = await snapshot(sessionmaker)
    (reply,) = await chat.handle(
        town.chats["nhut"], FilesSent([an_xlsx("ke-hoach.xlsx", three_mistakes())])
    )
    lines = reply.text.splitlines()
    assert lines[0].startswith("Bảng kế hoạch «ke-hoach.xlsx» có 3 lỗi, chưa nạp gì")
    assert [line.split(":")[0] for line in lines[1:]] == [
        "• Nhiệm vụ, dòng 4, cột Chủ trì",
        "• Nhiệm vụ, dòng 9, cột Thời hạn",
        "• Báo cáo, dòng 4, cột Nộp về",
    ]
    assert not reply.choices
    assert await snapshot(sessionmaker) == before


async def test_an_officials_workbook_stays_a_report(chat: Conversation, town: BaBich) -> None:
    (reply,) = await chat.handle(
        town.chats["hoa"], FilesSent([an_xlsx("ke-hoach.xlsx", with_a_new_task())])
    )
    assert "Bảng kế hoạch" not in reply.text
    assert all(
        not isinstance(callbacks.parse(choice.data), callbacks.PlanTap)
        for row in reply.choices
        for choice in row
    )


async def test_a_forged_plan_tap_changes_nothing(
    chat: Conversation, town: BaBich, sessionmaker: Sessions
) -> None:
    before = await snapshot(sessionmaker)
    (reply,) = await chat.handle(town.chats["nhut"], ChoiceTapped("pl:0123456789abcdef"))
    assert reply.text == vi("plan.chat.gone")
    (refused,) = await chat.handle(town.chats["hoa"], ChoiceTapped("pl:0123456789abcdef"))
    assert refused.text == vi("refuse.bad_choice")
    assert await snapshot(sessionmaker) == before
