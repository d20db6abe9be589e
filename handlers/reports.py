"""Submitting reports: /report, files with or without it, albums, receipts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import answers, audit, conversations, outbox, submissions
from db.clock import format_date
from db.desk.dues import official_due
from db.desk.subjects import subject_type_of
from db.files import FileStore
from db.models import (
    Obligation,
    ObligationAssignee,
    Official,
    StoredFile,
    Submission,
    Task,
    TaskState,
)
from db.workload import report_items
from handlers import callbacks, figures_flow, file_signatures, plan_upload, submission_checks
from handlers.catalog import t
from handlers.clerk import alerts
from handlers.file_signatures import Content
from handlers.presenting import file_size, h, moment
from handlers.status import assigned_task, refusal
from handlers.turn import Turn
from handlers.types import Choice, FilesSent, FileTooBig, IncomingFile, Reply, UnfetchableFile
from handlers.upload_offer import UploadUrl, upload_link_text

AWAIT_FILE = "await_file"
CHOOSE_SUBJECT = "choose_subject"

ACCEPTED_EXTENSIONS = frozenset(
    {"pdf", "doc", "docx", "xls", "xlsx", "odt", "ods", "jpg", "jpeg", "png"}
)
MAX_FILE_BYTES = 20 * 1024 * 1024  # what Telegram's getFile lets a bot download
MAX_CHOICES = 8


def accepted_type(name: str) -> bool:
    """Whether a file of this name is one the office takes (pdf, Word, Excel, ODF, images)."""
    return PurePosixPath(name.lower()).suffix.lstrip(".") in ACCEPTED_EXTENSIONS


def refusal_reasons(
    files: Sequence[IncomingFile], lang: str, max_bytes: int | None = MAX_FILE_BYTES
) -> list[str]:
    """Why each unacceptable file is refused (its type; its size over `max_bytes` unless that
    is None); empty when all are fine."""
    reasons = []
    for f in files:
        if not accepted_type(f.name):
            reasons.append(t("report.refused_type", lang, name=h(f.name)))
        elif max_bytes is not None and f.size is not None and f.size > max_bytes:
            reasons.append(t("report.refused_size", lang, name=h(f.name)))
        elif f.size == 0:
            reasons.append(t("files.empty", lang, name=h(f.name)))
    return reasons


def content_refusals(files: Sequence[tuple[str, Content]], lang: str) -> list[str]:
    """Why each (name, content) file is refused for what it holds: nothing at all, or not
    the kind its name claims (an .exe renamed .pdf); empty when all are fine."""
    return [r for name, content in files if (r := content_refusal(name, content, lang))]


def content_refusal(
    name: str, content: Content, lang: str, *, named_by_sender: bool = True
) -> str | None:
    """Why this file is refused for what it holds, or None. A name the channel gave (a
    photo's: Zalo calls every photo .jpg) claims nothing, so only emptiness is judged."""
    if _is_empty(content):
        return t("files.empty", lang, name=h(name))
    if named_by_sender and not file_signatures.matches(name, content):
        kind = file_signatures.claimed_kind(name)
        return t("files.not_real", lang, name=h(name), kind=kind)
    return None


def _is_empty(content: Content) -> bool:
    if isinstance(content, bytes):
        return not content
    content.seek(0)
    return not content.read(1)


async def open_obligations(turn: Turn) -> tuple[list[Obligation], list[Obligation]]:
    """Obligations the official may submit to: those not yet handed in, most urgent first,
    and those handed in but not yet accepted (a new version may follow)."""
    items = await report_items(turn.session, turn.official.id)
    not_yet = [i.obligation for i in items if not i.submitted]
    resubmittable = [i.obligation for i in items if i.submitted and not i.accepted]
    return not_yet, resubmittable


async def assigned_obligation(turn: Turn, obligation_id: int) -> Obligation | None:
    """The obligation if it is active and the speaking official must submit it."""
    return await turn.session.scalar(
        select(Obligation)
        .join(ObligationAssignee, ObligationAssignee.obligation_id == Obligation.id)
        .where(
            Obligation.id == obligation_id,
            Obligation.active.is_(True),
            ObligationAssignee.official_id == turn.official.id,
        )
    )


def _obligation_choices(
    obligations: Sequence[Obligation], lang: str, *, for_files: bool = False
) -> list[list[Choice]]:
    rows = [
        [
            Choice(
                f"{o.title} ({format_date(o.due_date)})",
                callbacks.obligation_data(o.id, for_files=for_files),
            )
        ]
        for o in obligations[:MAX_CHOICES]
    ]
    rows.append([Choice(t("button.cancel", lang), callbacks.CANCEL_DATA)])
    return rows


async def report_command(turn: Turn) -> Reply:
    """/report: choose the obligation first."""
    not_yet, resubmittable = await open_obligations(turn)
    if not (not_yet or resubmittable):
        return Reply(t("report.none_open", turn.lang))
    choices = _obligation_choices([*not_yet, *resubmittable], turn.lang)
    return Reply(t("report.choose", turn.lang), choices)


async def _ask_for_files(
    turn: Turn, subject: Obligation | Task, upload_url: UploadUrl | None
) -> str:
    if not turn.sender.traits.documents_in_chat:
        return await upload_link_text(turn, subject, upload_url, t("upload.why_zalo", turn.lang))
    if isinstance(subject, Obligation):
        return t(
            "report.send_files",
            turn.lang,
            title=h(subject.title),
            start=format_date(subject.window_start),
            end=format_date(subject.window_end),
        )
    return t("report.send_files_task", turn.lang, code=h(subject.code))


async def obligation_tapped(
    turn: Turn,
    obligation_id: int,
    upload_url: UploadUrl | None = None,
    store: FileStore | None = None,
    *,
    for_files: bool = False,
) -> list[Reply]:
    """An obligation chosen: submit the files waiting for it, or wait for files.

    `for_files`: the choice answered "which report are these files for?". With no files
    waiting any more (a second tap of it, handed in by the first; or the question expired),
    it changes nothing: waiting for new files would swallow the person's next words."""
    obligation = await assigned_obligation(turn, obligation_id)
    if obligation is None:
        return [refusal(turn, "refuse.not_assigned")]
    assert turn.identity is not None
    state = await conversations.current(turn.session, turn.identity.id, turn.now)
    if state is not None and state.kind == CHOOSE_SUBJECT:
        waiting = list(
            await turn.session.scalars(
                select(StoredFile).where(
                    StoredFile.id.in_(state.data["file_ids"]), StoredFile.submission_id.is_(None)
                )
            )
        )
        if waiting:
            replies = await _submit(turn, obligation, waiting, store)
            return _in_place(replies, t("button.done", turn.lang))
    if for_files:
        text = t("report.choice_done", turn.lang)
        return [Reply(text, notice=text)]
    await conversations.begin(
        turn.session, turn.identity.id, AWAIT_FILE, {"obligation_id": obligation.id}, turn.now
    )
    return [Reply(await _ask_for_files(turn, obligation, upload_url), edit=True)]


async def report_for_task(
    turn: Turn, task_id: int, upload_url: UploadUrl | None = None
) -> list[Reply]:
    """ "Gửi báo cáo" on a task prompt: wait for the files of that task."""
    task = await assigned_task(turn, task_id)
    if task is None:
        return [refusal(turn, "refuse.not_assigned")]
    assert turn.identity is not None
    await conversations.begin(
        turn.session, turn.identity.id, AWAIT_FILE, {"task_id": task.id}, turn.now
    )
    text = await _ask_for_files(turn, task, upload_url)
    return [Reply(text, notice=t("button.report", turn.lang))]


async def files_sent(
    turn: Turn, event: FilesSent, store: FileStore, upload_url: UploadUrl | None = None
) -> list[Reply]:
    """Files arrived: refuse bad ones, else keep them and submit or ask what they are for.

    A file too large for the channel to download goes through the upload link instead."""
    limit = turn.sender.traits.max_download_bytes
    too_large = [f for f in event.files if f.size is not None and f.size > limit]
    if too_large and upload_url is not None and not refusal_reasons(too_large, turn.lang, None):
        why = t("upload.why_large", turn.lang, name=h(too_large[0].name))
        return [await _offer_link(turn, why, upload_url)]
    reasons = refusal_reasons(event.files, turn.lang)
    if reasons:
        return [Reply(t("report.refused", turn.lang, reasons="\n".join(reasons)))]
    # Every file is fetched and judged before any is stored: one bad file keeps them all out.
    contents: list[bytes] = []
    for incoming in event.files:
        try:
            content = await incoming.fetch()
        except FileTooBig:
            # The channel would not hand it over although its declared size was small.
            if upload_url is not None:
                why = t("upload.why_large", turn.lang, name=h(incoming.name))
                return [await _offer_link(turn, why, upload_url)]
            return [Reply(t("report.refused", turn.lang, reasons=refusal_size(turn, incoming)))]
        if len(content) > MAX_FILE_BYTES:
            return [Reply(t("report.refused", turn.lang, reasons=refusal_size(turn, incoming)))]
        contents.append(content)
    reasons = [
        reason
        for f, content in zip(event.files, contents, strict=True)
        if (reason := content_refusal(f.name, content, turn.lang, named_by_sender=not f.is_photo))
    ]
    if reasons:
        return [Reply(t("report.refused", turn.lang, reasons="\n".join(reasons)))]
    # A clerk's plan workbook is the plan, not a report (issue 16).
    if len(event.files) == 1 and plan_upload.is_plan_upload(turn, event.files[0].name, contents[0]):
        return [await plan_upload.workbook_sent(turn, event.files[0].name, contents[0], store)]
    stored: list[StoredFile] = []
    for incoming, content in zip(event.files, contents, strict=True):
        sha256, path = store.put(content)
        stored.append(
            submissions.stored_file(
                submissions.ReceivedFile(
                    name=incoming.name,
                    mime_type=incoming.mime_type,
                    size=len(content),
                    sha256=sha256,
                    path=path,
                    channel=turn.sender.channel,
                    channel_file_id=incoming.channel_file_id,
                    channel_file_unique_id=incoming.channel_file_unique_id,
                ),
                turn.now,
            )
        )
    assert turn.identity is not None
    state = await conversations.current(turn.session, turn.identity.id, turn.now)
    # Files sent while a template copy is held are the filled-in report the bot asked for.
    if state is not None and state.kind in (AWAIT_FILE, submission_checks.CONFIRM_TEMPLATE):
        subject = await _awaited_subject(turn, state.data)
        if subject is not None:
            return await _submit(turn, subject, stored, store, note=event.caption)
    return await _ask_which(
        turn, stored, state.data if state and state.kind == CHOOSE_SUBJECT else None
    )


async def unfetchable_file(
    turn: Turn, event: UnfetchableFile, upload_url: UploadUrl | None
) -> list[Reply]:
    """A document the channel cannot hand over: the upload link for the report being handed
    in, or the reports to choose from first."""
    audit.record(
        turn.session,
        at=turn.now,
        actor=turn.actor,
        action="files.unfetchable",
        unit_id=turn.official.unit_id,
        official=turn.official,
        details={"name": event.name} if event.name else {},
    )
    return [await _offer_link(turn, t("upload.why_unfetchable", turn.lang), upload_url)]


async def _offer_link(turn: Turn, why: str, upload_url: UploadUrl | None) -> Reply:
    assert turn.identity is not None
    state = await conversations.current(turn.session, turn.identity.id, turn.now)
    if state is not None and state.kind == AWAIT_FILE:
        subject = await _awaited_subject(turn, state.data)
        if subject is not None:
            return Reply(await upload_link_text(turn, subject, upload_url, why))
    not_yet, resubmittable = await open_obligations(turn)
    if not (not_yet or resubmittable):
        return Reply(f"{why}\n{t('report.none_open', turn.lang)}")
    choices = _obligation_choices([*not_yet, *resubmittable], turn.lang)
    return Reply(f"{why}\n{t('upload.choose_first', turn.lang)}", choices)


def refusal_size(turn: Turn, incoming: IncomingFile) -> str:
    return t("report.refused_size", turn.lang, name=h(incoming.name))


async def _awaited_subject(turn: Turn, data: dict[str, Any]) -> Obligation | Task | None:
    if "obligation_id" in data:
        return await assigned_obligation(turn, data["obligation_id"])
    return await assigned_task(turn, data["task_id"])


async def _ask_which(
    turn: Turn, stored: list[StoredFile], earlier: dict[str, list[int]] | None
) -> list[Reply]:
    # The files are kept before asking, so nothing is lost if the person never answers.
    for f in stored:
        turn.session.add(f)
    await turn.session.flush()
    file_ids = [*(earlier or {}).get("file_ids", []), *(f.id for f in stored)]
    audit.record(
        turn.session,
        at=turn.now,
        actor=turn.actor,
        action="files.receive",
        unit_id=turn.official.unit_id,
        official=turn.official,
        details={"stored_file_ids": [f.id for f in stored]},
    )
    not_yet, resubmittable = await open_obligations(turn)
    if not (not_yet or resubmittable):
        return [Reply(t("report.kept_no_open", turn.lang, count=len(file_ids)))]
    assert turn.identity is not None
    await conversations.begin(
        turn.session, turn.identity.id, CHOOSE_SUBJECT, {"file_ids": file_ids}, turn.now
    )
    if len(not_yet) == 1:
        # The one report still owed is the likely target: say so, keep the others tappable.
        text = t("report.which_one", turn.lang, count=len(file_ids), title=h(not_yet[0].title))
    else:
        text = t("report.which", turn.lang, count=len(file_ids))
    choices = _obligation_choices([*not_yet, *resubmittable], turn.lang, for_files=True)
    return [Reply(text, choices)]


def _in_place(replies: list[Reply], notice: str) -> list[Reply]:
    # The first reply replaces the message whose choice was tapped; any question follows it.
    first, *rest = replies
    return [replace(first, edit=True, notice=notice), *rest]


async def _submit(
    turn: Turn,
    subject: Obligation | Task,
    files: list[StoredFile],
    store: FileStore | None,
    note: str = "",
    *,
    template_confirmed: bool = False,
) -> list[Reply]:
    """Hand the files in (a template copy is asked about first) and answer with the receipt,
    its hints, and what the report's figures need."""
    if isinstance(subject, Obligation) and not template_confirmed:
        copies = submission_checks.template_copies(subject, files)
        if copies:
            return [await submission_checks.hold_template_copy(turn, subject, files, copies, note)]
    submission, due = await hand_in(
        turn.session, turn.official, subject, files, turn.now, turn.tz, actor=turn.actor, note=note
    )
    assert turn.identity is not None
    await conversations.finish(turn.session, turn.identity.id)
    receipt = receipt_text(turn.lang, turn.tz, subject, submission, files, due)
    if not isinstance(subject, Obligation):
        return [Reply(receipt)]
    if store is not None:
        missing = await submission_checks.missing_sections(subject, files, store)
        if missing:
            receipt = f"{receipt}\n{submission_checks.missing_sections_text(missing, turn.lang)}"
    found = await figures_flow.offer(subject, files, store, turn.lang)
    return await figures_flow.after_receipt(turn, subject, submission, found, receipt)


async def template_tapped(turn: Turn, file_id: int, store: FileStore) -> list[Reply]:
    """ "Đã điền, vẫn nộp": hand in the held template copy as it is."""
    held = await submission_checks.held_files(turn, file_id)
    if held is None and await _handed_in_by(turn, file_id):
        # A second tap: the first handed the files in; the receipt it left stays as it is.
        text = t("report.files_handed_in", turn.lang)
        return [Reply(text, notice=text)]
    if held is None:
        text = t("checks.template_expired", turn.lang)
        return [Reply(text, edit=True, notice=text)]
    obligation = await assigned_obligation(turn, held.obligation_id)
    if obligation is None:
        return [refusal(turn, "refuse.not_assigned")]
    replies = await _submit(turn, obligation, held.files, store, held.note, template_confirmed=True)
    return _in_place(replies, t("button.done", turn.lang))


async def _handed_in_by(turn: Turn, file_id: int) -> bool:
    """Whether the file is part of a submission of the speaking official."""
    found = await turn.session.scalar(
        select(StoredFile.id)
        .join(Submission, Submission.id == StoredFile.submission_id)
        .where(StoredFile.id == file_id, Submission.official_id == turn.official.id)
    )
    return found is not None


async def hand_in(
    session: AsyncSession,
    official: Official,
    subject: Obligation | Task,
    files: list[StoredFile],
    now: datetime,
    tz: ZoneInfo,
    *,
    actor: str,
    note: str = "",
) -> tuple[Submission, date | None]:
    """Record the files as the official's next version for `subject` and stop their
    reminders for it; returns the submission and the official's due date to judge it by."""
    submission = await submissions.submit(
        session, official, subject, files, now, tz, actor=actor, note=note
    )
    if isinstance(subject, Task):
        await _report_is_progress(session, official, subject, now, actor=actor)
    # Late, or after /tralai: the clerk hears of it at the next working slot.
    await alerts.submission_made(session, official, subject, submission)
    # Handing in stops this person's reminders for the subject at once.
    await outbox.drop_pending(
        session,
        recipient_id=official.id,
        subject_type=subject_type_of(subject),
        subject_id=subject.id,
        reason="submitted",
    )
    return submission, await official_due(session, subject, official.id)


async def _report_is_progress(
    session: AsyncSession, official: Official, task: Task, now: datetime, *, actor: str
) -> None:
    """A report handed in for a task is an answer too: "in progress".

    Not "done": a progress report is what a task's "Gửi báo cáo" is mostly for, and only the
    official can say the work is finished (the "Hoàn thành" button). A "done" already given
    stands: a report sent afterwards does not reopen the task.
    """
    latest = await answers.latest_answer(session, task.id, official.id)
    if latest is not None and latest.state is TaskState.DONE:
        return
    await answers.record_status(session, official, task, TaskState.IN_PROGRESS, now, actor=actor)


def receipt_text(
    lang: str,
    tz: ZoneInfo,
    subject: Obligation | Task,
    submission: Submission,
    files: Sequence[StoredFile],
    due: date | None,
) -> str:
    """File names and sizes, time received, on time or late against `due`, the data window."""
    lines = "\n".join(
        t("report.file_line", lang, name=h(f.original_name), size=file_size(f.size, lang))
        for f in files
    )
    if due is None:
        timeliness = t("report.no_due", lang)
    elif submission.late_days:
        timeliness = t("report.late", lang, days=submission.late_days, due=format_date(due))
    else:
        timeliness = t("report.on_time", lang, due=format_date(due))
    received = moment(submission.submitted_at, tz)
    if isinstance(subject, Obligation):
        return t(
            "report.receipt",
            lang,
            title=h(subject.title),
            version=submission.version,
            files=lines,
            time=received,
            timeliness=timeliness,
            start=format_date(subject.window_start),
            end=format_date(subject.window_end),
        )
    return t(
        "report.receipt_task",
        lang,
        code=h(subject.code),
        version=submission.version,
        files=lines,
        time=received,
        timeliness=timeliness,
    )
