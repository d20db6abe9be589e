"""Issue 16, wording: the messages read like the commune office's own.

The title once, never cut inside a word, the office's words ("lượt nộp", "chờ tiếp nhận",
"Chưa triển khai", "Thực hiện thường xuyên" …), the data window and the moment as the seed
writes them, good rates "đạt" and bad ones "chiếm" with the unit's decimals, and the office
named as the plan names it. The expected texts are the issue's own, written out: a rewording
of the catalog that loses them fails here.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Reminder, Unit
from handlers.catalog import t
from handlers.conversation import Conversation
from handlers.free_text import shorten
from handlers.rates import rate
from handlers.reminder_messages import reminder_reply
from handlers.types import Channel, CommandSent, Sender
from tests.test_clerk_scenario import BaBich, desk, local, story
from tests.wording import vi

__all__ = ["desk", "story"]  # fixtures

Q1 = "Báo cáo CCHC Quý I năm 2024"
OFFICE = "Văn phòng HĐND và UBND xã"
STRANGER = Sender(Channel.TELEGRAM, "990001", "Người lạ")


async def _say(desk: Conversation, who: Sender, command: str, args: str = "") -> str:
    (reply,) = await desk.handle(who, CommandSent(command, args))
    return reply.text


async def _unit(session: AsyncSession, story: BaBich) -> Unit:
    unit = await session.get(Unit, story.q1.unit_id)
    assert unit is not None
    return unit


def test_a_report_title_is_said_once() -> None:
    receipt = vi(
        "report.receipt",
        title=Q1,
        version=1,
        files="• bc.pdf — 1 KB",
        time="07/03/2024 08:01",
        timeliness=vi("report.on_time", due="10/03/2024"),
        start="15/12/2023",
        end="14/03/2024",
    )
    assert receipt.startswith(f"✅ Đã nhận: <b>{Q1}</b> (lần nộp 1).")
    returned = vi("clerk.notice.returned", title=Q1, version=1, reviewer="Nhứt", comment="Thiếu")
    asked = vi("report.send_files", title=Q1, start="15/12/2023", end="14/03/2024")
    waiting = vi("report.waiting_file", title=Q1)
    for text in (receipt, returned, asked, waiting):
        assert "báo cáo báo cáo" not in text.replace("<b>", "").casefold(), text


async def test_a_long_task_title_on_a_button_is_cut_at_a_word(
    desk: Conversation, story: BaBich
) -> None:
    (reply,) = await desk.handle(story.chats["lan"], CommandSent("status", ""))
    labels = [c.label for row in reply.choices for c in row]
    full = "2.9 Thực hiện chỉ tiêu, nhiệm vụ tại Quyết định số 123/QĐ-UBND ngày 22/12/2023"
    assert shorten(full, 60) in labels
    for label in labels:
        assert len(label) <= 60
        if label.endswith("…"):
            # What is kept is whole words of a title, followed by the ellipsis.
            assert full.startswith(label[:-1]) and full[len(label) - 1] == " ", label
    # Never "…đội ngũ công chứ": the word that does not fit is left out whole.
    assert shorten("2.5 Đào tạo, bồi dưỡng, nâng cao chất lượng đội ngũ công chức xã", 60) == (
        "2.5 Đào tạo, bồi dưỡng, nâng cao chất lượng đội ngũ công…"
    )


async def test_the_office_words_replace_the_school_words(desk: Conversation, story: BaBich) -> None:
    nhut = story.chats["nhut"]
    listing = await _say(desk, nhut, "submissions", "CCHC-Q1")
    assert "bài nộp" not in listing.casefold()
    assert "chờ tiếp nhận" in listing and "chờ xem xét" not in listing
    summary = await _say(desk, nhut, "tonghop", "CCHC-Q1")
    assert "Nộp trễ hạn: 1/10, chiếm 10,0%" in summary
    task = await _say(desk, nhut, "tonghop", "2.4")
    assert "Thực hiện thường xuyên" in task and "Chưa triển khai: 1/4, chiếm 25,0%" in task
    assert "Không có hạn" not in task and "Chưa bắt đầu" not in task
    assert vi("reminders.kind.due_day", due="10/03/2024") == "Hôm nay là hạn nộp (10/03/2024)"
    assert vi("reminders.kind.checkin").startswith("Đề nghị cập nhật tiến độ")


async def test_the_overdue_reminder_ends_with_a_request_and_the_window_reads_as_the_seed(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    at = local(11, 3, 8)
    row = Reminder(
        unit_id=story.q1.unit_id,
        idempotency_key="wording:overdue",
        recipient_id=story.people["lan"].id,
        subject_type="obligation",
        subject_id=story.q1.id,
        kind="overdue",
        slot_at=at,
        due_at=at,
        payload={"due_date": date(2024, 3, 10).isoformat(), "days_late": 1},
    )
    reply = await reminder_reply(session, row, story.store)
    assert reply is not None
    lines = reply.text.splitlines()
    assert "Số liệu tính từ 15/12/2023, ước thực hiện đến 14/03/2024." in lines
    assert lines[-1] == "Đề nghị anh/chị khẩn trương nộp."


async def test_the_summary_counts_to_a_moment_and_an_extension_gives_the_current_deadline(
    desk: Conversation, story: BaBich
) -> None:
    summary = await _say(desk, story.chats["nhut"], "tonghop", "CCHC-Q1")
    assert "số liệu tính đến 09:00 ngày 11/03/2024" in summary
    sent = await _say(desk, story.chats["lan"], "giahan", "CCHC-Q1 20/03/2024 Đang ốm")
    assert "Hạn hiện tại 10/03/2024 — xin gia hạn đến 20/03/2024" in sent


async def test_good_rates_reach_bad_rates_make_up_with_the_units_decimals(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    unit = await _unit(session, story)
    unit.percent_decimals = 2
    await session.commit()
    summary = await _say(desk, story.chats["nhut"], "tonghop", "CCHC-Q1")
    assert "Nộp đúng hạn: 4/10, đạt 40,00%" in summary.splitlines()
    assert "Chưa nộp: 5/10, chiếm 50,00%" in summary.splitlines()
    overdue = await _say(desk, story.chats["nhut"], "quahan", "CCHC-Q1")
    assert "5/10 chưa nộp, chiếm 50,00%" in overdue
    # Nothing to count is no rate at all.
    assert rate(0, 0, "vi", good=True) == "—"
    assert rate(2, 10, "vi", good=True) == "đạt 20,0%"
    assert rate(7, 10, "vi", good=False) == "chiếm 70,0%"
    assert rate(51, 376, "vi", good=False, decimals=2) == "chiếm 13,56%"


async def test_the_office_is_named_as_the_plan_names_it(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    stranger = await _say(desk, STRANGER, "start")
    assert "Văn phòng UBND xã" in stranger and "Thống kê" not in stranger
    unit = await _unit(session, story)
    unit.office_name = OFFICE
    await session.commit()
    refused = await _say(desk, story.chats["lan"], "quahan")
    assert refused == t("clerk.refuse", "vi", office=OFFICE)
    assert f"công chức {OFFICE}" in refused and "Thống kê" not in refused
    # A stranger has no unit yet: the neutral name, whatever a plan says.
    assert await _say(desk, STRANGER, "start") == stranger
    linked = await _say(desk, story.chats["lan"], "kenh", "zalo")
    assert OFFICE in linked
    assert (await session.scalars(select(Unit.office_name))).first() == OFFICE
