"""/baocao (/compile) <report>: the commune's report compiled from the officials' — an .xlsx
appendix with formulas and a .docx draft the clerk edits and signs — and a short summary."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from db.desk.subjects import find_obligation
from db.figures import RATIO, TEXT
from db.models import Obligation
from handlers.catalog import t
from handlers.clerk.context import Desk, DeskInputError, Tools
from handlers.clerk.notices import stamp
from handlers.clerk.upward import forward_choices
from handlers.compilation import Compilation, compile_obligation, total_text
from handlers.compiled_docx import write_draft
from handlers.compiled_xlsx import write_appendix
from handlers.free_text import echo
from handlers.presenting import h
from handlers.rates import rate, share
from handlers.turn import Turn
from handlers.types import OutgoingFile, Reply

# The appendix and the draft are Vietnamese documents, whatever language the clerk reads.
DOCUMENT_LANGUAGE = "vi"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class CompiledFiles:
    """The two files of a compiled report and what they were made from."""

    compilation: Compilation
    appendix: Path
    draft: Path


async def compile_reply(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    """Compile the named report under DATA_DIR/compiled and send both files back; when the
    report feeds one of the level above that the clerk owes, offer to hand it up."""
    obligation = await named_report(desk, args)
    files = await compile_into(desk, obligation, compile_folder(tools, desk, obligation))
    return Reply(
        summary_text(files.compilation, desk.lang),
        choices=await forward_choices(desk.session, obligation, turn.official, desk.lang),
        files=[
            OutgoingFile(files.draft.name, str(files.draft.resolve())),
            OutgoingFile(files.appendix.name, str(files.appendix.resolve())),
        ],
    )


def compile_folder(tools: Tools, desk: Desk, obligation: Obligation) -> Path:
    """Where a compilation of `obligation` at the desk's moment is written."""
    return tools.data_dir / "compiled" / f"{stamp(desk.now)}-{_safe(obligation.code)}"


async def named_report(desk: Desk, query: str) -> Obligation:
    """The report a clerk names ("CCHC-Q1", "CCHC-Q1-2024"), as /tonghop and /xuat find it."""
    wanted = query.strip()
    if not wanted:
        raise DeskInputError(t("compile.usage", desk.lang))
    obligation = await find_obligation(desk.session, desk.unit_id, wanted, desk.today)
    if obligation is None:
        raise DeskInputError(t("compile.unknown", desk.lang, query=h(echo(wanted))))
    return obligation


async def compile_into(desk: Desk, obligation: Obligation, folder: Path) -> CompiledFiles:
    """Write the appendix and the draft of `obligation` into `folder`."""
    compilation = await compile_obligation(desk.session, obligation, desk.now, desk.tz)
    scope = _safe(compilation.code)
    appendix = folder / t("compile.appendix_filename", DOCUMENT_LANGUAGE, scope=scope)
    draft = folder / t("compile.draft_filename", DOCUMENT_LANGUAGE, scope=scope)
    # Both writers are synchronous and read only the plain Compilation: off the event loop.
    await asyncio.to_thread(write_appendix, compilation, appendix, DOCUMENT_LANGUAGE)
    await asyncio.to_thread(write_draft, compilation, draft, DOCUMENT_LANGUAGE)
    return CompiledFiles(compilation, appendix, draft)


def _safe(code: str) -> str:
    return _SAFE_NAME.sub("-", code)


def summary_text(compilation: Compilation, lang: str) -> str:
    """The reply: handed in n/m, the key figures (the ratios, else the sums), the draft mark."""
    lines = [
        t("compile.summary.header", lang, code=h(compilation.code), title=h(compilation.title)),
        t(
            "compile.summary.units_handed_in"
            if compilation.by_units
            else "compile.summary.handed_in",
            lang,
            share=share(compilation.handed_in, compilation.expected),
            rate=rate(
                compilation.handed_in,
                compilation.expected,
                lang,
                good=True,
                decimals=compilation.percent_decimals,
            ),
        ),
    ]
    ratios = [i for i in compilation.indicators if i.combine == RATIO]
    key = ratios or [i for i in compilation.indicators if i.combine != TEXT]
    lines += [
        t(
            "compile.summary.figure",
            lang,
            label=h(i.label),
            value=h(total_text(compilation, i.code, lang)),
        )
        for i in key
    ]
    if not compilation.indicators:
        lines.append(t("compile.summary.no_indicators", lang))
    lines.append(t("compile.summary.draft", lang))
    return "\n".join(lines)
