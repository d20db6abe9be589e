"""The data carried back by a tapped choice: short ASCII, parsed strictly.

Telegram allows 64 bytes of callback_data and anybody can forge it, so it holds only ids
that are checked against the database before anything is changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from db.models import LeaveKind, TaskState

_STATE_CODES = {
    "d": TaskState.DONE,
    "p": TaskState.IN_PROGRESS,
    "b": TaskState.BLOCKED,
}
_CODES_OF_STATE = {state: code for code, state in _STATE_CODES.items()}
# Numbers are ASCII digits only (`\d` would take "١٢" too), and no longer than the largest id.
# "ob:<id>:f" is the choice of "which report are these files for?" (files are waiting).
_PATTERN = re.compile(r"(?:(st):([0-9]{1,10}):([dpbr])|(ob|tk):([0-9]{1,10})(:f)?|(cx))")
# The clerk's desk: xa/xr approve/refuse an extension; nd confirms an out-of-hours nudge.
_DESK_PATTERN = re.compile(
    r"(?:(x[ar]):([0-9]{1,10})|nd:([ot])([0-9]{1,10}):([0-9]{1,10}):([0-9]{1,10}))"
)
# A submission's figures: fa confirms the appendix's, fq asks them in chat, fc confirms the
# chat's summary (each by submission id); tp hands in a template copy (by its first file id).
_FIGURES_PATTERN = re.compile(r"(?:(f[aqc])|(tp)):([0-9]{1,10})")
# The clerk hands the compiled report of a commune report (by its id) up to the parent's.
_FORWARD_PATTERN = re.compile(r"up:([0-9]{1,10})")
# The clerk applies the plan workbook they sent (the first 16 hex digits of its sha256).
_PLAN_PATTERN = re.compile(r"pl:([0-9a-f]{16})")
PLAN_DIGEST_LENGTH = 16
# Leave (/nghiphep): la/lr approve/refuse a request (by id); lk picks the kind being asked.
_LEAVE_PATTERN = re.compile(r"(?:l([ar]):([0-9]{1,10})|lk:([a-z]{1,8}))")
_FIGURE_ACTIONS = {"fa": "appendix", "fq": "chat", "fc": "confirm"}
# Marks a choice of a bundled message (handlers/bundled_message.py): answered in a new message.
_BUNDLED = "m:"
_ACTION_CODES = {action: code for code, action in _FIGURE_ACTIONS.items()}
# The largest number a choice may carry: PostgreSQL's `integer` (the ids' type) holds no more.
# A nudge's minute (Unix minutes) stays far below it until the year 6053.
MAX_NUMBER = 2**31 - 1


@dataclass(frozen=True)
class StatusTap:
    """A status button on a task prompt; `state` None means "send a report"."""

    task_id: int
    state: TaskState | None


@dataclass(frozen=True)
class ObligationTap:
    """The choice of an obligation to submit to; `for_files` when it answers "which report
    are these files for?" rather than /nop's "which report will you hand in?"."""

    obligation_id: int
    for_files: bool = False


@dataclass(frozen=True)
class TaskTap:
    """The choice of a task whose status prompt to show."""

    task_id: int


@dataclass(frozen=True)
class CancelTap:
    """The cancel button of a flow."""


@dataclass(frozen=True)
class ExtensionTap:
    """A clerk's or leader's decision on an extension request."""

    request_id: int
    approve: bool


@dataclass(frozen=True)
class NudgeTap:
    """ "Send now" on an out-of-hours /remind; `minute` is the request time (Unix minutes)."""

    is_task: bool
    subject_id: int
    official_id: int | None
    minute: int


@dataclass(frozen=True)
class FiguresTap:
    """A choice about a submission's figures: `action` is "appendix" (confirm what the
    appendix holds), "chat" (give them in chat, again) or "confirm" (the chat's summary)."""

    action: str
    submission_id: int


@dataclass(frozen=True)
class TemplateTap:
    """ "Filled in, hand it in anyway" for files identical to the report's template."""

    file_id: int


@dataclass(frozen=True)
class ForwardTap:
    """ "Hand it up": the compiled report of `obligation_id` to the report it feeds."""

    obligation_id: int


@dataclass(frozen=True)
class PlanTap:
    """ "Nạp kế hoạch": apply the plan workbook held for the clerk (by its digest)."""

    digest: str


@dataclass(frozen=True)
class LeaveTap:
    """A clerk's or leader's decision on a leave request."""

    request_id: int
    approve: bool


@dataclass(frozen=True)
class LeaveKindTap:
    """The kind of leave an official picks after /nghiphep."""

    kind: LeaveKind


Tap = (
    StatusTap
    | ObligationTap
    | TaskTap
    | CancelTap
    | ExtensionTap
    | NudgeTap
    | FiguresTap
    | TemplateTap
    | ForwardTap
    | PlanTap
    | LeaveTap
    | LeaveKindTap
)


def status_data(task_id: int, state: TaskState | None) -> str:
    return f"st:{task_id}:{_CODES_OF_STATE[state] if state else 'r'}"


def obligation_data(obligation_id: int, *, for_files: bool = False) -> str:
    return f"ob:{obligation_id}{':f' if for_files else ''}"


def task_data(task_id: int) -> str:
    return f"tk:{task_id}"


def extension_data(request_id: int, approve: bool) -> str:
    return f"{'xa' if approve else 'xr'}:{request_id}"


def nudge_data(is_task: bool, subject_id: int, official_id: int | None, minute: int) -> str:
    return f"nd:{'t' if is_task else 'o'}{subject_id}:{official_id or 0}:{minute}"


def figures_data(action: str, submission_id: int) -> str:
    return f"{_ACTION_CODES[action]}:{submission_id}"


def template_data(file_id: int) -> str:
    return f"tp:{file_id}"


def forward_data(obligation_id: int) -> str:
    return f"up:{obligation_id}"


def plan_data(sha256: str) -> str:
    return f"pl:{sha256[:PLAN_DIGEST_LENGTH]}"


def leave_data(request_id: int, approve: bool) -> str:
    return f"{'la' if approve else 'lr'}:{request_id}"


def leave_kind_data(kind: LeaveKind) -> str:
    return f"lk:{kind.value}"


CANCEL_DATA = "cx"


def in_bundle(data: str) -> str:
    """The data of a choice shown inside a bundled message (at most 2 bytes longer)."""
    return _BUNDLED + data


def unbundled(data: str) -> tuple[str, bool]:
    """The choice's own data, and whether it was tapped inside a bundled message."""
    if data.startswith(_BUNDLED):
        return data[len(_BUNDLED) :], True
    return data, False


def parse(data: str) -> Tap | None:
    """The tap a choice's data stands for, or None when it is not one of ours (unknown,
    malformed, or a number no row of ours can have)."""
    try:
        return _parse(data)
    except _Forged:
        return None


class _Forged(ValueError):
    """A number out of range in data that otherwise looks like ours."""


def _number(digits: str) -> int:
    # PostgreSQL's ids are 32-bit: a larger number would fail the query, not find nothing.
    value = int(digits)
    if value > MAX_NUMBER:
        raise _Forged(digits)
    return value


def _parse(data: str) -> Tap | None:
    match = _PATTERN.fullmatch(data)
    if match is None:
        return _parse_desk(data)
    st, st_id, st_code, kind, ref_id, for_files, cancel = match.groups()
    if st:
        return StatusTap(_number(st_id), _STATE_CODES.get(st_code))
    if kind == "ob":
        return ObligationTap(_number(ref_id), for_files=bool(for_files))
    if for_files:
        return None
    if kind == "tk":
        return TaskTap(_number(ref_id))
    assert cancel
    return CancelTap()


def _parse_desk(data: str) -> Tap | None:
    match = _DESK_PATTERN.fullmatch(data)
    if match is None:
        return _parse_figures(data)
    decision, request_id, kind, subject_id, official_id, minute = match.groups()
    if decision:
        return ExtensionTap(_number(request_id), approve=decision == "xa")
    return NudgeTap(kind == "t", _number(subject_id), _number(official_id) or None, _number(minute))


def _parse_figures(data: str) -> Tap | None:
    match = _FIGURES_PATTERN.fullmatch(data)
    if match is None:
        forward = _FORWARD_PATTERN.fullmatch(data)
        if forward:
            return ForwardTap(_number(forward.group(1)))
        plan = _PLAN_PATTERN.fullmatch(data)
        return PlanTap(plan.group(1)) if plan else _parse_leave(data)
    figures, template, ref_id = match.groups()
    if template:
        return TemplateTap(_number(ref_id))
    return FiguresTap(_FIGURE_ACTIONS[figures], _number(ref_id))


def _parse_leave(data: str) -> Tap | None:
    match = _LEAVE_PATTERN.fullmatch(data)
    if match is None:
        return None
    decision, request_id, kind = match.groups()
    if decision:
        return LeaveTap(_number(request_id), approve=decision == "a")
    try:
        return LeaveKindTap(LeaveKind(kind))
    except ValueError:
        return None
