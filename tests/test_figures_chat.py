"""A report's figures asked in chat after a submission, one indicator at a time, on both
databases: validation, the summary with the official's own ratios, confirm, start over, cancel,
versions, and Zalo's typed numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import chat_prompts
from db.clock import FixedClock
from db.figures import Figure, figures_of
from db.invites import create_invite
from db.models import (
    AuditEntry,
    Channel,
    ConversationState,
    Submission,
    SubmissionFigure,
)
from handlers import callbacks
from handlers.catalog import _messages, message_keys, placeholders, t
from handlers.conversation import Conversation
from handlers.figures_flow import APPENDIX, CHAT, CONFIRM
from handlers.numbered_choices import flat_choices
from handlers.types import (
    ZALO_TRAITS,
    ChoiceTapped,
    CommandSent,
    FilesSent,
    Reply,
    Sender,
    TextSent,
)
from tests.factories import Commune, build_commune
from tests.fakebotapi import parse_html
from tests.plans import example_indicators
from tests.test_conversation import (
    AN_CHAT,
    a_file,
    count,
    fetch_all,
    fetch_one,
    register,
)
from tests.wording import vi

Q1 = "Báo cáo CCHC Quý I năm 2024"

# The example plan's CCHC figures: the appendix's rows (number in C, total in D), their
# ratios, and a remark in words.
CCHC_INDICATORS: list[dict[str, Any]] = example_indicators()
# A yes/no figure too, for the chat's tests.
COUNT_INDICATOR = {
    "code": "thanh_toan",
    "label": "Có thanh toán trực tuyến phí, lệ phí",
    "combine": "count",
}
CHAT_INDICATORS = [*CCHC_INDICATORS, COUNT_INDICATOR]
ASKED = [i for i in CHAT_INDICATORS if i["combine"] != "ratio"]
# What An types, in order: Vietnamese thousands ("1.210") included.
ANSWERS = ["162", "376", "51", "376", "1.210", "2.500", "Thiếu máy quét", "có"]
EXPECTED = {
    "hs_truc_tuyen": Figure(Decimal(162)),
    "hs_tiep_nhan": Figure(Decimal(376)),
    "hs_tre_han": Figure(Decimal(51)),
    "hs_giai_quyet": Figure(Decimal(376)),
    "hs_so_hoa": Figure(Decimal(1210)),
    "hs_can_so_hoa": Figure(Decimal(2500)),
    "kho_khan": Figure(text="Thiếu máy quét"),
    "thanh_toan": Figure(Decimal(1)),
}


@pytest.fixture
async def commune(session: AsyncSession) -> Commune:
    commune = await build_commune(session)
    commune.q1.indicators = CHAT_INDICATORS
    await session.commit()
    return commune


def question(index: int, total: int = len(ASKED), indicators: list[dict[str, Any]] = ASKED) -> str:
    """ "Chỉ tiêu 1/8: Hồ sơ TTHC tiếp nhận trực tuyến (hồ sơ)?" with its hint."""
    indicator = indicators[index - 1]
    unit = vi("figures.unit", unit=indicator["unit"]) if indicator.get("unit") else ""
    return vi(
        "figures.ask",
        index=index,
        total=total,
        label=indicator["label"],
        unit=unit,
        hint=vi(f"figures.hint.{indicator['combine']}"),
    )


def line(label: str, value: str) -> str:
    return vi("figures.line", label=label, value=value)


def datas(reply: Reply) -> list[str]:
    return [c.data for c in flat_choices(reply.choices)]


async def hand_in_q1(
    conversation: Conversation,
    commune: Commune,
    sender: Sender = AN_CHAT,
    name: str = "bao-cao-q1.pdf",
) -> list[Reply]:
    await conversation.handle(sender, CommandSent("nop"))
    await conversation.handle(sender, ChoiceTapped(callbacks.obligation_data(commune.q1.id)))
    return await conversation.handle(sender, FilesSent([a_file(name)]))


async def latest_submission(session: AsyncSession) -> Submission:
    submission = await fetch_one(
        session, select(Submission).order_by(Submission.version.desc()).limit(1)
    )
    assert submission is not None
    return submission


async def answer_all(conversation: Conversation, answers: list[str]) -> Reply:
    reply = None
    for text in answers:
        (reply,) = await conversation.handle(AN_CHAT, TextSent(text))
    assert reply is not None
    return reply


async def test_the_receipt_is_followed_by_the_first_question(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    receipt, first = await hand_in_q1(conversation, commune)
    assert receipt.text == vi(
        "report.receipt",
        title=Q1,
        version=1,
        files=vi("report.file_line", name="bao-cao-q1.pdf", size="16 B"),
        time="08/03/2024 08:00",
        timeliness=vi("report.on_time", due="10/03/2024"),
        start="15/12/2023",
        end="14/03/2024",
    )
    assert first.text == f"{vi('figures.intro', title=Q1, count=8)}\n{question(1)}"
    assert "Chỉ tiêu 1/8: Hồ sơ TTHC tiếp nhận trực tuyến (hồ sơ)?" in first.text
    state = await fetch_one(session, select(ConversationState))
    assert state is not None and state.kind == "await_figure"


async def test_one_at_a_time_to_a_summary_and_confirm(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await hand_in_q1(conversation, commune)
    submission = await latest_submission(session)

    (second,) = await conversation.handle(AN_CHAT, TextSent("162"))
    assert second.text == question(2)
    # A wrong answer says what is accepted, asks again and changes nothing.
    before = await fetch_one(session, select(ConversationState.data))
    (wrong,) = await conversation.handle(AN_CHAT, TextSent("ba trăm"))
    assert wrong.text == f"{vi('figures.bad_number', text='ba trăm')}\n{question(2)}"
    (negative,) = await conversation.handle(AN_CHAT, TextSent("-5"))
    assert negative.text.startswith(vi("figures.bad_number", text="-5"))
    assert await fetch_one(session, select(ConversationState.data)) == before

    text_question = await answer_all(conversation, ANSWERS[1:6])
    assert text_question.text == question(7)
    (count_question,) = await conversation.handle(AN_CHAT, TextSent(ANSWERS[6]))
    assert count_question.text == question(8)
    (not_yes,) = await conversation.handle(AN_CHAT, TextSent("chắc vậy"))
    assert not_yes.text == f"{vi('figures.bad_yes_no', text='chắc vậy')}\n{question(8)}"

    (summary,) = await conversation.handle(AN_CHAT, TextSent("Có"))
    lines = "\n".join(
        [
            line("Hồ sơ TTHC tiếp nhận trực tuyến", "162 hồ sơ"),
            line("Tổng số hồ sơ TTHC tiếp nhận", "376 hồ sơ"),
            line("Tỷ lệ hồ sơ tiếp nhận trực tuyến", "43,1%"),
            line("Hồ sơ TTHC giải quyết trễ hẹn", "51 hồ sơ"),
            line("Tổng số hồ sơ TTHC đã giải quyết", "376 hồ sơ"),
            line("Tỷ lệ hồ sơ trễ hẹn", "13,56%"),
            line("Hồ sơ, kết quả giải quyết TTHC được số hóa", "1.210 hồ sơ"),
            line("Tổng số hồ sơ, kết quả cần số hóa", "2.500 hồ sơ"),
            line("Tỷ lệ số hóa hồ sơ", "48,4%"),
            line("Khó khăn, vướng mắc, đề xuất", "Thiếu máy quét"),
            line("Có thanh toán trực tuyến phí, lệ phí", vi("figures.yes")),
        ]
    )
    assert summary.text == "\n".join(
        [
            vi("figures.summary", title=Q1, version=1, lines=lines),
            vi("figures.summary_confirm"),
        ]
    )
    assert datas(summary) == [
        callbacks.figures_data(CONFIRM, submission.id),
        callbacks.figures_data(CHAT, submission.id),
    ]
    assert await count(session, SubmissionFigure) == 0  # nothing kept before the tap

    # Words after the summary: the choices are pointed at, nothing is lost or changed.
    (nudge,) = await conversation.handle(AN_CHAT, TextSent("xong rồi"))
    assert nudge.text.startswith(vi("figures.use_choices"))
    assert datas(nudge) == datas(summary)

    (saved,) = await conversation.handle(
        AN_CHAT, ChoiceTapped(callbacks.figures_data(CONFIRM, submission.id))
    )
    assert saved.edit
    assert saved.text == vi("figures.saved", title=Q1, version=1, lines=lines)
    await session.commit()
    assert await figures_of(session, submission.id) == EXPECTED
    sources = set(await fetch_all(session, select(SubmissionFigure.source)))
    assert sources == {"chat"}
    assert await count(session, ConversationState) == 0

    # The summary's button again: the entry is over, it says so and offers to start anew.
    (stale,) = await conversation.handle(
        AN_CHAT, ChoiceTapped(callbacks.figures_data(CONFIRM, submission.id))
    )
    assert stale.text == vi("figures.expired")
    assert datas(stale) == [callbacks.figures_data(CHAT, submission.id)]


async def test_a_text_may_be_skipped_and_a_number_may_not(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await hand_in_q1(conversation, commune)
    await answer_all(conversation, ANSWERS[:6])
    (count_question,) = await conversation.handle(AN_CHAT, TextSent("Bo Qua"))
    assert count_question.text == question(8)
    (summary,) = await conversation.handle(AN_CHAT, TextSent("không"))
    assert line("Khó khăn, vướng mắc, đề xuất", vi("figures.skipped")) in summary.text
    assert line("Có thanh toán trực tuyến phí, lệ phí", vi("figures.no")) in summary.text

    # "bỏ qua" is no number: a sum cannot be skipped.
    submission = await latest_submission(session)
    (again,) = await conversation.handle(
        AN_CHAT, ChoiceTapped(callbacks.figures_data(CHAT, submission.id))
    )
    assert again.text == f"{vi('figures.intro', title=Q1, count=8)}\n{question(1)}"
    (refused,) = await conversation.handle(AN_CHAT, TextSent("bỏ qua"))
    assert refused.text == f"{vi('figures.bad_number', text='bỏ qua')}\n{question(1)}"


async def test_start_over_asks_from_the_first_and_keeps_the_last_answers(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await hand_in_q1(conversation, commune)
    submission = await latest_submission(session)
    await answer_all(conversation, ["16", *ANSWERS[1:]])
    (again,) = await conversation.handle(
        AN_CHAT, ChoiceTapped(callbacks.figures_data(CHAT, submission.id))
    )
    assert again.text.endswith(question(1))
    summary = await answer_all(conversation, ANSWERS)
    assert line("Hồ sơ TTHC tiếp nhận trực tuyến", "162 hồ sơ") in summary.text
    await conversation.handle(AN_CHAT, ChoiceTapped(callbacks.figures_data(CONFIRM, submission.id)))
    await session.commit()
    figures = await figures_of(session, submission.id)
    assert figures["hs_truc_tuyen"] == Figure(Decimal(162))


async def test_a_part_larger_than_its_whole_is_pointed_out(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await hand_in_q1(conversation, commune)
    summary = await answer_all(conversation, ["400", *ANSWERS[1:]])
    warning = vi(
        "figures.over_total", label="Tỷ lệ hồ sơ tiếp nhận trực tuyến", part="400", whole="376"
    )
    assert warning in summary.text
    assert datas(summary)  # a hint, the choices are still there


async def test_cancel_leaves_the_report_handed_in_without_figures(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await hand_in_q1(conversation, commune)
    await answer_all(conversation, ["162", "376"])
    submission = await latest_submission(session)
    (cancelled,) = await conversation.handle(AN_CHAT, CommandSent("cancel"))
    assert cancelled.text == vi("figures.cancelled")
    assert datas(cancelled) == [callbacks.figures_data(CHAT, submission.id)]
    assert await count(session, Submission) == 1
    assert await count(session, SubmissionFigure) == 0
    assert await count(session, ConversationState) == 0

    # The typed answers are kept in the audit log all the same.
    texts = [
        d["text"] for d in await fetch_all(session, select(AuditEntry.details)) if d and "text" in d
    ]
    assert texts == ["162", "376"]

    # Later, the button asks again from the first indicator.
    (first,) = await conversation.handle(AN_CHAT, ChoiceTapped(cancelled.choices[0][0].data))
    assert first.text.endswith(question(1))


async def test_each_version_has_its_own_figures(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await hand_in_q1(conversation, commune)
    first = await latest_submission(session)
    await answer_all(conversation, ANSWERS)
    await conversation.handle(AN_CHAT, ChoiceTapped(callbacks.figures_data(CONFIRM, first.id)))

    # A second version asks again; the first keeps its figures.
    _receipt, ask = await hand_in_q1(conversation, commune, name="bao-cao-q1-v2.pdf")
    assert ask.text.endswith(question(1))
    second = await latest_submission(session)
    assert second.version == 2
    await answer_all(conversation, ["170", *ANSWERS[1:]])
    await conversation.handle(AN_CHAT, ChoiceTapped(callbacks.figures_data(CONFIRM, second.id)))
    await session.commit()
    assert (await figures_of(session, first.id))["hs_truc_tuyen"] == Figure(Decimal(162))
    assert (await figures_of(session, second.id))["hs_truc_tuyen"] == Figure(Decimal(170))

    # The first version's buttons no longer start anything.
    (older,) = await conversation.handle(
        AN_CHAT, ChoiceTapped(callbacks.figures_data(CHAT, first.id))
    )
    assert older.text == vi("figures.newer_version")
    assert await count(session, ConversationState) == 0


async def test_someone_elses_submission_is_refused(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    binh_chat = Sender(Channel.TELEGRAM, "1002", "Bình")
    await register(conversation, session, commune.an, AN_CHAT)
    await register(conversation, session, commune.binh, binh_chat)
    await hand_in_q1(conversation, commune)
    submission = await latest_submission(session)
    for action in (CHAT, APPENDIX, CONFIRM):
        data = callbacks.figures_data(action, submission.id)
        (refused,) = await conversation.handle(binh_chat, ChoiceTapped(data))
        assert refused.text == vi("refuse.bad_choice")
    (unknown,) = await conversation.handle(
        binh_chat, ChoiceTapped(callbacks.figures_data(CHAT, 999))
    )
    assert unknown.text == vi("refuse.bad_choice")
    assert await count(session, SubmissionFigure) == 0


async def test_a_report_without_indicators_asks_nothing(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await conversation.handle(AN_CHAT, CommandSent("nop"))
    await conversation.handle(
        AN_CHAT, ChoiceTapped(callbacks.obligation_data(commune.six_months.id))
    )
    (receipt,) = await conversation.handle(AN_CHAT, FilesSent([a_file("6t.pdf")]))
    assert not receipt.choices  # and no question follows it
    assert await count(session, ConversationState) == 0


@pytest.mark.parametrize(
    ("data", "tap"),
    [
        ("fa:12", callbacks.FiguresTap("appendix", 12)),
        ("fq:7", callbacks.FiguresTap("chat", 7)),
        ("fc:2147483647", callbacks.FiguresTap("confirm", 2147483647)),
        ("tp:3", callbacks.TemplateTap(3)),
    ],
)
def test_figure_buttons_round_trip(data: str, tap: callbacks.Tap) -> None:
    assert callbacks.parse(data) == tap


@pytest.mark.parametrize("data", ["fa:", "fb:1", "fc:1:2", "tp:x", "fq:" + "9" * 13, "fa:1\n"])
def test_forged_figure_data_is_not_ours(data: str) -> None:
    assert callbacks.parse(data) is None


# ------------------------------------------------------------------ Zalo

AN_ZALO = Sender(Channel.ZALO, "zalo-an", "An", None, ZALO_TRAITS)


async def remember_choices(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock, reply: Reply
) -> None:
    """What the Zalo transport does after delivering a reply with choices."""
    choices = [(c.label, c.data) for c in flat_choices(reply.choices)]
    async with sessionmaker() as session, session.begin():
        await chat_prompts.remember(
            session, AN_ZALO.channel, AN_ZALO.external_id, choices, clock.now()
        )


async def test_on_zalo_a_typed_number_is_a_figure_until_the_summary(
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    code = await create_invite(session, commune.an, clock.now())
    await session.commit()
    await conversation.handle(AN_ZALO, TextSent(code))
    # A photo of the report, in the chat: the bot proposes the report still owed first.
    (which,) = await conversation.handle(AN_ZALO, FilesSent([a_file("anh-bao-cao.jpg")]))
    await remember_choices(sessionmaker, clock, which)
    _receipt, first = await conversation.handle(AN_ZALO, TextSent("1"))
    assert first.text.endswith(question(1))

    # "1", "376": figures, not numbered choices.
    summary = None
    for text in ["1", *ANSWERS[1:]]:
        (summary,) = await conversation.handle(AN_ZALO, TextSent(text))
    assert summary is not None
    lines = "\n".join(
        [
            line("Hồ sơ TTHC tiếp nhận trực tuyến", "1 hồ sơ"),
            line("Tổng số hồ sơ TTHC tiếp nhận", "376 hồ sơ"),
            line("Tỷ lệ hồ sơ tiếp nhận trực tuyến", "0,3%"),
            line("Hồ sơ TTHC giải quyết trễ hẹn", "51 hồ sơ"),
            line("Tổng số hồ sơ TTHC đã giải quyết", "376 hồ sơ"),
            line("Tỷ lệ hồ sơ trễ hẹn", "13,56%"),
            line("Hồ sơ, kết quả giải quyết TTHC được số hóa", "1.210 hồ sơ"),
            line("Tổng số hồ sơ, kết quả cần số hóa", "2.500 hồ sơ"),
            line("Tỷ lệ số hóa hồ sơ", "48,4%"),
            line("Khó khăn, vướng mắc, đề xuất", "Thiếu máy quét"),
            line("Có thanh toán trực tuyến phí, lệ phí", vi("figures.yes")),
        ]
    )
    assert summary.text.startswith(vi("figures.summary", title=Q1, version=1, lines=lines))
    # The summary's choices are numbered on Zalo: "1" now confirms.
    await remember_choices(sessionmaker, clock, summary)
    (saved,) = await conversation.handle(AN_ZALO, TextSent("1"))
    assert saved.text == vi("figures.saved", title=Q1, version=1, lines=lines)
    submission = await latest_submission(session)
    assert await figures_of(session, submission.id) == {
        **EXPECTED,
        "hs_truc_tuyen": Figure(Decimal(1)),
    }


def figures_keys(language: str) -> set[str]:
    return {k for k in message_keys(language) if k.startswith(("figures.", "checks."))}


def test_both_languages_have_the_same_figures_messages_and_placeholders() -> None:
    assert figures_keys("vi") == figures_keys("en")
    for key in figures_keys("vi"):
        assert placeholders(_messages("vi")[key]) == placeholders(_messages("en")[key]), key


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_figures_message_is_valid_telegram_html(language: str) -> None:
    for key in sorted(figures_keys(language)):
        sample = {name: "x" for name in placeholders(_messages(language)[key])}
        parse_html(t(key, language, **sample))  # raises on a bare < or & and unknown tags
