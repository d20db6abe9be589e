"""`python -m bot backup --out FILE` and `restore FILE` (issue 15): a backup taken while the bot
writes restores to one consistent moment — the submissions committed up to then, every one of
them with its files — on SQLite and PostgreSQL; a restore goes onto an empty database only; the
PostgreSQL password never reaches a command line."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import sys
import tarfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url

from db import backup as database
from db.clock import FixedClock
from db.files import FileStore
from db.migrate import upgrade
from db.models import Obligation, Official, StoredFile, Submission
from db.session import make_engine, make_sessionmaker
from db.submissions import ReceivedFile, stored_file, submit
from handlers.presenting import file_size
from tests.cli import run_cli
from tests.databases import postgres_admin_url, postgres_database
from tests.factories import build_commune
from tests.wording import vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@asynccontextmanager
async def empty_database(backend: str, tmp_path: Path, name: str) -> AsyncIterator[str]:
    """A second, empty database of `backend` to restore into."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / name}"
        return
    admin = postgres_admin_url()
    assert admin
    async with postgres_database(admin, "nv_restore") as url:
        yield url


class Writer:
    """The bot handing in reports, as fast as it can: each submission's two files go into the
    store first, then the submission and its files are committed in one transaction."""

    def __init__(self, url: str, data_dir: Path, clock: FixedClock) -> None:
        self.engine = make_engine(url)
        if backend_of(url) == "sqlite":
            # The latest commits of a live database are in its WAL, not yet in the main file:
            # keep all of them there, so a copy of the file alone would miss them.
            event.listen(self.engine.sync_engine, "connect", _no_checkpoints)
        self.sessionmaker = make_sessionmaker(self.engine)
        self.store = FileStore(data_dir)
        self.clock = clock
        self.committed: list[int] = []  # submission ids, in commit order
        self.stop = asyncio.Event()
        self.going = asyncio.Event()  # a few submissions are in

    async def run(self, official_id: int, obligation_id: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            received = []
            for part in ("bao-cao", "phu-luc"):
                content = f"{part} {n}\n".encode() * 50
                sha256, path = await asyncio.to_thread(self.store.put, content)
                received.append(
                    ReceivedFile(f"{part}-{n}.pdf", "application/pdf", len(content), sha256, path)
                )
            at = self.clock.now() + timedelta(seconds=n)
            async with self.sessionmaker() as session, session.begin():
                official = await session.get(Official, official_id)
                subject = await session.get(Obligation, obligation_id)
                assert official is not None and subject is not None
                files = [stored_file(r, at) for r in received]
                submission = await submit(session, official, subject, files, at, TZ, actor="test")
                submission_id = submission.id
            self.committed.append(submission_id)
            if len(self.committed) >= 5:
                self.going.set()


def backend_of(url: str) -> str:
    return make_url(url).get_backend_name()


def _no_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


async def _rows(url: str) -> tuple[dict[int, tuple[int, int]], dict[int, list[tuple[str, str]]]]:
    """Submissions (id → official, version) and their files (id → [(sha256, path)])."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            submissions = {
                s.id: (s.official_id, s.version) for s in await session.scalars(select(Submission))
            }
            files: dict[int, list[tuple[str, str]]] = {}
            for f in await session.scalars(select(StoredFile).order_by(StoredFile.id)):
                if f.submission_id is not None:
                    files.setdefault(f.submission_id, []).append((f.sha256, f.path))
            return submissions, files
    finally:
        await engine.dispose()


async def test_a_backup_taken_while_the_bot_writes_restores_one_consistent_moment(
    backend: str, database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    await upgrade(database_url)
    data_dir = tmp_path / "data"
    writer = Writer(database_url, data_dir, clock)
    async with writer.sessionmaker() as session, session.begin():
        commune = await build_commune(session)
        ids = commune.an.id, commune.q1.id
    writing = asyncio.create_task(writer.run(*ids))
    await writer.going.wait()
    archive = tmp_path / "nhacviec.tar.gz"

    before = len(writer.committed)
    code, out, err = await run_cli(
        database_url, "backup", "--out", str(archive), env={"DATA_DIR": str(data_dir)}
    )
    after = len(writer.committed)
    writer.stop.set()
    await writing
    await writer.engine.dispose()
    assert code == 0, err
    assert after > before, "the bot did not write while the backup ran"

    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["database"] == backend
    assert out.strip() == vi(
        "backup.done",
        database=backend,
        revision=manifest["revision"],
        files=manifest["files"],
        file=archive,
        size=file_size(archive.stat().st_size, "vi"),
    )

    restored_dir = tmp_path / "restored"
    async with empty_database(backend, tmp_path, "restored.db") as target:
        code, out, err = await run_cli(
            target, "restore", str(archive), env={"DATA_DIR": str(restored_dir)}
        )
        assert code == 0, err
        restored, restored_files = await _rows(target)
    source, source_files = await _rows(database_url)

    # One moment: exactly the submissions committed before it, none half there.
    count = len(restored)
    assert before <= count <= after
    assert sorted(restored) == sorted(writer.committed[:count])
    assert restored == {i: source[i] for i in restored}
    for submission_id in restored:
        assert restored_files[submission_id] == source_files[submission_id]
        assert len(restored_files[submission_id]) == 2
        for sha256, path in restored_files[submission_id]:
            content = (restored_dir / path).read_bytes()
            assert hashlib.sha256(content).hexdigest() == sha256


async def test_restore_refuses_a_database_that_holds_data(
    database_url: str, tmp_path: Path
) -> None:
    await upgrade(database_url)
    engine = make_engine(database_url)
    async with make_sessionmaker(engine)() as session, session.begin():
        await build_commune(session)
    data_dir = {"DATA_DIR": str(tmp_path / "data")}
    archive = tmp_path / "backup.tar.gz"
    code, _, err = await run_cli(database_url, "backup", "--out", str(archive), env=data_dir)
    assert code == 0, err

    code, _, err = await run_cli(database_url, "restore", str(archive), env=data_dir)

    assert code == 1
    assert err.strip() == "error: " + vi("restore.not_empty", where=database_url)
    async with make_sessionmaker(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Official)) == 4
    await engine.dispose()


async def test_restore_refuses_what_is_not_a_backup(database_url: str, tmp_path: Path) -> None:
    stray = tmp_path / "photos.tar.gz"
    with tarfile.open(stray, "w:gz") as tar:
        tar.add(__file__, arcname="../../etc/cron.d/evil")

    code, _, err = await run_cli(database_url, "restore", str(stray))

    assert code == 1
    assert err.strip() == "error: " + vi("restore.not_backup", file=stray, reason="KeyError")
    assert not (tmp_path / "etc").exists()


async def test_a_backup_of_a_database_never_created_says_so(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'none.db'}"
    code, _, err = await run_cli(url, "backup", "--out", str(tmp_path / "b.tar.gz"))
    assert code == 1
    assert err.strip() == "error: " + vi("backup.no_schema", where=url)
    assert not (tmp_path / "none.db").exists()


def test_pg_dump_gets_the_password_in_its_environment_never_on_its_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in pg_dump that writes down what it was given, then fails as a real one would.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "seen.json"
    fake = bin_dir / "pg_dump"
    fake.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"json.dump({{'argv': sys.argv, 'env': dict(os.environ)}}, open({str(record)!r}, 'w'))\n"
        "sys.stderr.write('pg_dump: error: server version: 16.4; pg_dump version: 15.20\\n"
        "pg_dump: error: aborting because of server version mismatch\\n')\n"
        "sys.exit(1)\n"
    )
    fake.chmod(0o755)
    url = "postgresql+asyncpg://nhacviec:s3cret-Pw@db.example:5433/nhacviec?ssl=require"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    with pytest.raises(database.DumpToolError) as failure:
        database.dump_postgres(url, tmp_path / "out.pgdump")

    seen = json.loads(record.read_text())
    assert not any("s3cret-Pw" in arg for arg in seen["argv"])
    assert seen["env"]["PGPASSWORD"] == "s3cret-Pw"
    assert (seen["env"]["PGHOST"], seen["env"]["PGPORT"]) == ("db.example", "5433")
    assert (seen["env"]["PGUSER"], seen["env"]["PGDATABASE"]) == ("nhacviec", "nhacviec")
    assert seen["env"]["PGSSLMODE"] == "require"
    assert "version mismatch" in failure.value.detail


async def test_an_older_backup_restores_onto_an_upgraded_empty_database_and_is_upgraded(
    backend: str, database_url: str, tmp_path: Path
) -> None:
    await upgrade(database_url, "0008")
    engine = make_engine(database_url)
    async with make_sessionmaker(engine)() as session, session.begin():
        await session.execute(
            text("INSERT INTO units (code, name, timezone) VALUES ('ba-bich', 'Ba Bích', 'UTC')")
        )
    await engine.dispose()
    archive = tmp_path / "old.tar.gz"
    code, _, err = await run_cli(database_url, "backup", "--out", str(archive))
    assert code == 0, err

    async with empty_database(backend, tmp_path, "new.db") as target:
        done = await upgrade(target)  # `db upgrade` run before the restore: a schema, no rows
        code, out, err = await run_cli(target, "restore", str(archive))
        assert code == 0, err
        assert out.splitlines()[-1] == vi("restore.upgraded", before="0008", after=done.after)
        assert await database.schema_revision(target) == done.after
        engine = make_engine(target)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT code FROM units"))).scalars().all() == [
                "ba-bich"
            ]
        await engine.dispose()


async def test_a_backup_of_a_newer_version_is_refused(database_url: str, tmp_path: Path) -> None:
    archive = tmp_path / "newer.tar.gz"
    manifest = {
        "format": 1,
        "database": backend_of(database_url),
        "revision": "9999",
        "created_at": "2030-01-01T00:00:00+00:00",
        "files": 0,
    }
    body = json.dumps(manifest).encode()
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))

    code, _, err = await run_cli(database_url, "restore", str(archive))

    assert code == 1
    assert err.strip() == "error: " + vi("restore.newer", revision="9999")
    assert await database.schema_revision(database_url) is None


async def test_the_database_password_never_shows_when_pg_dump_fails(
    backend: str, database_url: str, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("pg_dump is PostgreSQL's")
    await upgrade(database_url)
    # The test server trusts local connections: a password in the URL is carried, not checked.
    url = make_url(database_url).set(password="s3cret-Pw").render_as_string(hide_password=False)
    # A pg_dump that says everything it was given, the password included, and fails.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pg_dump"
    fake.write_text(
        '#!/bin/sh\necho "pg_dump: error: $* as $PGUSER with $PGPASSWORD" >&2\nexit 1\n'
    )
    fake.chmod(0o755)
    path = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}

    code, out, err = await run_cli(url, "backup", "--out", str(tmp_path / "b.tar.gz"), env=path)

    assert code == 1
    assert "s3cret-Pw" not in out + err
    assert err.startswith("error: " + vi("backup.tool_failed", tool="pg_dump", detail=""))
    assert "***" in err
    assert sorted(os.listdir(tmp_path)) == ["bin"]  # no archive, no work folder left


async def test_a_damaged_archive_changes_nothing(
    backend: str, database_url: str, tmp_path: Path
) -> None:
    await upgrade(database_url)
    archive = tmp_path / "backup.tar.gz"
    code, _, err = await run_cli(database_url, "backup", "--out", str(archive))
    assert code == 0, err
    # Cut short on its way to the server: the manifest is there, the rest is not.
    whole = archive.read_bytes()
    archive.write_bytes(whole[: len(whole) // 2])

    async with empty_database(backend, tmp_path, "target.db") as target:
        code, _, err = await run_cli(
            target, "restore", str(archive), env={"DATA_DIR": str(tmp_path / "restored")}
        )
        assert code == 1
        assert err.strip() == "error: " + vi("restore.not_backup", file=archive, reason="EOFError")
        assert "Traceback" not in err
        assert await database.schema_revision(target) is None
