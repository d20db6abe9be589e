"""`/healthz`: 200 while the database answers, the sweep keeps up and the channels work; 503
when one of them has not for five minutes; and never a secret in the answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channel_health import ChannelHealth
from bot.settings import Settings
from bot.web import create_app
from db.clock import FixedClock
from db.files import FileStore
from db.models import Reminder, ReminderStatus, SweepMark
from db.outbox import NewReminder, enqueue
from db.session import make_engine, make_sessionmaker
from tests.factories import Commune, build_commune

TOKEN = "7000000001:AAH-telegram-secret-token-value"
ZALO_TOKEN = "3333333333:zalo-secret-token-value"
DB_PASSWORD = "hunter2-db-password"


@dataclass
class Probe:
    """The app and what /healthz reads: the clock, the channels' registry, the commune."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: FixedClock
    health: ChannelHealth
    commune: Commune
    tmp_path: Path

    async def get(self, *, sweep_expected: bool = True) -> httpx.Response:
        """GET /healthz from an app created now (so "now" is its start)."""
        return await healthz(
            self.sessionmaker, self.clock, self.health, self.tmp_path, sweep_expected
        )

    async def swept(self, ago: timedelta) -> None:
        async with self.sessionmaker() as session:
            session.add(SweepMark(unit_id=self.commune.unit.id, swept_until=self.clock.now() - ago))
            await session.commit()


async def healthz(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    health: ChannelHealth,
    tmp_path: Path,
    sweep_expected: bool = True,
    *,
    later: timedelta = timedelta(0),
) -> httpx.Response:
    app = create_app(
        sessionmaker=sessionmaker,
        clock=clock,
        store=FileStore(tmp_path / "data"),
        health=health,
        sweep_expected=sweep_expected,
    )
    clock.set(clock.now() + later)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        return await client.get("/healthz")


@pytest.fixture
async def probe(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> AsyncIterator[Probe]:
    async with sessionmaker() as session:
        commune = await build_commune(session)
    health = ChannelHealth(clock.now)
    yield Probe(sessionmaker, clock, health, commune, tmp_path)


async def test_healthy_is_200_with_the_sweeps_age_the_backlog_and_the_channels(
    probe: Probe,
) -> None:
    now = probe.clock.now()
    await probe.swept(timedelta(seconds=30))
    async with probe.sessionmaker() as session:
        an = probe.commune.an.id
        await enqueue(
            session,
            [
                NewReminder(probe.commune.unit.id, key, an, "obligation", 1, "due_day", due, due)
                for key, due in (
                    ("late", now - timedelta(minutes=1)),
                    ("now", now),
                    ("later", now + timedelta(hours=1)),
                    ("sent", now - timedelta(hours=1)),
                )
            ],
        )
        await session.execute(
            update(Reminder)
            .where(Reminder.idempotency_key == "sent")
            .values(status=ReminderStatus.SENT)
        )
        await session.commit()
    probe.health.expect("zalo")
    probe.health.ok("telegram")
    response = await probe.get()
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "status": "ok",
        "database": {"reachable": True},
        "last_sweep_age_seconds": 30.0,
        "outbox_backlog": 2,
        "channels": {
            "telegram": {"last_ok": "2024-03-08T01:00:00+00:00", "failing": False},
            "zalo": {"last_ok": None, "failing": False},
        },
    }


async def test_a_sweep_older_than_five_minutes_is_503(probe: Probe) -> None:
    await probe.swept(timedelta(minutes=4, seconds=59))
    assert (await probe.get()).status_code == 200
    probe.clock.set(probe.clock.now() + timedelta(seconds=2))
    response = await probe.get()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["database"] == {"reachable": True}
    assert body["last_sweep_age_seconds"] == 301.0


async def test_a_stale_sweep_is_fine_where_no_sweep_runs(probe: Probe) -> None:
    await probe.swept(timedelta(hours=3))
    response = await probe.get(sweep_expected=False)
    assert response.status_code == 200
    assert response.json()["last_sweep_age_seconds"] == 3 * 3600.0


async def test_a_sweep_that_never_ran_is_given_five_minutes_from_the_start(
    probe: Probe,
) -> None:
    started = await healthz(probe.sessionmaker, probe.clock, probe.health, probe.tmp_path)
    assert started.status_code == 200
    assert started.json()["last_sweep_age_seconds"] is None
    never = await healthz(
        probe.sessionmaker,
        probe.clock,
        probe.health,
        probe.tmp_path,
        later=timedelta(minutes=6),
    )
    assert never.status_code == 503


async def test_nothing_to_sweep_needs_no_sweep(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> None:
    response = await healthz(
        sessionmaker, clock, ChannelHealth(clock.now), tmp_path, later=timedelta(hours=1)
    )
    assert response.status_code == 200
    assert response.json()["outbox_backlog"] == 0


async def test_a_channel_failing_for_more_than_five_minutes_is_503(probe: Probe) -> None:
    probe.health.ok("telegram")
    probe.clock.set(probe.clock.now() + timedelta(minutes=1))
    probe.health.failed("telegram", "TimedOut")
    probe.clock.set(probe.clock.now() + timedelta(minutes=3))
    soon = await probe.get(sweep_expected=False)
    assert soon.status_code == 200
    assert soon.json()["channels"]["telegram"] == {
        "last_ok": "2024-03-08T01:00:00+00:00",
        "failing": True,
    }
    probe.clock.set(probe.clock.now() + timedelta(minutes=2))
    late = await probe.get(sweep_expected=False)
    assert late.status_code == 503
    assert late.json()["status"] == "unhealthy"
    # One good call and it is healthy again.
    probe.health.ok("telegram")
    assert (await probe.get(sweep_expected=False)).status_code == 200


async def test_a_channel_that_never_worked_counts_from_the_start(probe: Probe) -> None:
    probe.health.failed("zalo", "Unauthorized")
    started = await healthz(
        probe.sessionmaker, probe.clock, probe.health, probe.tmp_path, sweep_expected=False
    )
    assert started.status_code == 200
    later = await healthz(
        probe.sessionmaker,
        probe.clock,
        probe.health,
        probe.tmp_path,
        sweep_expected=False,
        later=timedelta(minutes=6),
    )
    assert later.status_code == 503
    assert later.json()["channels"]["zalo"] == {"last_ok": None, "failing": True}


UNREACHABLE = {
    "sqlite": "sqlite+aiosqlite:////nonexistent-dir/nhacviec.db",
    # Port 9 (discard) has no PostgreSQL: the connection is refused at once.
    "postgresql": f"postgresql+asyncpg://postgres:{DB_PASSWORD}@127.0.0.1:9/nhacviec",
}


@pytest.mark.parametrize("dialect", sorted(UNREACHABLE))
async def test_an_unreachable_database_is_503(
    dialect: str, clock: FixedClock, tmp_path: Path
) -> None:
    engine = make_engine(UNREACHABLE[dialect])
    try:
        response = await healthz(make_sessionmaker(engine), clock, ChannelHealth(), tmp_path)
    finally:
        await engine.dispose()
    assert response.status_code == 503
    assert response.json() == {
        "status": "unhealthy",
        "database": {"reachable": False},
        "last_sweep_age_seconds": None,
        "outbox_backlog": None,
        "channels": {},
    }


async def test_no_secret_is_in_the_answer(
    clock: FixedClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        telegram_token=TOKEN, zalo_token=ZALO_TOKEN, database_url=UNREACHABLE["postgresql"]
    )
    health = ChannelHealth(clock.now)
    # Errors as transports might word them, secrets and all.
    health.failed("telegram", f"Conflict at https://api.telegram.org/bot{TOKEN}/getUpdates")
    health.failed("zalo", f"HTTP error for bot{ZALO_TOKEN}: 401 Unauthorized")
    engine = make_engine(settings.database_url)
    try:
        response = await healthz(make_sessionmaker(engine), clock, health, tmp_path)
    finally:
        await engine.dispose()
    assert response.status_code == 503
    text = response.text
    for secret in (*settings.secrets, "telegram-secret", "zalo-secret", "Unauthorized"):
        assert secret not in text
    for part in ("postgresql", "127.0.0.1", "Conflict", "api.telegram.org"):
        assert part not in text
    assert set(json.loads(text)) == {
        "status",
        "database",
        "last_sweep_age_seconds",
        "outbox_backlog",
        "channels",
    }
    assert DB_PASSWORD not in caplog.text
