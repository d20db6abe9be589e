"""Handing the compiled report up: the commune's report, compiled, becomes its clerk's
submission to the report it feeds (the province's), with the commune's figures carried along.

It is an ordinary submission there: a receipt, versions when handed up again, and the
province's review (/tiepnhan, /tralai) as for any other.
"""

from __future__ import annotations

import asyncio
import mimetypes
from datetime import datetime
from pathlib import Path

from db import submissions
from db.figures import COUNT, SUM, TEXT, Figure, record_figures
from db.models import Obligation, StoredFile, Unit
from handlers import callbacks
from handlers.catalog import t
from handlers.clerk.compile_command import compile_folder, compile_into
from handlers.clerk.context import Tools, desk_of
from handlers.clerk.upward import owed_parent
from handlers.compilation import Compilation
from handlers.presenting import h
from handlers.reports import hand_in, receipt_text
from handlers.turn import Turn
from handlers.types import Reply

# How the carried figures are marked: compiled from the commune's, not typed or read.
SOURCE = "compiled"


def carried_figures(compilation: Compilation) -> dict[str, Figure]:
    """The commune's figures as the level above adds them up: sums and counts as numbers
    (the province recomputes its ratios from them), words joined; ratios are not carried."""
    figures: dict[str, Figure] = {}
    for code, total in compilation.totals.items():
        combine = total.indicator.combine
        if combine in (SUM, COUNT) and total.given:
            figures[code] = Figure(number=total.number)
        elif combine == TEXT and total.texts:
            figures[code] = Figure(text="; ".join(total.texts))
    return figures


async def forward_tapped(turn: Turn, tap: callbacks.ForwardTap, tools: Tools) -> Reply:
    """Compile the report afresh and hand it up as the clerk's next version there."""
    desk = desk_of(turn)
    obligation = await desk.session.get(Obligation, tap.obligation_id)
    if obligation is None or obligation.unit_id != desk.unit_id:
        return _refused(t("refuse.bad_choice", desk.lang))
    parent = await owed_parent(desk.session, obligation, turn.official)
    if parent is None:
        return _refused(t("compile.forward.not_owed", desk.lang))
    files = await compile_into(desk, obligation, compile_folder(tools, desk, obligation))
    stored = [await _stored(tools, path, desk.now) for path in (files.draft, files.appendix)]
    submission, due = await hand_in(
        desk.session, turn.official, parent, stored, desk.now, desk.tz, actor=turn.actor
    )
    figures = carried_figures(files.compilation)
    await record_figures(desk.session, submission.id, figures, SOURCE, desk.now)
    unit = await desk.session.get(Unit, parent.unit_id)
    receipt = receipt_text(desk.lang, desk.tz, parent, submission, stored, due)
    carried = t(
        "compile.forward.carried",
        desk.lang,
        to=h(unit.name if unit else parent.title),
        count=len(figures),
    )
    return Reply(f"{receipt}\n{carried}", notice=t("compile.forward.notice", desk.lang))


async def _stored(tools: Tools, path: Path, now: datetime) -> StoredFile:
    content = await asyncio.to_thread(path.read_bytes)
    sha256, relative = tools.store.put(content)
    received = submissions.ReceivedFile(
        name=path.name,
        mime_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
        size=len(content),
        sha256=sha256,
        path=relative,
    )
    return submissions.stored_file(received, now)


def _refused(text: str) -> Reply:
    return Reply(text, notice=text)
