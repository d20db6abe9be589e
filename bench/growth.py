"""Growth: the 08:00 sweep and the clerk's /quahan at 1×, 10×, 40× a province on one database.

A province is a unit (Sở Nội vụ, one officer) with 100 communes below it (`parent_id`), each
commune laid out as `bench.datagen` lays out a unit: 25 officials with a Telegram chat, the four
CCHC reports of 2023 and 2024 assigned to everyone, every 2023 report handed in except two
(person, report) pairs and one returned, nine tasks with a lead and two coordinators, and the
outbox history of what was sent about the 2023 reports (seven days before and on the day, to
everyone). The province's eight reports are submitted by the communes' clerks
(`children_submit`, the clerk linked with the report's date): 2023's were handed in by every
commune, except the annual one, which 12 communes of 100 did not send.

"Today" is Friday 08/03/2024 08:00. What is due is fixed while the table grows: only the first
province's communes have their Q1-2024 report due on Sunday 10/03 (its due-day reminder moves
back to Friday 08:00: one reminder per official, 2,500); every other commune's is due on
Wednesday 20/03, whose reminders fall on other days. So at every size the 08:00 slot has the
same 2,500 reminders to write, and the whole table is there to be skipped.

The database grows in place, 1× → 10× → 40× (`--provinces`), written with bulk inserts (many
units per statement batch, ids assigned here); after each step it is measured, median of
`--repeat` after one warm-up, each sweep in a transaction rolled back:

* the sweep of the 08:00 slot (`sweep_all`, every unit's mark at 07:59): ms, rows enqueued,
  ms per enqueued row, SQL statements; the same sweep of the due province's 101 units alone;
  one commune's snapshot (`load_snapshot`); an idle minute (marks at 08:00, sweep to 08:01);
* one commune clerk's /quahan (`db.desk.overdue.overdue` and the whole `overdue_text`) and the
  first province's /quahan over its 100 communes.

``.venv/bin/python bench/growth.py --provinces 1 10 40 --backends sqlite postgresql --repeat 5``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, event, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.common import machine, median, postgres_version, scratch_database, table, timed
from bench.datagen import CHAT_BASE, MISSING, NOW, QUARTERS, RETURNED, TODAY, TZ
from bench.queries import _plans
from db.desk.overdue import overdue
from db.migrate import upgrade
from db.models import (
    AssigneeRole,
    Channel,
    ChannelIdentity,
    Obligation,
    ObligationAssignee,
    Official,
    Reminder,
    ReminderStatus,
    ReviewState,
    Submission,
    SweepMark,
    Task,
    TaskAssignee,
    Unit,
)
from db.session import make_engine, make_sessionmaker
from handlers.clerk.context import Desk
from handlers.clerk.overdue import overdue_text
from scheduler.snapshot import load_snapshot
from scheduler.sweep import sweep_all, sweep_unit

COMMUNES = 100
OFFICIALS = 25
YEARS = (2023, 2024)
# Q1-2024 of the communes outside the first province: Wednesday 20/03, nothing of it at 08/03.
NOT_DUE_Q1 = date(2024, 3, 20)
# Commune i of a province did not send the province's annual 2023 report: 12 of 100.
PROVINCE_MISSING_SHARE = 88
CHUNK = 20_000
# Tables in the order they are written (foreign keys), with the rows each one gets.
TABLES: tuple[type, ...] = (
    Unit,
    Official,
    ChannelIdentity,
    Obligation,
    ObligationAssignee,
    Submission,
    Task,
    TaskAssignee,
    Reminder,
)
SUBMITTED = datetime(2023, 1, 1, tzinfo=UTC)


@dataclass
class Ids:
    """The next free id of each table: rows are written with their ids, so no read-back."""

    next: dict[type, int] = field(default_factory=dict)

    def take(self, model: type) -> int:
        """A new id of `model`'s table."""
        value = self.next[model]
        self.next[model] = value + 1
        return value


@dataclass
class Province:
    """What one province's rows are: its unit, its officer, its communes and their clerks."""

    unit_id: int
    communes: list[int] = field(default_factory=list)
    clerks: list[int] = field(default_factory=list)


@dataclass
class Rows:
    """Rows to insert, by table."""

    by_table: dict[type, list[dict[str, Any]]] = field(
        default_factory=lambda: {t: [] for t in TABLES}
    )

    def add(self, model: type, **row: Any) -> None:
        self.by_table[model].append(row)


def _obligation(
    ids: Ids, rows: Rows, unit_id: int, collector: int, code: str, due: date, **extra: Any
) -> int:
    oid = ids.take(Obligation)
    rows.add(
        Obligation,
        id=oid,
        unit_id=unit_id,
        code=f"CCHC-{code}-{due.year}",
        report_code=f"CCHC-{code}",
        kind="cchc",
        title=f"Báo cáo CCHC {code} năm {due.year}",
        due_date=due,
        window_start=date(due.year - 1, 12, 15),
        window_end=date(due.year, due.month, 14),
        templates=[],
        collector_id=collector,
        active=True,
        children_submit=extra.get("children_submit", False),
    )
    return oid


def _official(ids: Ids, rows: Rows, unit_id: int, i: int, clerk: bool, official: bool) -> int:
    pid = ids.take(Official)
    rows.add(
        Official,
        id=pid,
        unit_id=unit_id,
        key=f"p{i}",
        full_name=f"Cán bộ Số {unit_id}.{i}",
        name_folded=f"can bo so {unit_id}.{i}",
        position="Công chức",
        department=f"Bộ phận {i % 10}",
        is_official=official,
        is_clerk=clerk,
        is_leader=i == 1,
        active=True,
        language="vi",
    )
    rows.add(
        ChannelIdentity,
        id=ids.take(ChannelIdentity),
        official_id=pid,
        channel=Channel.TELEGRAM,
        external_id=str(CHAT_BASE + pid),
        bound_at=datetime(2023, 1, 2, tzinfo=UTC),
        reachable=True,
    )
    return pid


def _submission(ids: Ids, rows: Rows, unit_id: int, oid: int, pid: int, state: ReviewState) -> None:
    rows.add(
        Submission,
        id=ids.take(Submission),
        unit_id=unit_id,
        obligation_id=oid,
        official_id=pid,
        version=1,
        note="",
        submitted_at=SUBMITTED,
        late_days=0,
        review_state=state,
    )


def province_rows(ids: Ids, k: int, due_now: bool) -> tuple[Province, Rows]:
    """Province `k` and its 100 communes; `due_now`: its communes' Q1-2024 is due 10/03."""
    rows = Rows()
    pid = ids.take(Unit)
    rows.add(
        Unit,
        id=pid,
        code=f"tinh-{k:02d}",
        name=f"Sở Nội vụ tỉnh Số {k + 1}",
        timezone=str(TZ),
        reports_to=None,
        parent_id=None,
    )
    province = Province(pid)
    officer = _official(ids, rows, pid, 0, clerk=True, official=False)
    # The province's reports: 2023's due on the 15th, 2024's on the 20th (nothing due today).
    reports = [
        _obligation(
            ids, rows, pid, officer, name, date(y, m, 15 if y == 2023 else 20), children_submit=True
        )
        for y in YEARS
        for m, name in QUARTERS
    ]
    report_dues = [date(y, m, 15 if y == 2023 else 20) for y in YEARS for m, _ in QUARTERS]
    for i in range(COMMUNES):
        cid = _commune(ids, rows, province, k, i, due_now)
        clerk = province.clerks[-1]
        for j, (oid, due) in enumerate(zip(reports, report_dues, strict=True)):
            rows.add(
                ObligationAssignee,
                id=ids.take(ObligationAssignee),
                obligation_id=oid,
                official_id=clerk,
                own_due=due,
                extended_due=None,
                assigned_at=None,
            )
            if due >= TODAY:
                continue
            # Spread who did not send the annual report over the communes, not by their order.
            if j == 3 and (i * 37) % 100 >= PROVINCE_MISSING_SHARE:
                continue
            _submission(ids, rows, cid, oid, clerk, ReviewState.PENDING)
    return province, rows


def _commune(ids: Ids, rows: Rows, province: Province, k: int, i: int, due_now: bool) -> int:
    cid = ids.take(Unit)
    rows.add(
        Unit,
        id=cid,
        code=f"t{k:02d}-xa-{i:03d}",
        name=f"UBND xã Số {i + 1} tỉnh {k + 1}",
        timezone=str(TZ),
        reports_to=f"Sở Nội vụ tỉnh Số {k + 1}",
        parent_id=province.unit_id,
    )
    people = [_official(ids, rows, cid, j, clerk=j == 0, official=True) for j in range(OFFICIALS)]
    province.communes.append(cid)
    province.clerks.append(people[0])
    reports: list[tuple[int, date]] = []
    for y in YEARS:
        for m, name in QUARTERS:
            due = date(y, m, 10)
            if (y, m) == (2024, 3) and not due_now:
                due = NOT_DUE_Q1
            reports.append((_obligation(ids, rows, cid, people[0], name, due), due))
    for oid, _ in reports:
        for p in people:
            rows.add(
                ObligationAssignee,
                id=ids.take(ObligationAssignee),
                obligation_id=oid,
                official_id=p,
                own_due=None,
                extended_due=None,
                assigned_at=None,
            )
    past = [(oid, due) for oid, due in reports if due < TODAY]
    last = len(past) - 1
    missing = {(j % OFFICIALS, last - back) for j, back in MISSING if back <= last}
    returned = {(j % OFFICIALS, last - back) for j, back in RETURNED if back <= last}
    for n, (oid, due) in enumerate(past):
        for j, p in enumerate(people):
            if (j, n) in missing:
                continue
            state = ReviewState.RETURNED if (j, n) in returned else ReviewState.PENDING
            _submission(ids, rows, cid, oid, p, state)
        # What was sent about it: seven days before and on the day, to everyone.
        for kind, day in (("before_7", due.day - 7), ("due_day", due.day)):
            sent = datetime(due.year, due.month, day, 1, 0, tzinfo=UTC)
            for p in people:
                rows.add(
                    Reminder,
                    id=ids.take(Reminder),
                    unit_id=cid,
                    idempotency_key=f"{p}:obligation:{oid}:{kind}",
                    recipient_id=p,
                    subject_type="obligation",
                    subject_id=oid,
                    kind=kind,
                    slot_at=sent,
                    due_at=sent,
                    payload={},
                    status=ReminderStatus.SENT,
                    sent_at=sent,
                    attempts=0,
                )
    for t in range(1, 10):
        tid = ids.take(Task)
        rows.add(
            Task,
            id=tid,
            unit_id=cid,
            code=f"2.{t}",
            title=f"Nhiệm vụ cải cách hành chính số {t}",
            detail="",
            source_ref="",
            due_date=date(2024, 12, 31),
            priority=False,
            active=True,
        )
        for d in range(3):
            rows.add(
                TaskAssignee,
                id=ids.take(TaskAssignee),
                task_id=tid,
                official_id=people[((t - 1) * 3 + d) % OFFICIALS],
                role=AssigneeRole.LEAD if d == 0 else AssigneeRole.COORDINATE,
            )
    return cid


async def _next_ids(engine: AsyncEngine) -> Ids:
    ids = Ids()
    async with engine.connect() as conn:
        for model in TABLES:
            top = await conn.scalar(select(func.max(model.id)))  # type: ignore[attr-defined]
            ids.next[model] = (top or 0) + 1
    return ids


async def grow(engine: AsyncEngine, provinces: list[Province], to: int) -> float:
    """Add provinces until there are `to`; the seconds it took (writing and, on PostgreSQL,
    moving the id sequences on and VACUUM ANALYZE)."""
    started = time.perf_counter()
    ids = await _next_ids(engine)
    while len(provinces) < to:
        k = len(provinces)
        province, rows = province_rows(ids, k, due_now=k == 0)
        async with engine.begin() as conn:
            for model in TABLES:
                batch = rows.by_table[model]
                for start in range(0, len(batch), CHUNK):
                    await conn.execute(insert(model), batch[start : start + CHUNK])
        provinces.append(province)
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for model in TABLES:
                name = model.__tablename__  # type: ignore[attr-defined]
                # Ids were written here: the sequences must not hand them out again.
                await autocommit.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
            # As bench/datagen.py: the handed_in triggers left dead row versions behind.
            await autocommit.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


async def counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows in the tables that grow."""
    out = {}
    async with engine.connect() as conn:
        for model in (Unit, Official, ObligationAssignee, Submission, Reminder):
            name = model.__tablename__  # type: ignore[attr-defined]
            out[name] = int(await conn.scalar(select(func.count()).select_from(model)) or 0)
    return out


class StatementCount:
    """Counts the SQL statements an engine sends while it is entered."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.n = 0

    def _seen(self, *_: Any) -> None:
        self.n += 1

    def __enter__(self) -> StatementCount:
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine.sync_engine, "before_cursor_execute", self._seen)


async def _marks(session: AsyncSession, at: datetime) -> None:
    await session.execute(delete(SweepMark))
    unit_ids = list(await session.scalars(select(Unit.id)))
    await session.execute(insert(SweepMark), [{"unit_id": u, "swept_until": at} for u in unit_ids])


@dataclass
class Figures:
    """One backend at one size: row counts, generation, medians (ms)."""

    backend: str
    provinces: int
    rows: dict[str, int]
    generation_s: float
    sweep_ms: float = 0.0
    sweep_runs: int = 0
    enqueued: int = 0
    statements: int = 0
    due_units_ms: float = 0.0
    due_enqueued: int = 0
    snapshot_ms: float = 0.0
    idle_ms: float = 0.0
    idle_statements: int = 0
    commune_query_ms: float = 0.0
    commune_text_ms: float = 0.0
    commune_late: int = 0
    province_query_ms: float = 0.0
    province_text_ms: float = 0.0
    province_late: int = 0


async def _sweep_runs(
    engine: AsyncEngine,
    mark: datetime,
    run: Callable[[AsyncSession], Awaitable[int]],
    repeat: int,
    budget_s: float,
) -> tuple[list[float], int, int]:
    """Time `run` (a sweep; returns rows enqueued) after putting every mark at `mark`, rolled
    back each time: one warm-up, then up to `repeat` runs while within `budget_s` seconds."""
    sessions = make_sessionmaker(engine)
    times: list[float] = []
    enqueued = statements = 0
    spent = 0.0
    for i in range(repeat + 1):
        async with sessions() as session:
            await _marks(session, mark)
            with StatementCount(engine) as seen:
                start = time.perf_counter()
                enqueued = await run(session)
                took = time.perf_counter() - start
            await session.rollback()
        statements = seen.n
        spent += took
        if i:
            times.append(took * 1000)
            if spent > budget_s:
                break
    return times, enqueued, statements


async def measure(
    engine: AsyncEngine, figures: Figures, first: Province, repeat: int, budget_s: float
) -> None:
    """Time the sweeps and the two /quahan answers; fill `figures`."""
    before = NOW - timedelta(minutes=1)

    async def slot(session: AsyncSession) -> int:
        return sum(r.enqueued for r in await sweep_all(session, NOW))

    async def due_only(session: AsyncSession) -> int:
        done = 0
        for unit_id in (first.unit_id, *first.communes):
            unit = await session.get(Unit, unit_id)
            assert unit is not None
            done += (await sweep_unit(session, unit, NOW)).enqueued
        return done

    async def idle(session: AsyncSession) -> int:
        return sum(r.enqueued for r in await sweep_all(session, NOW + timedelta(minutes=1)))

    t, figures.enqueued, figures.statements = await _sweep_runs(
        engine, before, slot, repeat, budget_s
    )
    figures.sweep_ms, figures.sweep_runs = median(t), len(t)
    t, figures.due_enqueued, _ = await _sweep_runs(engine, before, due_only, repeat, budget_s)
    figures.due_units_ms = median(t)
    t, _, figures.idle_statements = await _sweep_runs(engine, NOW, idle, repeat, budget_s)
    figures.idle_ms = median(t)
    commune = first.communes[0]
    async with make_sessionmaker(engine)() as session:
        horizon = NOW.date() + timedelta(days=28)

        async def snapshot() -> Any:
            return await load_snapshot(session, commune, due_until=horizon)

        async def commune_query() -> Any:
            return await overdue(session, commune, TODAY)

        async def commune_text() -> str:
            return await overdue_text(Desk(session, commune, TZ, NOW, "vi"), "")

        async def province_query() -> Any:
            return await overdue(session, first.unit_id, TODAY)

        async def province_text() -> str:
            return await overdue_text(Desk(session, first.unit_id, TZ, NOW, "vi"), "")

        t, _ = await timed(snapshot, repeat)
        figures.snapshot_ms = median(t)
        t, groups = await timed(commune_query, repeat)
        figures.commune_query_ms = median(t)
        figures.commune_late = sum(len(g.rows) for g in groups)
        t, _ = await timed(commune_text, repeat)
        figures.commune_text_ms = median(t)
        t, groups = await timed(province_query, repeat)
        figures.province_query_ms = median(t)
        figures.province_late = sum(len(g.rows) for g in groups)
        t, _ = await timed(province_text, repeat)
        figures.province_text_ms = median(t)


async def snapshot_plans(engine: AsyncEngine, backend: str, commune: int) -> str:
    """The plans of one commune's snapshot statements (the sweep runs them once per unit)."""
    seen: list[tuple[str, Any]] = []

    def listen(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, params))

    async with make_sessionmaker(engine)() as session:
        event.listen(engine.sync_engine, "before_cursor_execute", listen)
        try:
            await load_snapshot(session, commune, due_until=NOW.date() + timedelta(days=28))
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", listen)
    return await _plans(engine, backend, seen)


def report(figures: list[Figures]) -> str:
    """Two tables: the sweep, and the table sizes with the /quahan answers."""
    sweep = table(
        [
            "db",
            "size",
            "units",
            "08:00 sweep ms",
            "runs",
            "enqueued",
            "ms/row",
            "SQL stmts",
            "due units only ms",
            "1 snapshot ms",
            "idle minute ms",
            "idle stmts",
        ],
        [
            (
                f.backend,
                f"{f.provinces}×",
                f.rows["units"],
                f.sweep_ms,
                f.sweep_runs,
                f.enqueued,
                f.sweep_ms / f.enqueued if f.enqueued else 0.0,
                f.statements,
                f.due_units_ms,
                f.snapshot_ms,
                f.idle_ms,
                f.idle_statements,
            )
            for f in figures
        ],
    )
    answers = table(
        [
            "db",
            "size",
            "officials",
            "assignments",
            "submissions",
            "reminders",
            "generation s",
            "xã /quahan query ms",
            "answer ms",
            "late",
            "tỉnh /quahan query ms",
            "answer ms",
            "late",
        ],
        [
            (
                f.backend,
                f"{f.provinces}×",
                f.rows["officials"],
                f.rows["obligation_assignees"],
                f.rows["submissions"],
                f.rows["reminders"],
                f.generation_s,
                f.commune_query_ms,
                f.commune_text_ms,
                f.commune_late,
                f.province_query_ms,
                f.province_text_ms,
                f.province_late,
            )
            for f in figures
        ],
    )
    return sweep + "\n\n" + answers


async def run(
    sizes: list[int], backends: list[str], repeat: int, budget_s: float, plans: bool
) -> None:
    """Grow each backend's database through `sizes`, measuring after each step."""
    print(f"# {machine()}, PostgreSQL {await postgres_version()}", flush=True)
    figures: list[Figures] = []
    for backend in backends:
        async with scratch_database(backend) as url:
            await upgrade(url)
            engine = make_engine(url)
            provinces: list[Province] = []
            try:
                for size in sorted(sizes):
                    took = await grow(engine, provinces, size)
                    f = Figures(backend, size, await counts(engine), took)
                    print(f"# {backend} {size}×: grown in {took:.1f} s, {f.rows}", flush=True)
                    await measure(engine, f, provinces[0], repeat, budget_s)
                    figures.append(f)
                    print(report([f]), flush=True)
                    if plans and size == max(sizes):
                        found = await snapshot_plans(engine, backend, provinces[0].communes[0])
                        print(f"\n## snapshot plans, {backend}, {size}×\n\n```\n{found}\n```\n")
            finally:
                await engine.dispose()
    print("\n" + report(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provinces", nargs="+", type=int, default=[1, 10, 40])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--sweep-budget",
        type=float,
        default=30.0,
        help="stop repeating a sweep after this many seconds of it (the 40× slot sweep is slow)",
    )
    parser.add_argument("--plans", action="store_true", help="print one snapshot's plans")
    args = parser.parse_args()
    asyncio.run(run(args.provinces, args.backends, args.repeat, args.sweep_budget, args.plans))


if __name__ == "__main__":
    main()
