"""Whether a file's content is what its name claims: a PDF that starts like a PDF, a .docx
that is a Word package, not an .exe or a spreadsheet renamed.

Pure: it reads the bytes it is given (or a seekable binary file) and nothing else. A name
whose extension has no rule here is not judged (`matches` is True): which extensions the
office takes at all is decided elsewhere (`handlers.reports.ACCEPTED_EXTENSIONS`).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import IO

# The first bytes of each family.
PDF_MAGIC = b"%PDF-"
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")  # the compound file of .doc and .xls
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
# Readers tolerate a little junk before "%PDF-" (Acrobat looks in the first 1024 bytes).
PDF_HEAD_BYTES = 1024
# Bounds on the parts read from a package, so a crafted zip costs nothing to judge.
MAX_CONTENT_TYPES_BYTES = 1024 * 1024
MAX_MIMETYPE_BYTES = 256
_CONTENT_TYPE = re.compile(rb'ContentType="([^"]+)"')

Content = bytes | IO[bytes]


def _head(content: Content, size: int) -> bytes:
    if isinstance(content, bytes):
        return content[:size]
    content.seek(0)
    return content.read(size)


def _zip(content: Content) -> zipfile.ZipFile | None:
    """The content as a zip archive, or None when it is not one."""
    if _head(content, len(ZIP_MAGIC)) != ZIP_MAGIC:
        return None
    stream = io.BytesIO(content) if isinstance(content, bytes) else content
    try:
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    if info.file_size > limit:
        return None
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError):
        return None


def _office_open_xml(*families: bytes) -> Callable[[Content], bool]:
    """A package whose main part ([Content_Types].xml, `….main+xml`) is of one of `families`
    (a .xlsx renamed .docx has a spreadsheet's main part)."""

    def check(content: Content) -> bool:
        archive = _zip(content)
        if archive is None:
            return False
        with archive:
            try:
                info = archive.getinfo("[Content_Types].xml")
            except KeyError:
                return False
            data = _member(archive, info, MAX_CONTENT_TYPES_BYTES)
        if data is None:
            return False
        mains = [c for c in _CONTENT_TYPE.findall(data) if c.endswith(b".main+xml")]
        return any(family in main for main in mains for family in families)

    return check


def _open_document(mimetype: bytes) -> Callable[[Content], bool]:
    """An ODF package: its first member is `mimetype`, stored, saying `mimetype` (or its
    template's)."""

    def check(content: Content) -> bool:
        archive = _zip(content)
        if archive is None:
            return False
        with archive:
            members = archive.infolist()
            if not members or members[0].filename != "mimetype":
                return False
            data = _member(archive, members[0], MAX_MIMETYPE_BYTES)
        return data is not None and data.strip().startswith(mimetype)

    return check


def _starts_with(magic: bytes) -> Callable[[Content], bool]:
    return lambda content: _head(content, len(magic)) == magic


def _pdf(content: Content) -> bool:
    return PDF_MAGIC in _head(content, PDF_HEAD_BYTES)


WORD = _office_open_xml(b"wordprocessingml", b"ms-word")
EXCEL = _office_open_xml(b"spreadsheetml", b"ms-excel")
POWERPOINT = _office_open_xml(b"presentationml", b"ms-powerpoint")

# extension → the check of its content.
CHECKS: dict[str, Callable[[Content], bool]] = {
    "pdf": _pdf,
    "docx": WORD,
    "xlsx": EXCEL,
    "pptx": POWERPOINT,
    "odt": _open_document(b"application/vnd.oasis.opendocument.text"),
    "ods": _open_document(b"application/vnd.oasis.opendocument.spreadsheet"),
    "doc": _starts_with(OLE2_MAGIC),
    "xls": _starts_with(OLE2_MAGIC),
    "jpg": _starts_with(JPEG_MAGIC),
    "jpeg": _starts_with(JPEG_MAGIC),
    "png": _starts_with(PNG_MAGIC),
}


def extension(name: str) -> str:
    """The name's extension, lower-case, without the dot ("" when there is none)."""
    return PurePosixPath(name.lower()).suffix.lstrip(".")


def claimed_kind(name: str) -> str:
    """What the name says the file is, as people call it: "PDF", "DOCX", "JPG"."""
    return extension(name).upper()


def matches(name: str, content: Content) -> bool:
    """Whether `content` (bytes, or a seekable binary file read from its start) is of the kind
    its name's extension claims; True for an extension without a rule here."""
    check = CHECKS.get(extension(name))
    return check is None or check(content)
