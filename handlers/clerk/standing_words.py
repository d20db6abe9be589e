"""The words of one standing (`db.desk.standing`): every view of the desk says it the same way.

Who has not handed in is decided once, below this module; here only the marks on it are put
into words: how long overdue, "đã ngừng nhắc", "vướng mắc: <lý do>", "bị trả lại", "gia hạn
đến …", a commune's own date and "nghỉ phép đến …".
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from db.clock import format_date
from db.desk.standing import ReportStanding, TaskStanding
from handlers.catalog import t
from handlers.presenting import h


def overdue_state(
    lang: str,
    due: date,
    today: date,
    *,
    chase_ended: bool = False,
    blocked_reason: str | None = None,
) -> str:
    """ "quá hạn N ngày", then "— vướng mắc: <lý do>" and "— đã ngừng nhắc" when they hold."""
    state = t("desk.state.overdue", lang, days=(today - due).days)
    if blocked_reason is not None:
        state = t("desk.state.joined", lang, first=state, second=blocked(lang, blocked_reason))
    if chase_ended:
        state = t("desk.state.joined", lang, first=state, second=t("desk.state.chase_ended", lang))
    return state


def blocked(lang: str, reason: str) -> str:
    """ "vướng mắc: <lý do>" (the reason escaped), or that no reason was given."""
    if not reason:
        return t("desk.state.blocked_no_reason", lang)
    return t("desk.state.blocked", lang, reason=h(reason))


def report_marks(standing: ReportStanding, today: date, tz: ZoneInfo, lang: str) -> list[str]:
    """What a submitter who has not handed in is marked with, on local day `today`."""
    facts: list[str] = []
    if standing.overdue(today):
        facts.append(
            overdue_state(lang, standing.due, today, chase_ended=standing.chase_ended(today))
        )
    latest = standing.latest
    if standing.returned and latest is not None:
        reviewed = latest.reviewed_at
        when = format_date(reviewed.astimezone(tz).date()) if reviewed else ""
        facts.append(t("clerk.returned_on", lang, date=when))
    if standing.extended:
        facts.append(t("clerk.overdue.extended", lang, due=format_date(standing.due)))
    elif standing.due != standing.subject_due:
        # Only a commune's own date to the province differs from the report's unextended.
        facts.append(t("clerk.province.own_due", lang, due=format_date(standing.due)))
    if standing.leave_until is not None:
        facts.append(t("clerk.on_leave_until", lang, date=format_date(standing.leave_until)))
    return facts


def task_marks(standing: TaskStanding, today: date, lang: str) -> list[str]:
    """What an assignee who has not finished is marked with, on local day `today`."""
    facts: list[str] = []
    reason = standing.blocked_reason
    if standing.overdue(today):
        assert standing.due is not None
        facts.append(
            overdue_state(
                lang,
                standing.due,
                today,
                chase_ended=standing.chase_ended(today),
                blocked_reason=reason,
            )
        )
    elif reason:
        # Before the deadline the views show the answer "Vướng mắc" itself; its reason follows.
        facts.append(h(reason))
    if standing.extended:
        assert standing.due is not None
        facts.append(t("clerk.overdue.extended", lang, due=format_date(standing.due)))
    if standing.leave_until is not None:
        facts.append(t("clerk.on_leave_until", lang, date=format_date(standing.leave_until)))
    return facts
