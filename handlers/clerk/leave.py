"""/nghiphep <from> <to> <reason>: an official asks for leave (nghỉ phép, ốm, công tác,
học tập); a clerk or a leader decides with one tap, as for an extension (`clerk.decisions`).

The kind is a word right after the command (`/nghiphep ốm 04/03/2024 06/03/2024 Sốt`) or,
without one, a one-tap choice asked next (numbered on channels without buttons). Approved
leave silences the official's reminders on those days, and each of their deadlines inside it
moves to the first working day after it, as an extension the official is told about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from db import conversations
from db.clock import format_date, parse_local_date
from db.desk import leave_requests
from db.desk.leave_requests import MovedDeadline
from db.kinds import LEAVE_DECIDED, LEAVE_REQUEST, OFFICIAL
from db.models import ExtensionState, LeaveKind, LeaveRequest, Official, Unit
from db.names import fold_name
from handlers import callbacks
from handlers.catalog import t
from handlers.clerk import decisions, notices
from handlers.clerk.context import DeskInputError
from handlers.free_text import REASON, echo, too_long
from handlers.presenting import h
from handlers.turn import Turn
from handlers.types import Choice, Reply
from scheduler.sweep import policy_config

# The flow state while the kind is being chosen (its dates and reason wait in it).
AWAIT_KIND = "leave.kind"
# Sick leave is often announced once back at work; older than this is the office's record.
MAX_DAYS_BACK = 7
# One request covers at most this many days (a training course of a semester fits).
MAX_DAYS = 186
# What a word after the command may call each kind, accents, case and spaces aside.
KIND_WORDS = {
    "phep": LeaveKind.LEAVE,
    "nghiphep": LeaveKind.LEAVE,
    "leave": LeaveKind.LEAVE,
    "om": LeaveKind.SICK,
    "nghiom": LeaveKind.SICK,
    "sick": LeaveKind.SICK,
    "congtac": LeaveKind.MISSION,
    "dicongtac": LeaveKind.MISSION,
    "mission": LeaveKind.MISSION,
    "hoctap": LeaveKind.STUDY,
    "dihoctap": LeaveKind.STUDY,
    "study": LeaveKind.STUDY,
}


@dataclass(frozen=True)
class Asked:
    """A request read from the command, checked, not yet stored."""

    first: date
    last: date
    reason: str


def kind_label(kind: LeaveKind, lang: str) -> str:
    """Nghỉ phép, Nghỉ ốm, Đi công tác, Đi học tập."""
    return t(f"leave.kind.{kind.value}", lang)


async def request_reply(turn: Turn, args: str) -> Reply:
    """Read and check the request; store it and ask the deciders, or first ask its kind."""
    lang = turn.lang
    words = args.split()
    # Everything before the first date is the kind's word(s).
    lead = next((i for i, w in enumerate(words) if any(c.isdigit() for c in w)), len(words))
    if len(words) < lead + 2:
        raise DeskInputError(t("leave.usage", lang))
    kind = None
    if lead:
        kind = KIND_WORDS.get(fold_name("".join(words[:lead])).replace(" ", ""))
        if kind is None:
            raise DeskInputError(
                t("leave.unknown_kind", lang, text=h(echo(" ".join(words[:lead]))))
            )
    first, last = _date(words[lead], lang), _date(words[lead + 1], lang)
    asked = await _checked(turn, first, last, " ".join(words[lead + 2 :]))
    if kind is not None:
        return await _submit(turn, kind, asked)
    assert turn.identity is not None
    await conversations.begin(
        turn.session,
        turn.identity.id,
        AWAIT_KIND,
        {
            "first": asked.first.isoformat(),
            "last": asked.last.isoformat(),
            "reason": asked.reason,
        },
        turn.now,
    )
    text = t("leave.ask_kind", lang, start=format_date(asked.first), end=format_date(asked.last))
    return Reply(
        text,
        [
            [Choice(kind_label(k, lang), callbacks.leave_kind_data(k)) for k in kinds]
            for kinds in ((LeaveKind.LEAVE, LeaveKind.SICK), (LeaveKind.MISSION, LeaveKind.STUDY))
        ],
    )


async def kind_tapped(turn: Turn, tap: callbacks.LeaveKindTap) -> Reply:
    """The kind chosen after /nghiphep: the waiting request is checked again and sent."""
    lang = turn.lang
    assert turn.identity is not None
    state = await conversations.current(turn.session, turn.identity.id, turn.now)
    if state is None or state.kind != AWAIT_KIND:
        text = t("leave.expired", lang)
        return Reply(text, notice=text)
    data = state.data
    try:
        # Checked again: another request may have been sent meanwhile.
        asked = await _checked(
            turn,
            date.fromisoformat(data["first"]),
            date.fromisoformat(data["last"]),
            data["reason"],
        )
    except DeskInputError as exc:
        await conversations.finish(turn.session, turn.identity.id)
        return Reply(exc.text, edit=True)
    await conversations.finish(turn.session, turn.identity.id)
    reply = await _submit(turn, tap.kind, asked)
    return Reply(reply.text, edit=True, notice=kind_label(tap.kind, lang))


def _date(text: str, lang: str) -> date:
    try:
        return parse_local_date(text)
    except ValueError:
        raise DeskInputError(t("leave.bad_date", lang, text=h(echo(text)))) from None


async def _checked(turn: Turn, first: date, last: date, reason: str) -> Asked:
    lang = turn.lang
    reason = " ".join(reason.split())
    today = turn.now.astimezone(turn.tz).date()
    if last < first:
        raise DeskInputError(
            t("leave.end_before_start", lang, start=format_date(first), end=format_date(last))
        )
    earliest = today - timedelta(days=MAX_DAYS_BACK)
    if first < earliest:
        raise DeskInputError(
            t("leave.too_far_back", lang, earliest=format_date(earliest), days=MAX_DAYS_BACK)
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise DeskInputError(t("leave.too_long", lang, days=MAX_DAYS))
    if refusal := too_long(reason, REASON, lang):
        raise DeskInputError(refusal)
    taken = await leave_requests.overlapping(turn.session, turn.official.id, first, last)
    if taken is not None:
        raise DeskInputError(
            t("leave.overlap", lang, start=format_date(taken[0]), end=format_date(taken[1]))
        )
    return Asked(first, last, reason)


async def _submit(turn: Turn, kind: LeaveKind, asked: Asked) -> Reply:
    official = turn.official
    request = await leave_requests.request_leave(
        turn.session,
        official,
        kind,
        asked.first,
        asked.last,
        asked.reason,
        turn.now,
        actor=turn.actor,
    )
    await decisions.ask(turn.session, official, turn.now, lambda p: _ask(request, official, p))
    lines = [
        t(
            "leave.sent",
            turn.lang,
            kind=kind_label(kind, turn.lang),
            start=format_date(asked.first),
            end=format_date(asked.last),
        )
    ]
    if asked.reason:
        lines.append(t("leave.reason", turn.lang, reason=h(asked.reason)))
    lines.append(t("leave.sent_next", turn.lang))
    return Reply("\n".join(lines))


def request_text(request: LeaveRequest, official: Official, lang: str) -> str:
    """The leave request as a decider reads it."""
    text = t(
        "leave.ask",
        lang,
        name=h(official.full_name),
        department=h(official.department),
        kind=kind_label(request.kind, lang),
        start=format_date(request.starts_on),
        end=format_date(request.ends_on),
    )
    if request.reason:
        text += "\n" + t("leave.reason", lang, reason=h(request.reason))
    return text


def _ask(request: LeaveRequest, official: Official, decider: Official) -> notices.Notice:
    lang = decider.language
    return notices.Notice(
        unit_id=request.unit_id,
        recipient_id=decider.id,
        kind=LEAVE_REQUEST,
        subject_type=OFFICIAL,
        subject_id=request.official_id,
        ref=str(request.id),
        text=request_text(request, official, lang),
        choices=[
            decisions.buttons(
                lang,
                callbacks.leave_data(request.id, True),
                callbacks.leave_data(request.id, False),
            )
        ],
        details={"leave_request_id": request.id, "official_id": request.official_id},
    )


async def pending_blocks(turn: Turn) -> tuple[list[str], list[list[Choice]]]:
    """The leave requests waiting for a decision, as a header and one block each, with
    one-tap approve and refuse per request; nothing when none waits."""
    lang = turn.lang
    waiting = await leave_requests.pending_leaves(turn.session, turn.official.unit_id)
    if not waiting:
        return [], []
    blocks = [t("leave.pending_header", lang, count=len(waiting))]
    choices: list[list[Choice]] = []
    for request in waiting:
        blocks.append(request_text(request, request.official, lang))
        who = t(
            "leave.who",
            lang,
            name=request.official.full_name,
            start=format_date(request.starts_on),
            end=format_date(request.ends_on),
        )
        choices.append(
            decisions.buttons_for(
                lang,
                who,
                callbacks.leave_data(request.id, True),
                callbacks.leave_data(request.id, False),
            )
        )
    return blocks, choices


async def decision_tapped(turn: Turn, tap: callbacks.LeaveTap) -> list[Reply]:
    """Đồng ý / Từ chối: decide once, edit the request message, tell the official."""
    lang = turn.lang
    request = await leave_requests.leave_in_unit(
        turn.session, turn.official.unit_id, tap.request_id
    )
    refused = decisions.tap_refusal(turn, request, "leave.own")
    if refused is not None or request is None:
        return [refused or Reply(t("refuse.bad_choice", lang))]
    unit = await turn.session.get(Unit, request.unit_id)
    assert unit is not None
    # The unit's own working calendar says which day the official is back.
    back_on = policy_config(unit).calendar().next_working_day(request.ends_on)
    decision = await leave_requests.decide_leave(
        turn.session, request, tap.approve, turn.official, turn.now, back_on, actor=turn.actor
    )
    approved = request.state is ExtensionState.APPROVED
    outcome = t(
        "leave.approved" if approved else "leave.refused",
        lang,
        **decisions.decided_by(request, turn.tz),
    )
    text = f"{request_text(request, request.official, lang)}\n\n{outcome}"
    if not decision.decided:
        return [Reply(text, edit=True, notice=t("clerk.extension.already_notice", lang))]
    if decision.moved:
        text += "\n" + _moved_text(decision.moved, back_on, lang)
    await notices.queue(turn.session, [_told(turn, request, decision.moved, back_on)], turn.now)
    notice_key = "clerk.button.approve" if tap.approve else "clerk.button.refuse"
    return [Reply(text, edit=True, notice=t(notice_key, lang))]


def _moved_text(moved: list[MovedDeadline], back_on: date, lang: str) -> str:
    lines = [t("leave.moved", lang, back=format_date(back_on))]
    lines += [
        t(
            "leave.moved_item",
            lang,
            code=h(m.subject.code),
            title=h(m.subject.title),
            was=format_date(m.was),
            now=format_date(m.now),
        )
        for m in moved
    ]
    return "\n".join(lines)


def _told(
    turn: Turn, request: LeaveRequest, moved: list[MovedDeadline], back_on: date
) -> notices.Notice:
    official = request.official
    lang = official.language
    approved = request.state is ExtensionState.APPROVED
    text = t(
        "leave.notice.approved" if approved else "leave.notice.refused",
        lang,
        kind=kind_label(request.kind, lang),
        start=format_date(request.starts_on),
        end=format_date(request.ends_on),
        name=h(turn.official.full_name),
    )
    if moved:
        text += "\n" + _moved_text(moved, back_on, lang)
    return notices.Notice(
        unit_id=request.unit_id,
        recipient_id=official.id,
        kind=LEAVE_DECIDED,
        subject_type=OFFICIAL,
        subject_id=official.id,
        ref=str(request.id),
        text=text,
        details={"leave_request_id": request.id, "approved": approved},
    )
