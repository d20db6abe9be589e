"""Handing in through the web: what an upload link opens, and accepting the files posted to it.

The web app (`bot/`) streams the files to disk and stores them; this module decides, in the
database's terms, whether the link still works, records the submission exactly as a chat
submission is recorded (`reports.hand_in`), uses the link up and queues the same receipt for
the official's chat.

A report's figures: when an .xlsx among the files is its appendix and reads cleanly, the page
shows the figures and the chat's receipt asks to confirm them with one tap; otherwise (no
appendix, an unreadable cell, or no file store given) the page says so and the chat's receipt
offers "Nhập số liệu", which asks them in the chat. The chat asks only when tapped: the
official may have several chats, and the receipt goes to the one they used last.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db import audit, submissions
from db.clock import format_date
from db.desk.dues import official_due
from db.desk.subjects import subject_type_of
from db.files import FileStore
from db.kinds import UPLOAD_RECEIPT
from db.models import Obligation, StoredFile, Submission, Task
from db.web_links import LinkState, UploadTarget, upload_target, use_upload_link
from handlers import figures_flow, submission_checks
from handlers.catalog import DEFAULT_LANGUAGE, t
from handlers.clerk import notices
from handlers.presenting import file_size, h
from handlers.reports import (
    ACCEPTED_EXTENSIONS,
    accepted_type,
    content_refusals,
    hand_in,
    receipt_text,
)
from handlers.submission_checks import template_hashes
from handlers.types import Choice

# Larger than a chat download (Telegram: 20 MB), which is why the link exists; the upper
# bound of what a commune report with scans needs.
WEB_MAX_FILE_BYTES = 50 * 1024 * 1024
WEB_MAX_FILES = 10


@dataclass(frozen=True)
class UploadPage:
    """What the upload page shows for a link; the texts are plain (the page escapes them)."""

    state: LinkState
    lang: str = DEFAULT_LANGUAGE
    official_name: str = ""
    unit_name: str = ""
    title: str = ""
    due: str = ""
    accepted: tuple[str, ...] = tuple(sorted(ACCEPTED_EXTENSIONS - {"jpeg"}))
    max_bytes: int = WEB_MAX_FILE_BYTES
    max_files: int = WEB_MAX_FILES


@dataclass(frozen=True)
class UploadResult:
    """The outcome of a POST: the link's state, and the receipt (HTML subset) when accepted."""

    state: LinkState
    lang: str = DEFAULT_LANGUAGE
    receipt: str | None = None
    # Why the files were refused for what they hold; the link is then left unused.
    refused: tuple[str, ...] = ()


def _subject_title(subject: Obligation | Task | None) -> str:
    if isinstance(subject, Obligation):
        return subject.title
    if isinstance(subject, Task):
        return f"{subject.code} {subject.title}".strip()
    return ""


async def upload_page(session: AsyncSession, token: str, now: datetime) -> UploadPage:
    """What `GET /u/<token>` shows at `now`."""
    target = await upload_target(session, token, now)
    if target.link is None or target.subject is None:
        return UploadPage(target.state)
    official = target.link.official
    due = await official_due(session, target.subject, official.id)
    return UploadPage(
        state=target.state,
        lang=official.language,
        official_name=official.full_name,
        unit_name=official.unit.name,
        title=_subject_title(target.subject),
        due=format_date(due) if due else "",
    )


def refusals(files: Sequence[tuple[str, int]], lang: str) -> list[str]:
    """Why each (name, size in bytes) file cannot be handed in; empty when all are fine."""
    reasons = []
    if not files:
        reasons.append(t("upload.no_file", lang))
    if len(files) > WEB_MAX_FILES:
        reasons.append(t("upload.too_many", lang, count=WEB_MAX_FILES))
    for name, size in files:
        if not accepted_type(name):
            reasons.append(t("report.refused_type", lang, name=h(name)))
        elif size > WEB_MAX_FILE_BYTES:
            reasons.append(
                t(
                    "upload.too_large",
                    lang,
                    name=h(name),
                    size=file_size(WEB_MAX_FILE_BYTES, lang),
                )
            )
        elif size == 0:
            reasons.append(t("files.empty", lang, name=h(name)))
    return reasons


def content_refusals_on_disk(files: Sequence[tuple[str, Path]], lang: str) -> list[str]:
    """Why each (name, path) file is refused for what it holds (empty, or not the kind its
    name claims), read from disk as the chat's files are read from memory."""
    with contextlib.ExitStack() as stack:
        opened = [(name, stack.enter_context(path.open("rb"))) for name, path in files]
        return content_refusals(opened, lang)


async def accept_upload(
    session: AsyncSession,
    token: str,
    files: Sequence[submissions.ReceivedFile],
    now: datetime,
    *,
    store: FileStore | None = None,
) -> UploadResult:
    """Record `files` (already in `store`) as one submission through the link.

    Nothing changes unless the link is valid at `now`; the caller has checked `refusals`.
    With `store`, a file that is empty or not what its name claims refuses them all (the link
    stays unused, `refused` says why). Without `store` the files are not read: no content
    check, no outline hint, and the figures are asked in the chat. The caller commits.
    """
    target: UploadTarget = await upload_target(session, token, now)
    link, subject = target.link, target.subject
    if target.state is not LinkState.VALID or link is None or subject is None:
        return UploadResult(target.state, link.official.language if link else DEFAULT_LANGUAGE)
    official = link.official
    lang = official.language
    if store is not None:
        on_disk = [(f.name, store.path_of(f.path)) for f in files]
        refused = content_refusals_on_disk(on_disk, lang)
        if refused:
            return UploadResult(LinkState.VALID, lang, refused=tuple(refused))
    # The link is used up first, conditionally: of two POSTs racing on one link, one wins.
    if not await use_upload_link(session, link.id, None, now):
        return UploadResult(LinkState.USED, lang)
    stored = [submissions.stored_file(f, now) for f in files]
    tz = ZoneInfo(official.unit.timezone)
    actor = f"web:{link.id}"
    submission, due = await hand_in(session, official, subject, stored, now, tz, actor=actor)
    link.submission_id = submission.id
    audit.record(
        session,
        at=now,
        actor=actor,
        action="upload_link.use",
        unit_id=official.unit_id,
        official=official,
        target=f"submission:{submission.id}",
        details={"files": len(stored)},
    )
    receipt = receipt_text(lang, tz, subject, submission, stored, due)
    page, chat, choices = receipt, receipt, list[list[Choice]]()
    if isinstance(subject, Obligation):
        page, chat, choices = await _with_checks(subject, submission, stored, store, receipt, lang)
    # The chat gets the same receipt, through the outbox like every message the bot starts.
    await notices.queue(
        session,
        [
            notices.Notice(
                unit_id=official.unit_id,
                recipient_id=official.id,
                kind=UPLOAD_RECEIPT,
                subject_type=subject_type_of(subject),
                subject_id=subject.id,
                ref=str(submission.id),
                text=chat,
                choices=choices,
            )
        ],
        now,
    )
    return UploadResult(LinkState.VALID, lang, page)


async def _with_checks(
    obligation: Obligation,
    submission: Submission,
    files: Sequence[StoredFile],
    store: FileStore | None,
    receipt: str,
    lang: str,
) -> tuple[str, str, list[list[Choice]]]:
    """The page's receipt and the chat's, with the outline hint and what the figures need,
    and the chat receipt's choices."""
    if store is not None:
        missing = await submission_checks.missing_sections(obligation, files, store)
        if missing:
            receipt = f"{receipt}\n{submission_checks.missing_sections_text(missing, lang)}"
    found = await figures_flow.offer(obligation, files, store, lang)
    if found is None:
        return receipt, receipt, []
    told = "\n".join([receipt, *found.lines])
    if found.read:
        page = f"{told}\n{t('figures.web_confirm', lang)}"
        chat = f"{told}\n{t('figures.appendix_confirm', lang)}"
        return page, chat, figures_flow.appendix_choices(submission.id, lang)
    page = f"{told}\n{t('figures.web_ask', lang, count=found.count)}"
    chat = f"{told}\n{t('figures.offer_chat', lang, count=found.count)}"
    return page, chat, figures_flow.enter_choices(submission.id, lang)


async def template_copies(
    session: AsyncSession, token: str, files: Sequence[submissions.ReceivedFile], now: datetime
) -> list[str]:
    """The names of the files identical to a template of the link's report: not handed in
    unless the official confirms (as in the chat)."""
    target = await upload_target(session, token, now)
    if not isinstance(target.subject, Obligation):
        return []
    hashes = template_hashes(target.subject)
    return [f.name for f in files if f.sha256 in hashes]
