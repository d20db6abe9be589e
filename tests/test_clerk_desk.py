"""The clerk's desk in chat: exact answers on the Ba Bích plan, and who may ask at all."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import FixedClock
from db.models import AuditEntry, Channel, Reminder, ReviewState, Submission, TaskState
from handlers.conversation import Conversation
from handlers.types import ChoiceTapped, CommandSent, Sender
from tests.test_clerk_scenario import (
    BOT,
    TZ,
    BaBich,
    Sessions,
    answer,
    desk,
    fetch,
    local,
    story,
)

__all__ = ["desk", "story"]  # fixtures

GET_USAGE = "Dùng: /get &lt;số bài nộp&gt;, ví dụ /get 12 (xem số bài nộp bằng /submissions)."
STRANGER = Sender(Channel.TELEGRAM, "99999", "Ai đó")

OVERDUE_MARCH_11 = """\
<b>⏰ Quá hạn</b> — 11/03/2024 09:00

📄 <b>CCHC-Q1-2024</b> Báo cáo CCHC Quý I năm 2024
Hạn 10/03/2024 · 5/10 chưa nộp, chiếm 50,0%
• <b>Phạm Văn Dũng</b> (Quân sự)
  trễ 1 ngày · chưa được nhắc · chưa nộp
• <b>Lê Thị Hồng</b> (Tư pháp - Hộ tịch)
  trễ 1 ngày · nghỉ phép đến 15/03/2024 · chưa được nhắc · chưa nộp
• <b>Phạm Thị Lan</b> (Văn hóa - Xã hội)
  trễ 1 ngày · đã nhắc 1 lần · chưa nộp
• <b>Nguyễn Thị Mai</b> (Tài chính - Kế toán)
  trễ 1 ngày · chưa được nhắc · bị trả lại 10/03/2024
• <b>Đinh Văn Sơn</b> (Công an xã)
  trễ 1 ngày · chưa được nhắc · chưa nộp"""

SUMMARY_Q1 = """\
<b>📊 Tổng hợp CCHC-Q1-2024</b>
Báo cáo CCHC Quý I năm 2024
Hạn 10/03/2024 · lúc 11/03/2024 09:00

Nộp đúng hạn: 4/10, chiếm 40,0%
Nộp trễ: 1/10, chiếm 10,0%
Chưa nộp: 4/10, chiếm 40,0%
Nghỉ phép: 1/10, chiếm 10,0%

<b>Nộp trễ (1)</b>
• Võ Văn Hùng — trễ 1 ngày

<b>Chưa nộp (4)</b>
• Phạm Văn Dũng
• Phạm Thị Lan
• Nguyễn Thị Mai — bị trả lại 10/03/2024
• Đinh Văn Sơn

<b>Nghỉ phép (1)</b>
• Lê Thị Hồng — nghỉ phép đến 15/03/2024"""

SUMMARY_TASK_24 = """\
<b>📊 Tổng hợp nhiệm vụ 2.4</b>
Số hóa hồ sơ TTHC, hạn chế trễ hẹn; kết nối CSDL quốc gia về dân cư
Không có hạn · lúc 11/03/2024 09:00

Hoàn thành đúng hạn: 1/4, chiếm 25,0%
Hoàn thành trễ hạn: 0/4, chiếm 0,0%
Đang thực hiện: 1/4, chiếm 25,0%
Quá hạn chưa hoàn thành: 0/4, chiếm 0,0%
Vướng mắc: 1/4, chiếm 25,0%
Chưa bắt đầu: 1/4, chiếm 25,0%

<b>Đang thực hiện (1)</b>
• Đinh Văn Sơn — phối hợp, Đang thực hiện (06/03/2024)

<b>Vướng mắc (1)</b>
• Lê Thị Hồng — phối hợp, Vướng mắc (06/03/2024), Thiếu máy scan &amp; chữ ký số, \
nghỉ phép đến 15/03/2024

<b>Chưa bắt đầu (1)</b>
• Võ Văn Hùng — phối hợp"""


def submissions_q1(ids: dict[str, int]) -> str:
    return f"""\
<b>📥 Bài nộp CCHC-Q1-2024</b> (6 lần nộp)
Báo cáo CCHC Quý I năm 2024

<b>#{ids["tam"]}</b> Đinh Văn Tám · lần 1
05/03/2024 14:00 · đúng hạn · chờ xem xét · 1 tệp

<b>#{ids["nhut"]}</b> Trần Văn Nhứt · lần 1
07/03/2024 10:00 · đúng hạn · chờ xem xét · 1 tệp

<b>#{ids["hoa"]}</b> Nguyễn Thị Hoa · lần 1
08/03/2024 09:00 · đúng hạn · đã tiếp nhận · 1 tệp

<b>#{ids["mai"]}</b> Nguyễn Thị Mai · lần 1
09/03/2024 10:00 · đúng hạn · đã trả lại · 1 tệp

<b>#{ids["thu"]}</b> Huỳnh Thị Thu · lần 1
10/03/2024 20:00 · đúng hạn · chờ xem xét · 1 tệp

<b>#{ids["hung"]}</b> Võ Văn Hùng · lần 1
11/03/2024 08:30 · trễ 1 ngày · chờ xem xét · 1 tệp

Gõ /get {ids["hung"]} để nhận tệp, /accept {ids["hung"]} để tiếp nhận, \
/return {ids["hung"]} kèm nhận xét để trả lại."""


async def ask(desk: Conversation, who: Sender, command: str, args: str = "") -> str:
    (reply,) = await desk.handle(who, CommandSent(command, args))
    return reply.text


async def submission_ids(session: AsyncSession, story: BaBich) -> dict[str, int]:
    rows = await fetch(session, select(Submission).order_by(Submission.id))
    keys = {o.id: key for key, o in story.people.items()}
    return {keys[s.official_id]: s.id for s in rows}


async def test_overdue_on_the_morning_after_the_deadline(desk: Conversation, story: BaBich) -> None:
    assert await ask(desk, story.chats["nhut"], "quahan") == OVERDUE_MARCH_11
    # The English name, a report code and the report's family name all give the same list.
    assert await ask(desk, story.chats["nhut"], "overdue") == OVERDUE_MARCH_11
    by_code = await ask(desk, story.chats["nhut"], "quahan", "cchc-q1")
    assert by_code == OVERDUE_MARCH_11.replace("09:00\n", "09:00 · CCHC-Q1-2024\n", 1)


async def test_overdue_by_department_and_unknown_filters(desk: Conversation, story: BaBich) -> None:
    text = await ask(desk, story.chats["nhut"], "quahan", "tu phap")
    assert text == (
        "<b>⏰ Quá hạn</b> — 11/03/2024 09:00 · bộ phận Tư pháp - Hộ tịch\n\n"
        "📄 <b>CCHC-Q1-2024</b> Báo cáo CCHC Quý I năm 2024\n"
        "Hạn 10/03/2024 · 1/1 chưa nộp, chiếm 100,0%\n"
        "• <b>Lê Thị Hồng</b> (Tư pháp - Hộ tịch)\n"
        "  trễ 1 ngày · nghỉ phép đến 15/03/2024 · chưa được nhắc · chưa nộp"
    )
    none = await ask(desk, story.chats["nhut"], "quahan", "Văn phòng - Thống kê")
    assert none == (
        "✅ Không có báo cáo hay nhiệm vụ nào quá hạn "
        "(11/03/2024 09:00 · bộ phận Văn phòng - Thống kê)."
    )
    unknown = await ask(desk, story.chats["nhut"], "quahan", "<không có>")
    assert unknown == (
        "Không tìm thấy báo cáo, nhiệm vụ hay bộ phận nào là «&lt;không có&gt;». "
        "Gõ /quahan để xem tất cả."
    )


async def test_nothing_overdue_before_the_deadline(
    desk: Conversation, story: BaBich, clock: FixedClock
) -> None:
    clock.set(local(10, 3, 23, 59))
    assert await ask(desk, story.chats["nhut"], "quahan") == (
        "✅ Không có báo cáo hay nhiệm vụ nào quá hạn (10/03/2024 23:59)."
    )


async def test_overdue_tasks_and_totals_add_numerators_and_denominators(
    desk: Conversation,
    story: BaBich,
    clock: FixedClock,
    sessionmaker: Sessions,
) -> None:
    await answer(sessionmaker, story, "hong", "2.8", TaskState.DONE, local(20, 6))
    await answer(sessionmaker, story, "hung", "2.8", TaskState.IN_PROGRESS, local(21, 6))
    clock.set(local(2, 7, 9))  # task 2.8 was due 30/06/2024; 6.T report due 10/06/2024
    text = await ask(desk, story.chats["luong"], "quahan")
    blocks = text.split("\n\n")
    assert blocks[0] == "<b>⏰ Quá hạn</b> — 02/07/2024 09:00"
    assert blocks[1].splitlines()[:2] == [
        "📄 <b>CCHC-Q1-2024</b> Báo cáo CCHC Quý I năm 2024",
        "Hạn 10/03/2024 · 5/10 chưa nộp, chiếm 50,0%",
    ]
    assert blocks[2].splitlines()[:2] == [
        "📄 <b>CCHC-6T-2024</b> Báo cáo CCHC 6 tháng đầu năm 2024",
        "Hạn 10/06/2024 · 10/10 chưa nộp, chiếm 100,0%",
    ]
    assert blocks[3].splitlines()[:4] == [
        "📌 <b>2.8</b> Khắc phục hạn chế, tồn tại đã chỉ ra tại Hội nghị CCHC năm 2023",
        "Hạn 30/06/2024 · 5/6 chưa hoàn thành, chiếm 83,3%",
        "• <b>Võ Văn Hùng</b> (Địa chính - Xây dựng) · phối hợp",
        "  trễ 2 ngày · chưa được nhắc · Đang thực hiện (21/06/2024)",
    ]
    assert "Lê Thị Hồng" not in blocks[3]  # answered "done"
    # 5 + 10 + 5 late out of 10 + 10 + 6: 20/26 = 76,9% (an average of the percentages
    # would say 77,8%).
    assert blocks[4] == "<b>Tổng cộng:</b> 20/26 lượt quá hạn, chiếm 76,9%"


async def test_summary_matrix_of_a_report_and_of_a_task(desk: Conversation, story: BaBich) -> None:
    assert await ask(desk, story.chats["nhut"], "tonghop", "CCHC-Q1") == SUMMARY_Q1
    assert await ask(desk, story.chats["manh"], "summary", "CCHC-Q1-2024") == SUMMARY_Q1
    assert await ask(desk, story.chats["nhut"], "tonghop", "2.4") == SUMMARY_TASK_24
    assert await ask(desk, story.chats["nhut"], "tonghop") == (
        "Dùng: /tonghop &lt;mã báo cáo hoặc nhiệm vụ&gt;, ví dụ /tonghop CCHC-Q1 hoặc /tonghop 2.4"
    )
    assert await ask(desk, story.chats["nhut"], "tonghop", "Q9") == (
        "Không tìm thấy báo cáo hay nhiệm vụ nào có mã «Q9». Mã báo cáo như CCHC-Q1 hoặc "
        "CCHC-Q1-2024; mã nhiệm vụ như 2.4."
    )


async def test_submissions_list_every_version_with_its_review(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    ids = await submission_ids(session, story)
    text = await ask(desk, story.chats["nhut"], "submissions", "CCHC-Q1")
    assert text == submissions_q1(ids)
    empty = await ask(desk, story.chats["nhut"], "submissions", "CCHC-6T")
    assert empty == (
        "<b>📥 Bài nộp CCHC-6T-2024</b> (0 lần nộp)\n"
        "Báo cáo CCHC 6 tháng đầu năm 2024\nChưa có ai nộp."
    )


async def test_get_sends_the_files_back(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    ids = await submission_ids(session, story)
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("get", str(ids["hoa"])))
    assert reply.text == (
        f"📎 Bài nộp <b>#{ids['hoa']}</b> — Nguyễn Thị Hoa\n"
        "Báo cáo CCHC Quý I năm 2024, lần 1 (08/03/2024 09:00)\n"
        "1 tệp gửi kèm:\n"
        "• BC Quý I - Nội vụ.docx — 42 B"
    )
    (sent,) = reply.files
    row = (await fetch(session, select(Submission).where(Submission.id == ids["hoa"])))[0]
    await session.refresh(row, ["files"])
    assert sent.name == "BC Quý I - Nội vụ.docx"
    assert sent.channel_file_id == row.files[0].channel_file_id
    assert sent.path == str(story.store.path_of(row.files[0].path).resolve())
    assert story.store.path_of(row.files[0].path).read_bytes().startswith(b"hoa CCHC-Q1-")

    # A file that came through another channel is sent from disk: its file id means nothing.
    row.files[0].channel = Channel.ZALO
    await session.commit()
    (again,) = await desk.handle(story.chats["nhut"], CommandSent("get", f"#{ids['hoa']}"))
    assert again.files[0].channel_file_id is None and again.files[0].path == sent.path


@pytest.mark.parametrize(
    ("args", "answer_text"),
    [
        ("", "Dùng: /get &lt;số bài nộp&gt;, ví dụ /get 12 (xem số bài nộp bằng /submissions)."),
        ("abc", "Dùng: /get &lt;số bài nộp&gt;, ví dụ /get 12 (xem số bài nộp bằng /submissions)."),
        ("-1", "Dùng: /get &lt;số bài nộp&gt;, ví dụ /get 12 (xem số bài nộp bằng /submissions)."),
        (
            "9" * 40,
            "Dùng: /get &lt;số bài nộp&gt;, ví dụ /get 12 (xem số bài nộp bằng /submissions).",
        ),
        (
            "99999",
            "Không có bài nộp số 99999. Xem số bài nộp bằng /submissions &lt;mã báo cáo&gt;.",
        ),
    ],
)
async def test_get_with_bad_input_says_how(
    desk: Conversation, story: BaBich, args: str, answer_text: str
) -> None:
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("get", args))
    assert reply.text == answer_text and not reply.files


async def test_officials_are_refused_and_learn_nothing(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    before = await fetch(session, select(func.count()).select_from(AuditEntry))
    for command, args in [
        ("quahan", ""),
        ("overdue", "CCHC-Q1"),
        ("tonghop", "CCHC-Q1"),
        ("submissions", "CCHC-Q1"),
        ("get", "1"),
        ("accept", "1"),
        ("return", "1 sai"),
        ("remind", "CCHC-Q1"),
        ("nhac", "CCHC-Q1"),
        ("invite", "Nguyễn Thị Hoa"),
        ("export", "2024"),
    ]:
        (reply,) = await desk.handle(story.chats["hoa"], CommandSent(command, args))
        assert reply.text == (
            "Lệnh này chỉ dành cho công chức Văn phòng - Thống kê và lãnh đạo UBND xã. "
            "Gõ /huongdan để xem các lệnh của anh/chị."
        )
        assert not reply.files and not reply.choices
    assert await fetch(session, select(func.count()).select_from(AuditEntry)) == before
    assert await fetch(session, select(func.count()).select_from(Reminder)) == [1]
    states = await fetch(session, select(Submission.review_state).order_by(Submission.id))
    assert ReviewState.ACCEPTED in states and states.count(ReviewState.RETURNED) == 1


async def test_unregistered_chats_only_learn_how_to_register(
    desk: Conversation, story: BaBich
) -> None:
    for command, args in [("quahan", ""), ("tonghop", "CCHC-Q1"), ("get", "1"), ("giahan", "")]:
        text = await ask(desk, STRANGER, command, args)
        assert "liên hệ công chức Văn phòng - Thống kê" in text
        assert "CCHC" not in text and "Ba Bích" not in text
    (tap,) = await desk.handle(STRANGER, ChoiceTapped("xa:1"))
    assert "liên hệ công chức Văn phòng - Thống kê" in tap.text


async def test_help_shows_the_desk_to_clerks_and_leaders_only(
    desk: Conversation, story: BaBich
) -> None:
    clerk = await ask(desk, story.chats["nhut"], "huongdan")
    assert "<b>Lệnh của Văn phòng và lãnh đạo</b>" in clerk and "/quahan" in clerk
    assert "/giahan CCHC-Q1 20/03/2024" in clerk
    leader = await ask(desk, story.chats["luong"], "help")
    assert "/quahan" in leader
    official = await ask(desk, story.chats["hoa"], "help")
    assert "/quahan" not in official and "/giahan CCHC-Q1 20/03/2024" in official
    assert official.startswith("<b>Hướng dẫn</b>\n/nhiemvu")


async def test_the_desk_speaks_english_too(desk: Conversation, story: BaBich) -> None:
    await ask(desk, story.chats["manh"], "lang", "en")
    text = await ask(desk, story.chats["manh"], "overdue")
    assert text.startswith("<b>⏰ Overdue</b> — 11/03/2024 09:00\n\n")
    assert "5/10 not submitted, 50.0%" in text
    assert "on leave until 15/03/2024" in text and "reminded 1 times" in text
    summary = await ask(desk, story.chats["manh"], "summary", "CCHC-Q1")
    assert "Submitted on time: 4/10, 40.0%" in summary


@pytest.mark.parametrize(
    ("count", "total", "vi", "en"),
    [
        (3, 12, "25,0%", "25.0%"),
        (51, 376, "13,6%", "13.6%"),
        (1, 8, "12,5%", "12.5%"),
        (49, 400, "12,3%", "12.3%"),
        (0, 0, "0,0%", "0.0%"),
        (2, 3, "66,7%", "66.7%"),
    ],
)
def test_percentages_round_half_up_with_a_decimal_comma(
    count: int, total: int, vi: str, en: str
) -> None:
    from handlers.clerk.numbers import percent

    assert percent(count, total, "vi") == vi
    assert percent(count, total, "en") == en


async def test_invite_in_chat_gives_a_code_that_registers(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("invite", "pham thi  lan"))
    first, expires, _, link = reply.text.splitlines()
    assert first.startswith("🔑 Mã đăng ký cho <b>Phạm Thị Lan</b>: <code>")
    code = first.removesuffix("</code>").rsplit("<code>", 1)[1]
    assert expires == "Dùng một lần, hết hạn 18/03/2024 09:00."
    assert link == f"https://t.me/{BOT}?start={code}"
    (entry,) = await fetch(session, select(AuditEntry).where(AuditEntry.action == "invite.create"))
    assert entry.target == "official:lan" and entry.actor_official_id == story.people["nhut"].id

    new_phone = Sender(Channel.TELEGRAM, "8888", "Lan")
    (welcome,) = await desk.handle(new_phone, CommandSent("start", code))
    assert welcome.text.startswith("Xin chào <b>Phạm Thị Lan</b>!")


async def test_invite_without_a_bot_name_and_with_unclear_names(
    sessionmaker: Sessions, clock: FixedClock, story: BaBich
) -> None:
    nameless = Conversation(sessionmaker, clock, story.store, TZ)
    (reply,) = await nameless.handle(story.chats["nhut"], CommandSent("invite", "Võ Văn Hùng"))
    *_, how, command = reply.text.splitlines()
    assert how == "Người được mời mở bot trên Telegram và gửi:"
    assert command.startswith("<code>/start ") and command.endswith("</code>")
    (many,) = await nameless.handle(story.chats["nhut"], CommandSent("invite", "Nguyễn"))
    assert many.text == (
        "Có nhiều cán bộ khớp với «Nguyễn»; gõ tên đầy đủ hơn hoặc mã (key):\n"
        "• Nguyễn Thị Hoa (hoa, Văn phòng - Thống kê)\n"
        "• Nguyễn Thị Mai (mai, Tài chính - Kế toán)"
    )
    (none,) = await nameless.handle(story.chats["nhut"], CommandSent("invite", "Bình"))
    assert none.text == "Không tìm thấy cán bộ nào tên «Bình»."
    (usage,) = await nameless.handle(story.chats["nhut"], CommandSent("invite"))
    assert usage.text == "Dùng: /invite &lt;họ tên cán bộ&gt;, ví dụ /invite Nguyễn Thị Hoa"
