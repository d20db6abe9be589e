"""Status answers with one tap, the reason for "blocked", and /status.

A task's status is its lead's (chủ trì) latest answer. A coordinator (phối hợp) taps an
answer too: it is recorded as their part (a "done" stops their reminders, a "blocked" asks
for its reason like any other), and they are told that the lead updates the task's status;
the prompt shows them the task's status and their own part apart.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import answers, assignees, conversations, outbox
from db.kinds import TASK
from db.models import AssigneeRole, StatusUpdate, Task, TaskAssignee, TaskState
from db.task_codes import typed_code
from db.workload import task_items
from handlers import callbacks
from handlers.catalog import t
from handlers.clerk import alerts
from handlers.free_text import REASON, echo, shorten, too_long
from handlers.presenting import due_part, h, last_answer, moment, state_label
from handlers.task_basis import task_document_lines
from handlers.turn import Turn
from handlers.types import Choice, Reply

AWAIT_REASON = "await_reason"
# A reason typed this long after a "blocked" answer without one is still taken for a late
# reason (and told to tap again), not for words the bot does not understand.
LATE_REASON_WINDOW = timedelta(days=1)
# A task's code and title on a button: long titles are shortened at a word.
CHOICE_MOST = 60


def status_choices(task_id: int, lang: str) -> list[list[Choice]]:
    """The four one-tap answers of a task prompt."""

    def button(key: str, state: TaskState | None) -> Choice:
        return Choice(t(key, lang), callbacks.status_data(task_id, state))

    return [
        [
            button("button.done", TaskState.DONE),
            button("button.in_progress", TaskState.IN_PROGRESS),
        ],
        [button("button.blocked", TaskState.BLOCKED), button("button.report", None)],
    ]


def prompt_text(turn: Turn, task: Task, status: str) -> str:
    return t(
        "status.prompt",
        turn.lang,
        code=h(task.code),
        title=h(task.title),
        due_part=due_part(task.due_date, turn.now, turn.tz, turn.lang),
        status=status,
    )


async def assigned_task(turn: Turn, task_id: int) -> Task | None:
    """The task if it is active and the speaking official leads or coordinates it."""
    return await turn.session.scalar(
        select(Task)
        .join(TaskAssignee, TaskAssignee.task_id == Task.id)
        .where(
            Task.id == task_id,
            Task.active.is_(True),
            TaskAssignee.official_id == turn.official.id,
        )
    )


async def prompt_for(turn: Turn, task: Task) -> Reply:
    """A status prompt for one task: its status (the lead's latest answer) and, to a
    coordinator, their own part."""
    return Reply(await _prompt_body(turn, task), status_choices(task.id, turn.lang))


async def _prompt_body(turn: Turn, task: Task) -> str:
    status = await answers.task_status(turn.session, task.id)
    # The assigning document and the expected output, when the plan gives them (issue 16).
    text = "\n".join(
        [prompt_text(turn, task, _answer_text(turn, status)), *task_document_lines(task, turn.lang)]
    )
    if await assignees.task_role(turn.session, task.id, turn.official.id) is AssigneeRole.LEAD:
        return text
    own = await answers.latest_answer(turn.session, task.id, turn.official.id)
    leads = await lead_names(turn.session, task.id, turn.lang)
    return f"{text}\n{t('assign.own_part', turn.lang, status=_answer_text(turn, own), leads=leads)}"


def _answer_text(turn: Turn, answer: StatusUpdate | None) -> str:
    if answer is None:
        return last_answer(None, None, turn.tz, turn.lang)
    return last_answer(answer.state, answer.at, turn.tz, turn.lang)


async def lead_names(session: AsyncSession, task_id: int, lang: str) -> str:
    """The task's leads by name, for a coordinator's prompt, notice or reminder."""
    leads = await assignees.task_leads(session, task_id)
    return ", ".join(h(o.full_name) for o in leads) or t("assign.no_lead", lang)


async def status_command(turn: Turn, args: str) -> Reply:
    """/status [code]: the prompt of that task, or a choice among the official's open tasks."""
    code = typed_code(args)
    if code:
        items = await task_items(turn.session, turn.official.id)
        match = next((i.task for i in items if i.task.code.casefold() == code.casefold()), None)
        if match is None:
            return Reply(t("status.unknown_task", turn.lang, code=h(echo(code))))
        return await prompt_for(turn, match)
    open_items = [i for i in await task_items(turn.session, turn.official.id) if i.open]
    if not open_items:
        return Reply(t("status.no_tasks", turn.lang))
    choices = [
        [
            Choice(
                shorten(f"{i.task.code} {i.task.title}", CHOICE_MOST),
                callbacks.task_data(i.task.id),
            )
        ]
        for i in open_items
    ]
    return Reply(t("status.choose", turn.lang), choices)


async def task_tapped(turn: Turn, task_id: int) -> list[Reply]:
    task = await assigned_task(turn, task_id)
    if task is None:
        return [refusal(turn, "refuse.not_assigned")]
    return [await prompt_for(turn, task)]


async def status_tapped(turn: Turn, task_id: int, state: TaskState) -> list[Reply]:
    """Record a tapped answer, show it on the prompt; "blocked" then asks for a reason."""
    task = await assigned_task(turn, task_id)
    if task is None:
        return [refusal(turn, "refuse.not_assigned")]
    update = await answers.record_status(
        turn.session, turn.official, task, state, turn.now, actor=turn.actor
    )
    if state is TaskState.DONE:
        await outbox.drop_pending(
            turn.session,
            recipient_id=turn.official.id,
            subject_type=TASK,
            subject_id=task.id,
            reason="done",
        )
    label = state_label(state, turn.lang)
    # A repeated tap returns the answer already recorded: its time, so the reply is the same.
    when = moment(update.at, turn.tz)
    recorded = t("status.recorded", turn.lang, state=label, time=when)
    notice = t("status.recorded_notice", turn.lang, state=label)
    if await assignees.task_role(turn.session, task.id, turn.official.id) is not AssigneeRole.LEAD:
        # Their part, not the task's status: that is the lead's to give.
        leads = await lead_names(turn.session, task.id, turn.lang)
        recorded = t("assign.part_recorded", turn.lang, state=label, time=when, leads=leads)
        notice = t("assign.part_recorded_notice", turn.lang, state=label)
    replies = [
        Reply(
            f"{await _prompt_body(turn, task)}\n\n{recorded}",
            status_choices(task.id, turn.lang),
            edit=True,
            notice=notice,
        )
    ]
    if state is TaskState.BLOCKED:
        # The clerk (and the lead, if a coordinator is stuck) hears it at the next slot.
        await alerts.blocked_answer(turn.session, turn.official, task, update, turn.now)
        assert turn.identity is not None
        await conversations.begin(
            turn.session,
            turn.identity.id,
            AWAIT_REASON,
            {"status_update_id": update.id, "task_code": task.code},
            turn.now,
        )
        replies.append(Reply(t("status.ask_reason", turn.lang, code=h(task.code))))
    return replies


async def reason_given(turn: Turn, status_update_id: int, task_code: str, text: str) -> Reply:
    """The text after a "blocked" tap is its reason; one too long is refused and the question
    stays open, so a shorter one sent next is still taken."""
    reason = text.strip()
    if refusal := too_long(reason, REASON, turn.lang):
        return Reply(refusal)
    update = await turn.session.get(StatusUpdate, status_update_id)
    assert turn.identity is not None
    await conversations.finish(turn.session, turn.identity.id)
    if update is None or update.official_id != turn.official.id:
        return Reply(t("refuse.bad_choice", turn.lang))
    await answers.add_reason(
        turn.session, turn.official, update, reason, turn.now, actor=turn.actor
    )
    task = await turn.session.get(Task, update.task_id)
    if task is not None:
        await alerts.blocked_answer(turn.session, turn.official, task, update, turn.now)
    return Reply(t("status.reason_saved", turn.lang, code=h(task_code)))


async def late_reason(turn: Turn, text: str) -> Reply | None:
    """Text typed after the reason's 30 minutes ran out: if the official's latest answer is a
    recent "blocked" still without a reason, say to tap "blocked" again; it records nothing."""
    if not text.strip() or text.lstrip().startswith("/"):
        return None
    latest = await answers.latest_answer_by(turn.session, turn.official.id)
    if (
        latest is None
        or latest.state is not TaskState.BLOCKED
        or latest.note.strip()
        or turn.now - latest.at > LATE_REASON_WINDOW
    ):
        return None
    task = await assigned_task(turn, latest.task_id)
    if task is None:
        return None
    return Reply(
        t("status.reason_too_late", turn.lang, code=h(task.code)),
        status_choices(task.id, turn.lang),
    )


def refusal(turn: Turn, key: str) -> Reply:
    """A polite refusal, shown both as the tap's notice and as a message."""
    text = t(key, turn.lang)
    return Reply(text, notice=text)
