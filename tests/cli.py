"""Running `python -m bot` as a separate process, the way the clerk and the server run it."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping

from tests.conftest import ROOT


def cli_env(database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI run: this database, UTF-8 output, no inherited bot settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TELEGRAM_") and k not in {"DATABASE_URL", "DATA_DIR"}
    }
    env.update({"DATABASE_URL": database_url, "PYTHONIOENCODING": "utf-8"})
    env.update(extra or {})
    return env


async def start_cli(
    database_url: str, *args: str, env: Mapping[str, str] | None = None
) -> asyncio.subprocess.Process:
    """Start `python -m bot ARGS` from the repository root with pipes for its output."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env=cli_env(database_url, env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_cli(
    database_url: str, *args: str, env: Mapping[str, str] | None = None
) -> tuple[int, str, str]:
    """Run `python -m bot ARGS` to the end; (exit code, stdout, stderr)."""
    process = await start_cli(database_url, *args, env=env)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode("utf-8"), err.decode("utf-8")
