"""Throw-away databases for tests: a SQLite file, or a fresh PostgreSQL database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.session import make_engine

BACKENDS = ("sqlite", "postgresql")


def postgres_admin_url() -> str | None:
    """TEST_DATABASE_URL, the PostgreSQL server the suite may create databases on."""
    return os.environ.get("TEST_DATABASE_URL") or None


@asynccontextmanager
async def scratch_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """Yield the URL of an empty database that is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    admin_url = postgres_admin_url()
    assert admin_url, "TEST_DATABASE_URL is not set"
    async with postgres_database(admin_url, "nv") as url:
        yield url


@asynccontextmanager
async def postgres_database(admin_url: str, prefix: str) -> AsyncIterator[str]:
    """Create a new database named `prefix`_<random> on the server of `admin_url`, yield its
    URL, and drop it afterwards (the benchmarks use this too)."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
