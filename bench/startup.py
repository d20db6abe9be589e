"""Start-up to ready with 10,000 officials: until the first getUpdates long poll at the fake.

Two clocks: from the `run_telegram` call (in this process, imports done), and from process
start (`python -m bot run` as a child process, interpreter start and imports included).
Both with reminders on (the sweep job and the dispatcher start too), on a database that
already has the schema and the officials, as after a restart.

``.venv/bin/python bench/startup.py --officials 10000 --repeat 5 --backends sqlite postgresql``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, median, scratch_database, table
from bench.datagen import Scale, fresh
from bot.serve import run_bot
from bot.settings import Settings
from db.clock import SystemClock
from tests.fakebotapi import FakeBotApi


async def _in_process(server: FakeBotApi, settings: Settings) -> float:
    stop = asyncio.Event()
    start = time.perf_counter()
    task = asyncio.create_task(run_bot(settings, SystemClock(), stop, reminders=True, web=False))
    await server.wait_for(lambda: server.polling, timeout=60)
    took = time.perf_counter() - start
    stop.set()
    await asyncio.wait_for(task, timeout=60)
    return took


async def _child(server: FakeBotApi, url: str, data_dir: str) -> float:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TELEGRAM_TOKEN": server.token,
        "TELEGRAM_API_URL": server.url,
        "DATA_DIR": data_dir,
    }
    start = time.perf_counter()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=data_dir,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await server.wait_for(lambda: server.polling, timeout=60)
        return time.perf_counter() - start
    finally:
        child.send_signal(signal.SIGTERM)
        await asyncio.wait_for(child.wait(), timeout=60)


async def measure(backend: str, officials: int, repeat: int) -> tuple[list[float], list[float]]:
    """Seconds to ready, `repeat` times in process and as a child process."""
    async with scratch_database(backend) as url:
        await fresh(url, Scale(officials, range(2024, 2025)))
        inside: list[float] = []
        outside: list[float] = []
        with tempfile.TemporaryDirectory(prefix="nvbench-") as tmp:
            for _ in range(repeat):
                async with FakeBotApi() as server:
                    settings = Settings(
                        database_url=url,
                        data_dir=Path(tmp),
                        telegram_token=server.token,
                        telegram_api_url=server.url,
                    )
                    inside.append(await _in_process(server, settings))
                async with FakeBotApi() as server:
                    outside.append(await _child(server, url, tmp))
    return inside, outside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officials", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    rows = []
    for backend in args.backends:
        inside, outside = asyncio.run(measure(backend, args.officials, args.repeat))
        rows.append(
            (backend, args.officials, len(inside), median(inside), max(inside), median(outside))
        )
    print(
        table(
            [
                "db",
                "officials",
                "runs",
                "run_telegram→poll s (median)",
                "max s",
                "process start→poll s (median)",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
