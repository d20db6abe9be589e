"""Loading the plan into the database: the seed calendar, idempotence, edits, one transaction."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from db.clock import FixedClock
from db.files import FileStore
from db.models import (
    AssigneeRole,
    AuditEntry,
    Base,
    Channel,
    ChannelIdentity,
    Obligation,
    Official,
    StatusUpdate,
    Submission,
    Task,
    TaskState,
    Unit,
)
from db.plan import LoadReport, Plan, load_plan, parse_plan
from db.plan import loader as plan_loader
from tests.conftest import EXAMPLE_PLAN

Sessions = async_sessionmaker[AsyncSession]


def example_text() -> str:
    return EXAMPLE_PLAN.read_text(encoding="utf-8")


def example_plan(text: str | None = None) -> Plan:
    return parse_plan(example_text() if text is None else text, str(EXAMPLE_PLAN))


def edit(text: str, old: str, new: str) -> str:
    """Replace `old`, which must occur exactly once, so an edit cannot silently miss."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def drop_block(text: str, start: str, end: str) -> str:
    """Remove the lines from the one containing `start` up to (not including) `end`."""
    begin = text.index(start)
    begin = text.rindex("\n", 0, begin) + 1
    return text[:begin] + text[text.index(end, begin) :]


async def dump_database(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    dump = {}
    for table in Base.metadata.sorted_tables:
        rows = await session.execute(select(table).order_by(*table.primary_key.columns))
        dump[table.name] = [tuple(row) for row in rows]
    return dump


async def load(sessions: Sessions, plan: Plan, clock: FixedClock) -> LoadReport:
    async with sessions() as session:
        return await load_plan(session, plan, clock)


async def snapshot(sessions: Sessions) -> dict[str, list[tuple[Any, ...]]]:
    async with sessions() as session:
        return await dump_database(session)


async def test_the_seed_calendar_is_loaded_exactly(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    report = await load(sessionmaker, example_plan(), clock)

    assert report.unit_created
    assert (report.officials.created, report.tasks.created, report.obligations.created) == (
        12,
        9,
        4,
    )
    async with sessionmaker() as session:
        unit = await session.scalar(select(Unit))
        assert unit is not None
        assert (unit.code, unit.name, unit.timezone) == (
            "ba-bich",
            "UBND xã Ba Bích",
            "Asia/Ho_Chi_Minh",
        )
        assert unit.reports_to == "UBND huyện (qua Phòng Nội vụ)"

        obligations = list(
            await session.scalars(
                select(Obligation)
                .options(selectinload(Obligation.assignees), selectinload(Obligation.collector))
                .order_by(Obligation.due_date)
            )
        )
        assert [(o.code, o.due_date, o.window_start, o.window_end) for o in obligations] == [
            ("CCHC-Q1-2024", date(2024, 3, 10), date(2023, 12, 15), date(2024, 3, 14)),
            ("CCHC-6T-2024", date(2024, 6, 10), date(2023, 12, 15), date(2024, 6, 14)),
            ("CCHC-Q3-2024", date(2024, 9, 10), date(2024, 6, 15), date(2024, 9, 14)),
            ("CCHC-NAM-2024", date(2024, 12, 10), date(2023, 12, 15), date(2024, 12, 14)),
        ]
        officials = {o.key: o for o in await session.scalars(select(Official))}
        role_officials = {key for key, o in officials.items() if o.is_official and o.active}
        for obligation in obligations:
            assert obligation.kind == "cchc"
            assert obligation.active
            assert obligation.collector is not None and obligation.collector.key == "nhut"
            assert obligation.templates == [
                {"name": "de-cuong.docx", "source": "templates/cchc/de-cuong.docx", "path": None},
                {"name": "phu-luc.xlsx", "source": "templates/cchc/phu-luc.xlsx", "path": None},
            ]
            # Each names the province's report it feeds (examples/tinh-quang-ngai.yaml).
            assert obligation.forward_to == obligation.report_code
            submitters = {a.official_id for a in obligation.assignees}
            assert submitters == {officials[key].id for key in role_officials}
        assert obligations[0].title == "Báo cáo CCHC Quý I năm 2024"
        assert obligations[0].report_code == "CCHC-Q1"

        tasks = list(
            await session.scalars(
                select(Task).options(selectinload(Task.assignees)).order_by(Task.code)
            )
        )
        assert [t.code for t in tasks] == [f"2.{n}" for n in range(1, 10)]
        key_of = {o.id: key for key, o in officials.items()}
        for task in tasks:
            leads = [key_of[a.official_id] for a in task.assignees if a.role == AssigneeRole.LEAD]
            assert leads, f"task {task.code} has no lead"
            assert task.title and task.detail and task.source_ref
        by_code = {t.code: t for t in tasks}
        assert "Quyết định số 01/QĐ-UBND ngày 01/01/2024" in by_code["2.1"].source_ref
        assert "Quyết định số 123/QĐ-UBND ngày 22/12/2023" in by_code["2.9"].source_ref
        assert by_code["2.1"].checkin_rrule == "FREQ=MONTHLY;BYMONTHDAY=25"
        assert by_code["2.1"].checkin_start == date(2024, 2, 1)
        assert by_code["2.3"].due_date == date(2024, 11, 30)

    nhut, luong, manh = officials["nhut"], officials["luong"], officials["manh"]
    assert nhut.full_name.endswith("Nhứt")
    assert (nhut.is_official, nhut.is_clerk, nhut.is_leader) == (True, True, False)
    assert nhut.department == "Văn phòng - Thống kê"
    assert (luong.full_name, luong.position) == ("Phạm Văn Lương", "Chủ tịch UBND xã")
    assert (luong.is_official, luong.is_clerk, luong.is_leader) == (False, False, True)
    assert (manh.full_name, manh.position) == ("Phạm Văn Mạnh", "Phó Chủ tịch UBND xã")
    assert manh.is_leader and not manh.is_clerk
    assert manh.name_folded == "pham van manh"


async def test_the_leave_period_of_the_example_is_stored(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load(sessionmaker, example_plan(), clock)

    async with sessionmaker() as session:
        hong = await session.scalar(
            select(Official).where(Official.key == "hong").options(selectinload(Official.leaves))
        )
        assert hong is not None
        assert [(p.starts_on, p.ends_on) for p in hong.leaves] == [
            (date(2024, 3, 4), date(2024, 3, 15))
        ]
        assert hong.on_leave(date(2024, 3, 8))
        assert not hong.on_leave(date(2024, 3, 16))


async def test_loading_the_same_file_twice_changes_nothing(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    first = await load(sessionmaker, example_plan(), clock)
    before = await snapshot(sessionmaker)

    clock.set(datetime(2024, 3, 9, 2, 0, tzinfo=UTC))
    again = await load(sessionmaker, example_plan(), clock)

    assert first.changed
    assert not again.changed
    assert not again.unit_created and not again.unit_updated
    for tally in (again.officials, again.tasks, again.obligations):
        assert (tally.created, tally.updated, tally.deactivated) == (0, 0, 0)
    assert await snapshot(sessionmaker) == before
    assert len(before["audit_entries"]) == 1  # the first load only


async def test_the_first_load_is_audited_with_its_counts(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load(sessionmaker, example_plan(), clock)

    async with sessionmaker() as session:
        entry = await session.scalar(select(AuditEntry))
    assert entry is not None
    assert (entry.action, entry.actor, entry.at) == ("plan.load", "cli", clock.now())
    assert entry.details["tasks"] == {"created": 9, "updated": 0, "deactivated": 0}
    assert entry.details["obligations"]["created"] == 4
    assert entry.details["unit"] == "created"


def edited_example() -> str:
    """The example with a changed title, a task and an official gone, and a coordinator dropped."""
    text = example_text()
    text = edit(text, "title: Tuyên truyền về các chỉ số PAR INDEX, PCI", "title: Tuyên truyền PCI")
    text = drop_block(text, 'code: "2.7"', '  - code: "2.8"')
    text = edit(text, "coordinate: [son, hong, hung]", "coordinate: [son, hung]")
    text = drop_block(text, "key: dung", "\ntasks:")
    text = edit(text, "lan, son, dung]", "lan, son]")
    return text


async def add_work_in_between(sessions: Sessions, clock: FixedClock) -> None:
    """What officials did between two loads: an answer, a submission, a chat binding."""
    async with sessions() as session, session.begin():
        hong = await session.scalar(select(Official).where(Official.key == "hong"))
        dung = await session.scalar(select(Official).where(Official.key == "dung"))
        task = await session.scalar(select(Task).where(Task.code == "2.4"))
        q1 = await session.scalar(select(Obligation).where(Obligation.code == "CCHC-Q1-2024"))
        assert hong and dung and task and q1
        session.add_all(
            [
                StatusUpdate(
                    unit_id=task.unit_id,
                    task_id=task.id,
                    official_id=hong.id,
                    state=TaskState.IN_PROGRESS,
                    percent=40,
                    at=clock.now(),
                ),
                Submission(
                    unit_id=q1.unit_id,
                    obligation_id=q1.id,
                    official_id=dung.id,
                    version=1,
                    submitted_at=clock.now(),
                ),
                ChannelIdentity(
                    official_id=dung.id,
                    channel=Channel.TELEGRAM,
                    external_id="4242",
                    bound_at=clock.now(),
                ),
            ]
        )


async def test_an_edited_file_updates_deactivates_and_keeps_the_history(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load(sessionmaker, example_plan(), clock)
    await add_work_in_between(sessionmaker, clock)
    before = await snapshot(sessionmaker)

    report = await load(sessionmaker, example_plan(edited_example()), clock)

    # 2.2 title, 2.4 and 2.9 coordinators; 2.7 gone; dung gone from every report's submitters.
    assert (report.tasks.created, report.tasks.updated, report.tasks.deactivated) == (0, 3, 1)
    assert (report.officials.updated, report.officials.deactivated) == (0, 1)
    assert (report.obligations.updated, report.obligations.deactivated) == (4, 0)
    after = await snapshot(sessionmaker)
    for untouched in ("submissions", "status_updates", "channel_identities", "leave_periods"):
        assert after[untouched] == before[untouched], untouched
    assert after["audit_entries"][: len(before["audit_entries"])] == before["audit_entries"]
    assert len(after["audit_entries"]) == len(before["audit_entries"]) + 1

    async with sessionmaker() as session:
        tasks = {
            t.code: t
            for t in await session.scalars(select(Task).options(selectinload(Task.assignees)))
        }
        officials = {o.key: o for o in await session.scalars(select(Official))}
        assert tasks["2.2"].title == "Tuyên truyền PCI"
        assert not tasks["2.7"].active  # kept, not deleted
        assert all(tasks[code].active for code in tasks if code != "2.7")
        coordinators = {a.official_id for a in tasks["2.4"].assignees}
        assert officials["hong"].id not in coordinators
        assert officials["son"].id in coordinators
        assert not officials["dung"].active
        q1 = await session.scalar(
            select(Obligation)
            .where(Obligation.code == "CCHC-Q1-2024")
            .options(selectinload(Obligation.assignees))
        )
        assert q1 is not None
        assert officials["dung"].id not in {a.official_id for a in q1.assignees}
        assert len(q1.assignees) == 9


async def test_loading_the_original_again_brings_back_what_was_removed(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load(sessionmaker, example_plan(), clock)
    await load(sessionmaker, example_plan(edited_example()), clock)

    report = await load(sessionmaker, example_plan(), clock)

    assert (report.tasks.created, report.tasks.updated) == (0, 4)
    assert (report.officials.created, report.officials.updated) == (0, 1)
    async with sessionmaker() as session:
        inactive = await session.scalar(
            select(func.count()).select_from(Task).where(Task.active.is_(False))
        )
        dung = await session.scalar(select(Official).where(Official.key == "dung"))
    assert inactive == 0
    assert dung is not None and dung.active


async def test_leave_periods_are_replaced_to_match_the_file(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load(sessionmaker, example_plan(), clock)
    text = edit(
        example_text(),
        "      - from: 04/03/2024\n        to: 15/03/2024\n        note: Nghỉ phép năm\n",
        "      - from: 01/07/2024\n        to: 05/07/2024\n"
        "      - from: 02/09/2024\n        to: 03/09/2024\n        note: Nghỉ lễ\n",
    )

    report = await load(sessionmaker, example_plan(text), clock)

    assert report.officials.updated == 1
    async with sessionmaker() as session:
        hong = await session.scalar(
            select(Official).where(Official.key == "hong").options(selectinload(Official.leaves))
        )
    assert hong is not None
    assert [(p.starts_on, p.ends_on, p.note) for p in hong.leaves] == [
        (date(2024, 7, 1), date(2024, 7, 5), ""),
        (date(2024, 9, 2), date(2024, 9, 3), "Nghỉ lễ"),
    ]


async def test_rolling_the_calendar_forward_adds_the_new_years(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load(sessionmaker, example_plan(), clock)
    text = example_text().replace('years: "2024"', 'years: "2024-2025"')
    text = edit(text, "reports_to: UBND huyện (qua Phòng Nội vụ)", "reports_to: UBND tỉnh")

    report = await load(sessionmaker, example_plan(text), clock)

    assert report.unit_updated
    # The CCHC reports name the province's report they feed, so the unit's level leaves them.
    assert (report.obligations.created, report.obligations.updated) == (4, 0)
    async with sessionmaker() as session:
        codes = list(await session.scalars(select(Obligation.code).order_by(Obligation.due_date)))
    assert codes[-1] == "CCHC-NAM-2025"
    assert len(codes) == 8


async def test_a_failure_half_way_leaves_the_database_as_it_was(
    sessionmaker: Sessions, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load(sessionmaker, example_plan(), clock)
    before = await snapshot(sessionmaker)
    text = edit(example_text(), "name: Phạm Văn Dũng", "name: Phạm Văn Dũng (mới)")

    async def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    # The officials are written and flushed before the obligations fail.
    monkeypatch.setattr(plan_loader, "_sync_obligations", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        await load(sessionmaker, example_plan(text), clock)

    assert await snapshot(sessionmaker) == before


async def test_names_are_stored_in_nfc_and_folded_for_search(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    decomposed = "Phạm Văn Mạnh".replace("ạ", "a\u0323")
    text = edit(example_text(), "name: Phạm Văn Mạnh", f"name: {decomposed}")

    await load(sessionmaker, example_plan(text), clock)

    async with sessionmaker() as session:
        manh = await session.scalar(select(Official).where(Official.key == "manh"))
    assert manh is not None
    assert manh.full_name == "Phạm Văn Mạnh"
    assert manh.name_folded == "pham van manh"


def test_the_example_marks_every_invented_person_as_sample() -> None:
    spec = example_plan().spec
    real = {o.key for o in spec.officials if not o.sample}
    assert real == {"luong", "manh"}
    assert re.search(r"^# SAMPLE DATA", example_text(), flags=re.MULTILINE)


async def test_templates_are_copied_into_the_file_store_once(
    sessionmaker: Sessions, clock: FixedClock, tmp_path: Path
) -> None:
    store = FileStore(tmp_path / "data")
    async with sessionmaker() as session:
        await load_plan(session, example_plan(), clock, store)
    before = await snapshot(sessionmaker)
    async with sessionmaker() as session:
        again = await load_plan(session, example_plan(), clock, store)
        obligation = await session.scalar(select(Obligation).order_by(Obligation.id))
    assert not again.changed and await snapshot(sessionmaker) == before
    assert obligation is not None
    names = [t["name"] for t in obligation.templates]
    assert names == ["de-cuong.docx", "phu-luc.xlsx"]
    for template in obligation.templates:
        copied = store.path_of(template["path"]).read_bytes()
        assert copied == (EXAMPLE_PLAN.parent / template["source"]).read_bytes()


def test_the_templates_named_by_the_example_exist() -> None:
    for obligation in example_plan().obligations:
        for template in obligation.templates:
            path = EXAMPLE_PLAN.parent / template
            assert path.is_file(), template
            assert path.read_bytes()[:2] == b"PK"  # docx and xlsx are zip packages
