"""The reminder sweep (`scheduler.sweep.sweep_all`, as the bot's tick runs it) at growing sizes,
1 % of the rows due.

Window (07:59, 08:00] on Friday 08/03/2024: it holds the 08:00 reminder slot, where the Q1
report's due-day reminder is due to every official (1 % of the assignments, see
`bench.datagen`). Each repetition runs in a transaction that is rolled back, so every run
enqueues the same reminders. Also timed: the parts (snapshot read, pure policy, enqueue) and
a window without a slot (08:00, 08:01], which must not read the plan at all. At district scale
the sweep covers all 20 units; its parts are those of the first.

``.venv/bin/python bench/sweep.py --sizes 1k 10k 100k --backends sqlite postgresql``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bench.common import median, scratch_database, table
from bench.datagen import NOW, SIZES, Generated, fresh
from db.models import SweepMark, Unit
from db.outbox import enqueue
from db.session import make_engine, make_sessionmaker
from scheduler.policy import reminders_between
from scheduler.snapshot import load_snapshot
from scheduler.sweep import policy_config, sweep_all, to_outbox


@dataclass
class SweepFigures:
    """Medians (ms) of one backend at one size."""

    backend: str
    size: str
    assignments: int
    enqueued: int
    sweep_ms: float
    snapshot_ms: float
    policy_ms: float
    enqueue_ms: float
    idle_sweep_ms: float


async def _with_mark(session: AsyncSession, unit_id: int, at: datetime) -> None:
    await session.execute(delete(SweepMark).where(SweepMark.unit_id == unit_id))
    session.add(SweepMark(unit_id=unit_id, swept_until=at))
    await session.flush()


async def measure(url: str, backend: str, size: str, made: Generated, repeat: int) -> SweepFigures:
    """Time the slot sweep, its parts, and an idle sweep, on a generated database."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    sweep_t: list[float] = []
    snap_t: list[float] = []
    policy_t: list[float] = []
    enq_t: list[float] = []
    idle_t: list[float] = []
    enqueued = 0
    try:
        for i in range(repeat + 1):  # the first run warms the caches and is not counted
            async with sessions() as session:
                for unit_id in made.unit_ids:
                    await _with_mark(session, unit_id, NOW - timedelta(minutes=1))
                start = time.perf_counter()
                swept = await sweep_all(session, NOW)
                took = time.perf_counter() - start
                await session.rollback()
                enqueued = sum(s.enqueued for s in swept)
                # The parts, one after the other, as sweep_unit runs them.
                unit = await session.get(Unit, made.unit_id)
                assert unit is not None
                config = policy_config(unit)
                t0 = time.perf_counter()
                snapshot = await load_snapshot(session, unit.id)
                t1 = time.perf_counter()
                found = reminders_between(snapshot, config, NOW - timedelta(minutes=1), NOW)
                t2 = time.perf_counter()
                await enqueue(session, (to_outbox(unit.id, r) for r in found))
                t3 = time.perf_counter()
                await session.rollback()
                for unit_id in made.unit_ids:
                    await _with_mark(session, unit_id, NOW)
                t4 = time.perf_counter()
                await sweep_all(session, NOW + timedelta(minutes=1))
                t5 = time.perf_counter()
                await session.rollback()
            if i:
                sweep_t.append(took * 1000)
                snap_t.append((t1 - t0) * 1000)
                policy_t.append((t2 - t1) * 1000)
                enq_t.append((t3 - t2) * 1000)
                idle_t.append((t5 - t4) * 1000)
    finally:
        await engine.dispose()
    return SweepFigures(
        backend,
        size,
        made.assignments,
        enqueued,
        median(sweep_t),
        median(snap_t),
        median(policy_t),
        median(enq_t),
        median(idle_t),
    )


def report(figures: list[SweepFigures]) -> str:
    """The figures as a table."""
    return table(
        [
            "db",
            "size",
            "assignments",
            "enqueued",
            "sweep ms",
            "snapshot ms",
            "policy ms",
            "enqueue ms",
            "idle sweep ms",
        ],
        [
            (
                f.backend,
                f.size,
                f.assignments,
                f.enqueued,
                f.sweep_ms,
                f.snapshot_ms,
                f.policy_ms,
                f.enqueue_ms,
                f.idle_sweep_ms,
            )
            for f in figures
        ],
    )


async def run(sizes: list[str], backends: list[str], repeat: int) -> None:
    """Generate, measure and print each backend × size."""
    figures = []
    for backend in backends:
        for size in sizes:
            async with scratch_database(backend) as url:
                made = await fresh(url, SIZES[size])
                print(f"# {backend} {size}: generated in {made.seconds:.1f} s", flush=True)
                figures.append(await measure(url, backend, size, made, repeat))
    print(report(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1k", "10k", "100k"], choices=SIZES)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(run(args.sizes, args.backends, args.repeat))


if __name__ == "__main__":
    main()
