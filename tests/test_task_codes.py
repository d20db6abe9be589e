"""Task codes sort the way people number them: 2.9, 2.10, then 10.1."""

from __future__ import annotations

import random
import unicodedata
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.overdue import OverdueFilter, overdue
from db.kinds import TASK
from db.models import AssigneeRole, Task, TaskAssignee
from db.task_codes import code_order, code_parts
from db.workload import task_items
from tests.factories import build_commune

ORDERED = [
    "2",
    "2.1",
    "2.1.1",
    "2.1a",
    "2.1b",
    "2.2",
    "2.3",
    "2.4",
    "2.5",
    "2.6",
    "2.7",
    "2.8",
    "2.9",
    "2.10",
    "2.11",
    "2.a",
    "2.B",
    "10.1",
    "a.1",
    "II.1",
]


def test_codes_sort_by_their_numbers_then_their_letters() -> None:
    shuffled = ORDERED[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=code_order) == ORDERED


@pytest.mark.parametrize(("a", "b"), [("2.10", "2-10"), ("2.10", "2 10"), ("2.A", "2.a")])
def test_punctuation_and_case_do_not_change_the_place(a: str, b: str) -> None:
    assert code_parts(a) == code_parts(b)


def test_the_order_is_total_and_does_not_depend_on_the_input() -> None:
    # Same parts, different spellings: the code itself decides, whatever order they came in.
    assert sorted(["2.1", "2.01"], key=code_order) == sorted(["2.01", "2.1"], key=code_order)
    assert code_order("2.01") != code_order("2.1")


def test_vietnamese_letters_compare_the_same_in_nfc_and_nfd() -> None:
    nfc = unicodedata.normalize("NFC", "2.Đ.ư")
    nfd = unicodedata.normalize("NFD", nfc)
    assert code_parts(nfc) == code_parts(nfd)
    assert code_parts(nfc) == ((0, 2, ""), (1, 0, "đ"), (1, 0, "ư"))


async def test_the_desk_and_the_officials_list_tasks_in_this_order(session: AsyncSession) -> None:
    commune = await build_commune(session)
    codes = ["10.1", "2.a", "2.10", "2.9"]
    tasks = [
        Task(unit_id=commune.unit.id, code=code, title=code, due_date=date(2024, 6, 30))
        for code in codes
    ]
    session.add_all(tasks)
    await session.flush()
    session.add_all(
        TaskAssignee(task_id=task.id, official_id=commune.an.id, role=AssigneeRole.LEAD)
        for task in tasks
    )
    await session.commit()
    expected = sorted([*codes, "2.4"], key=code_order)
    assert expected == ["2.4", "2.9", "2.10", "2.a", "10.1"]

    groups = await overdue(session, commune.unit.id, date(2024, 7, 15), OverdueFilter())
    assert [g.code for g in groups if g.kind == TASK] == expected
    items = await task_items(session, commune.an.id)
    assert [i.task.code for i in items if i.task.due_date] == expected
