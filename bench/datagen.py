"""Generate a commune (unit) of any size with bulk Core inserts, as an import would.

Layout (one unit): `officials` people, each with a reachable Telegram chat; four CCHC
reports a year (due 10/3, 10/6, 10/9, 10/12) for every year in `years`, assigned to every
official; nine standing tasks (2.1 … 2.9) with a lead and two coordinators each. Assignments
= officials × 4 × years. "Today" is Friday 08/03/2024, 08:00 in Asia/Ho_Chi_Minh:

* every report already past was handed in by everyone except `MISSING` pairs (and one was
  returned), so /overdue has a small answer in a big table;
* the outbox holds what was sent about the last 8 past reports (a reminder 7 days before and
  one on the day, to everyone);
* the Q1 2024 report is due Sunday 10/03: its due-day reminder moves back to Friday 08:00,
  so the 08:00 sweep finds one reminder per official: 1 % of the rows with 25 years.

Sizes: ``--size 1k|10k|100k|1m`` (25 years 2000–2024 × 10/100/1000/10000 officials:
plans are loaded a year at a time, so only 2024's four reports are still ahead),
``commune`` (30 officials, 2023–2024) or ``district`` (20 such communes, each its own unit with
its own clerk; the figures are taken on the first). Usage:
``.venv/bin/python bench/datagen.py --size 10k --database-url sqlite+aiosqlite:///x.db``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

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
    Task,
    TaskAssignee,
    Unit,
)
from db.session import make_engine

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = date(2024, 3, 8)
NOW = datetime(2024, 3, 8, 8, 0, tzinfo=TZ)
QUARTERS = ((3, "Q1"), (6, "6T"), (9, "Q3"), (12, "NAM"))
# (official index, past report index counted back from the latest) never handed in.
MISSING = ((7, 0), (8, 3), (50, 9), (99, 20), (12, 40))
RETURNED = ((42, 1),)
CHAT_BASE = 100_000_000
CHUNK = 10_000
# Reports whose sent reminders are written as outbox history (two a person per report).
HISTORY_REPORTS = 8


@dataclass(frozen=True)
class Scale:
    """How many units, officials in each, and which years of reports."""

    officials: int
    years: range
    units: int = 1

    @property
    def assignments(self) -> int:
        """Report assignments in all units."""
        return self.officials * 4 * len(self.years) * self.units


SIZES = {
    "commune": Scale(30, range(2023, 2025)),
    "district": Scale(30, range(2023, 2025), units=20),
    "1k": Scale(10, range(2000, 2025)),
    "10k": Scale(100, range(2000, 2025)),
    "100k": Scale(1000, range(2000, 2025)),
    "1m": Scale(10000, range(2000, 2025)),
}


@dataclass(frozen=True)
class Generated:
    """What was written: the (first) unit, its clerk, the chats by official id, every unit."""

    unit_id: int
    unit_code: str
    clerk_id: int
    chats: dict[int, int]
    assignments: int
    seconds: float
    unit_ids: tuple[int, ...] = ()


async def _chunks(engine: AsyncEngine, table: type, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), CHUNK):
        async with engine.begin() as conn:
            await conn.execute(insert(table), rows[start : start + CHUNK])


async def generate(engine: AsyncEngine, scale: Scale, code: str = "xa-lon") -> Generated:
    """Write one unit of `scale` into a database that has the schema."""
    started = time.perf_counter()
    async with engine.begin() as conn:
        unit_id = (
            await conn.execute(
                insert(Unit)
                .values(code=code, name=f"UBND xã {code}", timezone=str(TZ), reports_to=None)
                .returning(Unit.id)
            )
        ).scalar_one()
    await _chunks(
        engine,
        Official,
        [
            {
                "unit_id": unit_id,
                "key": f"p{i}",
                "full_name": f"Cán bộ Số {i}",
                "name_folded": f"can bo so {i}",
                "position": "Công chức",
                "department": f"Bộ phận {i % 10}",
                "is_official": True,
                "is_clerk": i == 0,
                "is_leader": i == 1,
                "active": True,
                "language": "vi",
            }
            for i in range(scale.officials)
        ],
    )
    async with engine.connect() as conn:
        official_ids = list(
            await conn.scalars(
                select(Official.id).where(Official.unit_id == unit_id).order_by(Official.id)
            )
        )
    bound = datetime(2024, 1, 2, tzinfo=UTC)
    chats = {oid: CHAT_BASE + oid for oid in official_ids}
    await _chunks(
        engine,
        ChannelIdentity,
        [
            {
                "official_id": oid,
                "channel": Channel.TELEGRAM,
                "external_id": str(chat),
                "bound_at": bound,
                "reachable": True,
            }
            for oid, chat in chats.items()
        ],
    )
    await _chunks(
        engine,
        Obligation,
        [
            {
                "unit_id": unit_id,
                "code": f"CCHC-{name}-{y}",
                "report_code": f"CCHC-{name}",
                "kind": "cchc",
                "title": f"Báo cáo CCHC {name} năm {y}",
                "due_date": date(y, m, 10),
                "window_start": date(y - 1, 12, 15),
                "window_end": date(y, m, 14),
                "templates": [],
                "collector_id": official_ids[0],
                "active": True,
            }
            for y in scale.years
            for m, name in QUARTERS
        ],
    )
    async with engine.connect() as conn:
        obligations = list(
            await conn.execute(
                select(Obligation.id, Obligation.due_date)
                .where(Obligation.unit_id == unit_id)
                .order_by(Obligation.due_date)
            )
        )
    await _chunks(
        engine,
        ObligationAssignee,
        [{"obligation_id": o.id, "official_id": p} for o in obligations for p in official_ids],
    )
    past = [o for o in obligations if o.due_date < TODAY]
    n = len(official_ids)
    missing = {(i % n, len(past) - 1 - j) for i, j in MISSING if j < len(past)}
    returned = {(i % n, len(past) - 1 - j) for i, j in RETURNED if j < len(past)}
    submitted = datetime(2000, 1, 1, tzinfo=UTC)
    await _chunks(
        engine,
        Submission,
        [
            {
                "unit_id": unit_id,
                "obligation_id": o.id,
                "official_id": p,
                "version": 1,
                "note": "",
                "submitted_at": submitted,
                "late_days": 0,
                "review_state": (
                    ReviewState.RETURNED if (i, j) in returned else ReviewState.PENDING
                ),
            }
            for j, o in enumerate(past)
            for i, p in enumerate(official_ids)
            if (i, j) not in missing
        ],
    )
    await _tasks(engine, unit_id, official_ids)
    # Outbox history: the reminders already sent about the last two years' reports, so the
    # clerk's "reminded n times" counts read a table of realistic size.
    await _chunks(
        engine,
        Reminder,
        [
            {
                "unit_id": unit_id,
                "idempotency_key": f"{p}:obligation:{o.id}:{kind}",
                "recipient_id": p,
                "subject_type": "obligation",
                "subject_id": o.id,
                "kind": kind,
                "slot_at": sent,
                "due_at": sent,
                "payload": {},
                "status": ReminderStatus.SENT,
                "sent_at": sent,
                "attempts": 0,
            }
            for o in past[-HISTORY_REPORTS:]
            for kind, sent in (
                ("before_7", datetime(o.due_date.year, o.due_date.month, 3, 1, 0, tzinfo=UTC)),
                ("due_day", datetime(o.due_date.year, o.due_date.month, 10, 1, 0, tzinfo=UTC)),
            )
            for p in official_ids
        ],
    )
    return Generated(
        unit_id,
        code,
        official_ids[0],
        chats,
        scale.officials * 4 * len(scale.years),
        time.perf_counter() - started,
        (unit_id,),
    )


async def _tasks(engine: AsyncEngine, unit_id: int, official_ids: list[int]) -> None:
    await _chunks(
        engine,
        Task,
        [
            {
                "unit_id": unit_id,
                "code": f"2.{k}",
                "title": f"Nhiệm vụ cải cách hành chính số {k}",
                "detail": "",
                "source_ref": "",
                "due_date": date(2024, 12, 31),
                "priority": False,
                "active": True,
            }
            for k in range(1, 10)
        ],
    )
    async with engine.connect() as conn:
        task_ids = list(
            await conn.scalars(select(Task.id).where(Task.unit_id == unit_id).order_by(Task.id))
        )
    n = len(official_ids)
    rows: list[dict[str, object]] = []
    for k, task_id in enumerate(task_ids):
        people = dict.fromkeys(official_ids[(k * 3 + d) % n] for d in range(3))
        for d, person in enumerate(people):
            role = AssigneeRole.LEAD if d == 0 else AssigneeRole.COORDINATE
            rows.append({"task_id": task_id, "official_id": person, "role": role})
    await _chunks(engine, TaskAssignee, rows)


async def fresh(url: str, scale: Scale) -> Generated:
    """Create the schema (Alembic, as the bot does) and generate `scale.units` units; the
    first unit's figures, with every unit's id and the totals."""
    await upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        made = [
            await generate(engine, scale, "xa-lon" if k == 0 else f"xa-{k + 1:02d}")
            for k in range(scale.units)
        ]
        if engine.dialect.name == "postgresql":
            # The triggers that keep handed_in rewrote every assignee row once: without a vacuum
            # the indexes still point at the dead versions. Autovacuum does this in production
            # soon after a bulk change; the benchmark should not measure the bloat.
            async with engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()
    return replace(
        made[0],
        assignments=scale.assignments,
        seconds=time.perf_counter() - started,
        unit_ids=tuple(m.unit_id for m in made),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="10k")
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    made = asyncio.run(fresh(args.database_url, SIZES[args.size]))
    print(f"{made.assignments} assignments in {made.seconds:.1f} s (unit {made.unit_code})")


if __name__ == "__main__":
    main()
