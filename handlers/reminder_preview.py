"""The clerk's calendar of reminders as text: what `reminders preview` prints, nothing sent.

The reminders come from the pure policy (`scheduler.policy.preview`) and the weekly digests
(`scheduler.sweep.weekly_digests`); this module only says them in the clerk's language through
the catalog. One person's items of one slot arrive as one message (the dispatcher bundles
them), so the header counts messages beside items, and the footer counts each person's
messages: who would be reminded most.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from db.kinds import (
    ASSIGNED,
    CHECKIN,
    DIGEST_CLERK,
    DUE_DAY,
    OBLIGATION,
    OVERDUE,
    WEEKLY_DIGEST,
    is_before,
)
from handlers.catalog import t
from scheduler.policy import COORDINATE, DueReminder


def format_preview(
    reminders: Sequence[DueReminder],
    names: Mapping[int, str],
    tz: ZoneInfo,
    lang: str | None = None,
) -> str:
    """The clerk's plain-text calendar of `reminders` (sorted by slot, then person), one line
    each, then each person's number of messages, through the catalog."""
    if not reminders:
        return t("reminders.preview.empty", lang)

    def name(official_id: int) -> str:
        return names.get(official_id) or t("reminders.preview.unknown_person", lang, id=official_id)

    messages = Counter(person for person, _ in {(r.recipient_id, r.slot_at) for r in reminders})
    total = sum(messages.values())
    lines = [t("reminders.preview.header", lang, messages=total, count=len(reminders))]
    for r in reminders:
        parts = [_describe(r, name, lang)]
        if r.payload.get("role") == COORDINATE and r.kind != ASSIGNED:
            parts.append(t("reminders.kind.coordinate", lang))
        if r.slot_at != r.nominal_at:
            parts.append(t("reminders.preview.moved", lang, nominal=_local_text(r.nominal_at, tz)))
        templates = r.payload.get("templates") or ()
        if r.first_for_subject and templates:
            parts.append(t("reminders.preview.templates", lang, count=len(templates)))
        lines.append(
            t(
                "reminders.preview.line",
                lang,
                when=_local_text(r.slot_at, tz),
                name=name(r.recipient_id),
                code=r.payload.get("code", ""),
                what=" ".join(parts),
            )
        )
    lines.append(t("reminders.preview.per_person", lang))
    for person, count in sorted(messages.items(), key=lambda item: (-item[1], name(item[0]))):
        lines.append(t("reminders.preview.person_total", lang, name=name(person), count=count))
    return "\n".join(lines)


def _describe(r: DueReminder, name: Callable[[int], str], lang: str | None) -> str:
    due = _date_text(r.due_date)
    left = r.payload.get("days_left")
    late = r.payload.get("days_late")
    left_text = (
        t("reminders.left.today", lang) if left == 0 else t("reminders.left.days", lang, days=left)
    )
    late_text = t("reminders.late.days", lang, days=late)
    if r.kind == ASSIGNED:
        role = t(f"role.{r.payload.get('role', 'submit')}", lang)
        when = t("assign.due", lang, due=due) if r.due_date else t("assign.no_due", lang)
        return t("reminders.kind.assigned", lang, role=role, due=when)
    if r.kind == DUE_DAY:
        # "Hôm nay là hạn nộp" only on the day itself; a deadline on a day off is reminded of
        # on the working day before, which says how many days are left.
        if left:
            return t("reminders.kind.due_day_early", lang, due=due, left=left_text)
        return t("reminders.kind.due_day", lang, due=due)
    if is_before(r.kind):
        return t("reminders.kind.before", lang, due=due, left=left_text)
    if r.kind == OVERDUE:
        return t("reminders.kind.overdue", lang, due=due, late=late_text)
    if r.kind == WEEKLY_DIGEST:
        return t("reminders.kind.weekly_digest", lang)
    if r.kind == CHECKIN:
        if left is not None:
            return t("reminders.kind.checkin_left", lang, due=due, left=left_text)
        if late is not None:
            return t("reminders.kind.checkin_late", lang, due=due, late=late_text)
        return t("reminders.kind.checkin", lang)
    missing = r.payload.get("missing", [])
    listed = ", ".join(
        t("reminders.digest.on_leave", lang, name=name(m["official_id"]))
        if m["on_leave"]
        else name(m["official_id"])
        for m in missing
    )
    key = (
        "reminders.digest.missing_report"
        if r.subject_type == OBLIGATION
        else ("reminders.digest.missing_task")
    )
    summary = t(key, lang, count=len(missing), names=listed)
    kind = (
        "reminders.kind.digest_clerk" if r.kind == DIGEST_CLERK else "reminders.kind.digest_leaders"
    )
    return t(kind, lang, due=due, missing=summary)


def _local_text(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%d/%m/%Y %H:%M")


def _date_text(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day is not None else ""
