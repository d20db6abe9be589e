"""The seed's calendar in simulated time: sweep, dispatch, fake Telegram under its limits.

From 29/02/2024 to 15/03/2024, 15 minutes at a time, the bot's own sweeper and dispatcher run
against the fake Bot API with flood control on. What every official receives must be exactly
what the pure policy says (the clerk's preview of the same days).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.telegram_transport import TelegramTransport
from db.clock import FixedClock
from db.files import FileStore
from db.models import Official, Unit
from handlers.reminder_messages import OutboxRenderer
from scheduler.dispatch import Dispatcher
from scheduler.pacing import Pacer
from scheduler.policy import PlanSnapshot, preview
from scheduler.service import ReminderSweeper
from scheduler.snapshot import load_snapshot
from scheduler.sweep import policy_config
from tests.fakebotapi import FakeBotApi
from tests.plans import bind_chats, load_example
from tests.test_clerk_cli import plain
from tests.wording import days_left, vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
Sessions = async_sessionmaker[AsyncSession]


async def expected_per_chat(
    sessionmaker: Sessions, chats: dict[str, str], people: dict[str, Official]
) -> Counter[str]:
    async with sessionmaker() as session:
        unit = await session.get(Unit, people["nhut"].unit_id)
        assert unit is not None
        snapshot: PlanSnapshot = await load_snapshot(session, unit.id)
    plan = preview(snapshot, policy_config(unit), date(2024, 3, 1), date(2024, 3, 15))
    by_id = {o.id: chats[key] for key, o in people.items()}
    return Counter(by_id[r.recipient_id] for r in plan)


async def test_the_q1_fortnight_arrives_exactly_as_planned(
    sessionmaker: Sessions, tmp_path: Path
) -> None:
    clock = FixedClock(datetime(2024, 2, 29, 23, 0, tzinfo=TZ))
    store = FileStore(tmp_path / "data")
    people = await load_example(sessionmaker, clock, store)
    async with FakeBotApi() as server:
        chats = await bind_chats(sessionmaker, people, clock.now())
        for key, chat in chats.items():
            server.add_user(int(chat), people[key].full_name)
        server.enforce_limits(per_chat_per_second=1, global_per_second=30)
        expected = await expected_per_chat(sessionmaker, chats, people)
        async with server.make_bot() as bot:
            dispatcher = Dispatcher(
                sessionmaker,
                [TelegramTransport(bot, Pacer())],
                OutboxRenderer(sessionmaker, store),
                clock=clock,
            )
            sweeper = ReminderSweeper(sessionmaker, clock)
            end = datetime(2024, 3, 15, 18, 0, tzinfo=TZ)
            while clock.now() < end:
                clock.set(clock.now() + timedelta(minutes=15))
                await sweeper.sweep()
                await dispatcher.drain()
        texts = {
            # Template files go out as documents without text: count the messages people read.
            chat: [m.plain_text for m in server.sent_messages(int(chat)) if m.plain_text]
            for chat in chats.values()
        }
        received = Counter({chat: len(found) for chat, found in texts.items() if found})
        # Besides the policy's reminders, the clerk and the leaders get the weekly digest on
        # Mondays 04/03 and 11/03.
        weekly = Counter({chats[key]: 2 for key in ("nhut", "luong", "manh")})
        assert received == expected + weekly
        digest_charts = [
            r
            for r in server.requests_for("sendDocument")
            if r.ok and str(r.params["chat_id"]) == chats["luong"]
        ]
        assert len(digest_charts) == 2
        assert digest_charts[0].params["document"]["file_name"] == "tien-do-20240304.png"
        assert sum(expected.values()) > 50
        assert [r for r in server.requests if r.status == 429] == []
        hoa = texts[chats["hoa"]]
        q1 = "Báo cáo CCHC Quý I năm 2024"
        before = vi("remind.before", title=q1, due="10/03/2024", when=days_left(9))
        assert hoa[0].startswith(plain(before))
        overdue = vi("remind.overdue", title=q1, days=1, due="10/03/2024")
        assert any(text.startswith(plain(overdue)) for text in hoa)
        uploads = [r for r in server.requests_for("sendDocument") if r.ok]
        documents = [
            r.params["document"]["file_name"]
            for r in uploads
            if str(r.params["chat_id"]) == chats["hoa"]
        ]
        assert documents == ["de-cuong.docx", "phu-luc.xlsx"]  # with the first reminder only
        clerk = texts[chats["nhut"]]
        head = vi(
            "remind.digest_obligation",
            title=q1,
            due="10/03/2024",
            share="10/10",
            rate="chiếm 100,0%",
        )
        digest = next(text for text in clerk if text.startswith(plain(head)))
        # Marked as /quahan marks her: how long overdue, and on leave.
        marks = ", ".join(
            [vi("desk.state.overdue", days=1), vi("clerk.on_leave_until", date="15/03/2024")]
        )
        hong = vi(
            "desk.digest.line",
            name="Lê Thị Hồng",
            department="Tư pháp - Hộ tịch",
            marks=vi("desk.digest.marks", marks=marks),
        )
        assert hong in digest.splitlines()
