"""/remind (/nhac) <report or task> [name]: nudge those who still owe it, now.

Outside working hours the clerk confirms with a button first; the nudges go through the
outbox (rate limits are the dispatcher's), keyed by the clerk's request time so a second tap
of the same button sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from db.clock import format_date
from db.desk.people import reachable
from db.desk.standing import (
    ReportStanding,
    TaskStanding,
    report_standings,
    task_standings,
)
from db.desk.subjects import Subject, find_subject, subject_type_of
from db.kinds import NUDGE
from db.models import Obligation, Official, Task, Unit
from db.names import rank_by_name
from handlers import callbacks
from handlers.catalog import t
from handlers.clerk import notices
from handlers.clerk.context import Desk, DeskInputError
from handlers.free_text import echo
from handlers.presenting import h, when
from handlers.status import status_choices
from handlers.turn import Turn
from handlers.types import Choice, Reply
from scheduler.sweep import policy_config


@dataclass(frozen=True)
class Owing:
    """Someone who still owes the subject, with their own due date."""

    official: Official
    due: date | None  # None for a task without a deadline
    on_leave: bool
    # An approved extension is the date that holds for them, and it has not run out.
    extended: bool = False


async def remind_reply(desk: Desk, args: str, turn: Turn) -> Reply:
    """/remind: nudge now in working hours, else ask for confirmation with a button."""
    code, _, name = args.strip().partition(" ")
    if not code:
        raise DeskInputError(t("clerk.remind.usage", desk.lang))
    subject = await find_subject(desk.session, desk.unit_id, code, desk.today)
    if subject is None:
        raise DeskInputError(t("clerk.unknown_subject", desk.lang, code=h(echo(code))))
    official_id = await _named(desk, subject, name.strip()) if name.strip() else None
    unit = await desk.session.get(Unit, desk.unit_id)
    # The unit's own calendar (its days off, make-up days and office hours from the plan).
    if unit is None or not policy_config(unit).calendar().is_working_time(desk.now):
        present = [
            o for o in await _owing(desk, subject, official_id) if not (o.on_leave or o.extended)
        ]
        if not present:
            # Nothing would be sent: say why at once, there is nothing to confirm.
            return Reply(await send_nudges(desk, subject, official_id, desk.now))
        data = callbacks.nudge_data(
            isinstance(subject, Task), subject.id, official_id, _minute(desk.now)
        )
        return Reply(
            t("clerk.remind.confirm", desk.lang, count=len(present), code=h(subject.code)),
            [[Choice(t("clerk.button.send_now", desk.lang), data)]],
        )
    return Reply(await send_nudges(desk, subject, official_id, desk.now))


async def confirmed(desk: Desk, tap: callbacks.NudgeTap) -> Reply:
    """The "send now" button of an out-of-hours /remind."""
    subject: Subject | None = await desk.session.get(
        Task if tap.is_task else Obligation, tap.subject_id
    )
    if subject is None or subject.unit_id != desk.unit_id or not subject.active:
        raise DeskInputError(t("refuse.bad_choice", desk.lang))
    requested = datetime.fromtimestamp(tap.minute * 60, UTC)
    text = await send_nudges(desk, subject, tap.official_id, requested)
    return Reply(text, edit=True, notice=t("clerk.remind.sent_notice", desk.lang))


def _minute(at: datetime) -> int:
    return int(at.timestamp()) // 60


async def _named(desk: Desk, subject: Subject, name: str) -> int:
    everyone = [s.official for s in await _standings(desk, subject)]
    match = rank_by_name(name, everyone)
    if match.ambiguous:
        listing = "\n".join(f"• {h(o.full_name)} ({h(o.department)})" for o in match.candidates)
        raise DeskInputError(
            t("clerk.remind.ambiguous", desk.lang, name=h(echo(name)), candidates=listing)
        )
    if match.official is None:
        raise DeskInputError(
            t("clerk.remind.not_assigned", desk.lang, name=h(echo(name)), code=h(subject.code))
        )
    return match.official.id


async def _standings(desk: Desk, subject: Subject) -> Sequence[ReportStanding | TaskStanding]:
    if isinstance(subject, Obligation):
        return await report_standings(desk.session, subject, desk.today)
    return await task_standings(desk.session, subject, desk.today)


async def _owing(desk: Desk, subject: Subject, official_id: int | None) -> list[Owing]:
    owing = []
    for standing in await _standings(desk, subject):
        if official_id is not None and standing.official.id != official_id:
            continue
        if isinstance(standing, ReportStanding):
            done = standing.current is not None
            extended = standing.extended
        else:
            done = standing.outcome(desk.today, desk.tz).done
            assert isinstance(subject, Task)
            extended = standing.due is not None and standing.due != subject.due_date
        if not done:
            # An extension that has not run out: the clerk agreed they have until then.
            running = extended and standing.due is not None and standing.due >= desk.today
            owing.append(Owing(standing.official, standing.due, standing.on_leave, running))
    return owing


async def send_nudges(
    desk: Desk, subject: Subject, official_id: int | None, requested: datetime
) -> str:
    """Queue one nudge per person who still owes `subject` and can be reached; say to whom."""
    owing = await _owing(desk, subject, official_id)
    if not owing:
        if official_id is not None:
            return t("clerk.remind.done_already", desk.lang, code=h(subject.code))
        return t("clerk.remind.nobody", desk.lang, code=h(subject.code))
    away = [o for o in owing if o.on_leave]
    extended = [o for o in owing if o.extended and not o.on_leave]
    present = [o for o in owing if not (o.on_leave or o.extended)]
    can_reach = await reachable(desk.session, [o.official.id for o in present])
    unreachable = [o for o in present if o.official.id not in can_reach]
    targets = [o for o in present if o.official.id in can_reach]
    queued = await notices.queue(
        desk.session, [_nudge(desk, subject, o, requested) for o in targets], desk.now
    )
    if targets and not queued:
        # The same request within the same minute: its nudges are already in the outbox.
        return t("clerk.remind.already_on_its_way", desk.lang, code=h(subject.code))
    if targets:
        lines = [t("clerk.remind.sent", desk.lang, count=len(targets), code=h(subject.code))]
        lines += [f"• {h(o.official.full_name)}" for o in targets]
    else:
        lines = [t("clerk.remind.none_sent", desk.lang, code=h(subject.code))]
    if away:
        names = ", ".join(h(o.official.full_name) for o in away)
        lines.append(t("clerk.remind.skipped_leave", desk.lang, names=names))
    if extended:
        lines.append(t("clerk.remind.skipped_extended", desk.lang, count=len(extended)))
    if unreachable:
        names = ", ".join(h(o.official.full_name) for o in unreachable)
        lines.append(t("clerk.remind.skipped_unreachable", desk.lang, names=names))
    return "\n".join(lines)


def _nudge(desk: Desk, subject: Subject, owing: Owing, requested: datetime) -> notices.Notice:
    official = owing.official
    lang = official.language
    due = owing.due
    due_text = (
        t("tasks.due_part", lang, due=format_date(due), when=when(due, desk.now, desk.tz, lang))
        if due is not None
        else t("when.no_due", lang).capitalize()
    )
    if isinstance(subject, Obligation):
        text = t("clerk.notice.nudge_report", lang, title=h(subject.title), due_part=due_text)
        choices: list[list[Choice]] = [
            [Choice(t("button.report", lang), callbacks.obligation_data(subject.id))]
        ]
    else:
        text = t(
            "clerk.notice.nudge_task",
            lang,
            code=h(subject.code),
            title=h(subject.title),
            due_part=due_text,
        )
        choices = status_choices(subject.id, lang)
    return notices.Notice(
        unit_id=subject.unit_id,
        recipient_id=official.id,
        kind=NUDGE,
        subject_type=subject_type_of(subject),
        subject_id=subject.id,
        ref=notices.stamp(requested),
        text=text,
        choices=choices,
    )
