"""Run the benchmarks and print their tables. ``--quick``: commune scale, under two minutes.

``.venv/bin/python bench/run.py --quick`` (from the repository root; PostgreSQL at
$BENCH_PG_URL, default postgresql+asyncpg://postgres@127.0.0.1:5432/test, scratch databases
are created and dropped). Without ``--quick`` the full sizes run (tens of minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import fanout, queries, startup, sweep, updates, wave
from bench.common import machine, median, postgres_version, table


def _section(title: str) -> None:
    print(f"\n## {title}\n", flush=True)


async def _run(quick: bool, backends: list[str]) -> None:
    print(f"machine: {machine()}, PostgreSQL {await postgres_version()}")
    sizes = ["commune", "1k", "10k"] if quick else ["commune", "1k", "10k", "100k", "1m"]
    repeat = 50 if quick else 200

    _section(f"1. updates through the whole stack (commune scale, {repeat} each)")
    results: list[updates.Latency] = []
    for backend in backends:
        results += await updates.measure(backend, repeat, 100 if quick else 300)
    print(updates.report(results), flush=True)

    _section("2. clerk queries and 3. the 08:00 sweep (1 % due)")
    q_figures, s_figures = [], []
    for backend in backends:
        for size in sizes:
            async with queries.scratch_database(backend) as url:
                made = await queries.fresh(url, queries.SIZES[size])
                figures, _plans = await queries.measure(url, backend, size, made, 15)
                q_figures.append(figures)
                s_figures.append(await sweep.measure(url, backend, size, made, 5))
    print(queries.report(q_figures), flush=True)
    print()
    print(sweep.report(s_figures), flush=True)

    count = 500 if quick else 10_000
    _section(f"4. fan-out of {count} reminders, limits × {fanout.SCALE}")
    print(fanout.report([await fanout.measure("sqlite", count, 300)]), flush=True)

    communes = 10 if quick else 100
    scales = [10.0] if quick else [1.0, 5.0, 10.0]
    _section(
        f"4b. the 08:00 wave of {communes} communes × 25 officials, taps during it, "
        f"limits × {', '.join(f'{s:g}' for s in scales)}"
    )
    wave_backend = "postgresql" if "postgresql" in backends else backends[0]
    waves = await wave.measure(
        wave_backend, communes, 25, [1] if quick else [1, 2], ["polling"], scales, 4.0
    )
    print(wave.report(waves), flush=True)

    _section("5. start-up to ready, 10,000 officials")
    rows = []
    for backend in backends:
        inside, outside = await startup.measure(backend, 10_000, 1 if quick else 5)
        rows.append((backend, median(inside), median(outside)))
    print(table(["db", "run_telegram→poll s", "process start→poll s"], rows), flush=True)
    print("\n(6. the design choice: bench/design_choice.py, about 20 s per run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="commune scale, < 2 minutes")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    started = time.perf_counter()
    asyncio.run(_run(args.quick, args.backends))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
