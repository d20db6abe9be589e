"""Shared helpers of the benchmarks: repository imports, machine facts, scratch databases,
timing statistics and plain-text tables.

Every script runs from the repository root as ``.venv/bin/python bench/<script>.py``; importing
this module first puts the root on ``sys.path``.
"""

from __future__ import annotations

import os
import platform
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from db.session import make_engine  # noqa: E402
from tests.databases import postgres_database  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


def machine() -> str:
    """Cores, memory, Python, SQLite and PostgreSQL server versions, on one line."""
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return (
        f"{os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GB, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def median(values: Sequence[float]) -> float:
    """The median (0 for no values)."""
    return statistics.median(values) if values else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    /proc/self/status VmHWM where there is one: getrusage's ru_maxrss survives fork and exec,
    so a child started by a big benchmark process would report its parent's size.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Current resident set size of this process (/proc/self/statm), in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> tuple[list[float], Any]:
    """Run `fn` once to warm up, then `repeat` times; the wall times in ms and the last result."""
    result = await fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = await fn()
        times.append((time.perf_counter() - start) * 1000)
    return times, result


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (readable in a terminal and pasteable into RESULTS.md)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


@asynccontextmanager
async def scratch_database(backend: str) -> AsyncIterator[str]:
    """The URL of an empty database (a temporary SQLite file, or a new PostgreSQL database),
    removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="nvbench-") as tmp:
            yield f"sqlite+aiosqlite:///{tmp}/bench.db"
        return
    async with postgres_database(PG_ADMIN_URL, "nvbench") as url:
        yield url


async def postgres_version() -> str:
    """The PostgreSQL server's version, or why it is not there."""
    engine = make_engine(PG_ADMIN_URL)
    try:
        async with engine.connect() as conn:
            return str(await conn.scalar(text("SHOW server_version")))
    except Exception as exc:
        return f"unavailable ({type(exc).__name__})"
    finally:
        await engine.dispose()
