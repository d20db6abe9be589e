"""/giahan alone, for a clerk or a leader: every request waiting for their decision —
extensions and leave — each with its one-tap approve and refuse."""

from __future__ import annotations

from handlers.catalog import t
from handlers.clerk import extension, leave
from handlers.turn import Turn
from handlers.types import Reply


async def pending_reply(turn: Turn) -> Reply:
    """The extension requests, then the leave requests, that wait for a decision."""
    blocks, choices = await extension.pending_blocks(turn)
    leave_blocks, leave_choices = await leave.pending_blocks(turn)
    if not blocks and not leave_blocks:
        return Reply(t("clerk.extension.none_pending", turn.lang))
    return Reply("\n\n".join(blocks + leave_blocks), choices + leave_choices)
