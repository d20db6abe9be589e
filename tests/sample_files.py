"""Small but real files of every kind the office takes, and fakes of them, for the tests.

Each is what a reader of that kind would accept as its start: a PDF header, an OOXML or ODF
package, an OLE2 compound file's signature, a JPEG or PNG signature. `text` goes into the
content so that two samples of one kind differ (the file store is content-addressed).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")

_MAIN = {
    "docx": ("word/document.xml", "wordprocessingml.document"),
    "xlsx": ("xl/workbook.xml", "spreadsheetml.sheet"),
    "pptx": ("ppt/presentation.xml", "presentationml.presentation"),
}
_ODF = {
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}


def pdf(text: str = "bao cao") -> bytes:
    """A PDF's header and a line of text."""
    return b"%PDF-1.4\n% " + text.encode() + b"\n%%EOF\n"


def office_open_xml(extension: str, text: str = "bao cao", *, content_types: bool = True) -> bytes:
    """A .docx, .xlsx or .pptx package (without [Content_Types].xml when told)."""
    part, family = _MAIN[extension]
    content_type = f"application/vnd.openxmlformats-officedocument.{family}.main+xml"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if content_types:
            archive.writestr(
                "[Content_Types].xml",
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="xml" ContentType="application/xml"/>'
                f'<Override PartName="/{part}" ContentType="{content_type}"/></Types>',
            )
        archive.writestr(part, f"<root>{text}</root>")
    return buffer.getvalue()


def open_document(extension: str, text: str = "bao cao") -> bytes:
    """An .odt or .ods package: `mimetype` first, stored uncompressed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", _ODF[extension], compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", f"<root>{text}</root>", zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def sample(name: str, text: str = "") -> bytes:
    """A real minimal file of the kind `name`'s extension says (a PDF when it says none we
    know); `text` (the name when empty) makes it differ from others of its kind."""
    extension = PurePosixPath(name.lower()).suffix.lstrip(".")
    text = text or name
    if extension in _MAIN:
        return office_open_xml(extension, text)
    if extension in _ODF:
        return open_document(extension, text)
    if extension in ("doc", "xls"):
        return OLE2 + bytes(504) + text.encode()
    if extension in ("jpg", "jpeg"):
        return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + text.encode()
    if extension == "png":
        return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + text.encode()
    return pdf(text)
