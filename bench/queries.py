"""The clerk's /overdue (/quahan) and /tonghop at growing table sizes, SQLite and PostgreSQL.

For each size the unit of `bench.datagen` is generated, then timed (median of `--repeat`):
the query `db.desk.overdue.overdue`, the whole answer `overdue_text` and `summary_text` of the
latest past report. The SQL of one /overdue is captured and its plan printed (EXPLAIN QUERY
PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL).

``.venv/bin/python bench/queries.py --sizes 1k 10k 100k --backends sqlite postgresql``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import median, percentile, scratch_database, table, timed
from bench.datagen import NOW, SIZES, TODAY, TZ, Generated, fresh
from db.desk.overdue import overdue
from db.session import make_engine, make_sessionmaker
from handlers.clerk.context import Desk
from handlers.clerk.matrix import summary_text
from handlers.clerk.overdue import overdue_text

SUMMARY_OF = "CCHC-NAM-2023"  # the latest report already past at NOW


@dataclass
class QueryFigures:
    """Medians (ms) of one backend at one size, with the answer sizes."""

    backend: str
    size: str
    assignments: int
    overdue_ms: float
    overdue_p90: float
    overdue_rows: int
    overdue_text_ms: float
    summary_ms: float
    summary_rows: int
    statements: int


async def measure(
    url: str, backend: str, size: str, made: Generated, repeat: int
) -> tuple[QueryFigures, str]:
    """Time the clerk's queries on a generated database; the figures and the plans."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:

            async def query() -> Any:
                return await overdue(session, made.unit_id, TODAY)

            async def full() -> str:
                return await overdue_text(Desk(session, made.unit_id, TZ, NOW, "vi"), "")

            async def matrix() -> str:
                return await summary_text(Desk(session, made.unit_id, TZ, NOW, "vi"), SUMMARY_OF)

            q_times, groups = await timed(query, repeat)
            t_times, _ = await timed(full, repeat)
            s_times, summary = await timed(matrix, repeat)
            statements = await _capture(engine, query)
        plans = await _plans(engine, backend, statements)
    finally:
        await engine.dispose()
    figures = QueryFigures(
        backend,
        size,
        made.assignments,
        median(q_times),
        percentile(q_times, 90),
        sum(len(g.rows) for g in groups),
        median(t_times),
        median(s_times),
        summary.count("\n"),
        len(statements),
    )
    return figures, plans


async def _capture(engine: AsyncEngine, fn: Any) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def listen(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", listen)
    try:
        await fn()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listen)
    return seen


async def _plans(engine: AsyncEngine, backend: str, statements: list[tuple[str, Any]]) -> str:
    prefix = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN (ANALYZE, COSTS OFF) "
    out = []
    async with engine.connect() as conn:
        for i, (statement, params) in enumerate(statements, 1):
            rows = await conn.exec_driver_sql(prefix + statement, params)
            lines = [" ".join(str(c) for c in row) for row in rows]
            if backend == "sqlite":
                lines = [line.split(" ", 3)[-1] for line in lines]
            out.append(f"-- statement {i}\n{statement.strip()}\n-- plan\n" + "\n".join(lines))
    return "\n\n".join(out)


def report(figures: list[QueryFigures]) -> str:
    """The figures as a table."""
    return table(
        [
            "db",
            "size",
            "assignments",
            "/overdue query ms",
            "p90",
            "late rows",
            "/overdue text ms",
            "/tonghop ms",
            "tonghop lines",
            "SQL stmts",
        ],
        [
            (
                f.backend,
                f.size,
                f.assignments,
                f.overdue_ms,
                f.overdue_p90,
                f.overdue_rows,
                f.overdue_text_ms,
                f.summary_ms,
                f.summary_rows,
                f.statements,
            )
            for f in figures
        ],
    )


async def run(sizes: list[str], backends: list[str], repeat: int, plans_for: str | None) -> None:
    """Generate, measure and print each backend × size."""
    figures = []
    for backend in backends:
        for size in sizes:
            async with scratch_database(backend) as url:
                made = await fresh(url, SIZES[size])
                print(f"# {backend} {size}: generated in {made.seconds:.1f} s", flush=True)
                f, plans = await measure(url, backend, size, made, repeat)
                figures.append(f)
                if size == plans_for:
                    print(f"\n## plans, {backend}, {size}\n\n```\n{plans}\n```\n", flush=True)
    print(report(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1k", "10k", "100k"], choices=SIZES)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--plans", default="100k", help="print the plans at this size")
    args = parser.parse_args()
    asyncio.run(run(args.sizes, args.backends, args.repeat, args.plans))


if __name__ == "__main__":
    main()
