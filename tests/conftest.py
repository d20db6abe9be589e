"""Fixtures shared by the suite: databases on both backends, sessions and a fixed clock."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.files import FileStore
from db.session import make_engine, make_sessionmaker
from handlers.conversation import Conversation
from tests.databases import BACKENDS, DatabaseTemplates, postgres_admin_url, scratch_database
from tests.factories import Commune, build_commune

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_PLAN = ROOT / "examples" / "ba-bich-2024.yaml"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each database test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""
    name: str = request.param
    if name == "postgresql" and not postgres_admin_url():
        if os.environ.get("CI"):
            pytest.fail("CI must run the database tests on PostgreSQL: set TEST_DATABASE_URL")
        pytest.skip("TEST_DATABASE_URL not set")
    return name


@pytest.fixture(scope="session")
def database_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseTemplates]:
    """The schema'd databases the tests copy, built at most once per session and backend."""
    templates = DatabaseTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    asyncio.run(templates.drop())


@pytest.fixture
async def database_url(
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    database_templates: DatabaseTemplates,
) -> AsyncIterator[str]:
    """A database of the current backend for this test alone.

    It has the current schema when the test uses `engine`, and is empty otherwise (for the
    tests that run Alembic or expect no schema). Tests that use both get one database, as when
    `engine` created the schema on this URL itself.
    """
    schema = "engine" in request.fixturenames
    async with scratch_database(backend, tmp_path, database_templates if schema else None) as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a database with the current schema (a copy of the session's template)."""
    eng = make_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


@pytest.fixture
def clock() -> FixedClock:
    """08:00 on Friday 08/03/2024 in Ba Bích (01:00 UTC)."""
    return FixedClock(datetime(2024, 3, 8, 1, 0, tzinfo=UTC))


@pytest.fixture
async def commune(session: AsyncSession) -> Commune:
    """Ba Bích in miniature (tests.factories); test modules that need more override it."""
    return await build_commune(session)


@pytest.fixture
def conversation(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> Conversation:
    """The conversation on the test database, storing files under tmp_path/data."""
    return Conversation(
        sessionmaker, clock, FileStore(tmp_path / "data"), ZoneInfo("Asia/Ho_Chi_Minh")
    )
