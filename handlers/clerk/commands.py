"""The desk's commands: what the clerk (the office) and the leaders type.

`command` answers a desk command (or /giahan, which officials send) and returns None for
any other command, so the router falls through to the officials' flows. An official who
tries a desk command gets a polite refusal before anything is read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers import callbacks
from handlers.catalog import t
from handlers.clerk import extension, leave, matrix, nudge, pending, review
from handlers.clerk.access import may_use_desk, refusal
from handlers.clerk.compile_command import compile_reply
from handlers.clerk.context import Desk, DeskInputError, Tools, desk_of
from handlers.clerk.export import export_reply
from handlers.clerk.forward_up import forward_tapped
from handlers.clerk.invite import invite_reply
from handlers.clerk.overdue import overdue_text
from handlers.turn import Turn
from handlers.types import Reply

__all__ = ["DESK_COMMANDS", "Tools", "command", "tap"]

Handler = Callable[[Desk, str, Tools, Turn], Awaitable[Reply]]


async def _overdue(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    return Reply(await overdue_text(desk, args))


async def _summary(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    return Reply(await matrix.summary_text(desk, args))


async def _submissions(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    return Reply(await review.submissions_text(desk, args))


async def _get(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    return await review.get_reply(desk, args, tools, turn)


async def _accept(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    return await review.accept_reply(desk, args, turn)


async def _return(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    return await review.return_reply(desk, args, turn)


async def _remind(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    return await nudge.remind_reply(desk, args, turn)


async def _export(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    return await export_reply(desk, args, tools)


async def _compile(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    return await compile_reply(desk, args, tools, turn)


async def _help(desk: Desk, args: str, tools: Tools, turn: Turn) -> Reply:
    parts = [t("help.body", desk.lang), _requests_help(desk.lang)]
    return Reply("\n".join(parts) + "\n\n" + t("clerk.help.desk", desk.lang))


DESK_COMMANDS: dict[str, Handler] = {
    "overdue": _overdue,
    "summary": _summary,
    "submissions": _submissions,
    "get": _get,
    "accept": _accept,
    "return": _return,
    "remind": _remind,
    "invite": invite_reply,
    "export": _export,
    "compile": _compile,
}


async def command(turn: Turn, name: str, args: str, tools: Tools) -> list[Reply] | None:
    """The replies to a desk command, /giahan or /nghiphep (`name` is the command's key in
    `handlers.command_names`); None for any other."""
    if name == "extend":
        if not args.strip() and may_use_desk(turn.official):
            # The deciders' side of /giahan: what waits for them.
            return [await pending.pending_reply(turn)]
        return [await _answer(extension.request_reply(turn, args))]
    if name == "leave":
        return [await _answer(leave.request_reply(turn, args))]
    if name == "help":
        if not may_use_desk(turn.official):
            # Officials get their own help and the line about /giahan.
            body = f"{t('help.body', turn.lang)}\n{_requests_help(turn.lang)}"
            return [Reply(body)]
        return [await _help(desk_of(turn), args, tools, turn)]
    handler = DESK_COMMANDS.get(name)
    if handler is None:
        return None
    if not may_use_desk(turn.official):
        return [refusal(turn.official, turn.lang)]
    return [await _answer(handler(desk_of(turn), args, tools, turn))]


def _requests_help(lang: str) -> str:
    # What any official may ask for: more time, and leave.
    return f"{t('clerk.help.extension', lang)}\n{t('leave.help', lang)}"


async def tap(
    turn: Turn,
    data: callbacks.ExtensionTap
    | callbacks.LeaveTap
    | callbacks.LeaveKindTap
    | callbacks.NudgeTap
    | callbacks.ForwardTap,
    tools: Tools,
) -> list[Reply]:
    """A tap on a desk button: an extension or leave decision (or a leave's kind, chosen by
    the asker), a confirmed nudge, a report handed up."""
    if isinstance(data, callbacks.ExtensionTap):
        return await extension.decision_tapped(turn, data)
    if isinstance(data, callbacks.LeaveTap):
        return await leave.decision_tapped(turn, data)
    if isinstance(data, callbacks.LeaveKindTap):
        return [await leave.kind_tapped(turn, data)]
    if not may_use_desk(turn.official):
        return [refusal(turn.official, turn.lang)]
    if isinstance(data, callbacks.ForwardTap):
        return [await forward_tapped(turn, data, tools)]
    try:
        return [await nudge.confirmed(desk_of(turn), data)]
    except DeskInputError as exc:
        return [Reply(exc.text, notice=exc.text)]


async def _answer(pending: Awaitable[Reply]) -> Reply:
    # Bad input changes nothing: the refusal is raised before any write is made.
    try:
        return await pending
    except DeskInputError as exc:
        return Reply(exc.text)
