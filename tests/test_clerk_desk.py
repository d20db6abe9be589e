"""The clerk's desk in chat: exact answers on the Ba Bích plan, and who may ask at all."""

from __future__ import annotations

import re
from decimal import Decimal

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
from tests.wording import (
    BA_BICH_OFFICE,
    en,
    overdue_person,
    pattern,
    state,
    summary_line,
    summary_person,
    vi,
)

__all__ = ["desk", "story"]  # fixtures

GET_USAGE = vi("clerk.get.usage")
STRANGER = Sender(Channel.TELEGRAM, "99999", "Ai đó")
LATE_1 = vi("clerk.late_days", days=1)
OVERDUE_1 = vi("desk.state.overdue", days=1)
NOT_REMINDED = vi("clerk.overdue.not_reminded")
MISSING = vi("clerk.not_submitted")
HONG_ON_LEAVE = vi("clerk.on_leave_until", date="15/03/2024")
Q1_TITLE = "Báo cáo CCHC Quý I năm 2024"


def summary_names(key: str, *people: str) -> str:
    header = vi("clerk.summary.names", label=vi(key), count=len(people))
    return "\n".join([header, *people])


def overdue_march_11(scope: str = "") -> str:
    return "\n\n".join(
        [
            vi("clerk.overdue.header", when="11/03/2024 09:00", scope=scope),
            "\n".join(
                [
                    vi(
                        "clerk.overdue.report",
                        code="CCHC-Q1-2024",
                        title=Q1_TITLE,
                        due="10/03/2024",
                        share="5/10",
                        rate="chiếm 50,0%",
                    ),
                    overdue_person("Phạm Văn Dũng", "Quân sự", OVERDUE_1, NOT_REMINDED, MISSING),
                    overdue_person(
                        "Lê Thị Hồng",
                        "Tư pháp - Hộ tịch",
                        OVERDUE_1,
                        HONG_ON_LEAVE,
                        NOT_REMINDED,
                        MISSING,
                    ),
                    overdue_person(
                        "Phạm Thị Lan",
                        "Văn hóa - Xã hội",
                        OVERDUE_1,
                        vi("clerk.overdue.reminded", count=1),
                        MISSING,
                    ),
                    overdue_person(
                        "Nguyễn Thị Mai",
                        "Tài chính - Kế toán",
                        OVERDUE_1,
                        vi("clerk.returned_on", date="10/03/2024"),
                        NOT_REMINDED,
                    ),
                    overdue_person("Đinh Văn Sơn", "Công an xã", OVERDUE_1, NOT_REMINDED, MISSING),
                ]
            ),
        ]
    )


OVERDUE_MARCH_11 = overdue_march_11()

SUMMARY_Q1 = "\n\n".join(
    [
        vi(
            "clerk.summary.header",
            code="CCHC-Q1-2024",
            title=Q1_TITLE,
            due_part=vi("clerk.due", due="10/03/2024"),
            when="09:00 ngày 11/03/2024",
        ),
        "\n".join(
            [
                summary_line("clerk.report.on_time", 4, 10, "đạt 40,0%"),
                summary_line("clerk.report.late", 1, 10, "chiếm 10,0%"),
                # Leave is a mark on "chưa nộp", not a category /quahan would count apart.
                summary_line("clerk.report.missing", 5, 10, "chiếm 50,0%"),
            ]
        ),
        summary_names("clerk.report.late", summary_person("Võ Văn Hùng", LATE_1)),
        summary_names(
            "clerk.report.missing",
            summary_person("Phạm Văn Dũng", OVERDUE_1),
            summary_person("Lê Thị Hồng", OVERDUE_1, HONG_ON_LEAVE),
            summary_person("Phạm Thị Lan", OVERDUE_1),
            summary_person("Nguyễn Thị Mai", OVERDUE_1, vi("clerk.returned_on", date="10/03/2024")),
            summary_person("Đinh Văn Sơn", OVERDUE_1),
        ),
    ]
)

SUMMARY_TASK_24 = "\n\n".join(
    [
        vi(
            "clerk.summary.task_header",
            code="2.4",
            title="Số hóa hồ sơ TTHC, hạn chế trễ hẹn; kết nối CSDL quốc gia về dân cư",
            due_part=vi("when.no_due").capitalize(),
            when="09:00 ngày 11/03/2024",
        ),
        "\n".join(
            [
                # No deadline: done is neither on time nor late, and nobody is overdue.
                summary_line("clerk.task.done", 1, 4, "đạt 25,0%"),
                summary_line("clerk.task.in_progress", 1, 4, "chiếm 25,0%"),
                summary_line("clerk.task.blocked", 1, 4, "chiếm 25,0%"),
                summary_line("clerk.task.not_started", 1, 4, "chiếm 25,0%"),
            ]
        ),
        summary_names(
            "clerk.task.in_progress",
            summary_person(
                "Đinh Văn Sơn",
                vi("role.coordinate"),
                vi("tasks.last_answer", state=state("in_progress"), date="06/03/2024"),
            ),
        ),
        summary_names(
            "clerk.task.blocked",
            summary_person(
                "Lê Thị Hồng",
                vi("role.coordinate"),
                vi("tasks.last_answer", state=state("blocked"), date="06/03/2024"),
                "Thiếu máy scan &amp; chữ ký số",
                HONG_ON_LEAVE,
            ),
        ),
        summary_names(
            "clerk.task.not_started", summary_person("Võ Văn Hùng", vi("role.coordinate"))
        ),
    ]
)


def submissions_q1(ids: dict[str, int]) -> str:
    def entry(key: str, name: str, time: str, review: str, timeliness: str = "") -> str:
        return vi(
            "clerk.submissions.entry",
            id=ids[key],
            name=name,
            version=1,
            time=time,
            timeliness=timeliness or vi("clerk.on_time"),
            review=vi(f"clerk.review.{review}"),
            files=1,
        )

    return "\n\n".join(
        [
            vi("clerk.submissions.header", code="CCHC-Q1-2024", count=6, title=Q1_TITLE),
            entry("tam", "Đinh Văn Tám", "05/03/2024 14:00", "pending"),
            entry("nhut", "Trần Văn Nhứt", "07/03/2024 10:00", "pending"),
            entry("hoa", "Nguyễn Thị Hoa", "08/03/2024 09:00", "accepted"),
            entry("mai", "Nguyễn Thị Mai", "09/03/2024 10:00", "returned"),
            entry("thu", "Huỳnh Thị Thu", "10/03/2024 20:00", "pending"),
            entry("hung", "Võ Văn Hùng", "11/03/2024 08:30", "pending", LATE_1),
            vi("clerk.submissions.footer", id=ids["hung"]),
        ]
    )


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
    assert by_code == overdue_march_11(scope=" · CCHC-Q1-2024")


async def test_overdue_by_department_and_unknown_filters(desk: Conversation, story: BaBich) -> None:
    text = await ask(desk, story.chats["nhut"], "quahan", "tu phap")
    department = vi("clerk.scope.department", name="Tư pháp - Hộ tịch")
    assert text == "\n\n".join(
        [
            vi("clerk.overdue.header", when="11/03/2024 09:00", scope=f" · {department}"),
            vi(
                "clerk.overdue.report",
                code="CCHC-Q1-2024",
                title=Q1_TITLE,
                due="10/03/2024",
                share="1/1",
                rate="chiếm 100,0%",
            )
            + "\n"
            + overdue_person(
                "Lê Thị Hồng", "Tư pháp - Hộ tịch", OVERDUE_1, HONG_ON_LEAVE, NOT_REMINDED, MISSING
            ),
        ]
    )
    none = await ask(desk, story.chats["nhut"], "quahan", "Văn phòng - Thống kê")
    office = vi("clerk.scope.department", name="Văn phòng - Thống kê")
    assert none == vi("clerk.overdue.none", when="11/03/2024 09:00", scope=f" · {office}")
    unknown = await ask(desk, story.chats["nhut"], "quahan", "<không có>")
    assert unknown == vi("clerk.overdue.unknown", query="&lt;không có&gt;")


async def test_nothing_overdue_before_the_deadline(
    desk: Conversation, story: BaBich, clock: FixedClock
) -> None:
    clock.set(local(10, 3, 23, 59))
    assert await ask(desk, story.chats["nhut"], "quahan") == vi(
        "clerk.overdue.none", when="10/03/2024 23:59", scope=""
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
    assert blocks[0] == vi("clerk.overdue.header", when="02/07/2024 09:00", scope="")
    q1_head = vi(
        "clerk.overdue.report",
        code="CCHC-Q1-2024",
        title=Q1_TITLE,
        due="10/03/2024",
        share="5/10",
        rate="chiếm 50,0%",
    )
    assert blocks[1].startswith(q1_head + "\n")
    six_head = vi(
        "clerk.overdue.report",
        code="CCHC-6T-2024",
        title="Báo cáo CCHC 6 tháng đầu năm 2024",
        due="10/06/2024",
        share="10/10",
        rate="chiếm 100,0%",
    )
    assert blocks[2].startswith(six_head + "\n")
    # A task is counted by its lead; its coordinators are listed apart.
    task_head = vi(
        "desk.overdue.task_by_lead",
        code="2.8",
        title="Khắc phục hạn chế, tồn tại đã chỉ ra tại Hội nghị CCHC năm 2023",
        due="30/06/2024",
        share="1/1",
        rate="chiếm 100,0%",
    )
    overdue_2 = vi("desk.state.overdue", days=2)
    nhut = overdue_person(
        "Trần Văn Nhứt",
        "Văn phòng - Thống kê",
        overdue_2,
        NOT_REMINDED,
        vi("tasks.no_answer"),
        role="lead",
    )
    hung = overdue_person(
        "Võ Văn Hùng",
        "Địa chính - Xây dựng",
        overdue_2,
        NOT_REMINDED,
        vi("tasks.last_answer", state=state("in_progress"), date="21/06/2024"),
        role="coordinate",
    )
    apart = vi("desk.overdue.coordinators")
    assert blocks[3].startswith(f"{task_head}\n{nhut}\n{apart}\n{hung}\n")
    assert "Lê Thị Hồng" not in blocks[3]  # answered "done"
    # 5 + 10 + 1 late out of 10 + 10 + 1: 16/21 = 76,2% (an average of the percentages
    # would say 83,3%).
    assert blocks[4] == vi("clerk.overdue.total", share="16/21", rate="chiếm 76,2%")


async def test_summary_matrix_of_a_report_and_of_a_task(desk: Conversation, story: BaBich) -> None:
    assert await ask(desk, story.chats["nhut"], "tonghop", "CCHC-Q1") == SUMMARY_Q1
    assert await ask(desk, story.chats["manh"], "summary", "CCHC-Q1-2024") == SUMMARY_Q1
    assert await ask(desk, story.chats["nhut"], "tonghop", "2.4") == SUMMARY_TASK_24
    assert await ask(desk, story.chats["nhut"], "tonghop") == vi("clerk.summary.usage")
    assert await ask(desk, story.chats["nhut"], "tonghop", "Q9") == vi(
        "clerk.unknown_subject", code="Q9"
    )


async def test_submissions_list_every_version_with_its_review(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    ids = await submission_ids(session, story)
    text = await ask(desk, story.chats["nhut"], "submissions", "CCHC-Q1")
    assert text == submissions_q1(ids)
    empty = await ask(desk, story.chats["nhut"], "submissions", "CCHC-6T")
    header = vi(
        "clerk.submissions.header",
        code="CCHC-6T-2024",
        count=0,
        title="Báo cáo CCHC 6 tháng đầu năm 2024",
    )
    assert empty == f"{header}\n{vi('clerk.submissions.none')}"


async def test_get_sends_the_files_back(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    ids = await submission_ids(session, story)
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("get", str(ids["hoa"])))
    header = vi(
        "clerk.get.header",
        id=ids["hoa"],
        name="Nguyễn Thị Hoa",
        title=Q1_TITLE,
        version=1,
        time="08/03/2024 09:00",
        count=1,
    )
    file_line = vi("clerk.get.file", name="BC Quý I - Nội vụ.docx", size="42 B")
    assert reply.text == f"{header}\n{file_line}"
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
        ("", GET_USAGE),
        ("abc", GET_USAGE),
        ("-1", GET_USAGE),
        ("9" * 40, GET_USAGE),
        ("99999", vi("clerk.submission.unknown", id=99999)),
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
        assert reply.text == vi("clerk.refuse", office=BA_BICH_OFFICE)
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
        assert text == vi("register.how", office=vi("office.default"))
        assert "CCHC" not in text and "Ba Bích" not in text
    (tap,) = await desk.handle(STRANGER, ChoiceTapped("xa:1"))
    assert tap.text == vi("register.how", office=vi("office.default"))


async def test_help_shows_the_desk_to_clerks_and_leaders_only(
    desk: Conversation, story: BaBich
) -> None:
    clerk = await ask(desk, story.chats["nhut"], "huongdan")
    desk_help, extension_help = vi("clerk.help.desk"), vi("clerk.help.extension")
    assert clerk.startswith(vi("help.body"))
    assert desk_help in clerk and extension_help in clerk
    leader = await ask(desk, story.chats["luong"], "help")
    assert desk_help in leader
    official = await ask(desk, story.chats["hoa"], "help")
    assert desk_help not in official and "/quahan" not in official
    assert official.startswith(vi("help.body")) and extension_help in official


async def test_the_desk_speaks_english_too(desk: Conversation, story: BaBich) -> None:
    await ask(desk, story.chats["manh"], "lang", "en")
    text = await ask(desk, story.chats["manh"], "overdue")
    header = en("clerk.overdue.header", when="11/03/2024 09:00", scope="")
    assert text.startswith(header + "\n\n")
    q1_head = en(
        "clerk.overdue.report",
        code="CCHC-Q1-2024",
        title=Q1_TITLE,
        due="10/03/2024",
        share="5/10",
        rate="50.0%",
    )
    assert q1_head in text
    assert en("clerk.on_leave_until", date="15/03/2024") in text
    assert en("clerk.overdue.reminded", count=1) in text
    summary = await ask(desk, story.chats["manh"], "summary", "CCHC-Q1")
    on_time = en("clerk.report.on_time")
    assert en("clerk.summary.line", label=on_time, share="4/10", rate="40.0%") in summary


@pytest.mark.parametrize(
    ("count", "total", "vi", "en"),
    [
        (3, 12, "25,0%", "25.0%"),
        (51, 376, "13,6%", "13.6%"),
        (1, 8, "12,5%", "12.5%"),
        (49, 400, "12,3%", "12.3%"),
        (0, 0, "—", "—"),
        (2, 3, "66,7%", "66.7%"),
    ],
)
def test_percentages_round_half_up_with_a_decimal_comma(
    count: int, total: int, vi: str, en: str
) -> None:
    from handlers.indicators import percent_text

    assert percent_text(Decimal(count), Decimal(total), "vi") == vi
    assert percent_text(Decimal(count), Decimal(total), "en") == en


async def test_invite_in_chat_gives_a_code_that_registers(
    desk: Conversation, story: BaBich, session: AsyncSession
) -> None:
    (reply,) = await desk.handle(story.chats["nhut"], CommandSent("invite", "pham thi  lan"))
    created = pattern("clerk.invite.created", name="Phạm Thị Lan", expires="18/03/2024 09:00")
    invited = re.fullmatch(f"{created}\n(?P<rest>.*)", reply.text, re.DOTALL)
    assert invited is not None
    code = invited["code"]
    assert code and "<" not in code and " " not in code
    assert invited["rest"] == vi("clerk.invite.link", link=f"https://t.me/{BOT}?start={code}")
    (entry,) = await fetch(session, select(AuditEntry).where(AuditEntry.action == "invite.create"))
    assert entry.target == "official:lan" and entry.actor_official_id == story.people["nhut"].id

    new_phone = Sender(Channel.TELEGRAM, "8888", "Lan")
    (welcome,) = await desk.handle(new_phone, CommandSent("start", code))
    assert re.match(pattern("register.welcome", name="Phạm Thị Lan"), welcome.text)


async def test_invite_without_a_bot_name_and_with_unclear_names(
    sessionmaker: Sessions, clock: FixedClock, story: BaBich
) -> None:
    nameless = Conversation(sessionmaker, clock, story.store, TZ)
    (reply,) = await nameless.handle(story.chats["nhut"], CommandSent("invite", "Võ Văn Hùng"))
    created = pattern("clerk.invite.created", name="Võ Văn Hùng", expires="18/03/2024 09:00")
    invited = re.fullmatch(f"{created}\n(?P<rest>.*)", reply.text, re.DOTALL)
    assert invited is not None and invited["code"]
    assert invited["rest"] == vi("clerk.invite.no_username", code=invited["code"])
    (many,) = await nameless.handle(story.chats["nhut"], CommandSent("invite", "Nguyễn"))
    assert many.text == vi(
        "clerk.invite.ambiguous",
        name="Nguyễn",
        candidates="\n".join(
            [
                vi(
                    "clerk.invite.candidate",
                    name="Nguyễn Thị Hoa",
                    key="hoa",
                    department="Văn phòng - Thống kê",
                ),
                vi(
                    "clerk.invite.candidate",
                    name="Nguyễn Thị Mai",
                    key="mai",
                    department="Tài chính - Kế toán",
                ),
            ]
        ),
    )
    (none,) = await nameless.handle(story.chats["nhut"], CommandSent("invite", "Bình"))
    assert none.text == vi("clerk.invite.not_found", name="Bình")
    (usage,) = await nameless.handle(story.chats["nhut"], CommandSent("invite"))
    assert usage.text == vi("clerk.invite.usage")
