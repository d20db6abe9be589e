"""Checks on what is handed in: an outline's sections missing from a .docx (a hint on the
receipt, never a refusal), and files identical to the report's template (asked about first).

A template copy is not handed in at once: its files are kept, unattached, as the choice of a
report keeps them (`reports.CHOOSE_SUBJECT`), and the official confirms or sends the filled one.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import docx
from sqlalchemy import select

from db import audit, conversations
from db.files import FileStore
from db.models import ConversationState, Obligation, StoredFile
from db.names import fold_name
from handlers import callbacks
from handlers.catalog import t
from handlers.presenting import h
from handlers.turn import Turn
from handlers.types import Choice, Reply

log = logging.getLogger(__name__)

CONFIRM_TEMPLATE = "confirm_template"

# "I.", "II)", "3.", "3.1.", "a)": a heading's number, written or left to Word's numbering.
_NUMBERING = re.compile(r"^\s*(?:[ivxlcdm]+|\d+(?:\.\d+)*|[a-z])\s*[.):-]\s*")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def heading_key(text: str) -> str:
    """A heading's words without its number, accents, case or punctuation."""
    folded = _NUMBERING.sub("", fold_name(text), count=1)
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def missing_headings(outline: Sequence[str], paragraphs: Iterable[str]) -> list[str]:
    """The outline's headings no paragraph begins with, in the outline's order."""
    keys = {heading_key(p) for p in paragraphs}
    keys.discard("")
    missing = []
    for heading in outline:
        wanted = heading_key(heading)
        if wanted and not any(k.startswith(wanted) for k in keys):
            missing.append(heading)
    return missing


def docx_paragraphs(path: Path) -> list[str]:
    """Every paragraph's text of a .docx, those in tables too."""
    with path.open("rb") as fh:
        document = docx.Document(fh)
    return [*(p.text for p in document.paragraphs), *_table_paragraphs(document.tables)]


def _table_paragraphs(tables: Iterable[Any]) -> Iterator[str]:
    for table in tables:
        for row in table.rows:
            for cell in row.cells:
                yield from (p.text for p in cell.paragraphs)
                yield from _table_paragraphs(cell.tables)


def _is_docx(name: str) -> bool:
    return PurePosixPath(name.lower()).suffix == ".docx"


def _read_paragraphs(path: Path, name: str) -> list[str] | None:
    try:
        return docx_paragraphs(path)
    except Exception:
        # A hint is not worth a failure: a .docx Word cannot open gets no hint at all.
        log.info("could not read the paragraphs of %s", name, exc_info=True)
        return None


async def missing_sections(
    obligation: Obligation, files: Sequence[StoredFile], store: FileStore
) -> list[str]:
    """The outline's headings found in none of the handed-in .docx files (none when the report
    has no outline, or no .docx was handed in or could be read)."""
    outline = [str(heading) for heading in obligation.outline or []]
    documents = [f for f in files if _is_docx(f.original_name)]
    if not outline or not documents:
        return []
    paragraphs: list[str] = []
    readable = False
    for f in documents:
        read = await asyncio.to_thread(_read_paragraphs, store.path_of(f.path), f.original_name)
        if read is not None:
            readable = True
            paragraphs.extend(read)
    return missing_headings(outline, paragraphs) if readable else []


def missing_sections_text(missing: Sequence[str], lang: str) -> str:
    """The receipt's line: "Thiếu mục: III. …"."""
    return t("checks.missing_sections", lang, sections="; ".join(h(m) for m in missing))


# ------------------------------------------------------------------ template copies


def template_hashes(obligation: Obligation) -> set[str]:
    """The sha256 of each template the plan hands out with the report (its stored name)."""
    hashes = set()
    for template in obligation.templates or []:
        path = template.get("path") if isinstance(template, dict) else None
        if path:
            hashes.add(PurePosixPath(str(path)).name)
    return hashes


def template_copies(obligation: Obligation, files: Sequence[StoredFile]) -> list[StoredFile]:
    """The files identical to one of the report's templates."""
    hashes = template_hashes(obligation)
    return [f for f in files if f.sha256 in hashes]


@dataclass(frozen=True)
class HeldFiles:
    """Files kept while the official says whether the template copy is filled in."""

    obligation_id: int
    files: list[StoredFile]
    note: str


async def hold_template_copy(
    turn: Turn,
    obligation: Obligation,
    files: Sequence[StoredFile],
    copies: Sequence[StoredFile],
    note: str,
) -> Reply:
    """Keep the files unattached and ask whether the template copy was filled in."""
    assert turn.identity is not None
    # Kept before asking, so nothing is lost if the person never answers.
    for f in files:
        turn.session.add(f)
    await turn.session.flush()
    audit.record(
        turn.session,
        at=turn.now,
        actor=turn.actor,
        action="files.template_copy",
        unit_id=turn.official.unit_id,
        official=turn.official,
        target=f"obligation:{obligation.code}",
        details={"stored_file_ids": [f.id for f in files], "copies": [f.id for f in copies]},
    )
    data = {
        "obligation_id": obligation.id,
        "file_ids": [f.id for f in files],
        "copies": [f.original_name for f in copies],
        "note": note,
    }
    state = await conversations.begin(
        turn.session, turn.identity.id, CONFIRM_TEMPLATE, data, turn.now
    )
    return template_question(state, turn.lang)


def template_question(state: ConversationState, lang: str) -> Reply:
    """ "Tệp này giống hệt mẫu — anh/chị đã điền số liệu chưa?" with its two choices."""
    names = ", ".join(h(name) for name in state.data["copies"])
    choices = [
        [
            Choice(
                t("checks.button.hand_in", lang), callbacks.template_data(state.data["file_ids"][0])
            )
        ],
        [Choice(t("button.cancel", lang), callbacks.CANCEL_DATA)],
    ]
    return Reply(t("checks.template_copy", lang, names=names), choices)


async def held_files(turn: Turn, file_id: int) -> HeldFiles | None:
    """The files a "hand it in anyway" tap stands for, while they are still held for it."""
    assert turn.identity is not None
    state = await conversations.current(turn.session, turn.identity.id, turn.now)
    if state is None or state.kind != CONFIRM_TEMPLATE or state.data["file_ids"][0] != file_id:
        return None
    files = list(
        await turn.session.scalars(
            select(StoredFile)
            .where(StoredFile.id.in_(state.data["file_ids"]), StoredFile.submission_id.is_(None))
            .order_by(StoredFile.id)
        )
    )
    if not files:
        return None
    return HeldFiles(int(state.data["obligation_id"]), files, str(state.data.get("note", "")))
