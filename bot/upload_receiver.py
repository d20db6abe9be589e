"""A multipart/form-data body streamed into temporary files, never a whole file in memory.

`UploadReceiver` feeds the request's chunks to python-multipart's push parser and writes each
file part to its own temporary file under `incoming` (on the file store's disk, so storing it
later is a rename). It counts as it goes and stops at the first chunk past a limit. Whatever
goes wrong (a limit, a malformed body, the client leaving), no temporary file survives: the
receiver deletes what it wrote when it fails and, used as a context manager, what the caller
did not move away.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
import tempfile
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

# Room for the multipart framing (boundaries, part headers) on top of the files themselves.
BODY_OVERHEAD_BYTES = 1024 * 1024
# Form fields other than files: the form has none, so anything beyond a little is not ours.
MAX_FIELD_BYTES = 64 * 1024
MAX_OTHER_PARTS = 16
# File names are stored in a 255-character column.
MAX_NAME_CHARS = 255
_TEMP_PREFIX = ".upload-"


class UploadError(Exception):
    """The body cannot be taken; nothing it carried is left on disk."""


class MalformedUpload(UploadError):
    """Not a complete multipart/form-data body (cut short, no boundary, bad framing)."""


class BodyTooLarge(UploadError):
    """The body as a whole is larger than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"body larger than {limit} bytes")
        self.limit = limit


class FileTooLarge(UploadError):
    """One file is larger than the per-file limit; `name` is the file's name."""

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(f"a file is larger than {limit} bytes")
        self.name = name
        self.limit = limit


class TooManyFiles(UploadError):
    """More files than one request may carry."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} files")
        self.limit = limit


@dataclass(frozen=True)
class UploadLimits:
    """How much one request may carry."""

    max_file_bytes: int
    max_files: int

    @property
    def max_body_bytes(self) -> int:
        """Every allowed file at its largest, plus the framing."""
        return self.max_files * self.max_file_bytes + BODY_OVERHEAD_BYTES


@dataclass(frozen=True)
class IncomingFile:
    """One file of the body, complete and fsynced in a temporary file at `path`."""

    name: str
    content_type: str
    size: int
    path: Path


@dataclass
class _Part:
    headers: dict[bytes, bytes]
    field: str = ""
    name: str | None = None
    content_type: str = ""
    size: int = 0
    path: Path | None = None
    fh: IO[bytes] | None = None


def clean_name(raw: bytes) -> str:
    """The file name a browser sent, as a person would read it: UTF-8 (Latin-1 when not),
    NFC (Safari on macOS sends decomposed Vietnamese), no folders, no control characters."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = unicodedata.normalize("NFC", text)
    # Old browsers send the whole path from the sender's disk.
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C").strip()
    if len(text) > MAX_NAME_CHARS:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) < 16:
            text = stem[: MAX_NAME_CHARS - len(extension) - 1] + "." + extension
        else:
            text = text[:MAX_NAME_CHARS]
    return text


def _content_type(declared: str, name: str) -> str:
    # Browsers label what they do not know as octet-stream; the extension says more then.
    if declared and declared != "application/octet-stream":
        return declared
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def sweep_incoming(incoming: Path, older_than_seconds: float) -> int:
    """Delete temporary files a killed process left in `incoming`; return how many."""
    removed = 0
    cutoff = time.time() - older_than_seconds
    for path in incoming.glob(f"{_TEMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed


class UploadReceiver:
    """Receives the files of one request into `incoming`; as a context manager it deletes,
    on leaving, every temporary file the caller has not moved away."""

    def __init__(self, incoming: Path, limits: UploadLimits, *, field: str = "files") -> None:
        self.incoming = incoming
        self.limits = limits
        self.field = field
        self._parts: list[_Part] = []
        self._current: _Part | None = None
        self._header_field = b""
        self._header_value = b""
        self._field_bytes = 0
        self._complete = False

    async def __aenter__(self) -> UploadReceiver:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()

    async def receive(self, content_type: str, body: AsyncIterator[bytes]) -> list[IncomingFile]:
        """Parse `body` (with its Content-Type header) into temporary files, in order.

        Parts without a file name (the browser's "no file chosen") are skipped. Raises an
        `UploadError`, or whatever reading `body` raised, with no temporary file left behind.
        """
        try:
            parser = self._parser(content_type)
            received = 0
            async for chunk in body:
                received += len(chunk)
                if received > self.limits.max_body_bytes:
                    raise BodyTooLarge(self.limits.max_body_bytes)
                # The writes go to the page cache, chunk by chunk as the socket delivers
                # them, which is quick; the slow part, fsync, runs in a thread below.
                parser.write(chunk)
            parser.finalize()
            if not self._complete:
                raise MalformedUpload("the body ended before its closing boundary")
            await asyncio.to_thread(self._sync_all)
        except FormParserError as exc:
            self.discard()
            raise MalformedUpload(str(exc)) from exc
        except BaseException:
            # Also on cancellation and a client gone mid-body: nothing half-written stays.
            self.discard()
            raise
        return [
            IncomingFile(p.name or "", p.content_type, p.size, p.path)
            for p in self._parts
            if p.path is not None
        ]

    def discard(self) -> None:
        """Close and delete every temporary file still where the receiver wrote it."""
        for part in self._parts:
            if part.fh is not None:
                with contextlib.suppress(OSError):
                    part.fh.close()
                part.fh = None
            if part.path is not None:
                part.path.unlink(missing_ok=True)

    def _parser(self, content_type: str) -> MultipartParser:
        kind, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise MalformedUpload("not multipart/form-data with a boundary")
        callbacks: MultipartCallbacks = {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }
        return MultipartParser(boundary, callbacks)

    def _on_part_begin(self) -> None:
        # Each part costs memory, and a file part a temporary file: a body of many tiny parts
        # must not run the process out of either.
        if len(self._parts) >= self.limits.max_files + MAX_OTHER_PARTS:
            raise MalformedUpload("more parts than the form has")
        self._current = _Part(headers={})
        self._parts.append(self._current)

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        assert self._current is not None
        self._current.headers[self._header_field.strip().lower()] = self._header_value.strip()
        self._header_field = self._header_value = b""

    def _on_headers_finished(self) -> None:
        part = self._current
        assert part is not None
        _, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        part.field = options.get(b"name", b"").decode("latin-1")
        raw_name = options.get(b"filename")
        if part.field != self.field or raw_name is None:
            return
        name = clean_name(raw_name)
        if not name:
            return  # an empty file input
        if sum(1 for p in self._parts if p.path is not None) >= self.limits.max_files:
            raise TooManyFiles(self.limits.max_files)
        declared, _ = parse_options_header(part.headers.get(b"content-type", b""))
        part.name = name
        part.content_type = _content_type(declared.decode("latin-1"), name)
        fd, temp = tempfile.mkstemp(dir=self.incoming, prefix=_TEMP_PREFIX)
        part.path = Path(temp)
        part.fh = os.fdopen(fd, "wb")

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._current
        assert part is not None
        size = end - start
        if part.fh is None:
            self._field_bytes += size
            if self._field_bytes > MAX_FIELD_BYTES:
                raise MalformedUpload("form fields larger than the form has")
            return
        part.size += size
        if part.size > self.limits.max_file_bytes:
            raise FileTooLarge(part.name or "", self.limits.max_file_bytes)
        part.fh.write(data[start:end])

    def _on_part_end(self) -> None:
        # One open file at a time, however many the body carries.
        if self._current is not None and self._current.fh is not None:
            self._current.fh.close()
            self._current.fh = None
        self._current = None

    def _on_end(self) -> None:
        self._complete = True

    def _sync_all(self) -> None:
        # Durable before the store renames them into place and the database points at them.
        for part in self._parts:
            if part.path is not None:
                fd = os.open(part.path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
