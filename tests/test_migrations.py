"""The Alembic migrations build the schema the models describe, on both databases."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from db.migrate import alembic_config, upgrade
from db.models import Base
from db.session import make_engine
from tests.conftest import ROOT


def _drift(sync_conn: Connection) -> list[Any]:
    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def test_upgrade_creates_every_table(database_url: str) -> None:
    await upgrade(database_url)

    assert await _tables(database_url) == set(Base.metadata.tables) | {"alembic_version"}


async def test_upgrade_twice_is_harmless_and_keeps_data(database_url: str) -> None:
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO units (code, name, timezone) VALUES ('ba-bich', 'Ba Bích', 'UTC')"
                )
            )

        await upgrade(database_url)

        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT code FROM units"))).scalars().all() == [
                "ba-bich"
            ]
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            assert [v for (v,) in versions] == [_head()]
    finally:
        await engine.dispose()


async def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_drift) == []
    finally:
        await engine.dispose()


async def test_drift_check_notices_a_missing_index(database_url: str) -> None:
    """Guards the test above: an empty comparison must mean agreement, not a blind check."""
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP INDEX ix_reminders_due"))
        async with engine.connect() as conn:
            diff = await conn.run_sync(_drift)
        assert [(d[0], d[1].name) for d in diff] == [("add_index", "ix_reminders_due")]
    finally:
        await engine.dispose()


def test_cli_db_upgrade_creates_the_database(tmp_path: Path) -> None:
    db_file = tmp_path / "nhacviec.db"
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_TOKEN"}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{db_file}"

    done = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    with closing(sqlite3.connect(db_file)) as conn:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert set(Base.metadata.tables) <= names
