"""The plan fields of issue 16: the office's name, percentage decimals and sample flag of a
unit; a task's assigning document, product and illustrative roles — loaded, shown by
`plan show`, /status and the export; and the YAML plan's mistakes in Vietnamese."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.command_error import CommandError
from bot.plan_commands import load_plan, show_plan
from bot.settings import Settings
from db.clock import FixedClock
from db.models import Task, Unit
from db.plan import PlanError, parse_plan
from handlers.conversation import Conversation
from handlers.plan_errors import plan_error_text
from handlers.types import CommandSent
from tests.conftest import EXAMPLE_PLAN
from tests.factories import Commune
from tests.test_conversation import AN_CHAT, register
from tests.test_plan_loader import edit, example_text
from tests.wording import vi


async def test_the_example_loads_the_new_fields(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str, clock: FixedClock
) -> None:
    await load_plan(Settings(database_url=database_url), EXAMPLE_PLAN, clock)
    async with sessionmaker() as session:
        unit = await session.scalar(select(Unit).where(Unit.code == "ba-bich"))
        assert unit is not None
        assert (unit.office_name, unit.percent_decimals, unit.sample) == (
            "Văn phòng - Thống kê",
            1,
            True,
        )
        tasks = list(await session.scalars(select(Task).order_by(Task.code)))
    assert len(tasks) == 9 and all(task.roles_illustrative for task in tasks)
    assert {(t.basis_number, t.basis_issuer, t.basis_date) for t in tasks} == {
        ("…/TB-UBND", "UBND xã Ba Bích", None)
    }


def test_basis_and_product_are_read_and_checked() -> None:
    text = edit(
        example_text(),
        '    basis: {number: "…/TB-UBND", issuer: UBND xã Ba Bích}\n    roles_illustrative: true\n'
        "    lead: [tam]",
        "    basis: {number: 12/TB-UBND, date: 15/01/2024, issuer: UBND xã Ba Bích}\n"
        "    product: Báo cáo kết quả tuyên truyền\n    lead: [tam]",
    )
    task = parse_plan(text, "x.yaml").spec.tasks[1]
    assert task.basis is not None and task.basis.date == date(2024, 1, 15)
    assert (task.product, task.roles_illustrative) == ("Báo cáo kết quả tuyên truyền", False)
    with pytest.raises(PlanError):
        parse_plan(edit(text, "percent_decimals: 1", "percent_decimals: 5"), "x.yaml")


def test_a_yaml_mistake_reads_in_vietnamese_with_the_field_in_parentheses() -> None:
    text = edit(example_text(), "due: 30/11/2024", "due: 31/02/2024")
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "ke-hoach.yaml")
    line = text[: text.index("due: 31/02/2024")].count("\n") + 1
    assert plan_error_text(caught.value, "vi") == (
        f"ke-hoach.yaml, dòng {line}: Nhiệm vụ 2.3 (tasks[2].due): ngày «31/02/2024» không hợp lệ"
    )
    # The English words stay for developers and the logs.
    assert "is not a valid dd/mm/yyyy date" in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (
            "lead: [tam]",
            "lead: [tamm]",
            "Nhiệm vụ 2.2 (tasks[1].lead[0]): không có cán bộ mã «tamm»",
        ),
        (
            '    priority: true\n\n  - code: "2.5"',
            '    priorty: true\n\n  - code: "2.5"',
            "Nhiệm vụ 2.4 (tasks[3].priorty): trường «priorty» không có trong mẫu kế hoạch — "
            "có phải «priority»?",
        ),
        (
            "code: CCHC-6T\n",
            "code: CCHC-Q1\n",
            "Báo cáo CCHC-Q1 (reports[1].code): mã báo cáo «CCHC-Q1» bị trùng",
        ),
        (
            "      - from: 04/03/2024",
            "      - from: 2024-03-04",
            "Cán bộ Lê Thị Hồng (officials[5].leave[0].from): ngày «2024-03-04» phải ghi theo "
            "ngày/tháng/năm, ví dụ 10/03/2024",
        ),
    ],
)
def test_common_yaml_mistakes_in_vietnamese(old: str, new: str, says: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(edit(example_text(), old, new), "x.yaml")
    assert plan_error_text(caught.value, "vi").endswith(says)


async def test_the_cli_words_a_bad_plan_in_vietnamese(
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(edit(example_text(), "due: 30/11/2024", "due: 31/02/2024"), encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        await load_plan(Settings(database_url=database_url), bad, clock)
    assert "Nhiệm vụ 2.3 (tasks[2].due): ngày «31/02/2024» không hợp lệ" in str(caught.value)


async def test_plan_show_marks_sample_data_and_illustrative_roles(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str, clock: FixedClock
) -> None:
    settings = Settings(database_url=database_url)
    await load_plan(settings, EXAMPLE_PLAN, clock)
    shown = (await show_plan(settings, None, clock)).splitlines()
    assert shown[1] == vi("plan.show.sample")
    assert "DỮ LIỆU MẪU" in shown[1]
    assert vi("plan.show.illustrative") in shown
    assert any(line.startswith("2.2") and "Đinh Văn Tám*" in line for line in shown)


async def test_status_shows_the_assigning_document_and_the_product(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    task = await session.get(Task, commune.task_24.id)
    assert task is not None
    task.basis_number, task.basis_date = "12/TB-UBND", date(2024, 1, 15)
    task.basis_issuer, task.product = "UBND xã Ba Bích", "Báo cáo <số hóa> hồ sơ"
    await session.commit()
    await register(conversation, session, commune.an, AN_CHAT)

    (prompt,) = await conversation.handle(AN_CHAT, CommandSent("status", "2.4"))

    lines = prompt.text.splitlines()
    assert vi("plan.show.basis", basis="số 12/TB-UBND ngày 15/01/2024 của UBND xã Ba Bích") in lines
    assert vi("plan.show.product", product="Báo cáo &lt;số hóa&gt; hồ sơ") in lines
