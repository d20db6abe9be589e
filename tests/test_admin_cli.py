"""Commands of the server's administrator (issue 15): `db upgrade` says what it did (created,
upgraded from → to, already current); a command piped into `head` ends quietly with exit 0;
`make run` installs only what the bot needs."""

from __future__ import annotations

import asyncio
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from db.migrate import alembic_config, upgrade
from tests.cli import cli_env, run_cli
from tests.conftest import EXAMPLE_PLAN, ROOT
from tests.wording import vi

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_db_upgrade_says_created_upgraded_or_current(database_url: str) -> None:
    where = database_url  # no password in the test URLs, so nothing is masked
    code, out, err = await run_cli(database_url, "db", "upgrade")
    assert code == 0, err
    assert out.strip() == vi("cli.db.created", revision=HEAD, where=where)

    code, out, err = await run_cli(database_url, "db", "upgrade")
    assert code == 0, err
    assert out.strip() == vi("cli.db.current", revision=HEAD, where=where)


async def test_db_upgrade_from_an_older_schema_names_both_revisions(database_url: str) -> None:
    done = await upgrade(database_url, "0008")
    assert (done.before, done.after) == (None, "0008")

    code, out, err = await run_cli(database_url, "db", "upgrade")

    assert code == 0, err
    assert out.strip() == vi("cli.db.upgraded", before="0008", after=HEAD, where=database_url)


async def test_a_command_piped_into_head_ends_quietly(database_url: str) -> None:
    for args in (("db", "upgrade"), ("plan", "load", str(EXAMPLE_PLAN.relative_to(ROOT)))):
        code, _, err = await run_cli(database_url, *args)
        assert code == 0, err
    # `head` reads one line and goes; the long preview then writes into a closed pipe.
    pipeline = (
        f"{shlex.quote(sys.executable)} -m bot reminders preview --from 01/01/2024 --to "
        '31/12/2024 | head -n 1; echo "exit ${PIPESTATUS[0]}" >&2'
    )
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        pipeline,
        cwd=ROOT,
        env=cli_env(database_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert len(out.decode().splitlines()) == 1
    assert err.decode().strip().splitlines() == ["exit 0"]


def test_make_run_installs_only_the_bot_and_make_test_adds_the_tools(tmp_path: Path) -> None:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)  # a fresh checkout: no .venv yet

    def planned(target: str) -> str:
        return subprocess.run(
            ["make", "-n", target], cwd=tmp_path, capture_output=True, text=True, check=True
        ).stdout

    run = planned("run")
    assert "install -q -e ." in run and "[dev]" not in run
    assert 'install -q -e ".[dev]"' in planned("test")
