"""Review in chat: /accept and /return record who and when, tell the official, restart work."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import FixedClock
from db.models import AuditEntry, ObligationAssignee, Reminder, ReviewState, Submission
from db.workload import report_items
from handlers.callbacks import obligation_data
from handlers.clerk.notices import notice_reply
from handlers.conversation import Conversation
from handlers.types import Choice, CommandSent
from tests.test_clerk_scenario import (
    BaBich,
    Sessions,
    desk,
    fetch,
    hand_in,
    local,
    story,
)
from tests.wording import overdue_person, summary_line, summary_person, vi

__all__ = ["desk", "story"]  # fixtures

Q1_TITLE = "Báo cáo CCHC Quý I năm 2024"


async def latest_of(session: AsyncSession, story: BaBich, key: str) -> Submission:
    rows = await fetch(
        session,
        select(Submission)
        .where(Submission.official_id == story.people[key].id)
        .order_by(Submission.version.desc()),
    )
    return rows[0]


async def say(desk: Conversation, story: BaBich, key: str, command: str, args: str = "") -> str:
    (reply,) = await desk.handle(story.chats[key], CommandSent(command, args))
    return reply.text


async def test_accept_records_reviewer_time_and_audit(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    hung = await latest_of(session, story, "hung")
    text = await say(desk, story, "nhut", "accept", str(hung.id))
    assert text == vi(
        "clerk.accept.done", id=hung.id, name="Võ Văn Hùng", title=Q1_TITLE, version=1
    )
    row = await latest_of(session, story, "hung")
    assert row.review_state is ReviewState.ACCEPTED
    assert row.reviewed_by_id == story.people["nhut"].id
    assert row.reviewed_at == local(11, 3, 9)
    (entry,) = await fetch(
        session,
        select(AuditEntry).where(
            AuditEntry.action == "submission.accept", AuditEntry.target == f"submission:{hung.id}"
        ),
    )
    assert entry.actor_official_id == story.people["nhut"].id
    assert entry.target == f"submission:{hung.id}"
    assert entry.details["from"] == "pending" and entry.details["to"] == "accepted"

    again = await say(desk, story, "manh", "tiepnhan", f"#{hung.id}")
    assert again == vi(
        "clerk.review.already",
        id=hung.id,
        state=vi("clerk.review.accepted"),
        time="11/03/2024 09:00",
    )


async def test_return_tells_the_official_and_the_report_is_owed_again(
    desk: Conversation, story: BaBich, session: AsyncSession, clock: FixedClock
) -> None:
    thu = await latest_of(session, story, "thu")
    clock.set(local(11, 3, 10, 15))
    text = await say(desk, story, "nhut", "return", f"{thu.id}   Thiếu <phụ lục> & số liệu")
    assert text == vi(
        "clerk.return.done",
        id=thu.id,
        name="Huỳnh Thị Thu",
        title=Q1_TITLE,
        version=1,
        comment="Thiếu &lt;phụ lục&gt; &amp; số liệu",
    )
    row = await latest_of(session, story, "thu")
    assert row.review_state is ReviewState.RETURNED
    assert row.review_comment == "Thiếu <phụ lục> & số liệu"
    assert (row.reviewed_by_id, row.reviewed_at) == (story.people["nhut"].id, local(11, 3, 10, 15))
    (entry,) = await fetch(
        session,
        select(AuditEntry).where(
            AuditEntry.action == "submission.return", AuditEntry.target == f"submission:{thu.id}"
        ),
    )
    assert entry.details["comment"] == "Thiếu <phụ lục> & số liệu"

    # The official is told through the outbox, in their language, with a button to resubmit.
    (notice,) = await fetch(session, select(Reminder).where(Reminder.kind == "review_returned"))
    assert notice.recipient_id == story.people["thu"].id
    assert (notice.subject_type, notice.subject_id) == ("obligation", story.q1.id)
    assert notice.due_at == local(11, 3, 10, 15)
    message = notice_reply(notice)
    assert message.text == vi(
        "clerk.notice.returned",
        title=Q1_TITLE,
        version=1,
        reviewer="Trần Văn Nhứt",
        comment="Thiếu &lt;phụ lục&gt; &amp; số liệu",
    )
    resubmit = Choice(vi("clerk.button.resubmit"), obligation_data(story.q1.id))
    assert message.choices == [[resubmit]]

    # "Returned" means "not submitted" again: for her own list, the matrix and /overdue.
    items = await report_items(session, story.people["thu"].id)
    assert not next(i for i in items if i.obligation.id == story.q1.id).submitted
    (flag,) = await fetch(
        session,
        select(ObligationAssignee.handed_in).where(
            ObligationAssignee.obligation_id == story.q1.id,
            ObligationAssignee.official_id == story.people["thu"].id,
        ),
    )
    assert flag is False
    overdue = await say(desk, story, "nhut", "quahan")
    q1_head = vi(
        "clerk.overdue.report",
        code="CCHC-Q1-2024",
        title=Q1_TITLE,
        due="10/03/2024",
        share="6/10",
        rate="chiếm 60,0%",
    )
    assert q1_head in overdue
    returned = vi("clerk.returned_on", date="11/03/2024")
    thu_row = overdue_person(
        "Huỳnh Thị Thu",
        "Bộ phận một cửa",
        vi("desk.state.overdue", days=1),
        returned,
        vi("clerk.overdue.not_reminded"),
    )
    assert f"\n{thu_row}\n" in f"{overdue}\n"  # the whole row, up to its last fact
    summary = await say(desk, story, "nhut", "tonghop", "CCHC-Q1")
    assert summary_line("clerk.report.on_time", 3, 10, "đạt 30,0%") in summary.splitlines()
    thu = summary_person("Huỳnh Thị Thu", vi("desk.state.overdue", days=1), returned)
    assert thu in summary.splitlines()


async def test_a_resubmission_counts_from_its_own_time(
    desk: Conversation, story: BaBich, session: AsyncSession, sessionmaker: Sessions
) -> None:
    # Mai's version 1 was returned on 10/03; version 2 comes on 12/03: two days late.
    await hand_in(sessionmaker, story, "mai", story.q1, local(12, 3, 8), "BC Quý I - TCKT v2.xlsx")
    mai = await latest_of(session, story, "mai")
    assert mai.version == 2
    summary = await say(desk, story, "nhut", "tonghop", "CCHC-Q1")
    assert summary_line("clerk.report.late", 2, 10, "chiếm 20,0%") in summary.splitlines()
    assert summary_person("Nguyễn Thị Mai", vi("clerk.late_days", days=2)) in summary.splitlines()
    assert "Nguyễn Thị Mai" not in await say(desk, story, "nhut", "quahan")

    # Only the latest version can be reviewed.
    first = (
        await fetch(
            session,
            select(Submission.id).where(
                Submission.official_id == story.people["mai"].id, Submission.version == 1
            ),
        )
    )[0]
    text = await say(desk, story, "nhut", "accept", str(first))
    assert text == vi("clerk.review.not_latest", id=first, version=2)


async def test_review_with_bad_input_changes_nothing(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    hung = await latest_of(session, story, "hung")
    usage = vi("clerk.return.usage")
    assert await say(desk, story, "nhut", "return", str(hung.id)) == usage
    assert await say(desk, story, "nhut", "tralai", "") == usage
    assert await say(desk, story, "nhut", "return", f"{hung.id} " + "x" * 1001) == vi(
        "clerk.return.too_long", limit=1000
    )
    assert await say(desk, story, "nhut", "accept", "mười hai") == vi("clerk.accept.usage")
    row = await latest_of(session, story, "hung")
    assert row.review_state is ReviewState.PENDING and row.reviewed_at is None
    assert await fetch(session, select(Reminder.id).where(Reminder.kind == "review_returned")) == []
