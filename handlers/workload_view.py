"""/tasks (/nhiemvu) and the short summary: what an official owes, most urgent first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from db.clock import format_date
from db.workload import ReportItem, TaskItem, report_items, task_items, urgency
from handlers.catalog import t
from handlers.presenting import due_part, h, last_answer, when
from handlers.turn import Turn
from handlers.types import Reply


@dataclass(frozen=True)
class OpenWork:
    """An official's open tasks and not-yet-submitted reports."""

    tasks: list[TaskItem]
    reports: list[ReportItem]

    def by_urgency(self) -> list[TaskItem | ReportItem]:
        """Tasks and reports in one list: overdue first, then soonest due, undated last."""
        items: list[TaskItem | ReportItem] = [*self.tasks, *self.reports]
        return sorted(items, key=lambda i: urgency(_due(i)))


def _due(item: TaskItem | ReportItem) -> date | None:
    return item.due


async def open_work(turn: Turn) -> OpenWork:
    """Load what the speaking official still has to do."""
    official_id = turn.official.id
    tasks = [i for i in await task_items(turn.session, official_id) if i.open]
    reports = [i for i in await report_items(turn.session, official_id) if not i.submitted]
    return OpenWork(tasks, reports)


def _line(turn: Turn, item: TaskItem | ReportItem) -> str:
    lang = turn.lang
    if isinstance(item, TaskItem):
        return t(
            "tasks.task_line",
            lang,
            code=h(item.task.code),
            title=h(item.task.title),
            due_part=due_part(item.due, turn.now, turn.tz, lang),
            role=t(f"role.{item.role.value}", lang),
            status=last_answer(item.last_state, item.last_at, turn.tz, lang),
        )
    status = t("tasks.returned" if item.last_version else "tasks.not_submitted", lang)
    return t(
        "tasks.report_line",
        lang,
        code=h(item.obligation.code),
        title=h(item.obligation.title),
        due_part=due_part(item.due, turn.now, turn.tz, lang),
        role=t("role.submit", lang),
        status=status,
    )


async def tasks_reply(turn: Turn) -> Reply:
    """The /tasks message: every open item, one short block each, blank line between."""
    work = await open_work(turn)
    items = work.by_urgency()
    if not items:
        return Reply(t("tasks.empty", turn.lang))
    today = format_date(turn.now.astimezone(turn.tz).date())
    blocks = [t("tasks.header", turn.lang, date=today), *(_line(turn, i) for i in items)]
    return Reply("\n\n".join(blocks))


async def summary_text(turn: Turn) -> str:
    """Counts and the most urgent item, for /start and the welcome."""
    work = await open_work(turn)
    items = work.by_urgency()
    if not items:
        return t("summary.none", turn.lang)
    first = items[0]
    code, title = (
        (first.task.code, first.task.title)
        if isinstance(first, TaskItem)
        else (first.obligation.code, first.obligation.title)
    )
    due = first.due
    lines = [t("summary.counts", turn.lang, tasks=len(work.tasks), reports=len(work.reports))]
    if due is not None:
        lines.append(
            t(
                "summary.next",
                turn.lang,
                code=h(code),
                title=h(title),
                due=format_date(due),
                when=when(due, turn.now, turn.tz, turn.lang),
            )
        )
    return "\n".join(lines)
