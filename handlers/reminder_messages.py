"""What an outbox row says: deadline reminders, check-ins, digests and notices.

Rendered when the dispatcher claims the row (seconds before it is sent), in the recipient's
language at that moment, from the database as it is then: a reminder for something handed in
meanwhile renders to None (the dispatcher drops it), and a digest lists only who is still
missing.

A report of another unit (the province's, which a commune clerk hands in for the commune)
names that unit in its reminders, and its digests name each missing person's unit.

`reminder_replies` renders a claimed batch in a handful of queries: it loads the batch's
recipients, reports and tasks into the session first, so the per-row `session.get` calls find
them there, and reads the batch's handed-in flags in one query. `OutboxRenderer` is that
function as the dispatcher's renderer, and its `bundle` makes one message of one person's
messages of one slot (`handlers.bundled_message`); the composition root (`bot/`) injects both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import answers, assignees
from db.clock import format_date
from db.desk.standing import report_standings, task_standings
from db.files import FileStore
from db.kinds import (
    ASSIGNED,
    CHECKIN,
    OBLIGATION,
    OVERDUE,
    TASK,
    UNREACHABLE_NOTICE,
    WEEKLY_DIGEST,
    is_digest,
)
from db.models import (
    AssigneeRole,
    Obligation,
    Official,
    Reminder,
    Task,
    TaskState,
    Unit,
)
from db.unit_tree import unit_names_of
from handlers import callbacks
from handlers.bundled_message import bundle_replies
from handlers.catalog import t
from handlers.clerk.digest import weekly_digest
from handlers.clerk.notices import notice_reply
from handlers.clerk.standing_words import report_marks, task_marks
from handlers.presenting import h, last_answer
from handlers.rates import rate, share
from handlers.status import lead_names, status_choices
from handlers.types import Choice, OutgoingFile, Reply

# (obligation id, official id) → handed in, for the rows of one batch.
HandedIn = Mapping[tuple[int, int], bool]


class OutboxRenderer:
    """The dispatcher's renderer: a claimed batch rendered from the database as it is now."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], store: FileStore) -> None:
        self.sessionmaker = sessionmaker
        self.store = store
        # Each recipient's language as of the latest batch rendered: what `bundle` speaks.
        self.languages: dict[int, str] = {}

    async def __call__(self, rows: Sequence[Reminder]) -> list[Reply | Exception | None]:
        """Each row's message, None (no longer needed) or why it failed, in the rows' order."""
        async with self.sessionmaker() as session:
            return await reminder_replies(session, rows, self.store, self.languages)

    def bundle(self, rows: Sequence[Reminder], replies: Sequence[Reply]) -> Reply:
        """One message of one person's rendered messages of one slot, in their language."""
        return bundle_replies(replies, self.languages.get(rows[0].recipient_id))


async def reminder_replies(
    session: AsyncSession,
    rows: Sequence[Reminder],
    store: FileStore,
    languages: dict[int, str] | None = None,
) -> list[Reply | Exception | None]:
    """Each row's message (None: no longer needed; an exception: this row could not be
    rendered), in the rows' order, from a few queries for the whole batch. `languages`, when
    given, gets each recipient's language."""
    # `held` keeps the prefetched objects alive: the identity map only holds them weakly.
    handed_in, held = await _prefetch(session, rows)
    replies: list[Reply | Exception | None] = []
    for row in rows:
        try:
            replies.append(await reminder_reply(session, row, store, handed_in=handed_in))
        except Exception as exc:
            replies.append(exc)
        # Prefetched rows render without I/O, so without this a batch of a hundred is one
        # unbroken stretch of CPU: a person's tap waiting on the same event loop would wait
        # for all of it (the 08:00 wave, `bench/wave.py`).
        await asyncio.sleep(0)
    if languages is not None:
        for row in rows:
            # Held in the identity map by `held`: no query.
            person = await session.get(Official, row.recipient_id)
            if person is not None:
                languages[person.id] = person.language
    del held
    return replies


async def _prefetch(
    session: AsyncSession, rows: Sequence[Reminder]
) -> tuple[HandedIn, list[object]]:
    """Load the batch's people, reports and tasks into `session`: its handed-in flags, and the
    loaded objects (keep them referenced while rendering)."""
    people = {row.recipient_id for row in rows}
    obligations = {r.subject_id for r in rows if r.subject_type == OBLIGATION and r.subject_id}
    tasks = {r.subject_id for r in rows if r.subject_type == TASK and r.subject_id}
    loaded = await assignees.load_batch(session, people, obligations, tasks)
    return await assignees.handed_in_flags(session, obligations, people), loaded


async def reminder_reply(
    session: AsyncSession, row: Reminder, store: FileStore, *, handed_in: HandedIn | None = None
) -> Reply | None:
    """The message of an outbox row, or None when it is no longer needed; `handed_in`, when
    given, answers for the rows it holds instead of a query each."""
    recipient = await session.get(Official, row.recipient_id)
    if recipient is None or not recipient.active:
        return None
    lang = recipient.language
    payload: dict[str, Any] = row.payload or {}
    if "text" in payload:
        return notice_reply(row)  # written ready-made by the clerk's desk
    if row.kind == UNREACHABLE_NOTICE:
        name = h(str(payload.get("official_name", "")))
        return Reply(
            t("remind.unreachable", lang, name=name, reason=t("remind.unreachable_reason", lang))
        )
    if row.subject_id is None:
        return None
    if row.kind == WEEKLY_DIGEST:
        text, chart = await weekly_digest(session, row.subject_id, row.slot_at, lang)
        _, path = store.put(chart)
        name = f"tien-do-{row.slot_at.astimezone(UTC):%Y%m%d}.png"
        return Reply(text, files=[OutgoingFile(name, str(store.path_of(path)))])
    if is_digest(row.kind):
        return await _digest(session, row, payload, lang)
    if row.kind == ASSIGNED:
        return await _assigned_notice(session, row, recipient, payload, lang, handed_in)
    if row.subject_type == OBLIGATION:
        return await _obligation_reminder(session, row, recipient, payload, lang, store, handed_in)
    if row.subject_type == TASK:
        return await _task_reminder(session, row, payload, lang)
    return None


async def _obligation_reminder(
    session: AsyncSession,
    row: Reminder,
    recipient: Official,
    payload: dict[str, Any],
    lang: str,
    store: FileStore,
    handed_in: HandedIn | None,
) -> Reply | None:
    obligation = await session.get(Obligation, row.subject_id)
    if obligation is None or not obligation.active or await _handed_in(session, row, handed_in):
        return None
    title = await _report_title(session, obligation, recipient, lang)
    lines = [_deadline_line(payload, title, lang)]
    lines.append(
        t(
            "remind.window",
            lang,
            start=format_date(obligation.window_start),
            end=format_date(obligation.window_end),
        )
    )
    files = [
        OutgoingFile(name, str(store.path_of(path)))
        for name, path in payload.get("templates", [])
        if path
    ]
    if files:
        lines.append(t("remind.templates", lang, count=len(files)))
    lines.append(t("remind.report_action", lang))
    if _overdue(payload):
        lines.append(t("remind.overdue_request", lang))
    button = Choice(t("button.report", lang), callbacks.obligation_data(obligation.id))
    return Reply("\n".join(lines), [[button]], files=files)


async def _report_title(
    session: AsyncSession, obligation: Obligation, recipient: Official, lang: str
) -> str:
    """The report's title, naming its unit when it is another unit's."""
    if obligation.unit_id == recipient.unit_id:
        return obligation.title
    # The commune has a report of the same title: say whose this one is.
    owner = await session.get(Unit, obligation.unit_id)
    if owner is None:
        return obligation.title
    return t("units.report_of", lang, title=obligation.title, unit=owner.name)


async def _task_part(
    session: AsyncSession, task: Task, official_id: int
) -> tuple[AssigneeRole, TaskState | None] | None:
    """The official's part in an active task and the task's status, or None when nothing
    is owed: not assigned, the task done (its lead's answer), or a coordinator's part done."""
    role = await assignees.task_role(session, task.id, official_id)
    if role is None:
        return None
    status = await answers.task_status(session, task.id)
    if status is not None and status.state is TaskState.DONE:
        return None
    if role is AssigneeRole.COORDINATE:
        own = await answers.latest_answer(session, task.id, official_id)
        if own is not None and own.state is TaskState.DONE:
            return None
    return role, status.state if status is not None else None


async def _assigned_notice(
    session: AsyncSession,
    row: Reminder,
    recipient: Official,
    payload: dict[str, Any],
    lang: str,
    handed_in: HandedIn | None,
) -> Reply | None:
    """The notice "Anh/chị được giao: …" with the deadline and role; None once settled."""
    due_iso = payload.get("due_date")
    due = (
        t("assign.due", lang, due=format_date(date.fromisoformat(due_iso)))
        if due_iso
        else t("assign.no_due", lang)
    )
    if row.subject_type == OBLIGATION:
        obligation = await session.get(Obligation, row.subject_id)
        if obligation is None or not obligation.active or await _handed_in(session, row, handed_in):
            return None
        title = await _report_title(session, obligation, recipient, lang)
        text = t("assign.notice", lang, title=h(title), due=due, role=t("role.submit", lang))
        button = Choice(t("button.report", lang), callbacks.obligation_data(obligation.id))
        return Reply(text, [[button]])
    task = await session.get(Task, row.subject_id)
    if task is None or not task.active:
        return None
    part = await _task_part(session, task, row.recipient_id)
    if part is None:
        return None
    role = t("role.lead", lang)
    if part[0] is AssigneeRole.COORDINATE:
        role = t("assign.role_coordinate", lang, leads=await lead_names(session, task.id, lang))
    text = t("assign.notice", lang, title=h(f"{task.code} {task.title}"), due=due, role=role)
    return Reply(text, [[Choice(t("assign.open_task", lang), callbacks.task_data(task.id))]])


async def _task_reminder(
    session: AsyncSession, row: Reminder, payload: dict[str, Any], lang: str
) -> Reply | None:
    task = await session.get(Task, row.subject_id)
    if task is None or not task.active:
        return None
    part = await _task_part(session, task, row.recipient_id)
    if part is None:
        return None
    role, _ = part
    choices = status_choices(task.id, lang)
    if role is AssigneeRole.COORDINATE:
        if row.kind in (OVERDUE, CHECKIN):
            return None  # the lead's (they were the lead when it was enqueued)
        deadline = _deadline_line(payload, f"{task.code} {task.title}", lang)
        leads = await lead_names(session, task.id, lang)
        return Reply(f"{deadline}\n{t('assign.send_to_lead', lang, leads=leads)}", choices)
    if row.kind == CHECKIN:
        unit = await session.get(Unit, task.unit_id)
        tz = ZoneInfo(unit.timezone if unit else "Asia/Ho_Chi_Minh")
        latest = await answers.task_status(session, task.id)
        status = last_answer(
            latest.state if latest else None, latest.at if latest else None, tz, lang
        )
        due_part = (
            t("tasks.due_part", lang, due=format_date(task.due_date), when=_when(payload, lang))
            if task.due_date
            else t("when.no_due", lang).capitalize()
        )
        text = t(
            "remind.checkin",
            lang,
            code=h(task.code),
            title=h(task.title),
            due_part=due_part,
            status=status,
        )
        return Reply(text, choices)
    lines = [_deadline_line(payload, f"{task.code} {task.title}", lang)]
    if _overdue(payload):
        lines.append(t("remind.overdue_request_task", lang))
    lines.append(t("remind.task_action", lang))
    return Reply("\n".join(lines), choices)


def _overdue(payload: dict[str, Any]) -> bool:
    return "days_late" in payload and payload["days_late"] > 0


def _deadline_line(payload: dict[str, Any], title: str, lang: str) -> str:
    due = format_date(date.fromisoformat(payload["due_date"]))
    if _overdue(payload):
        return t("remind.overdue", lang, title=h(title), days=payload["days_late"], due=due)
    return t("remind.before", lang, title=h(title), due=due, when=_when(payload, lang))


def _when(payload: dict[str, Any], lang: str) -> str:
    if payload.get("days_late"):
        return t("when.late", lang, days=payload["days_late"])
    left = payload.get("days_left")
    if left is None:
        return t("when.no_due", lang)
    return t("when.today", lang) if left == 0 else t("when.left", lang, days=left)


async def _handed_in(session: AsyncSession, row: Reminder, known: HandedIn | None) -> bool:
    """Whether the recipient's latest submission for the obligation stands (not returned)."""
    if known is not None and row.subject_id is not None:
        flag = known.get((row.subject_id, row.recipient_id))
        if flag is not None:
            return flag
    return await assignees.handed_in(session, row.subject_id or 0, row.recipient_id)


async def _digest(
    session: AsyncSession, row: Reminder, payload: dict[str, Any], lang: str
) -> Reply | None:
    """The clerk's or leaders' digest of one report or task, from the one standing of each
    assignee on the digest's day (`db.desk.standing`): counted and marked as /quahan,
    /tonghop, the weekly digest and the export count and mark them. A task is counted by its
    lead; its coordinators who have not finished are listed apart."""
    subject_id = row.subject_id or 0
    # Whether a chat reaches them was known when the digest was written; the rest is read now.
    unreachable = {
        int(m["official_id"]) for m in payload.get("missing", []) if not m.get("reachable", True)
    }
    if row.subject_type == OBLIGATION:
        obligation = await session.get(Obligation, subject_id)
        if obligation is None or not obligation.active:
            return None
        return await _report_digest(session, row, obligation, unreachable, lang)
    task = await session.get(Task, subject_id)
    if task is None or not task.active:
        return None
    return await _task_digest(session, row, task, unreachable, lang)


async def _zone(session: AsyncSession, unit_id: int) -> ZoneInfo:
    unit = await session.get(Unit, unit_id)
    return ZoneInfo(unit.timezone if unit else "Asia/Ho_Chi_Minh")


async def _not_yet(
    session: AsyncSession, unit_id: int, owing: int, whole: int, lang: str
) -> dict[str, str]:
    """A digest's "5/10 … chiếm 50,0%" fields, with the decimals the unit's plan asks for."""
    unit = await session.get(Unit, unit_id)
    decimals = unit.percent_decimals if unit else 1
    return {
        "share": share(owing, whole),
        "rate": rate(owing, whole, lang, good=False, decimals=decimals),
    }


def _digest_line(name: str, where: str, marks: Sequence[str], lang: str) -> str:
    shown = t("desk.digest.marks", lang, marks=", ".join(marks)) if marks else ""
    return t("desk.digest.line", lang, name=h(name), department=h(where), marks=shown)


async def _report_digest(
    session: AsyncSession,
    row: Reminder,
    obligation: Obligation,
    unreachable: set[int],
    lang: str,
) -> Reply | None:
    tz = await _zone(session, obligation.unit_id)
    today = row.slot_at.astimezone(tz).date()
    standings = await report_standings(session, obligation, today)
    owing = [s for s in standings if not s.handed_in]
    if not owing:
        return None
    # A child unit's collector: which commune is missing matters, not their office.
    communes = (
        await unit_names_of(session, [s.official.id for s in owing])
        if obligation.children_submit
        else {}
    )
    key = "units.digest_obligation" if obligation.children_submit else "remind.digest_obligation"
    lines = [
        t(
            key,
            lang,
            title=h(obligation.title),
            due=format_date(obligation.due_date),
            **await _not_yet(session, obligation.unit_id, len(owing), len(standings), lang),
        )
    ]
    for s in owing:
        marks = report_marks(s, today, tz, lang)
        if s.official.id in unreachable:
            marks.append(t("desk.mark.unreachable", lang))
        where = communes.get(s.official.id) or s.official.department
        lines.append(_digest_line(s.official.full_name, where, marks, lang))
    return Reply("\n".join(lines))


async def _task_digest(
    session: AsyncSession, row: Reminder, task: Task, unreachable: set[int], lang: str
) -> Reply | None:
    tz = await _zone(session, task.unit_id)
    today = row.slot_at.astimezone(tz).date()
    standings = await task_standings(session, task, today)
    # A task is counted by its lead (chủ trì); a task without one, by everyone on it.
    counted = [s for s in standings if s.lead] or standings
    owing = [s for s in counted if not s.done]
    if not owing:
        return None
    apart = [s for s in standings if s not in counted and not s.done]
    due = format_date(task.due_date) if task.due_date else t("when.no_due", lang)
    lines = [
        t(
            "desk.digest_task_by_lead" if counted is not standings else "remind.digest_task",
            lang,
            code=h(task.code),
            title=h(task.title),
            due=due,
            **await _not_yet(session, task.unit_id, len(owing), len(counted), lang),
        )
    ]
    for group in (owing, apart):
        if group is apart and apart:
            lines.append(t("desk.overdue.coordinators", lang))
        for s in group:
            marks = task_marks(s, today, lang)
            if s.official.id in unreachable:
                marks.append(t("desk.mark.unreachable", lang))
            lines.append(_digest_line(s.official.full_name, s.official.department, marks, lang))
    return Reply("\n".join(lines))
