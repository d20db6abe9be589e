"""/submissions, /get, /accept, /return: the clerk reads, fetches and reviews what came in."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from db.deadlines import days_late
from db.desk import review as reviews
from db.desk.dues import effective_due
from db.desk.subjects import Subject, find_subject, subject_of, subject_type_of
from db.kinds import REVIEW_RETURNED
from db.models import (
    Obligation,
    ObligationAssignee,
    ReviewState,
    Submission,
    TaskAssignee,
)
from handlers import callbacks
from handlers.catalog import t
from handlers.clerk import notices
from handlers.clerk.context import Desk, DeskInputError, Tools
from handlers.free_text import COMMENT, echo, too_long
from handlers.presenting import file_size, h, moment
from handlers.turn import Turn
from handlers.types import Choice, OutgoingFile, Reply


async def submissions_text(desk: Desk, query: str) -> str:
    """Every version handed in for a report or task: id, who, version, time, timeliness, review."""
    code = query.strip()
    if not code:
        raise DeskInputError(t("clerk.submissions.usage", desk.lang))
    subject = await find_subject(desk.session, desk.unit_id, code, desk.today)
    if subject is None:
        raise DeskInputError(t("clerk.unknown_subject", desk.lang, code=h(echo(code))))
    rows = await reviews.submissions_of(desk.session, subject)
    head = t(
        "clerk.submissions.header",
        desk.lang,
        code=h(subject.code),
        title=h(subject.title),
        count=len(rows),
    )
    if not rows:
        return f"{head}\n{t('clerk.submissions.none', desk.lang)}"
    dues = await _own_dues(desk, subject)
    blocks = [head, *(_entry(desk, s, dues.get(s.official_id)) for s in rows)]
    blocks.append(t("clerk.submissions.footer", desk.lang, id=rows[-1].id))
    return "\n\n".join(blocks)


async def _own_dues(desk: Desk, subject: Subject) -> dict[int, date]:
    if subject.due_date is None:
        return {}
    if isinstance(subject, Obligation):
        rows = await desk.session.execute(
            select(
                ObligationAssignee.official_id,
                ObligationAssignee.extended_due,
                ObligationAssignee.own_due,
            ).where(ObligationAssignee.obligation_id == subject.id)
        )
        return {
            official_id: effective_due(subject.due_date, extended, own)
            for official_id, extended, own in rows
        }
    task_rows = await desk.session.execute(
        select(TaskAssignee.official_id, TaskAssignee.extended_due).where(
            TaskAssignee.task_id == subject.id
        )
    )
    return {
        official_id: effective_due(subject.due_date, extended)
        for official_id, extended in task_rows
    }


def timeliness(desk: Desk, submission: Submission, due: date | None) -> str:
    """ "đúng hạn" or "trễ N ngày" against the official's own due date."""
    if due is None:
        return t("clerk.on_time", desk.lang)
    late = days_late(due, submission.submitted_at, desk.tz)
    return t("clerk.late_days", desk.lang, days=late) if late else t("clerk.on_time", desk.lang)


def review_label(desk: Desk, submission: Submission) -> str:
    """ "chờ xem xét", "đã tiếp nhận", "đã trả lại"."""
    return t(f"clerk.review.{submission.review_state.value}", desk.lang)


def _entry(desk: Desk, submission: Submission, due: date | None) -> str:
    return t(
        "clerk.submissions.entry",
        desk.lang,
        id=submission.id,
        name=h(submission.official.full_name),
        version=submission.version,
        time=moment(submission.submitted_at, desk.tz),
        timeliness=timeliness(desk, submission, due),
        review=review_label(desk, submission),
        files=len(submission.files),
    )


def _submission_id(desk: Desk, text: str, usage_key: str) -> int:
    head = text.strip().split(" ", 1)[0].lstrip("#")
    if not head.isdigit() or len(head) > 12:
        raise DeskInputError(t(usage_key, desk.lang))
    return int(head)


async def _submission(desk: Desk, text: str, usage_key: str) -> Submission:
    submission_id = _submission_id(desk, text, usage_key)
    submission = await reviews.submission_in_unit(desk.session, desk.unit_id, submission_id)
    if submission is None:
        raise DeskInputError(t("clerk.submission.unknown", desk.lang, id=submission_id))
    return submission


async def get_reply(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    """/get <id>: the files of a submission, by the channel's own file id when it has one."""
    submission = await _submission(desk, args, "clerk.get.usage")
    subject = await subject_of(desk.session, submission)
    files = []
    lines = []
    for f in submission.files:
        path = tools.store.path_of(f.path)
        # A file id is only meaningful on the channel that issued it.
        file_id = f.channel_file_id if f.channel == turn.sender.channel else None
        if file_id is None and not path.is_file():
            lines.append(t("clerk.get.missing", desk.lang, name=h(f.original_name)))
            continue
        files.append(OutgoingFile(f.original_name, str(path.resolve()), file_id))
        lines.append(
            t(
                "clerk.get.file",
                desk.lang,
                name=h(f.original_name),
                size=file_size(f.size, desk.lang),
            )
        )
    text = t(
        "clerk.get.header",
        desk.lang,
        id=submission.id,
        name=h(submission.official.full_name),
        title=h(subject.title),
        version=submission.version,
        time=moment(submission.submitted_at, desk.tz),
        count=len(files),
    )
    return Reply("\n".join([text, *lines]), files=files)


async def _reviewable(desk: Desk, args: str, usage_key: str) -> Submission:
    submission = await _submission(desk, args, usage_key)
    newest = await reviews.latest_version(desk.session, submission)
    if newest != submission.version:
        raise DeskInputError(
            t("clerk.review.not_latest", desk.lang, id=submission.id, version=newest)
        )
    return submission


def _already(desk: Desk, submission: Submission) -> str:
    reviewer = submission.reviewed_at
    return t(
        "clerk.review.already",
        desk.lang,
        id=submission.id,
        state=review_label(desk, submission),
        time=moment(reviewer, desk.tz) if reviewer else "",
    )


async def accept_reply(desk: Desk, args: str, turn: Turn) -> Reply:
    """/accept <id>: the latest version of a submission is taken as final."""
    submission = await _reviewable(desk, args, "clerk.accept.usage")
    if submission.review_state is ReviewState.ACCEPTED:
        return Reply(_already(desk, submission))
    await reviews.review(
        desk.session, submission, ReviewState.ACCEPTED, turn.official, desk.now, actor=turn.actor
    )
    subject = await subject_of(desk.session, submission)
    return Reply(
        t(
            "clerk.accept.done",
            desk.lang,
            id=submission.id,
            name=h(submission.official.full_name),
            title=h(subject.title),
            version=submission.version,
        )
    )


async def return_reply(desk: Desk, args: str, turn: Turn) -> Reply:
    """/return <id> <comment>: send it back; the official is told and reminded again."""
    _, _, comment = args.strip().partition(" ")
    comment = comment.strip()
    submission = await _reviewable(desk, args, "clerk.return.usage")
    if not comment:
        raise DeskInputError(t("clerk.return.usage", desk.lang))
    if refusal := too_long(comment, COMMENT, desk.lang):
        raise DeskInputError(refusal)
    if submission.review_state is ReviewState.RETURNED:
        return Reply(_already(desk, submission))
    await reviews.review(
        desk.session,
        submission,
        ReviewState.RETURNED,
        turn.official,
        desk.now,
        actor=turn.actor,
        comment=comment,
    )
    subject = await subject_of(desk.session, submission)
    await notices.queue(desk.session, [_return_notice(desk, turn, submission, subject)], desk.now)
    return Reply(
        t(
            "clerk.return.done",
            desk.lang,
            id=submission.id,
            name=h(submission.official.full_name),
            title=h(subject.title),
            version=submission.version,
            comment=h(comment),
        )
    )


def _return_notice(
    desk: Desk, turn: Turn, submission: Submission, subject: Subject
) -> notices.Notice:
    official = submission.official
    lang = official.language
    is_report = isinstance(subject, Obligation)
    resubmit = (
        callbacks.obligation_data(subject.id)
        if is_report
        else callbacks.status_data(subject.id, None)
    )
    text = t(
        "clerk.notice.returned",
        lang,
        title=h(subject.title),
        version=submission.version,
        reviewer=h(turn.official.full_name),
        comment=h(submission.review_comment or ""),
    )
    return notices.Notice(
        unit_id=submission.unit_id,
        recipient_id=official.id,
        kind=REVIEW_RETURNED,
        subject_type=subject_type_of(subject),
        subject_id=subject.id,
        ref=f"{submission.id}:{notices.stamp(desk.now)}",
        text=text,
        choices=[[Choice(t("clerk.button.resubmit", lang), resubmit)]],
        details={"submission_id": submission.id, "version": submission.version},
    )
