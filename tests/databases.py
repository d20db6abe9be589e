"""Throw-away databases for tests: a SQLite file, or a PostgreSQL database per test.

Creating the schema costs more than many tests themselves, so a test that wants it gets a copy
of a template built once per pytest session and backend (see `DatabaseTemplates`). On
PostgreSQL even the copy costs more than most tests (CREATE DATABASE writes the whole template,
catalogs included), so a copy of a template without rows is emptied after its
test and lent to the next one, as long as its schema is still the template's.
"""

from __future__ import annotations

import asyncio
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
    # `build` leaves every table empty: a used PostgreSQL copy whose schema is unchanged is as
    # good as a new one once its tables are emptied (see `DatabaseTemplates.postgres_copy`).
    rowless: bool = False


SCHEMA = Template("schema", create_schema, rowless=True)


class DatabaseTemplates:
    """Template databases, each built on first use per backend and copied for each test that
    wants it; `drop` removes them at the end of the session."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._sqlite: dict[str, Path] = {}
        self._postgres: dict[str, str] = {}
        # Emptied copies of the rowless templates, waiting for their next test, and what the
        # catalog of a fresh copy looks like (`_catalog_fingerprint`).
        self._spare: dict[str, list[str]] = {}
        self._fingerprints: dict[str, str] = {}
        self._copies = 0
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

    @asynccontextmanager
    async def postgres_copy(self, admin_url: str, template: Template) -> AsyncIterator[str]:
        """Yield the URL of a database holding what `template` holds, for one test alone.

        A copy of a rowless template is reused: after its test every other connection to it is
        ended and, if its catalog is still a fresh copy's, its tables are emptied (sequences
        restarted) and it waits for the next test; otherwise, or if the test failed, it is
        dropped. Other templates get a new copy per test.
        """
        source = await self.postgres(admin_url, template)
        if not template.rowless:
            async with postgres_database(admin_url, "nv", template=source) as url:
                yield url
            return
        spare = self._spare.setdefault(template.name, [])
        if spare:
            name = spare.pop()
        else:
            self._copies += 1
            name = f"nv_copy_{template.name}_{self._copies}_{self._tag}"
            await _admin(admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        url = _database_url(admin_url, name)
        emptied = False
        try:
            if template.name not in self._fingerprints:
                self._fingerprints[template.name] = await _catalog_fingerprint(url)
            yield url
            emptied = await _empty(url, self._fingerprints[template.name])
        finally:
            if emptied:
                spare.append(name)
            else:
                await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def drop(self) -> None:
        """Drop the PostgreSQL templates and their spare copies (the SQLite ones go with their
        temporary directory)."""
        admin_url = postgres_admin_url()
        names = [name for spare in self._spare.values() for name in spare]
        names += self._postgres.values()
        self._spare.clear()
        self._postgres.clear()
        if admin_url:
            for name in names:
                await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Everything a test could change in a database besides its rows: schemas, relations and
# their columns, defaults, constraints, indexes, triggers, functions, types, extensions,
# per-database settings, sequences' positions, prepared transactions, large objects.
_FINGERPRINT = """
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
    SELECT 'n ' || nspname || ' ' || coalesce(nspacl::text, '')
    FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'
    UNION ALL
    SELECT 'c ' || c.oid::regclass::text || ' ' || c.relkind::text || c.relpersistence::text
        || c.relrowsecurity::text || ' ' || coalesce(c.relacl::text, '')
        || ' ' || coalesce(array_to_string(c.reloptions, ','), '')
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
    UNION ALL
    SELECT 'a ' || a.attrelid::regclass::text || ' ' || a.attnum || ' ' || a.attname || ' '
        || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text || ' '
        || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
        AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'k ' || conrelid::regclass::text || ' ' || conname || ' '
        || pg_get_constraintdef(oid) || ' ' || convalidated::text
    FROM pg_constraint
    WHERE connamespace NOT IN (SELECT oid FROM pg_namespace WHERE nspname ~ '^pg_'
        OR nspname = 'information_schema')
    UNION ALL
    SELECT 'i ' || schemaname || ' ' || indexdef FROM pg_indexes
    WHERE schemaname !~ '^pg_' AND schemaname <> 'information_schema'
    UNION ALL
    SELECT 't ' || pg_get_triggerdef(oid) || ' ' || tgenabled::text FROM pg_trigger
    WHERE NOT tgisinternal
    UNION ALL
    SELECT 'r ' || ev_class::regclass::text || ' ' || rulename || ' ' || ev_enabled::text
        || ' ' || md5(pg_get_ruledef(oid))
    FROM pg_rewrite WHERE ev_class >= 16384
    UNION ALL
    SELECT 'f ' || p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND p.prokind <> 'a'
    UNION ALL
    SELECT 'y ' || t.oid::regtype::text || ' ' || t.typtype::text || ' ' || coalesce((
        SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder)
        FROM pg_enum WHERE enumtypid = t.oid), '')
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
        AND t.typtype IN ('d', 'e', 'r', 'm')
    UNION ALL
    SELECT 'e ' || extname || ' ' || extversion FROM pg_extension
    UNION ALL
    SELECT 'd ' || coalesce(array_to_string(setconfig, ','), '') FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
    UNION ALL
    SELECT 'q ' || schemaname || '.' || sequencename || ' ' || coalesce(last_value::text, '-')
    FROM pg_sequences
    UNION ALL
    SELECT 'p ' || count(*) FROM pg_prepared_xacts WHERE database = current_database()
    UNION ALL
    SELECT 'l ' || count(*) FROM pg_largeobject_metadata
) AS items(item)
"""


async def _catalog_fingerprint(url: str) -> str:
    """A digest of everything in the database at `url` that emptying its tables leaves as it
    is (`_FINGERPRINT`)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return str(await conn.scalar(text(_FINGERPRINT)))
    finally:
        await engine.dispose()


async def _empty(url: str, fingerprint: str) -> bool:
    """End every other connection to the database at `url`, empty its tables and restart
    their sequences; True if it is then like a fresh copy of its rowless template (its catalog
    digest is `fingerprint`), False if the caller must drop it instead."""
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            # A process the test left behind, or a pooled connection, would keep its locks,
            # advisory ones included, into the next test: end them and wait until they are gone.
            others = (
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            for _ in range(500):
                pids = (await conn.scalars(text(others))).all()
                if not pids:
                    break
                for pid in pids:
                    await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                await asyncio.sleep(0.01)
            else:
                return False
            # DELETE, not TRUNCATE: on a few rows it costs a millisecond where TRUNCATE makes
            # new files for every table and index (tens of ms). As replica, the foreign keys
            # and the tables' own triggers do not fire: every row goes anyway.
            tables = await conn.scalars(
                text(
                    "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                    "WHERE schemaname !~ '^pg_' AND schemaname <> 'information_schema'"
                )
            )
            deletes = "".join(f"DELETE FROM {table}; " for table in tables.all())
            # One transaction in one round trip (a script needs the driver's simple protocol).
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            try:
                await driver.execute(
                    "BEGIN; SET LOCAL session_replication_role = replica; "
                    + deletes
                    + "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, "
                    "false) FROM pg_sequences; COMMIT;"
                )
            except Exception:
                # A role that may not be a replica (not a superuser): the copy is dropped, as
                # every copy was before they were reused.
                return False
            return str(await conn.scalar(text(_FINGERPRINT))) == fingerprint
    finally:
        await engine.dispose()


# A template's name, or a reused copy's, ends with the pid of the run that built it and a
# random tag.
_TEMPLATE_NAME = re.compile(r"nv_(?:template|copy)_.+_(?P<pid>\d+)_[0-9a-f]{8}")


async def _drop_orphaned_templates(admin_url: str) -> None:
    """Drop the templates and reused copies of runs that were killed before they could (their
    process is gone).

    Only on a server of this machine: elsewhere a pid says nothing about the run that owns it.
    """
    if make_url(admin_url).host not in (None, "", "127.0.0.1", "localhost", "::1"):
        return
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            names = await conn.scalars(
                text(
                    "SELECT datname FROM pg_database "
                    "WHERE datname LIKE 'nv\\_template\\_%' OR datname LIKE 'nv\\_copy\\_%'"
                )
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
    if templates is None:
        async with postgres_database(admin_url, "nv") as url:
            yield url
        return
    async with templates.postgres_copy(admin_url, template) as url:
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
