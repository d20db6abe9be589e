"""How dates, deadlines, sizes and states read in a message."""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo

from db.clock import format_date, format_datetime
from db.deadlines import days_left
from db.models import TaskState
from handlers.catalog import t


def when(due: date | None, at: datetime, tz: ZoneInfo, lang: str) -> str:
    """ "còn 2 ngày", "hạn hôm nay", "trễ 3 ngày" or "không có hạn"."""
    if due is None:
        return t("when.no_due", lang)
    left = days_left(due, at, tz)
    if left > 0:
        return t("when.left", lang, days=left)
    if left == 0:
        return t("when.today", lang)
    return t("when.late", lang, days=-left)


def due_part(due: date | None, at: datetime, tz: ZoneInfo, lang: str) -> str:
    """ "Hạn 10/03/2024, còn 2 ngày", or just "không có hạn"."""
    if due is None:
        return t("when.no_due", lang).capitalize()
    return t("tasks.due_part", lang, due=format_date(due), when=when(due, at, tz, lang))


def state_label(state: TaskState, lang: str) -> str:
    return t(f"state.{state.value}", lang)


def last_answer(state: TaskState | None, at: datetime | None, tz: ZoneInfo, lang: str) -> str:
    """The latest status answer and its day, or "chưa trả lời"."""
    if state is None or at is None:
        return t("tasks.no_answer", lang)
    return t(
        "tasks.last_answer",
        lang,
        state=state_label(state, lang),
        date=format_date(at.astimezone(tz).date()),
    )


def file_size(size: int, lang: str) -> str:
    """A size people read: 850 B, 12,3 KB, 4,5 MB (decimal comma in Vietnamese)."""
    if size < 1024:
        text = f"{size} B"
    elif size < 1024 * 1024:
        text = f"{size / 1024:.1f} KB"
    else:
        text = f"{size / (1024 * 1024):.1f} MB"
    return text.replace(".", ",") if lang == "vi" else text


def moment(at: datetime, tz: ZoneInfo) -> str:
    return format_datetime(at, tz)


def as_of(at: datetime, tz: ZoneInfo, lang: str) -> str:
    """The moment figures are counted to, as the office writes it: "08:30 ngày 11/03/2024"."""
    local = at.astimezone(tz)
    return t("as_of", lang, time=local.strftime("%H:%M"), date=local.strftime("%d/%m/%Y"))


def h(text: str) -> str:
    """Escape a string a person typed (names, titles, file names) for the HTML subset."""
    return escape(text, quote=False)
