"""One message per person per slot (issue 14): the dispatcher bundles one person's rows of one
slot, the renderer makes one message of numbered items, and a tap inside it answers below it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.models import Reminder, ReminderStatus, TaskState
from handlers.bundled_message import MAX_CHOICES, bundle_replies
from handlers.callbacks import in_bundle, status_data
from handlers.conversation import Conversation
from handlers.types import Choice, ChoiceTapped, OutgoingFile, Reply
from scheduler.delivery import DeliveryError
from tests.factories import Commune
from tests.test_conversation import AN_CHAT, register
from tests.test_dispatch import AN_CHAT as AN_TELEGRAM
from tests.test_dispatch import (
    BINH_CHAT,
    Office,
    ScriptedTransport,
    due,
    make_office,
    row_ids,
)
from tests.test_outbox import T0
from tests.wording import vi


@pytest.fixture
async def office(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Office:
    return await make_office(session, sessionmaker, clock)


def joined(rows: Sequence[Reminder], messages: Sequence[Reply]) -> Reply:
    """A test bundler: the items' texts one per line, so a chat's message names its rows."""
    return Reply("\n".join(m.text for m in messages))


def bundles(transport: ScriptedTransport, chat: str) -> list[list[int]]:
    """The rows each message to `chat` carried, message by message."""
    return [row_ids(text.splitlines()) for to, text in transport.sent if to == chat]


async def test_one_persons_rows_of_one_slot_go_as_one_message(office: Office) -> None:
    an, binh = office.commune.an, office.commune.binh
    morning = await office.add(
        due(office, an, kind="before_1"),
        due(office, an, kind="overdue"),
        due(office, an, kind="checkin"),
    )
    later = await office.add(due(office, an, minutes=-30, kind="before_3"))
    alone = await office.add(due(office, binh))
    transport = ScriptedTransport()

    report = await office.dispatcher(transport, bundle=joined).run_once(T0)

    assert bundles(transport, AN_TELEGRAM) == [later, morning]
    assert bundles(transport, BINH_CHAT) == [alone]
    assert (report.claimed, report.sent, report.messages) == (5, 5, 3)
    rows = await office.rows()
    assert {rows[i].status for i in [*morning, *later, *alone]} == {ReminderStatus.SENT}


async def test_without_a_bundler_every_row_is_its_own_message(office: Office) -> None:
    an = office.commune.an
    ids = await office.add(due(office, an, kind="before_1"), due(office, an, kind="overdue"))
    transport = ScriptedTransport()

    report = await office.dispatcher(transport).run_once(T0)

    assert bundles(transport, AN_TELEGRAM) == [[ids[0]], [ids[1]]]
    assert report.messages == 2


async def test_a_row_no_longer_needed_is_left_out_of_the_bundle(office: Office) -> None:
    an = office.commune.an
    ids = await office.add(
        due(office, an, kind="before_1"),
        due(office, an, kind="overdue"),
        due(office, an, kind="checkin"),
    )
    transport = ScriptedTransport()
    dispatcher = office.dispatcher(transport, bundle=joined)
    render = dispatcher.render

    async def handed_in_meanwhile(rows: Sequence[Reminder]) -> list[Reply | Exception | None]:
        rendered = await render(rows)
        return [None if row.id == ids[1] else m for row, m in zip(rows, rendered, strict=True)]

    dispatcher.render = handed_in_meanwhile
    report = await dispatcher.run_once(T0)

    assert bundles(transport, AN_TELEGRAM) == [[ids[0], ids[2]]]
    assert (report.sent, report.dropped, report.messages) == (2, 1, 1)
    assert (await office.rows())[ids[1]].status is ReminderStatus.DROPPED


async def test_a_429_on_a_bundle_puts_all_its_rows_back_and_they_arrive_together(
    office: Office,
) -> None:
    an = office.commune.an
    ids = await office.add(due(office, an, kind="before_1"), due(office, an, kind="overdue"))
    transport = ScriptedTransport()
    transport.fail(AN_TELEGRAM, DeliveryError("Too Many Requests", retry_after=7))
    dispatcher = office.dispatcher(transport, bundle=joined)

    first = await dispatcher.run_once(T0)

    assert (first.rate_limited, first.sent, first.messages) == (2, 0, 0)
    rows = await office.rows()
    assert {rows[i].lease_until for i in ids} == {T0 + timedelta(seconds=7)}
    assert {rows[i].attempts for i in ids} == {0}  # flood control is not a failure
    second = await dispatcher.run_once(T0 + timedelta(seconds=8))
    assert bundles(transport, AN_TELEGRAM) == [ids]
    assert (second.sent, second.messages) == (2, 1)


async def test_a_failure_fails_every_row_of_the_bundle(office: Office) -> None:
    an = office.commune.an
    ids = await office.add(due(office, an, kind="before_1"), due(office, an, kind="overdue"))
    transport = ScriptedTransport()
    transport.fail(AN_TELEGRAM, DeliveryError("Bad Request: message is too long", permanent=True))

    report = await office.dispatcher(transport, bundle=joined).run_once(T0)

    assert report.failed == 2
    rows = await office.rows()
    assert {rows[i].status for i in ids} == {ReminderStatus.FAILED}


async def test_a_full_batch_does_not_split_one_persons_slot(office: Office) -> None:
    an, binh = office.commune.an, office.commune.binh
    assert an.id < binh.id  # the claim takes An's rows first
    ans = await office.add(*(due(office, an, kind=k) for k in ("before_1", "overdue")))
    binhs = await office.add(
        *(due(office, binh, kind=k) for k in ("before_1", "overdue", "checkin"))
    )
    transport = ScriptedTransport()
    dispatcher = office.dispatcher(transport, bundle=joined, batch_size=4)

    first = await dispatcher.run_once(T0)
    assert bundles(transport, AN_TELEGRAM) == [ans]
    assert bundles(transport, BINH_CHAT) == []  # held back whole, not cut at the 4th row
    assert (first.claimed, first.deferred) == (4, 2)
    await dispatcher.run_once(T0)
    assert bundles(transport, BINH_CHAT) == [binhs]


def test_bundled_items_are_numbered_and_keep_their_actions() -> None:
    report = Reply(
        "⏰ Báo cáo CCHC Quý I", [[Choice("Gửi báo cáo", "ob:7")]], files=[OutgoingFile("a", "/a")]
    )
    task = Reply(
        "📌 Nhiệm vụ 2.4", [[Choice("Hoàn thành", "st:3:d"), Choice("Đang làm", "st:3:p")]]
    )
    digest = Reply("📋 9/10 người chưa nộp")

    one = bundle_replies([report, task, digest], "vi")

    assert one.text == "\n\n".join(
        [
            vi("bundle.head", count=3),
            vi("bundle.item", number=1, text=report.text),
            vi("bundle.item", number=2, text=task.text),
            vi("bundle.item", number=3, text=digest.text),
        ]
    )
    assert [[(c.label, c.data) for c in row] for row in one.choices] == [
        [(vi("bundle.choice", number=1, label="Gửi báo cáo"), "m:ob:7")],
        [
            (vi("bundle.choice", number=2, label="Hoàn thành"), "m:st:3:d"),
            (vi("bundle.choice", number=2, label="Đang làm"), "m:st:3:p"),
        ],
    ]
    assert list(one.files) == list(report.files)
    assert bundle_replies([task], "vi") is task


async def test_a_tap_inside_a_bundle_answers_below_it_instead_of_editing_it(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    data = status_data(commune.task_24.id, TaskState.IN_PROGRESS)

    alone = await conversation.handle(AN_CHAT, ChoiceTapped(data))
    bundled = await conversation.handle(AN_CHAT, ChoiceTapped(in_bundle(data)))

    assert alone[0].edit
    assert not any(reply.edit for reply in bundled)
    assert [r.text for r in bundled] == [r.text for r in alone]
    assert bundled[0].notice == alone[0].notice


def test_a_bundle_never_carries_more_buttons_than_telegram_takes() -> None:
    # 30 task prompts of 4 buttons each: 120 buttons would make Telegram refuse the whole
    # message, so the items past the 100th button keep their text and say how to answer.
    tasks = [
        Reply(f"📌 Nhiệm vụ 2.{n}", [[Choice("A", f"st:{n}:d"), Choice("B", f"st:{n}:p")]] * 2)
        for n in range(30)
    ]

    one = bundle_replies(tasks, "vi")

    assert sum(len(row) for row in one.choices) == MAX_CHOICES == 100
    assert one.text.endswith(vi("bundle.no_buttons", numbers="26, 27, 28, 29, 30"))
    assert all(
        vi("bundle.item", number=n, text=f"📌 Nhiệm vụ 2.{n - 1}") in one.text for n in (1, 30)
    )
