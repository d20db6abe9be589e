"""The clerk's desk tests share one story on the bundled Ba Bích plan (no tests in here).

By Monday 11/03/2024 09:00 (the Quý I report was due Sunday 10/03/2024):

| official | Quý I report |
|---|---|
| Trần Văn Nhứt (clerk) | sent 07/03 10:00, on time |
| Nguyễn Thị Hoa | sent 08/03 09:00, on time, accepted by the clerk 08/03 15:00 |
| Huỳnh Thị Thu | sent 10/03 20:00 (Sunday evening), on time |
| Đinh Văn Tám | sent 05/03 14:00, on time |
| Võ Văn Hùng | sent 11/03 08:30, one day late |
| Nguyễn Thị Mai | sent 09/03 10:00, returned by the clerk 10/03 16:00 |
| Lê Thị Hồng | on leave 04–15/03, nothing sent |
| Phạm Thị Lan | nothing sent; one overdue reminder delivered 11/03 08:00 |
| Đinh Văn Sơn, Phạm Văn Dũng | nothing sent |

Task 2.4 (no deadline): Thu answered "done" 05/03, Sơn "in progress" 06/03, Hồng "blocked"
06/03 with a reason; Hùng never answered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.telegram_links import telegram_invite_link
from db import answers, submissions
from db.clock import FixedClock
from db.desk.review import review
from db.files import FileStore
from db.models import (
    Channel,
    ChannelIdentity,
    Obligation,
    Official,
    Reminder,
    ReminderStatus,
    ReviewState,
    Submission,
    Task,
    TaskState,
)
from db.plan import load_plan
from handlers.conversation import Conversation
from handlers.types import Sender
from tests.plans import example_plan

T = TypeVar("T")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BOT = "nhacviec_test_bot"
Sessions = async_sessionmaker[AsyncSession]


def local(day: int, month: int, hour: int = 9, minute: int = 0, year: int = 2024) -> datetime:
    """A moment in Ba Bích."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


@dataclass
class BaBich:
    """The loaded plan: people by key, the reports and tasks by code, chats by key."""

    people: dict[str, Official]
    reports: dict[str, Obligation]
    tasks: dict[str, Task]
    chats: dict[str, Sender]
    store: FileStore

    @property
    def q1(self) -> Obligation:
        return self.reports["CCHC-Q1-2024"]


async def load_ba_bich(sessions: Sessions, clock: FixedClock, data_dir: Path) -> BaBich:
    """The example plan loaded as of January 2024, with every person's chat registered."""
    async with sessions() as session:
        await load_plan(session, example_plan(), FixedClock(local(15, 1)))
    async with sessions() as session:
        people = {o.key: o for o in await session.scalars(select(Official))}
        reports = {o.code: o for o in await session.scalars(select(Obligation))}
        tasks = {t.code: t for t in await session.scalars(select(Task))}
        chats = {}
        for number, (key, official) in enumerate(sorted(people.items()), start=7001):
            session.add(
                ChannelIdentity(
                    official_id=official.id,
                    channel=Channel.TELEGRAM,
                    external_id=str(number),
                    bound_at=local(15, 1),
                    reachable=True,
                )
            )
            chats[key] = Sender(Channel.TELEGRAM, str(number), official.full_name)
        await session.commit()
    return BaBich(people, reports, tasks, chats, FileStore(data_dir))


async def hand_in(
    sessions: Sessions,
    town: BaBich,
    key: str,
    subject: Obligation | Task,
    at: datetime,
    name: str = "bao-cao.pdf",
) -> Submission:
    """Store a file and submit it for `key`, as the officials' flow would."""
    content = f"{key} {subject.code} {at.isoformat()}".encode()
    sha256, path = town.store.put(content)
    async with sessions() as session:
        official = await session.get(Official, town.people[key].id)
        assert official is not None
        stored = submissions.stored_file(
            submissions.ReceivedFile(
                name=name,
                mime_type="application/pdf",
                size=len(content),
                sha256=sha256,
                path=path,
                channel=Channel.TELEGRAM,
                channel_file_id=f"tg-{hashlib.sha256(content).hexdigest()[:12]}",
                channel_file_unique_id=f"u-{sha256[:8]}",
            ),
            at,
        )
        row = await submissions.submit(
            session, official, subject, [stored], at, TZ, actor=f"test:{key}"
        )
        await session.commit()
        return row


async def set_review(
    sessions: Sessions,
    submission_id: int,
    reviewer: Official,
    state: ReviewState,
    at: datetime,
    comment: str | None = None,
) -> None:
    async with sessions() as session:
        row = await session.get(Submission, submission_id)
        assert row is not None
        await review(session, row, state, reviewer, at, actor="test", comment=comment)
        await session.commit()


async def answer(
    sessions: Sessions, town: BaBich, key: str, code: str, state: TaskState, at: datetime
) -> None:
    async with sessions() as session:
        official = await session.get(Official, town.people[key].id)
        task = await session.get(Task, town.tasks[code].id)
        assert official is not None and task is not None
        note = "Thiếu máy scan & chữ ký số" if state is TaskState.BLOCKED else ""
        await answers.record_status(
            session, official, task, state, at, actor=f"test:{key}", note=note
        )
        await session.commit()


async def delivered_reminder(
    sessions: Sessions, town: BaBich, key: str, subject: Obligation, at: datetime
) -> None:
    """A deadline reminder the dispatcher already sent."""
    async with sessions() as session:
        session.add(
            Reminder(
                unit_id=subject.unit_id,
                idempotency_key=f"{town.people[key].id}:obligation:{subject.id}:overdue:{at}",
                recipient_id=town.people[key].id,
                subject_type="obligation",
                subject_id=subject.id,
                kind="overdue",
                slot_at=at,
                due_at=at,
                payload={},
                status=ReminderStatus.SENT,
                sent_at=at,
            )
        )
        await session.commit()


async def march_story(sessions: Sessions, clock: FixedClock, data_dir: Path) -> BaBich:
    """The plan plus everything that happened up to 11/03/2024 09:00 (see the docstring)."""
    town = await load_ba_bich(sessions, clock, data_dir)
    q1 = town.q1
    await hand_in(sessions, town, "nhut", q1, local(7, 3, 10), "BC Quý I - VP.pdf")
    hoa = await hand_in(sessions, town, "hoa", q1, local(8, 3, 9), "BC Quý I - Nội vụ.docx")
    await set_review(sessions, hoa.id, town.people["nhut"], ReviewState.ACCEPTED, local(8, 3, 15))
    await hand_in(sessions, town, "thu", q1, local(10, 3, 20), "BC Quý I - Một cửa.pdf")
    await hand_in(sessions, town, "tam", q1, local(5, 3, 14), "BC Quý I - VHTT.pdf")
    await hand_in(sessions, town, "hung", q1, local(11, 3, 8, 30), "BC Quý I - ĐCXD.pdf")
    mai = await hand_in(sessions, town, "mai", q1, local(9, 3, 10), "BC Quý I - TCKT.xlsx")
    await set_review(
        sessions,
        mai.id,
        town.people["nhut"],
        ReviewState.RETURNED,
        local(10, 3, 16),
        "Thiếu phụ lục số liệu",
    )
    await delivered_reminder(sessions, town, "lan", q1, local(11, 3, 8))
    await answer(sessions, town, "thu", "2.4", TaskState.DONE, local(5, 3, 10))
    await answer(sessions, town, "son", "2.4", TaskState.IN_PROGRESS, local(6, 3, 10))
    await answer(sessions, town, "hong", "2.4", TaskState.BLOCKED, local(6, 3, 11))
    clock.set(local(11, 3, 9))
    return town


@pytest.fixture
async def story(sessionmaker: Sessions, clock: FixedClock, tmp_path: Path) -> BaBich:
    """The March story, on each database."""
    return await march_story(sessionmaker, clock, tmp_path / "data")


@pytest.fixture
def desk(sessionmaker: Sessions, clock: FixedClock, story: BaBich) -> Conversation:
    """The conversation the story's people talk to."""
    return Conversation(sessionmaker, clock, story.store, TZ, invite_link=telegram_invite_link(BOT))


async def fetch(session: AsyncSession, statement: Select[T]) -> list[T]:
    """Read in a new transaction, so what the bot committed meanwhile is visible."""
    await session.commit()
    return list(await session.scalars(statement.execution_options(populate_existing=True)))
