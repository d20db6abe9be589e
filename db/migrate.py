"""Schema migrations with Alembic, run programmatically so no alembic.ini is needed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from db.session import make_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at our migrations; `connection` is used by env.py if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@dataclass(frozen=True)
class Upgrade:
    """What an upgrade did: the schema's revision before (None: no schema) and after."""

    before: str | None
    after: str | None


async def upgrade(database_url: str, revision: str = "head") -> Upgrade:
    """Create or upgrade the schema to `revision`; the revisions before and after."""
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(_upgrade, revision)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, revision: str) -> Upgrade:
    before = MigrationContext.configure(connection).get_current_revision()
    command.upgrade(alembic_config(connection), revision)
    return Upgrade(before, MigrationContext.configure(connection).get_current_revision())
