"""Issue 15: a comment full of "<&>" that escapes past Telegram's 4096 characters still goes
out — to the clerk as the reply and to the official as the notice — in pieces Telegram parses.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from db.models import Reminder, ReminderStatus
from db.session import make_sessionmaker
from tests.test_clerk_e2e import Office, office

__all__ = ["office"]  # fixtures

# One "word" of 1000 characters: escaped it is longer than a message, so it must be cut inside
# itself, and every cut point but one in six falls inside an entity.
COMMENT = "Thiếu<&>" + "<&>&<" * 198


async def _notice_status(office: Office) -> ReminderStatus:
    sessions = make_sessionmaker(office.engine)
    for _ in range(200):
        async with sessions() as session:
            status = await session.scalar(
                select(Reminder.status).where(Reminder.kind == "review_returned")
            )
        if status in (ReminderStatus.SENT, ReminderStatus.FAILED):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"the notice is still {status}")


async def test_a_long_returned_comment_reaches_the_official_in_valid_pieces(
    office: Office,
) -> None:
    assert len(COMMENT) <= 1000
    thu = await office.submission_id("thu")
    update = office.server.user_sends_command(office.chat("nhut"), "tralai", f"{thu} {COMMENT}")
    replies = await office.server.wait_for_messages(
        office.chat("nhut"), 2, after=update["message"]["message_id"], timeout=10
    )
    assert replies[0].plain_text and replies[0].plain_text.startswith("↩️")

    assert await _notice_status(office) is ReminderStatus.SENT
    told = "".join(m.plain_text or "" for m in office.server.sent_messages(office.chat("thu")))
    assert COMMENT in told.replace("\n", "")
    assert all(r.ok for r in office.server.requests_for("sendMessage"))
