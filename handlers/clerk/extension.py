"""/giahan <report or task> <dd/mm/yyyy> <reason>: an official asks for more time.

The clerks and leaders (never the asker) get the request with two buttons; the first tap
decides, moves the official's own due date on approval, and the official is told.
"""

from __future__ import annotations

from datetime import date

from db.clock import format_date, parse_day_month, parse_local_date
from db.desk import extensions
from db.desk.subjects import Subject, find_subject, subject_of, subject_type_of
from db.kinds import EXTENSION_DECIDED, EXTENSION_REQUEST
from db.models import ExtensionRequest, ExtensionState, Obligation, Official, TaskState
from db.workload import report_items, task_items
from handlers import callbacks
from handlers.catalog import t
from handlers.clerk import decisions, notices
from handlers.clerk.context import DeskInputError
from handlers.free_text import REASON, echo, too_long
from handlers.presenting import h
from handlers.turn import Turn
from handlers.types import Choice, Reply


async def request_reply(turn: Turn, args: str) -> Reply:
    """Check the request, record it and send it to the deciders; tell the official."""
    lang = turn.lang
    code, _, rest = args.strip().partition(" ")
    day_text, _, reason = rest.strip().partition(" ")
    reason = " ".join(reason.split())
    if not code or not day_text:
        raise DeskInputError(t("clerk.extension.usage", lang))
    today = turn.now.astimezone(turn.tz).date()
    official = turn.official
    subject = await find_subject(turn.session, official.unit_id, code, today)
    row = await extensions.assignment(turn.session, subject, official.id) if subject else None
    if subject is None or row is None:
        raise DeskInputError(t("clerk.extension.not_yours", lang, code=h(echo(code))))
    current = extensions.own_due(subject, row)
    if current is None:
        raise DeskInputError(t("clerk.extension.no_due", lang, code=h(subject.code)))
    if await _finished(turn, subject):
        raise DeskInputError(t("clerk.extension.finished", lang, code=h(subject.code)))
    wanted = _wanted_day(day_text, today, lang)
    if wanted <= current or wanted < today:
        raise DeskInputError(t("clerk.extension.too_early", lang, due=format_date(current)))
    if not reason:
        raise DeskInputError(t("clerk.extension.no_reason", lang))
    if refusal := too_long(reason, REASON, lang):
        raise DeskInputError(refusal)
    waiting = await extensions.pending_request(turn.session, official.id, subject)
    if waiting is not None:
        raise DeskInputError(
            t(
                "clerk.extension.pending",
                lang,
                code=h(subject.code),
                due=format_date(waiting.requested_due),
            )
        )
    request = await extensions.request_extension(
        turn.session, official, subject, current, wanted, reason, turn.now, actor=turn.actor
    )
    await decisions.ask(
        turn.session, official, turn.now, lambda decider: _ask(request, subject, decider)
    )
    return Reply(
        t(
            "clerk.extension.sent",
            lang,
            code=h(subject.code),
            title=h(subject.title),
            start=format_date(current),
            end=format_date(wanted),
            reason=h(reason),
        )
    )


async def pending_blocks(turn: Turn) -> tuple[list[str], list[list[Choice]]]:
    """The extension requests waiting for a decision, as a header and one block each, with
    one-tap approve and refuse per request; nothing when none waits."""
    lang = turn.lang
    waiting = await extensions.pending_requests(turn.session, turn.official.unit_id)
    if not waiting:
        return [], []
    blocks = [t("clerk.extension.pending_header", lang, count=len(waiting))]
    choices: list[list[Choice]] = []
    for request in waiting:
        subject = await subject_of(turn.session, request)
        blocks.append(request_text(request, subject, lang))
        who = f"{request.official.full_name} ({subject.code})"
        choices.append(
            decisions.buttons_for(
                lang,
                who,
                callbacks.extension_data(request.id, True),
                callbacks.extension_data(request.id, False),
            )
        )
    return blocks, choices


def _wanted_day(text: str, today: date, lang: str) -> date:
    """The day asked for: dd/mm/yyyy, or dd/mm in the current year when that day is still
    ahead (a day already past might mean next year: the year is asked for then)."""
    try:
        return parse_local_date(text)
    except ValueError:
        pass
    try:
        day = parse_day_month(text, today.year)
    except ValueError:
        raise DeskInputError(t("clerk.extension.bad_date", lang, text=h(echo(text)))) from None
    if day < today:
        raise DeskInputError(
            t(
                "clerk.extension.which_year",
                lang,
                text=h(echo(text)),
                next_year=f"{text.strip()}/{today.year + 1}",
            )
        )
    return day


async def _finished(turn: Turn, subject: Subject) -> bool:
    if isinstance(subject, Obligation):
        items = await report_items(turn.session, turn.official.id)
        return any(i.obligation.id == subject.id and i.submitted for i in items)
    tasks = await task_items(turn.session, turn.official.id)
    return any(i.task.id == subject.id and i.last_state is TaskState.DONE for i in tasks)


def request_text(request: ExtensionRequest, subject: Subject, lang: str) -> str:
    """The request as a decider reads it."""
    official = request.official
    return t(
        "clerk.extension.ask",
        lang,
        name=h(official.full_name),
        department=h(official.department),
        code=h(subject.code),
        title=h(subject.title),
        start=format_date(request.current_due),
        end=format_date(request.requested_due),
        reason=h(request.reason),
    )


def _ask(request: ExtensionRequest, subject: Subject, decider: Official) -> notices.Notice:
    lang = decider.language
    return notices.Notice(
        unit_id=request.unit_id,
        recipient_id=decider.id,
        kind=EXTENSION_REQUEST,
        subject_type=subject_type_of(subject),
        subject_id=subject.id,
        ref=str(request.id),
        text=request_text(request, subject, lang),
        choices=[
            decisions.buttons(
                lang,
                callbacks.extension_data(request.id, True),
                callbacks.extension_data(request.id, False),
            )
        ],
        details={"request_id": request.id, "official_id": request.official_id},
    )


async def decision_tapped(turn: Turn, tap: callbacks.ExtensionTap) -> list[Reply]:
    """Đồng ý / Từ chối: decide once, edit the request message, tell the official."""
    lang = turn.lang
    request = await extensions.request_in_unit(turn.session, turn.official.unit_id, tap.request_id)
    refused = decisions.tap_refusal(turn, request, "clerk.extension.own")
    if refused is not None or request is None:
        return [refused or Reply(t("refuse.bad_choice", lang))]
    subject = await subject_of(turn.session, request)
    decision = await extensions.decide(
        turn.session, request, tap.approve, turn.official, turn.now, actor=turn.actor
    )
    outcome = _outcome_text(turn, request)
    text = f"{request_text(request, subject, lang)}\n\n{outcome}"
    if not decision.decided:
        return [Reply(text, edit=True, notice=t("clerk.extension.already_notice", lang))]
    await notices.queue(turn.session, [_told(turn, request, subject)], turn.now)
    notice_key = "clerk.button.approve" if tap.approve else "clerk.button.refuse"
    return [Reply(text, edit=True, notice=t(notice_key, lang))]


def _outcome_text(turn: Turn, request: ExtensionRequest) -> str:
    approved = request.state is ExtensionState.APPROVED
    return t(
        "clerk.extension.approved" if approved else "clerk.extension.refused",
        turn.lang,
        end=format_date(request.requested_due),
        **decisions.decided_by(request, turn.tz),
    )


def _told(turn: Turn, request: ExtensionRequest, subject: Subject) -> notices.Notice:
    official = request.official
    lang = official.language
    approved = request.state is ExtensionState.APPROVED
    text = t(
        "clerk.notice.extension_approved" if approved else "clerk.notice.extension_refused",
        lang,
        code=h(subject.code),
        title=h(subject.title),
        start=format_date(request.current_due),
        end=format_date(request.requested_due),
        name=h(turn.official.full_name),
    )
    return notices.Notice(
        unit_id=request.unit_id,
        recipient_id=official.id,
        kind=EXTENSION_DECIDED,
        subject_type=subject_type_of(subject),
        subject_id=subject.id,
        ref=str(request.id),
        text=text,
        details={"request_id": request.id, "approved": approved},
    )
