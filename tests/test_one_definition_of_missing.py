"""One definition of "chưa nộp": every view of the desk counts the same people at one instant.

A property over many random states, drawn from a seeded generator (each state is a database,
which Hypothesis's shrinking could not replay cheaply): submissions on time, late or sent back,
approved extensions, leave, "blocked" answers with their reasons, and the instant the clerk
looks. An oracle written here from the raw state says who has not handed in (not finished) and
how each is marked; /quahan, /tonghop, the clerk's digest, the weekly digest and the Excel
export must all name exactly those people, count them out of the same total, and show the same
marks.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.answers import add_reason, record_status
from db.chase import CHASE_DAYS
from db.desk.overdue import OverdueFilter, overdue
from db.desk.review import review
from db.files import FileStore
from db.kinds import DIGEST_CLERK, DIGEST_LEADERS, OBLIGATION, TASK
from db.models import (
    AssigneeRole,
    LeavePeriod,
    Obligation,
    ObligationAssignee,
    Official,
    Reminder,
    ReviewState,
    Task,
    TaskAssignee,
    TaskState,
    Unit,
)
from db.names import fold_name
from db.submissions import submit
from handlers.clerk.context import Desk
from handlers.clerk.digest import digest
from handlers.clerk.export import write_export
from handlers.clerk.matrix import summary_text
from handlers.clerk.overdue import overdue_text
from handlers.rates import rate, share
from handlers.reminder_messages import reminder_reply
from tests.factories import Commune
from tests.wording import vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
STATES = 16
GIVEN = ["An", "Bình", "Chi", "Dũng", "Hoa", "Lan", "Mai", "Sơn"]
REASONS = ["Thiếu máy scan", "Chờ số liệu của xã", "Mất điện"]


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=TZ).astimezone(UTC)


@dataclass
class Person:
    official: Official
    due: date  # the date that holds for them (an extension moves it)
    extended: bool = False
    leave_until: date | None = None
    handed_in: bool = False
    returned: bool = False
    role: AssigneeRole | None = None
    done: bool = False
    blocked_reason: str | None = None  # their latest answer is "blocked"


@dataclass
class State:
    unit: Unit
    clerk: Official
    report: Obligation
    task: Task
    today: date
    submitters: list[Person] = field(default_factory=list)
    assignees: list[Person] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        return at(self.today)


def _official(unit: Unit, key: str, name: str, **roles: bool) -> Official:
    return Official(
        unit=unit,
        key=key,
        full_name=name,
        name_folded=fold_name(name),
        position="Công chức",
        department=f"Bộ phận {key}",
        is_official=True,
        is_clerk=roles.get("clerk", False),
        is_leader=False,
        active=True,
        language="vi",
    )


async def _random_state(session: AsyncSession, rng: random.Random, n: int) -> State:
    """A unit with one report and one task, and a random history up to a random instant."""
    unit = Unit(code=f"xa-{n}", name=f"UBND xã Thử {n}", timezone="Asia/Ho_Chi_Minh")
    clerk = _official(unit, f"clerk{n}", "Nguyễn Văn Nhứt", clerk=True)
    count = rng.randint(3, 6)
    people = [
        _official(unit, f"p{n}-{i}", f"{rng.choice(['Trần', 'Lê', 'Phạm'])} Văn {GIVEN[i]}")
        for i in range(count)
    ]
    session.add_all([unit, clerk, *people])
    await session.flush()
    due = date(2024, 3, 1) + timedelta(days=rng.randint(0, 200))
    # Before the deadline, within the extensions' reach, or after the reminders ended.
    today = due + timedelta(days=rng.choice([rng.randint(-3, 0), rng.randint(1, 12), 45]))
    report = Obligation(
        unit_id=unit.id,
        code=f"BC-{n}-2024",
        report_code=f"BC-{n}",
        kind="cchc",
        title=f"Báo cáo thử {n}",
        due_date=due,
        window_start=due - timedelta(days=90),
        window_end=due + timedelta(days=4),
        templates=[],
        collector=clerk,
        active=True,
        chase_days=rng.choice([CHASE_DAYS, 10]),
    )
    task = Task(
        unit_id=unit.id,
        code=f"9.{n}",
        title=f"Nhiệm vụ thử {n}",
        detail="",
        source_ref="",
        due_date=due,
        priority=False,
        active=True,
    )
    session.add_all([report, task])
    await session.flush()
    state = State(unit, clerk, report, task, today)
    for i, official in enumerate(people):
        extended = rng.random() < 0.25
        theirs = due + timedelta(days=rng.randint(1, 20)) if extended else due
        person = Person(official, theirs, extended)
        if rng.random() < 0.3:
            start = today - timedelta(days=rng.randint(0, 5))
            end = max(start, today + timedelta(days=rng.randint(-2, 5)))  # may end before today
            session.add(LeavePeriod(official_id=official.id, starts_on=start, ends_on=end))
            person.leave_until = end if start <= today <= end else None
        session.add(
            ObligationAssignee(
                obligation_id=report.id,
                official_id=official.id,
                extended_due=theirs if extended else None,
            )
        )
        role = AssigneeRole.LEAD if i == 0 else AssigneeRole.COORDINATE
        task_person = Person(official, theirs, extended, person.leave_until, role=role)
        session.add(
            TaskAssignee(
                task_id=task.id,
                official_id=official.id,
                role=role,
                extended_due=theirs if extended else None,
            )
        )
        state.submitters.append(person)
        state.assignees.append(task_person)
    await session.flush()
    start = today - timedelta(days=30)
    for person in state.submitters:
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            when = at(start, 7) + timedelta(hours=rng.randint(0, 30 * 24 - 1))
            version = await submit(session, person.official, report, [], when, TZ, actor="test")
            person.handed_in, person.returned = True, False
            if rng.random() < 0.3:
                await review(
                    session, version, ReviewState.RETURNED, clerk, when, actor="test", comment="x"
                )
                person.handed_in, person.returned = False, True
    for person in state.assignees:
        for _ in range(rng.randint(0, 2)):
            when = at(start, 7) + timedelta(hours=rng.randint(0, 30 * 24 - 1))
            answer = rng.choice([TaskState.DONE, TaskState.IN_PROGRESS, TaskState.BLOCKED])
            update = await record_status(session, person.official, task, answer, when, actor="test")
            person.done = answer is TaskState.DONE
            person.blocked_reason = None
            if answer is TaskState.BLOCKED:
                reason = rng.choice(REASONS)
                await add_reason(session, person.official, update, reason, when, actor="test")
                person.blocked_reason = reason
    await session.commit()
    return state


def _marks(person: Person, today: date, chase_days: int) -> list[str]:
    """The oracle's marks of someone who has not handed in (finished)."""
    marks = []
    if person.due < today:
        marks.append(vi("desk.state.overdue", days=(today - person.due).days))
        if person.blocked_reason is not None:
            marks.append(vi("desk.state.blocked", reason=person.blocked_reason))
        if today > person.due + timedelta(days=chase_days):
            marks.append(vi("desk.state.chase_ended"))
    if person.extended:
        marks.append(vi("clerk.overdue.extended", due=person.due.strftime("%d/%m/%Y")))
    if person.leave_until is not None:
        marks.append(vi("clerk.on_leave_until", date=person.leave_until.strftime("%d/%m/%Y")))
    if person.returned:
        marks.append(vi("clerk.returned_on", date="").strip())
    return marks


def _chunk(text: str, name: str) -> str:
    """The line naming `name` and the facts line under it (/quahan puts them below)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if f"{name}</b>" in line or re.search(rf"• {re.escape(name)}( —|$)", line):
            return "\n".join(lines[i : i + 2])
    raise AssertionError(f"{name} is not in:\n{text}")


def _named(text: str, names: set[str]) -> set[str]:
    text += "\n"
    return {n for n in names if f"<b>{n}</b>" in text or f"• {n} —" in text or f"• {n}\n" in text}


async def _check_report(session: AsyncSession, state: State, store: FileStore, tmp: Path) -> None:
    everyone = {p.official.full_name for p in state.submitters}
    missing = [p for p in state.submitters if not p.handed_in]
    names = {p.official.full_name for p in missing}
    total = len(state.submitters)
    late = [p for p in missing if p.due < state.today]
    desk = Desk(session, state.unit.id, TZ, state.now, "vi")
    chase = state.report.chase_days

    # /tonghop: "Chưa nộp: n/total", and the block names exactly them.
    summary = await summary_text(desk, state.report.code)
    assert f"{vi('clerk.report.missing')}: {share(len(missing), total)}" in summary
    if missing:
        header = vi("clerk.summary.names", label=vi("clerk.report.missing"), count=len(missing))
        block = summary.split(header, 1)[1].split("\n\n", 1)[0]
        assert _named(block, everyone) == names

    # /quahan: the report is there when someone is late, with the same people and count.
    groups = await overdue(
        session, state.unit.id, state.today, OverdueFilter(obligation_id=state.report.id)
    )
    quahan = await overdue_text(desk, state.report.code)
    if late:
        [group] = groups
        assert {r.full_name for r in group.rows} == names
        assert group.counted == (len(missing), total)
        assert f"{share(len(missing), total)} {vi('clerk.not_submitted')}" in quahan
    else:
        assert groups == []

    # The clerk's digest, rendered as of this instant.
    row = Reminder(
        unit_id=state.unit.id,
        idempotency_key=f"property:{state.report.id}",
        recipient_id=state.clerk.id,
        subject_type=OBLIGATION,
        subject_id=state.report.id,
        kind=DIGEST_CLERK,
        slot_at=state.now,
        due_at=state.now,
        payload={"missing": []},
    )
    reply = await reminder_reply(session, row, store)
    if missing:
        assert reply is not None
        assert share(len(missing), total) in reply.text.split("\n")[0]
        assert _named(reply.text, everyone) == names
    else:
        assert reply is None

    # The weekly digest: the overdue line, and the week's progress when the report is due in it.
    weekly, _ = await digest(session, state.unit.id, state.now, "vi")
    code = state.report.code
    if late:
        counted = share(len(missing), total)
        of = rate(len(missing), total, "vi", good=False)
        assert vi("clerk.digest.overdue_report", code=code, share=counted, rate=of) in weekly
    monday = state.today - timedelta(days=state.today.weekday())
    if monday <= state.report.due_date <= monday + timedelta(days=6):
        handed = share(total - len(missing), total)
        assert f"{code} — hạn {state.report.due_date:%d/%m/%Y}: {handed}" in weekly

    # The export: one "chưa nộp" cell per person not handed in, with the same count below.
    target = tmp / f"{code}.xlsx"
    await write_export(desk, [state.report], code, target)
    sheet = load_workbook(target)[vi("clerk.xlsx.matrix_sheet")]
    cells = {r[1]: r[3] for r in sheet.iter_rows(min_row=5, values_only=True) if r[1] in everyone}
    assert {
        n for n, cell in cells.items() if str(cell).startswith(vi("clerk.xlsx.missing"))
    } == names
    counts = {r[1]: r[3] for r in sheet.iter_rows(min_row=5, values_only=True) if r[0] is None}
    assert counts[vi("clerk.report.missing")] == len(missing)

    # Every view marks each of them the same way.
    for p in missing:
        name = p.official.full_name
        expected = _marks(p, state.today, chase)
        views = [_chunk(summary, name), str(cells[name])]
        if late:
            views.append(_chunk(quahan, name))
        assert reply is not None
        views.append(_chunk(reply.text, name))
        for view in views:
            for mark in expected:
                assert mark in view, (mark, view)


async def _check_task(session: AsyncSession, state: State, store: FileStore) -> None:
    everyone = {p.official.full_name for p in state.assignees}
    open_ = [p for p in state.assignees if not p.done]
    names = {p.official.full_name for p in open_}
    leads = [p for p in state.assignees if p.role is AssigneeRole.LEAD]
    open_leads = [p for p in leads if not p.done]
    desk = Desk(session, state.unit.id, TZ, state.now, "vi")
    late = [p for p in open_ if p.due < state.today]

    groups = await overdue(
        session, state.unit.id, state.today, OverdueFilter(task_id=state.task.id)
    )
    quahan = await overdue_text(desk, state.task.code)
    if late:
        [group] = groups
        assert {r.full_name for r in group.rows} == names
        assert group.counted == (len(open_leads), len(leads))
    else:
        assert groups == []

    row = Reminder(
        unit_id=state.unit.id,
        idempotency_key=f"property:task:{state.task.id}",
        recipient_id=state.clerk.id,
        subject_type=TASK,
        subject_id=state.task.id,
        kind=DIGEST_CLERK,
        slot_at=state.now,
        due_at=state.now,
        payload={"missing": []},
    )
    reply = await reminder_reply(session, row, store)
    summary = await summary_text(desk, state.task.code)
    if open_leads:
        assert reply is not None
        assert share(len(open_leads), len(leads)) in reply.text.split("\n")[0]
        assert _named(reply.text, everyone) == names
    else:
        assert reply is None
    for p in late:
        expected = _marks(p, state.today, CHASE_DAYS)
        views = [_chunk(quahan, p.official.full_name), _chunk(summary, p.official.full_name)]
        if reply is not None:
            views.append(_chunk(reply.text, p.official.full_name))
        for view in views:
            for mark in expected:
                assert mark in view, (mark, view)


async def test_every_view_counts_the_same_people_as_not_handed_in(
    session: AsyncSession, tmp_path: Path
) -> None:
    rng = random.Random(14)
    store = FileStore(tmp_path / "data")
    seen: set[str] = set()
    for n in range(STATES):
        state = await _random_state(session, rng, n)
        await _check_report(session, state, store, tmp_path)
        await _check_task(session, state, store)
        seen |= _cases(state)
    # The states drawn cover every mark, so the property is not vacuous.
    assert seen == {
        "late",
        "not due yet",
        "returned",
        "extended",
        "on leave",
        "stopped",
        "blocked late",
    }


def _cases(state: State) -> set[str]:
    found = set()
    for p in state.submitters:
        if not p.handed_in and p.due < state.today:
            found.add("late")
            if state.today > p.due + timedelta(days=state.report.chase_days):
                found.add("stopped")
        found |= {"returned"} if p.returned else set()
        found |= {"extended"} if p.extended and not p.handed_in else set()
        if not p.handed_in and p.due >= state.today:
            found.add("not due yet")
        found |= {"on leave"} if p.leave_until and not p.handed_in else set()
    for p in state.assignees:
        if not p.done and p.due < state.today and p.blocked_reason is not None:
            found.add("blocked late")
    return found


async def test_after_an_extension_the_leaders_digest_and_the_weekly_digest_agree(
    session: AsyncSession, commune: Commune, tmp_path: Path
) -> None:
    # The case of issue 14: An's Quý I is extended to 20/03, Bình's is not. The leaders'
    # digest of 13/03 said "1/10 chưa nộp" (only the people of its due date) while the weekly
    # digest said 7/10; both now count everyone not handed in, An marked "gia hạn đến".
    await session.execute(
        update(ObligationAssignee)
        .where(
            ObligationAssignee.obligation_id == commune.q1.id,
            ObligationAssignee.official_id == commune.an.id,
        )
        .values(extended_due=date(2024, 3, 20))
    )
    await session.commit()
    leaders_day = at(date(2024, 3, 13), 8)
    row = Reminder(
        unit_id=commune.unit.id,
        idempotency_key="test:leaders",
        recipient_id=commune.leader.id,
        subject_type=OBLIGATION,
        subject_id=commune.q1.id,
        kind=DIGEST_LEADERS,
        slot_at=leaders_day,
        due_at=leaders_day,
        payload={"missing": [{"official_id": commune.binh.id, "on_leave": False}]},
    )
    reply = await reminder_reply(session, row, FileStore(tmp_path))
    assert reply is not None
    assert share(2, 2) in reply.text.split("\n")[0]
    assert vi("clerk.overdue.extended", due="20/03/2024") in _chunk(reply.text, "Trần Văn An")

    weekly, _ = await digest(session, commune.unit.id, leaders_day, "vi")
    line = vi("clerk.digest.overdue_report", code="CCHC-Q1-2024", share="2/2", rate="chiếm 100,0%")
    assert line in weekly.split("\n")
