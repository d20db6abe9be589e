"""Migration 0003: the handed_in flag is backfilled, kept by triggers, and undone cleanly."""

from __future__ import annotations

from datetime import UTC, date, datetime

from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.migrate import alembic_config, upgrade
from db.session import make_engine

NOW = datetime(2024, 3, 11, 2, 0, tzinfo=UTC)


async def _downgrade(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))
    finally:
        await engine.dispose()


async def _seed(engine: AsyncEngine) -> None:
    """A unit, three officials and one report; A sent it, B sent it and got it back."""
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO units (id, code, name, timezone) VALUES (1, 'x', 'X', 'UTC')")
        )
        for n in (1, 2, 3):
            await conn.execute(
                text(
                    "INSERT INTO officials (id, unit_id, key, full_name, name_folded, position,"
                    " department, is_official, is_clerk, is_leader, active, language)"
                    " VALUES (:n, 1, :k, :k, :k, '', '', true, false, false, true, 'vi')"
                ),
                {"n": n, "k": f"p{n}"},
            )
        await conn.execute(
            text(
                "INSERT INTO obligations (id, unit_id, code, report_code, kind, title, due_date,"
                " window_start, window_end, templates, active)"
                " VALUES (1, 1, 'R-2024', 'R', 'cchc', 'R', :due, :due, :due, '[]', true)"
            ),
            {"due": date(2024, 3, 10)},
        )
        for n in (1, 2, 3):
            await conn.execute(
                text(
                    "INSERT INTO obligation_assignees (obligation_id, official_id) VALUES (1, :n)"
                ),
                {"n": n},
            )
        for n, state in ((1, "pending"), (2, "returned")):
            await conn.execute(
                text(
                    "INSERT INTO submissions (unit_id, obligation_id, official_id, version, note,"
                    " submitted_at, late_days, review_state) VALUES (1, 1, :n, 1, '', :at, 0, :s)"
                ),
                {"n": n, "at": NOW, "s": state},
            )


async def _flags(engine: AsyncEngine) -> dict[int, bool]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT official_id, handed_in FROM obligation_assignees ORDER BY official_id")
        )
        return {official_id: bool(flag) for official_id, flag in rows}


async def test_upgrade_backfills_and_the_triggers_keep_the_flag(database_url: str) -> None:
    await upgrade(database_url, "0002")
    engine = make_engine(database_url)
    try:
        await _seed(engine)
        await upgrade(database_url)
        assert await _flags(engine) == {1: True, 2: False, 3: False}
        async with engine.begin() as conn:
            # B sends version 2; A's only version is sent back; C is removed and re-added
            # after a submission, as a plan reload does.
            await conn.execute(
                text(
                    "INSERT INTO submissions (unit_id, obligation_id, official_id, version, note,"
                    " submitted_at, late_days, review_state)"
                    " VALUES (1, 1, 2, 2, '', :at, 0, 'pending')"
                ),
                {"at": NOW},
            )
            await conn.execute(
                text("UPDATE submissions SET review_state = 'returned' WHERE official_id = 1")
            )
            await conn.execute(text("DELETE FROM obligation_assignees WHERE official_id = 3"))
            await conn.execute(
                text(
                    "INSERT INTO submissions (unit_id, obligation_id, official_id, version, note,"
                    " submitted_at, late_days, review_state)"
                    " VALUES (1, 1, 3, 1, '', :at, 0, 'accepted')"
                ),
                {"at": NOW},
            )
            await conn.execute(
                text("INSERT INTO obligation_assignees (obligation_id, official_id) VALUES (1, 3)")
            )
            # Reviewing an older version changes nothing: only the latest one counts.
            await conn.execute(
                text(
                    "UPDATE submissions SET review_state = 'accepted'"
                    " WHERE official_id = 2 AND version = 1"
                )
            )
        assert await _flags(engine) == {1: False, 2: True, 3: True}

        await _downgrade(database_url, "0002")
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("obligation_assignees")}
            )
        assert "handed_in" not in columns and "extended_due" not in columns
        await upgrade(database_url)
        assert await _flags(engine) == {1: False, 2: True, 3: True}
    finally:
        await engine.dispose()
