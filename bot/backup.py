"""`backup --out FILE` and `restore FILE`: one .tar.gz with a consistent copy of the database,
the stored files of DATA_DIR and a small manifest (schema revision, time, database kind).

The database is copied first, the files after it: a file is written before the row that names
it is committed and is never deleted, so every file the copy names is on disk by then. A restore
goes onto an empty database only, and puts the files back before the database.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from sqlalchemy.engine import make_url

from bot.command_error import CommandError
from bot.settings import Settings
from db import backup as database
from db.clock import format_datetime
from db.migrate import upgrade
from handlers.catalog import t
from handlers.presenting import file_size

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {database.SQLITE: "database.sqlite3", database.POSTGRESQL: "database.pgdump"}
FILES_PREFIX = "data"
# Under DATA_DIR but not stored files: uploads still streaming in, files half-written by the
# store or by a restore.
_SKIPPED_DIRS = {"incoming"}
_SKIPPED_PREFIXES = (".incoming-", ".restoring-")


@dataclass(frozen=True)
class Manifest:
    """What an archive holds, read before anything is restored."""

    format: int
    database: str
    revision: str
    created_at: str  # ISO 8601, UTC
    files: int


async def take_backup(settings: Settings, out: Path, now: datetime) -> str:
    """Write the backup archive to `out` (replaced whole, never left half-written); the line
    that says what it holds."""
    url, lang = settings.database_url, "vi"
    kind = database.database_kind(url)
    if kind not in database.KINDS:
        raise CommandError(t("backup.unsupported", lang, kind=kind))
    if not out.parent.is_dir():
        raise CommandError(t("backup.no_folder", lang, folder=out.parent))
    revision = await database.schema_revision(url)
    if revision is None:
        raise CommandError(t("backup.no_schema", lang, where=settings.safe_database_url))
    try:
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".nhacviec-backup-") as work:
            copy = Path(work) / DATABASE_MEMBER[kind]
            if kind == database.SQLITE:
                await asyncio.to_thread(database.copy_sqlite, url, copy)
            else:
                await asyncio.to_thread(database.dump_postgres, url, copy)
            # Only now the files: everything the copy names was on disk before it was taken.
            created = now.astimezone(UTC).isoformat()
            files, size = await asyncio.to_thread(
                _archive, settings, Manifest(FORMAT, kind, revision, created, 0), copy, out
            )
    except database.DumpToolError as exc:
        raise _tool_error(exc, settings) from None
    except OSError as exc:
        raise CommandError(
            t("backup.cannot_write", lang, file=out, error=exc.strerror or exc)
        ) from None
    return t(
        "backup.done",
        lang,
        database=kind,
        revision=revision,
        files=files,
        file=out,
        size=file_size(size, lang),
    )


async def restore_backup(settings: Settings, archive: Path) -> str:
    """Restore `archive` onto the empty database of DATABASE_URL and its files into DATA_DIR,
    then upgrade the schema to this version's; the lines that say what was done."""
    url, lang = settings.database_url, "vi"
    manifest = await asyncio.to_thread(_read_manifest, archive)
    kind = database.database_kind(url)
    if manifest.database != kind:
        raise CommandError(
            t("restore.other_kind", lang, backup=manifest.database, target=kind, file=archive)
        )
    if not database.known_revision(manifest.revision):
        raise CommandError(t("restore.newer", lang, revision=manifest.revision))
    if await database.holds_data(url):
        raise CommandError(t("restore.not_empty", lang, where=settings.safe_database_url))
    with tempfile.TemporaryDirectory(prefix="nhacviec-restore-") as work:
        copy = Path(work) / DATABASE_MEMBER[kind]
        restored = await asyncio.to_thread(
            _unpack, archive, DATABASE_MEMBER[kind], copy, settings.data_dir
        )
        try:
            if kind == database.SQLITE:
                await asyncio.to_thread(database.restore_sqlite, copy, url)
            else:
                await database.drop_empty_schema(url)
                await asyncio.to_thread(database.restore_postgres, copy, url)
        except database.DumpToolError as exc:
            raise _tool_error(exc, settings) from None
    done = await upgrade(url)
    lines = [
        t(
            "restore.done",
            lang,
            created=format_datetime(datetime.fromisoformat(manifest.created_at), settings.tz),
            database=kind,
            revision=manifest.revision,
            files=restored,
            data_dir=settings.data_dir,
        )
    ]
    if done.before != done.after:
        lines.append(t("restore.upgraded", lang, before=done.before, after=done.after))
    return "\n".join(lines)


def _tool_error(exc: database.DumpToolError, settings: Settings) -> CommandError:
    if exc.missing:
        return CommandError(t("backup.tool_missing", "vi", tool=exc.tool))
    detail = exc.detail
    for secret in settings.secrets:
        detail = detail.replace(secret, "***")
    key = "backup.tool_mismatch" if "version mismatch" in detail else "backup.tool_failed"
    return CommandError(t(key, "vi", tool=exc.tool, detail=detail))


def _stored_files(settings: Settings, skip: set[Path]) -> Iterator[Path]:
    """The files under DATA_DIR, relative to it: the stored files, templates, exports and
    compiled reports; not uploads in flight, nor a SQLite database kept there."""
    root = settings.data_dir
    if database.database_kind(settings.database_url) == database.SQLITE:
        live = Path(make_url(settings.database_url).database or "").resolve()
        skip = skip | {live, *(live.with_name(live.name + s) for s in ("-wal", "-shm", "-journal"))}
    for folder, dirs, names in os.walk(root):
        if Path(folder) == root:
            dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS]
        for name in names:
            path = Path(folder) / name
            if name.startswith(_SKIPPED_PREFIXES) or path.resolve() in skip:
                continue
            yield path.relative_to(root)


def _archive(settings: Settings, manifest: Manifest, copy: Path, out: Path) -> tuple[int, int]:
    """Write the archive beside `copy`, then move it to `out`; (files, bytes) it holds."""
    files = sorted(_stored_files(settings, skip={out.resolve()}))
    manifest = replace(manifest, files=len(files))
    partial = copy.with_name("archive.tar.gz")
    _write_archive(partial, manifest, copy, settings.data_dir, files)
    os.replace(partial, out)
    return len(files), out.stat().st_size


def _write_archive(
    target: Path, manifest: Manifest, copy: Path, data_dir: Path, files: list[Path]
) -> None:
    # A symlinked file goes in as its content: a restore takes regular files only.
    with tarfile.open(target, "w:gz", dereference=True) as tar:
        body = json.dumps(asdict(manifest), indent=2).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(body), int(datetime.now(UTC).timestamp()), 0o644
        tar.addfile(info, io.BytesIO(body))
        tar.add(copy, arcname=copy.name)
        for relative in files:
            try:
                tar.add(data_dir / relative, arcname=f"{FILES_PREFIX}/{relative.as_posix()}")
            except FileNotFoundError:
                continue  # gone since the listing: it was not a stored file (those stay)


def _read_manifest(archive: Path) -> Manifest:
    if not archive.is_file():
        raise CommandError(t("restore.no_file", "vi", file=archive))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            raw = json.loads(member.read())
        manifest = Manifest(**raw)
    except (
        OSError,
        EOFError,
        zlib.error,
        tarfile.TarError,
        KeyError,
        ValueError,
        TypeError,
    ) as exc:
        raise CommandError(
            t("restore.not_backup", "vi", file=archive, reason=type(exc).__name__)
        ) from None
    if manifest.format != FORMAT or manifest.database not in database.KINDS:
        raise CommandError(t("restore.not_backup", "vi", file=archive, reason="manifest"))
    return manifest


def _unpack(archive: Path, database_member: str, copy: Path, data_dir: Path) -> int:
    """Extract the database copy to `copy` and the files into `data_dir` (a file already there
    is kept: stored files are named by their content); how many files the archive held."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            _check_members(archive, members, database_member)
            count = 0
            for member in members:
                relative = _data_path(member)
                if member.name == database_member:
                    _extract(tar, member, copy)
                elif relative is not None:
                    target = data_dir.joinpath(*relative.parts)
                    if not target.exists():
                        _extract(tar, member, target)
                    count += 1
            return count
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        # Cut short or damaged on the way: the database is not touched yet.
        reason = type(exc).__name__
        raise CommandError(t("restore.not_backup", "vi", file=archive, reason=reason)) from None
    except OSError as exc:
        raise CommandError(
            t("restore.cannot_write", "vi", data_dir=data_dir, error=exc.strerror or exc)
        ) from None


def _check_members(archive: Path, members: list[tarfile.TarInfo], database_member: str) -> None:
    """Refuse an archive with anything but the manifest, the database copy and data files
    (an absolute path, a `..` or a link is no data file), or without the copy."""
    names = {member.name for member in members}
    if database_member not in names:
        raise CommandError(t("restore.not_backup", "vi", file=archive, reason=database_member))
    for member in members:
        expected = member.name in (database_member, MANIFEST) or member.isdir()
        if not expected and _data_path(member) is None:
            raise CommandError(t("restore.not_backup", "vi", file=archive, reason=member.name))


def _data_path(member: tarfile.TarInfo) -> PurePosixPath | None:
    """The path under DATA_DIR of a file member, or None when it is no safe data file."""
    path = PurePosixPath(member.name)
    if not member.isfile() or path.is_absolute() or ".." in path.parts:
        return None
    if len(path.parts) < 2 or path.parts[0] != FILES_PREFIX:
        return None
    return PurePosixPath(*path.parts[1:])


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    source = tar.extractfile(member)
    if source is None:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # Under a temporary name, then renamed: a restore cut short leaves no half file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".restoring-")
    try:
        with os.fdopen(fd, "wb") as out:
            while block := source.read(1 << 20):
                out.write(block)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
