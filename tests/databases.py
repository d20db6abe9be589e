"""Throw-away databases for tests: a SQLite file, or a fresh PostgreSQL database per test.

Creating the schema costs more than many tests themselves, so a test that wants it gets a copy
of a template built once per pytest session and backend (see `DatabaseTemplates`).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.models import Base
from db.session import make_engine

BACKENDS = ("sqlite", "postgresql")


def postgres_admin_url() -> str | None:
    """TEST_DATABASE_URL, the PostgreSQL server the suite may create databases on."""
    return os.environ.get("TEST_DATABASE_URL") or None


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def create_schema(url: str) -> None:
    """`Base.metadata.create_all` on `url`, with the triggers its events add (what the `engine`
    fixture's tests get)."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Template:
    """What the databases copied from one template hold: `build` fills an empty database."""

    name: str
    build: Callable[[str], Awaitable[None]]


SCHEMA = Template("schema", create_schema)


class DatabaseTemplates:
    """Template databases, each built on first use per backend and copied for each test that
    wants it; `drop` removes them at the end of the session."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._sqlite: dict[str, Path] = {}
        self._postgres: dict[str, str] = {}
        # The pid keeps two test runs sharing one PostgreSQL server off each other's templates.
        self._tag = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"

    async def sqlite(self, template: Template) -> Path:
        """The file of `template` on SQLite: closed, everything in it, no WAL beside it."""
        if template.name not in self._sqlite:
            path = self._directory / f"{template.name}.db"
            url = _sqlite_url(path)
            await template.build(url)
            # Everything into the main file, so that copying that one file copies it all.
            engine = make_engine(url)
            try:
                async with engine.connect() as conn:
                    await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                await engine.dispose()
            wal = path.with_name(path.name + "-wal")
            assert not wal.exists() or wal.stat().st_size == 0, "template WAL not checkpointed"
            self._sqlite[template.name] = path
        return self._sqlite[template.name]

    async def postgres(self, admin_url: str, template: Template) -> str:
        """The name of the database of `template` on the server of `admin_url`. `build` must
        close its connections: PostgreSQL copies a database only while nobody is connected."""
        if template.name not in self._postgres:
            if not self._postgres:
                await _drop_orphaned_templates(admin_url)
            name = f"nv_template_{template.name}_{self._tag}"
            await _admin(admin_url, f'CREATE DATABASE "{name}"')
            try:
                await template.build(_database_url(admin_url, name))
            except BaseException:
                # No half-built template may be left behind, or copied by the next test.
                await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                raise
            self._postgres[template.name] = name
        return self._postgres[template.name]

    async def drop(self) -> None:
        """Drop the PostgreSQL templates (the SQLite ones go with their temporary directory)."""
        admin_url = postgres_admin_url()
        while self._postgres and admin_url:
            _, name = self._postgres.popitem()
            await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# A template's name ends with the pid of the run that built it and a random tag.
_TEMPLATE_NAME = re.compile(r"nv_template_.+_(?P<pid>\d+)_[0-9a-f]{8}")


async def _drop_orphaned_templates(admin_url: str) -> None:
    """Drop the templates of runs that were killed before they could (their process is gone).

    Only on a server of this machine: elsewhere a pid says nothing about the run that owns it.
    """
    if make_url(admin_url).host not in (None, "", "127.0.0.1", "localhost", "::1"):
        return
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            names = await conn.scalars(
                text("SELECT datname FROM pg_database WHERE datname LIKE 'nv_template_%'")
            )
            for name in list(names):
                match = _TEMPLATE_NAME.fullmatch(name)
                if match is None or _alive(int(match["pid"])):
                    continue
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    return True


async def _admin(admin_url: str, statement: str) -> None:
    """Run one statement that may not run in a transaction (CREATE/DROP DATABASE)."""
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await admin.dispose()


@asynccontextmanager
async def scratch_database(
    backend: str,
    tmp_path: Path,
    templates: DatabaseTemplates | None = None,
    template: Template = SCHEMA,
) -> AsyncIterator[str]:
    """Yield the URL of a database that is dropped afterwards: a copy of `template` (by
    default the current schema) when `templates` are given, else an empty one."""
    if backend == "sqlite":
        path = tmp_path / "test.db"
        if templates is not None:
            shutil.copy(await templates.sqlite(template), path)
        yield _sqlite_url(path)
        return
    admin_url = postgres_admin_url()
    assert admin_url, "TEST_DATABASE_URL is not set"
    source = None if templates is None else await templates.postgres(admin_url, template)
    async with postgres_database(admin_url, "nv", template=source) as url:
        yield url


def _database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@asynccontextmanager
async def postgres_database(
    admin_url: str, prefix: str, *, template: str | None = None
) -> AsyncIterator[str]:
    """Create a new database named `prefix`_<random> on the server of `admin_url` (a copy of
    the database `template`, if given), yield its URL, and drop it afterwards (the benchmarks
    use this too)."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        try:
            yield _database_url(admin_url, name)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
