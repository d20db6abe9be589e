"""A consistent copy of the database, and putting one back: SQLite through its online backup
API (never a file copy of a live database), PostgreSQL through `pg_dump` and `pg_restore`.

The password of a PostgreSQL URL goes to the tools in `PGPASSWORD`, never on their command
line, and nothing here prints it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError as AlembicCommandError
from sqlalchemy import MetaData, inspect, select, table, text
from sqlalchemy.engine import URL, Connection, make_url

from db.migrate import alembic_config
from db.session import make_engine

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
KINDS = (SQLITE, POSTGRESQL)
_VERSION_TABLE = "alembic_version"


class DumpToolError(Exception):
    """`pg_dump` or `pg_restore` is missing or failed; `detail` is what it said on stderr."""

    def __init__(self, tool: str, detail: str, *, missing: bool = False) -> None:
        super().__init__(f"{tool}: {detail}")
        self.tool = tool
        self.detail = detail
        self.missing = missing


def database_kind(url: str) -> str:
    """ "sqlite" or "postgresql" (or another backend's name, which backups do not handle)."""
    return make_url(url).get_backend_name()


def known_revision(revision: str) -> bool:
    """Whether this version of the code has the migration `revision` (an older one included)."""
    scripts = ScriptDirectory.from_config(alembic_config())
    try:
        return scripts.get_revision(revision) is not None
    except AlembicCommandError:
        return False


async def schema_revision(url: str) -> str | None:
    """The schema's Alembic revision, or None when the database has no schema."""
    if database_kind(url) == SQLITE and not _sqlite_exists(url):
        return None  # connecting would create the file
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_revision)
    finally:
        await engine.dispose()


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table(_VERSION_TABLE):
        return None
    revision = conn.scalar(select(text("version_num")).select_from(table(_VERSION_TABLE)))
    return str(revision) if revision is not None else None


async def holds_data(url: str) -> bool:
    """Whether any table but Alembic's own has a row: a restore goes onto an empty database."""
    if database_kind(url) == SQLITE and not _sqlite_exists(url):
        return False
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_holds_data)
    finally:
        await engine.dispose()


def _holds_data(conn: Connection) -> bool:
    for name in inspect(conn).get_table_names():
        if name != _VERSION_TABLE and conn.scalar(select(text("1")).select_from(table(name))):
            return True
    return False


async def drop_empty_schema(url: str) -> None:
    """Drop every table of a database that holds none of our rows (a `db upgrade` done before
    the restore), so the copy goes onto nothing. The caller has checked `holds_data`."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_drop_all)
    finally:
        await engine.dispose()


def _drop_all(conn: Connection) -> None:
    existing = MetaData()
    existing.reflect(conn)
    existing.drop_all(conn)


def copy_sqlite(url: str, target: Path) -> None:
    """Copy the SQLite database of `url` into the new file `target` through SQLite's online
    backup API: one step under a read lock, so the copy is one committed moment even while the
    bot writes (WAL lets the writer go on meanwhile)."""
    source = sqlite3.connect(f"file:{quote(str(_sqlite_path(url)))}?mode=rw", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
            # One self-contained file: no WAL beside it inside the archive.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    finally:
        source.close()


def restore_sqlite(copy: Path, url: str) -> None:
    """Write the database file `copy` into the (empty) SQLite database of `url`, page by page
    through the backup API, so a WAL beside the target stays consistent with it."""
    path = _sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{quote(str(copy))}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(path, timeout=30)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def dump_postgres(url: str, target: Path) -> None:
    """`pg_dump` of the database of `url` into `target` (custom format: one consistent snapshot
    of the whole database, restorable with `pg_restore`)."""
    _run_tool(
        ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={target}"], url
    )


def restore_postgres(dump: Path, url: str) -> None:
    """`pg_restore` of `dump` into the (emptied) database of `url`, all or nothing."""
    database = make_url(url).database or ""
    _run_tool(
        [
            "pg_restore",
            "--clean",  # the trigger functions a dropped schema leaves behind
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={database}",
            str(dump),
        ],
        url,
    )


def _run_tool(command: list[str], url: str) -> None:
    try:
        done = subprocess.run(
            command, env=libpq_environment(url), capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise DumpToolError(command[0], "not found", missing=True) from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        raise DumpToolError(command[0], "; ".join(lines[:4]) or f"exit {done.returncode}")


def libpq_environment(url: str) -> dict[str, str]:
    """The environment that points `pg_dump`/`pg_restore` at the database of `url`: host, port,
    user, database and the password (PGPASSWORD), so none of it is on a command line."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    values = {
        "PGHOST": parsed.host,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
        # asyncpg spells it ssl=require; libpq sslmode=require.
        "PGSSLMODE": _query(parsed, "sslmode") or _query(parsed, "ssl"),
    }
    env.update({name: value for name, value in values.items() if value})
    return env


def _query(parsed: URL, name: str) -> str | None:
    value = parsed.query.get(name)
    if isinstance(value, tuple):
        return value[-1] if value else None
    return value


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def _sqlite_exists(url: str) -> bool:
    try:
        return _sqlite_path(url).is_file()
    except ValueError:
        return False
