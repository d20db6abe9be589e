"""The dispatcher on both databases with a scripted transport, and the pacer on a fake clock.

Telegram itself (the fake Bot API over HTTP) is in test_dispatch_telegram.py.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import random
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.identities import bind
from db.kinds import TO_CHAT, UNREACHABLE_NOTICE
from db.models import (
    AuditEntry,
    Channel,
    ChannelIdentity,
    Official,
    Reminder,
    ReminderStatus,
    Unit,
)
from db.names import fold_name
from db.outbox import NewReminder, drop_pending, enqueue
from db.session import make_engine, make_sessionmaker
from handlers.types import Choice, Reply
from scheduler.delivery import DeliveryError
from scheduler.dispatch import Dispatcher, Rendered, backoff
from scheduler.pacing import Pacer, RateLimits
from tests.factories import Commune, build_commune
from tests.rendering import per_row
from tests.test_outbox import T0, new_reminder

LEASE = timedelta(minutes=2)
AN_CHAT, BINH_CHAT, CLERK_CHAT = "5001", "5002", "5003"


class FakeTime:
    """A monotonic clock that moves only when someone sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        target = self.now + max(0.0, seconds)
        await asyncio.sleep(0)
        self.now = max(self.now, target)


def render(row: Reminder) -> Reply:
    """A test rendering that names the row, so a chat's messages say which rows arrived."""
    return Reply(
        f"Nhắc việc <b>#{row.id}</b> {row.kind}",
        choices=[[Choice("Đã xong", f"done:{row.id}")]],
    )


def row_ids(texts: Sequence[str | None]) -> list[int]:
    """The row ids named in message texts rendered by `render`."""
    return [int(m.group(1)) for t in texts if t and (m := re.search(r"#(\d+)", t))]


class ScriptedTransport:
    """Records what it sends; fails or holds chats as a test tells it."""

    channel = Channel.TELEGRAM

    def __init__(self, pacer: Pacer | None = None) -> None:
        self.pacer = pacer
        self.sent: list[tuple[str, str]] = []
        self.failures: dict[str, list[DeliveryError]] = defaultdict(list)
        self.entered = asyncio.Event()
        self.hold: asyncio.Event | None = None

    def fail(self, chat_id: str, *errors: DeliveryError) -> None:
        self.failures[chat_id].extend(errors)

    async def send(self, chat_id: str, message: Reply) -> None:
        if self.pacer is not None:
            async with self.pacer.slot(chat_id):
                await self._send(chat_id, message)
        else:
            await self._send(chat_id, message)

    async def _send(self, chat_id: str, message: Reply) -> None:
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.failures[chat_id]:
            raise self.failures[chat_id].pop(0)
        self.sent.append((chat_id, message.text))

    def to(self, chat_id: str) -> list[int]:
        return row_ids([text for chat, text in self.sent if chat == chat_id])


@dataclass
class Office:
    """The commune with chats bound, a wall clock, a fake monotonic clock, and dispatchers."""

    commune: Commune
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: FixedClock
    time: FakeTime

    def dispatcher(
        self, transport: ScriptedTransport, worker: str = "w1", **options: object
    ) -> Dispatcher:
        return Dispatcher(
            self.sessionmaker,
            [transport],
            per_row(render),
            clock=self.clock,
            worker_id=worker,
            lease=LEASE,
            monotonic=self.time.monotonic,
            **options,  # type: ignore[arg-type]
        )

    def pacer(self) -> Pacer:
        return Pacer(RateLimits(), monotonic=self.time.monotonic, sleep=self.time.sleep)

    async def add(self, *reminders: NewReminder) -> list[int]:
        async with self.sessionmaker() as session:
            await enqueue(session, reminders)
            await session.commit()
            keys = [r.idempotency_key for r in reminders]
            rows = await session.scalars(select(Reminder).where(Reminder.idempotency_key.in_(keys)))
            by_key = {r.idempotency_key: r.id for r in rows}
        return [by_key[k] for k in keys]

    async def rows(self) -> dict[int, Reminder]:
        async with self.sessionmaker() as session:
            return {r.id: r for r in await session.scalars(select(Reminder))}

    async def identity(self, official: Official) -> ChannelIdentity:
        async with self.sessionmaker() as session:
            found = await session.scalar(
                select(ChannelIdentity).where(ChannelIdentity.official_id == official.id)
            )
            assert found is not None
            return found

    async def audit(self, action: str) -> list[AuditEntry]:
        async with self.sessionmaker() as session:
            query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            return list(await session.scalars(query))

    async def notices(self) -> list[Reminder]:
        return [r for r in (await self.rows()).values() if r.kind == UNREACHABLE_NOTICE]


async def bind_chat(
    session: AsyncSession, official: Official, chat_id: str, *, reachable: bool = True
) -> ChannelIdentity:
    person = await session.get(Official, official.id)  # in this session, not the fixture's
    assert person is not None
    identity = await bind(session, person, Channel.TELEGRAM, chat_id, T0 - timedelta(days=30))
    identity.reachable = reachable
    return identity


async def add_official(session: AsyncSession, commune: Commune, key: str, name: str) -> Official:
    person = Official(
        unit_id=commune.unit.id,
        key=key,
        full_name=name,
        name_folded=fold_name(name),
        position="Công chức",
        department="",
        is_official=True,
        is_clerk=False,
        is_leader=False,
        active=True,
        language="vi",
    )
    session.add(person)
    await session.flush()
    return person


async def make_office(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Office:
    """Ba Bích in miniature with An, Bình and the clerk on Telegram; the clock at T0."""
    commune = await build_commune(session)
    for person, chat in ((commune.an, AN_CHAT), (commune.binh, BINH_CHAT)):
        await bind_chat(session, person, chat)
    await bind_chat(session, commune.clerk, CLERK_CHAT)
    await session.commit()
    clock.set(T0)
    return Office(commune, sessionmaker, clock, FakeTime())


@pytest.fixture
async def office(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Office:
    return await make_office(session, sessionmaker, clock)


def due(office: Office, person: Official, minutes: int = 0, kind: str = "before_1") -> NewReminder:
    return new_reminder(office.commune, person, due=T0 + timedelta(minutes=minutes), kind=kind)


# --- claiming and leases -----------------------------------------------------------------------


async def test_a_claimed_row_is_not_claimed_again_until_its_lease_expires(office: Office) -> None:
    an = office.commune.an
    ids = await office.add(due(office, an, -2), due(office, an, -1), due(office, an, 0))
    await office.add(due(office, an, 5))  # not due yet
    first = office.dispatcher(ScriptedTransport(), "w1")
    second = office.dispatcher(ScriptedTransport(), "w2")

    claimed = await first.claim(T0)

    assert [r.id for r in claimed] == ids
    assert {(r.claimed_by, r.lease_until) for r in claimed} == {("w1", T0 + LEASE)}
    assert await first.claim(T0) == []
    assert await second.claim(T0 + LEASE) == []  # the lease still holds at its last instant
    retaken = await second.claim(T0 + LEASE + timedelta(seconds=1))
    assert [r.id for r in retaken] == ids
    assert {r.claimed_by for r in (await office.rows()).values() if r.id in ids} == {"w2"}


async def test_concurrent_claims_on_two_engines_never_share_a_row(
    office: Office, database_url: str
) -> None:
    people = (office.commune.an, office.commune.binh)
    await office.add(*(due(office, p, -m) for p in people for m in range(60)))
    engine = make_engine(database_url)
    try:
        other = Office(office.commune, make_sessionmaker(engine), office.clock, office.time)
        one = office.dispatcher(ScriptedTransport(), "w1")
        two = other.dispatcher(ScriptedTransport(), "w2")

        async def claims(d: Dispatcher) -> list[Reminder]:
            got: list[Reminder] = []
            for _ in range(20):
                got += await d.claim(T0, limit=7)
            return got

        mine, theirs = await asyncio.gather(claims(one), claims(two))
    finally:
        await engine.dispose()

    assert not {r.id for r in mine} & {r.id for r in theirs}
    assert len(mine) + len(theirs) == 120
    # A person's rows are one worker's while it holds them: never two writing to one chat.
    assert not {r.recipient_id for r in mine} & {r.recipient_id for r in theirs}


async def test_a_crash_between_claim_and_send_resends_once_after_the_lease(
    office: Office,
) -> None:
    ids = await office.add(*(due(office, office.commune.an, -m) for m in range(3)))
    crashed = office.dispatcher(ScriptedTransport(), "crashed")
    await crashed.claim(T0)  # ... and the process dies before sending
    transport = ScriptedTransport()
    survivor = office.dispatcher(transport, "survivor")

    assert (await survivor.run_once()).claimed == 0
    office.clock.set(T0 + LEASE + timedelta(seconds=1))
    report = await survivor.run_once()

    assert report.sent == 3
    assert sorted(transport.to(AN_CHAT)) == sorted(ids)
    rows = await office.rows()
    assert {(rows[i].status, rows[i].claimed_by) for i in ids} == {("sent", "survivor")}
    assert (await survivor.run_once()).claimed == 0


async def test_a_send_that_outlives_its_lease_is_not_marked_by_the_old_owner(
    office: Office,
) -> None:
    [row_id] = await office.add(due(office, office.commune.an))
    slow, fast = ScriptedTransport(), ScriptedTransport()
    slow.hold, fast.hold = asyncio.Event(), asyncio.Event()
    stuck = asyncio.create_task(office.dispatcher(slow, "slow").run_once())
    await slow.entered.wait()
    office.clock.set(T0 + LEASE + timedelta(seconds=1))
    retaken = asyncio.create_task(office.dispatcher(fast, "fast").run_once())
    await fast.entered.wait()

    slow.hold.set()
    late = await stuck
    # The old owner's send went through (the documented window) but it may not record it:
    # the row belongs to the new owner, whose send is still on its way.
    assert (late.lost_claims, late.sent) == (1, 0)
    row = (await office.rows())[row_id]
    assert (row.status, row.claimed_by) == ("pending", "fast")

    fast.hold.set()
    assert (await retaken).sent == 1
    row = (await office.rows())[row_id]
    assert (row.status, row.claimed_by, row.sent_at) == ("sent", "fast", office.clock.now())
    assert fast.to(AN_CHAT) == slow.to(AN_CHAT) == [row_id]


async def test_a_row_dropped_while_on_its_way_is_recorded_as_sent(office: Office) -> None:
    [row_id] = await office.add(due(office, office.commune.an))
    transport = ScriptedTransport()
    transport.hold = asyncio.Event()
    running = asyncio.create_task(office.dispatcher(transport).run_once())
    await transport.entered.wait()
    async with office.sessionmaker() as session:
        q1 = office.commune.q1.id
        an = office.commune.an.id
        kwargs = {"subject_type": "obligation", "subject_id": q1, "reason": "submitted"}
        assert await drop_pending(session, recipient_id=an, **kwargs) == 1  # type: ignore[arg-type]
        await session.commit()
    transport.hold.set()

    assert (await running).sent == 1
    assert (await office.rows())[row_id].status == ReminderStatus.SENT


async def test_a_long_run_gives_back_rows_it_has_not_started_by_half_the_lease(
    office: Office,
) -> None:
    ids = await office.add(*(due(office, office.commune.an, m - 3) for m in range(3)))
    transport = ScriptedTransport()

    class Slow(ScriptedTransport):
        async def send(self, chat_id: str, message: Reply) -> None:
            await transport.send(chat_id, message)
            office.time.now += LEASE.total_seconds() / 2 + 1  # the first send takes ages

    report = await office.dispatcher(Slow()).run_once()

    assert (report.sent, report.deferred) == (1, 2)
    rows = await office.rows()
    assert [rows[i].status for i in ids] == ["sent", "pending", "pending"]
    assert (rows[ids[1]].claimed_by, rows[ids[1]].lease_until) == (None, None)


# --- outcomes --------------------------------------------------------------------------------


def test_backoff_doubles_from_thirty_seconds_up_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in range(9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert backoff(1000) == timedelta(hours=1)
    assert backoff(2, timedelta(seconds=1), timedelta(seconds=3)) == timedelta(seconds=3)


async def test_transient_errors_back_off_then_the_send_succeeds(office: Office) -> None:
    [row_id] = await office.add(due(office, office.commune.an))
    transport = ScriptedTransport()
    transport.fail(AN_CHAT, DeliveryError("Bad Gateway"), DeliveryError("Bad Gateway"))
    dispatcher = office.dispatcher(transport)

    assert (await dispatcher.run_once()).retrying == 1
    row = (await office.rows())[row_id]
    assert (row.status, row.attempts, row.claimed_by) == ("pending", 1, None)
    assert (row.lease_until, row.last_error) == (T0 + timedelta(seconds=30), "Bad Gateway")

    assert (await dispatcher.run_once(T0 + timedelta(seconds=29))).claimed == 0
    assert (await dispatcher.run_once(T0 + timedelta(seconds=31))).retrying == 1
    row = (await office.rows())[row_id]
    assert (row.attempts, row.lease_until) == (2, T0 + timedelta(seconds=31 + 60))

    assert (await dispatcher.run_once(T0 + timedelta(seconds=92))).sent == 1
    assert transport.to(AN_CHAT) == [row_id]
    assert (await office.rows())[row_id].status == ReminderStatus.SENT


async def test_an_ambiguous_timeout_is_retried_and_flagged_as_possibly_delivered(
    office: Office,
) -> None:
    [row_id] = await office.add(due(office, office.commune.an))
    transport = ScriptedTransport()
    transport.fail(AN_CHAT, DeliveryError("TimedOut: Timed out", ambiguous=True))

    assert (await office.dispatcher(transport).run_once()).retrying == 1

    row = (await office.rows())[row_id]
    assert row.last_error == "TimedOut: Timed out (may have been delivered)"
    assert (row.status, row.attempts) == ("pending", 1)


async def test_a_row_failing_too_often_is_given_up(office: Office) -> None:
    [row_id] = await office.add(due(office, office.commune.an))
    transport = ScriptedTransport()
    transport.fail(AN_CHAT, *(DeliveryError("Bad Gateway") for _ in range(3)))
    dispatcher = office.dispatcher(transport, max_attempts=3)

    for day in range(3):
        await dispatcher.run_once(T0 + timedelta(days=day))

    row = (await office.rows())[row_id]
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "Bad Gateway")


async def test_a_permanent_error_fails_that_row_only(office: Office) -> None:
    bad, good = await office.add(due(office, office.commune.an, -1), due(office, office.commune.an))
    transport = ScriptedTransport()
    transport.fail(AN_CHAT, DeliveryError("BadRequest: can't parse entities", permanent=True))

    report = await office.dispatcher(transport).run_once()

    assert (report.failed, report.sent) == (1, 1)
    rows = await office.rows()
    assert (rows[bad].status, rows[bad].last_error) == (
        "failed",
        "BadRequest: can't parse entities",
    )
    assert rows[good].status == ReminderStatus.SENT
    assert await office.notices() == []


async def test_a_row_that_cannot_be_rendered_fails_and_the_others_go_out(office: Office) -> None:
    broken, fine = await office.add(
        due(office, office.commune.an, kind="mystery"), due(office, office.commune.binh)
    )

    def picky(row: Reminder) -> Reply:
        if row.kind == "mystery":
            raise KeyError("reminders.kind.mystery")
        return render(row)

    transport = ScriptedTransport()
    dispatcher = Dispatcher(office.sessionmaker, [transport], per_row(picky), clock=office.clock)

    report = await dispatcher.run_once()

    assert (report.failed, report.sent) == (1, 1)
    rows = await office.rows()
    assert rows[broken].status == ReminderStatus.FAILED
    assert "render failed" in (rows[broken].last_error or "")
    assert transport.to(BINH_CHAT) == [fine]


async def test_a_claimed_batch_is_rendered_in_one_call(office: Office) -> None:
    ids = await office.add(*(due(office, p) for p in (office.commune.an, office.commune.binh)))
    calls: list[list[int]] = []

    async def batch(rows: Sequence[Reminder]) -> list[Rendered[Reply]]:
        calls.append([row.id for row in rows])
        await asyncio.sleep(0)
        return [render(row) for row in rows]

    transport = ScriptedTransport()
    dispatcher = Dispatcher(office.sessionmaker, [transport], batch, clock=office.clock)

    assert (await dispatcher.run_once()).sent == 2
    assert sorted(id_ for call in calls for id_ in call) == sorted(ids)
    assert len(calls) == 1


async def test_a_row_rendered_to_nothing_is_dropped_unsent(office: Office) -> None:
    settled, wanted = await office.add(
        due(office, office.commune.an, -1), due(office, office.commune.an)
    )

    def settled_meanwhile(row: Reminder) -> Reply | None:
        return None if row.id == settled else render(row)

    transport = ScriptedTransport()
    dispatcher = Dispatcher(
        office.sessionmaker, [transport], per_row(settled_meanwhile), clock=office.clock
    )

    report = await dispatcher.run_once()

    assert (report.dropped, report.sent) == (1, 1)
    rows = await office.rows()
    assert (rows[settled].status, rows[settled].last_error) == (
        "dropped",
        "no longer needed when sent",
    )
    assert transport.to(AN_CHAT) == [wanted]


async def test_claimed_rows_stay_readable_when_sessions_expire_on_commit(
    office: Office, engine: AsyncEngine
) -> None:
    [row_id] = await office.add(due(office, office.commune.an))
    expiring = async_sessionmaker(engine, expire_on_commit=True)
    transport = ScriptedTransport()

    report = await Dispatcher(expiring, [transport], per_row(render), clock=office.clock).run_once()

    assert report.sent == 1
    assert transport.to(AN_CHAT) == [row_id]


# --- unreachable people ----------------------------------------------------------------------


async def test_someone_without_a_chat_is_dropped_and_the_clerk_told_once(office: Office) -> None:
    commune = office.commune
    async with office.sessionmaker() as session:
        chi = await add_official(session, commune, "chi", "Đỗ Thị Chi")
        await session.commit()
    first = await office.add(
        *(new_reminder(commune, chi, due=T0 - timedelta(minutes=m)) for m in range(3))
    )
    transport = ScriptedTransport()
    dispatcher = office.dispatcher(transport)

    report = await dispatcher.run_once()

    assert (report.dropped, report.notices, report.sent) == (3, 1, 0)
    rows = await office.rows()
    assert {(rows[i].status, rows[i].last_error) for i in first} == {
        ("dropped", "no reachable chat")
    }
    [notice] = await office.notices()
    assert notice.recipient_id == commune.clerk.id
    assert (notice.subject_type, notice.subject_id) == ("official", chi.id)
    assert notice.payload["official_name"] == "Đỗ Thị Chi"
    assert notice.payload["reason"] == "no_chat"

    assert (await dispatcher.run_once()).sent == 1
    assert transport.to(CLERK_CHAT) == [notice.id]

    office.clock.set(T0 + timedelta(days=1))
    await office.add(new_reminder(commune, chi, kind="due_day", due=T0 + timedelta(days=1)))
    again = await dispatcher.drain()
    assert (again.dropped, again.notices) == (1, 0)
    assert len(await office.notices()) == 1


async def test_a_person_of_another_unit_without_a_chat_is_told_to_their_own_units_clerk(
    office: Office,
) -> None:
    # A commune clerk owes the province's report: the province's row, the commune's person.
    commune = office.commune
    async with office.sessionmaker() as session:
        below = Unit(code="xa-duoi", name="UBND xã Dưới", timezone="Asia/Ho_Chi_Minh")
        session.add(below)
        await session.flush()
        their_clerk = Official(
            unit_id=below.id,
            key="vp",
            full_name="Văn Phòng Dưới",
            name_folded="van phong duoi",
            position="",
            department="",
            is_official=False,
            is_clerk=True,
            is_leader=False,
            active=True,
            language="vi",
        )
        owing = Official(
            unit_id=below.id, key="no", full_name="Nợ Báo Cáo", name_folded="no bao cao",
            position="", department="", is_official=True, is_clerk=False, is_leader=False,
            active=True, language="vi",
        )  # fmt: skip
        session.add_all([their_clerk, owing])
        await session.commit()
    await office.add(new_reminder(commune, owing, due=T0 - timedelta(minutes=1)))

    report = await office.dispatcher(ScriptedTransport()).run_once()

    assert (report.dropped, report.notices) == (1, 1)
    [notice] = await office.notices()
    assert notice.recipient_id == their_clerk.id and notice.unit_id == below.id


async def test_someone_whose_chat_is_known_unreachable_is_dropped_without_a_new_notice(
    office: Office,
) -> None:
    async with office.sessionmaker() as session:
        identity = await session.get(ChannelIdentity, (await office.identity(office.commune.an)).id)
        assert identity is not None
        identity.reachable = False
        await session.commit()
    [row_id] = await office.add(due(office, office.commune.an))

    report = await office.dispatcher(ScriptedTransport()).run_once()

    assert (report.dropped, report.notices) == (1, 0)
    assert (await office.rows())[row_id].status == ReminderStatus.DROPPED


async def test_an_unreachable_chat_is_marked_and_the_clerk_told_once(office: Office) -> None:
    commune = office.commune
    ids = await office.add(*(due(office, commune.an, -m) for m in range(3)))
    transport = ScriptedTransport()
    blocked = DeliveryError("Forbidden: bot was blocked by the user", unreachable=True)
    transport.fail(AN_CHAT, blocked)
    dispatcher = office.dispatcher(transport)

    report = await dispatcher.drain()

    assert (report.failed, report.unreachable, report.notices) == (1, 1, 1)
    assert report.sent == 1  # the notice, to the clerk
    rows = await office.rows()
    assert [rows[i].status for i in sorted(ids, key=lambda i: rows[i].due_at)] == [
        "failed",
        "dropped",
        "dropped",
    ]
    identity = await office.identity(commune.an)
    assert identity.reachable is False
    assert identity.unreachable_reason == "Forbidden: bot was blocked by the user"
    [entry] = await office.audit("identity.unreachable")
    assert (entry.target, entry.unit_id) == (f"identity:{identity.id}", commune.unit.id)
    assert entry.details["official_id"] == commune.an.id
    [notice] = await office.notices()
    assert (notice.recipient_id, notice.subject_type, notice.subject_id) == (
        commune.clerk.id,
        "identity",
        identity.id,
    )
    assert notice.payload["reason"] == "unreachable"
    assert transport.to(CLERK_CHAT) == [notice.id]
    assert transport.to(AN_CHAT) == []

    # An presses Start again (another part of the bot sets the flag), then blocks again:
    # that is news, and the clerk hears it once more.
    async with office.sessionmaker() as session:
        again = await session.get(ChannelIdentity, identity.id)
        assert again is not None
        again.reachable = True
        await session.commit()
    office.clock.set(T0 + timedelta(days=1))
    await office.add(due(office, commune.an, 24 * 60, "due_day"))
    transport.fail(AN_CHAT, blocked)
    second = await dispatcher.drain()
    assert (second.unreachable, second.notices) == (1, 1)
    assert len(await office.notices()) == 2
    assert len(transport.to(CLERK_CHAT)) == 2


async def test_a_clerk_is_not_told_about_themselves_the_leaders_are_when_no_clerk(
    office: Office,
) -> None:
    commune = office.commune
    async with office.sessionmaker() as session:
        await bind_chat(session, commune.leader, "5004")
        await session.commit()
    await office.add(due(office, commune.clerk))
    transport = ScriptedTransport()
    transport.fail(CLERK_CHAT, DeliveryError("Forbidden: user is deactivated", unreachable=True))

    await office.dispatcher(transport).drain()

    [notice] = await office.notices()
    assert notice.recipient_id == commune.leader.id
    assert len(transport.to("5004")) == 1


# --- pacing and chats ------------------------------------------------------------------------


async def test_a_busy_chat_is_given_back_while_the_other_chats_are_served(office: Office) -> None:
    an_rows = await office.add(due(office, office.commune.an, -1), due(office, office.commune.an))
    binh_rows = await office.add(
        due(office, office.commune.binh, -1), due(office, office.commune.binh)
    )
    pacer = office.pacer()
    pacer.pause(AN_CHAT, 60)
    transport = ScriptedTransport(pacer)

    report = await office.dispatcher(transport).run_once()

    assert (report.sent, report.deferred) == (2, 2)
    assert transport.to(BINH_CHAT) == binh_rows
    rows = await office.rows()
    assert {(rows[i].status, rows[i].claimed_by, rows[i].lease_until) for i in an_rows} == {
        ("pending", None, T0 + timedelta(seconds=60))
    }


# --- throughput: bounded senders, grouped marks, the next batch claimed early ------------------


class GatedTransport(ScriptedTransport):
    """Counts sends in flight at once; a chat in `gates` waits until its gate opens."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.most_in_flight = 0
        self.gates: dict[str, asyncio.Event] = {}

    async def _send(self, chat_id: str, message: Reply) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            for _ in range(3):
                await asyncio.sleep(0)  # a network round trip, in miniature
            if chat_id in self.gates:
                await self.gates[chat_id].wait()
            await super()._send(chat_id, message)
        finally:
            self.in_flight -= 1


async def add_people(office: Office, count: int) -> list[tuple[Official, str]]:
    """`count` more officials, each with a Telegram chat of their own."""
    people = []
    async with office.sessionmaker() as session:
        for i in range(count):
            person = await add_official(session, office.commune, f"p{i}", f"Cán bộ {i}")
            chat = str(7000 + i)
            await bind_chat(session, person, chat)
            people.append((person, chat))
        await session.commit()
    return people


async def eventually(check: Callable[[], bool]) -> None:
    """Wait (10 s at most) until `check` holds while background tasks run."""
    async with asyncio.timeout(10):
        while True:
            if check():
                return
            await asyncio.sleep(0.01)


async def test_no_more_chats_than_the_concurrency_are_sent_to_at_once(office: Office) -> None:
    people = await add_people(office, 12)
    await office.add(*(due(office, person) for person, _ in people))
    transport = GatedTransport()

    report = await office.dispatcher(transport, concurrency=4).run_once()

    assert report.sent == 12
    assert transport.most_in_flight == 4


async def test_rows_sent_while_a_mark_commits_are_marked_together(
    office: Office, engine: AsyncEngine
) -> None:
    people = await add_people(office, 12)
    ids = await office.add(*(due(office, person) for person, _ in people))
    marks: list[str] = []

    def count(*args: object) -> None:
        if "UPDATE reminders SET status" in str(args[2]) and "sent_at" in str(args[2]):
            marks.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        report = await office.dispatcher(GatedTransport(), concurrency=12).run_once()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    assert report.sent == 12
    assert {r.status for i, r in (await office.rows()).items() if i in ids} == {"sent"}
    assert 1 <= len(marks) <= 3


async def test_the_next_batch_goes_out_while_a_slow_chat_finishes_the_last(
    office: Office,
) -> None:
    an, binh = office.commune.an, office.commune.binh
    an_first, binh_first, an_second, binh_second = await office.add(
        due(office, an, -4), due(office, binh, -3), due(office, an, -2), due(office, binh, -1)
    )
    transport = GatedTransport()
    transport.gates[AN_CHAT] = asyncio.Event()
    dispatcher = office.dispatcher(transport, batch_size=2, concurrency=2)
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop, idle=0.01))
    try:
        await eventually(lambda: transport.to(BINH_CHAT) == [binh_first, binh_second])
        # Bình's second row came from the next batch while An's first is still on its way;
        # An's second waits for An's first, so An's rows keep their order.
        assert transport.to(AN_CHAT) == []
        transport.gates[AN_CHAT].set()
        await eventually(lambda: transport.to(AN_CHAT) == [an_first])
        office.clock.set(T0 + timedelta(seconds=5))  # the busy chat's short wait is over
        await eventually(lambda: transport.to(AN_CHAT) == [an_first, an_second])
    finally:
        stop.set()
        await running


async def test_a_429_holds_back_only_that_row_and_that_chat(office: Office) -> None:
    an_first, an_second = await office.add(
        due(office, office.commune.an, -1), due(office, office.commune.an)
    )
    binh_rows = await office.add(
        due(office, office.commune.binh, -1), due(office, office.commune.binh)
    )
    pacer = office.pacer()
    transport = ScriptedTransport(pacer)
    transport.fail(AN_CHAT, DeliveryError("RetryAfter: retry in 30", retry_after=30))
    dispatcher = office.dispatcher(transport)

    report = await dispatcher.run_once()

    assert (report.rate_limited, report.deferred, report.sent) == (1, 1, 2)
    assert transport.to(BINH_CHAT) == binh_rows  # one second apart on the fake clock
    rows = await office.rows()
    first = rows[an_first]
    assert (first.status, first.attempts, first.lease_until) == (
        "pending",
        0,
        T0 + timedelta(seconds=30),
    )
    # The chat is paused until T0 + 30 s on the run's clock: its next row waits as long.
    assert (rows[an_second].claimed_by, rows[an_second].lease_until) == (
        None,
        T0 + timedelta(seconds=30),
    )

    assert (await dispatcher.run_once(T0 + timedelta(seconds=10))).sent == 0
    office.time.now += 31
    later = await dispatcher.run_once(T0 + timedelta(seconds=31))
    assert later.sent == 2
    assert sorted(transport.to(AN_CHAT)) == [an_first, an_second]


async def test_a_migrated_group_gets_its_new_id_stored_and_the_message_resent(
    office: Office,
) -> None:
    commune = office.commune
    async with office.sessionmaker() as session:
        leaders = await bind_chat(session, commune.leader, "-4000000001")
        await session.commit()
    [row_id] = await office.add(due(office, commune.leader, kind="digest_leaders"))
    transport = ScriptedTransport()
    transport.fail("-4000000001", DeliveryError("ChatMigrated", migrated_to="-1004000000001"))

    report = await office.dispatcher(transport).run_once()

    assert (report.migrated, report.sent) == (1, 1)
    assert transport.to("-1004000000001") == [row_id]
    assert (await office.identity(commune.leader)).external_id == "-1004000000001"
    [entry] = await office.audit("identity.migrated")
    assert (entry.target, entry.details) == (
        f"identity:{leaders.id}",
        {"from": "-4000000001", "to": "-1004000000001"},
    )


async def test_a_stale_backlog_is_coalesced_before_sending(office: Office) -> None:
    an = office.commune.an
    days = [
        new_reminder(office.commune, an, kind=k, due=T0 + timedelta(days=d))
        for d, k in ((0, "before_3"), (1, "before_1"), (2, "due_day"))
    ]
    ids = await office.add(*days)
    transport = ScriptedTransport()

    report = await office.dispatcher(transport).run_once(T0 + timedelta(days=3))

    assert (report.coalesced, report.sent) == (2, 1)
    assert transport.to(AN_CHAT) == [ids[-1]]


async def test_rows_go_to_the_preferred_channel_of_the_person(office: Office) -> None:
    commune = office.commune
    async with office.sessionmaker() as session:
        person = await session.get(Official, commune.binh.id)
        assert person is not None
        await bind(session, person, Channel.CONSOLE, "binh-console", T0)
        await session.commit()
    [row_id] = await office.add(due(office, commune.binh))

    class Console(ScriptedTransport):
        channel = Channel.CONSOLE

    telegram, console = ScriptedTransport(), Console()
    dispatcher = Dispatcher(
        office.sessionmaker, [console, telegram], per_row(render), clock=office.clock
    )

    assert (await dispatcher.run_once()).sent == 1
    assert console.to("binh-console") == [row_id]
    assert telegram.sent == []


async def test_rows_follow_the_chat_used_last_unless_a_channel_was_chosen(office: Office) -> None:
    commune = office.commune
    async with office.sessionmaker() as session:
        person = await session.get(Official, commune.binh.id)
        assert person is not None
        zalo = await bind(session, person, Channel.ZALO, "binh-zalo", T0)
        await session.commit()

    class Zalo(ScriptedTransport):
        channel = Channel.ZALO

    telegram, other = ScriptedTransport(), Zalo()
    dispatcher = Dispatcher(
        office.sessionmaker, [telegram, other], per_row(render), clock=office.clock
    )
    # Bound on both, never wrote: the chat bound last (Zalo) gets it, once.
    [first] = await office.add(due(office, commune.binh))
    assert (await dispatcher.run_once()).sent == 1
    assert other.to("binh-zalo") == [first] and telegram.sent == []

    # The person then wrote on Telegram: that chat is the one used last.
    async with office.sessionmaker() as session:
        chats = await session.scalars(
            select(ChannelIdentity).where(ChannelIdentity.official_id == commune.binh.id)
        )
        for chat in chats:
            chat.last_seen_at = T0 + timedelta(minutes=5 if chat.id != zalo.id else 1)
        await session.commit()
    [second] = await office.add(due(office, commune.binh, minutes=-1))
    assert (await dispatcher.run_once()).sent == 1
    [(telegram_chat, _)] = telegram.sent
    assert telegram.to(telegram_chat) == [second]
    assert other.to("binh-zalo") == [first]

    # /kenh zalo: Zalo wins over the chat used last.
    async with office.sessionmaker() as session:
        person = await session.get(Official, commune.binh.id)
        assert person is not None
        person.preferred_channel = Channel.ZALO
        await session.commit()
    [third] = await office.add(due(office, commune.binh, minutes=-2))
    assert (await dispatcher.run_once()).sent == 1
    assert other.to("binh-zalo") == [first, third]


# --- the pacer on a fake clock ---------------------------------------------------------------


async def test_pacer_spaces_one_chat_from_the_end_of_its_previous_call() -> None:
    time = FakeTime()
    pacer = Pacer(RateLimits(), monotonic=time.monotonic, sleep=time.sleep)
    starts = []
    for duration in (0.0, 0.4, 0.0):
        async with pacer.slot("5001"):
            starts.append(time.now)
            time.now += duration  # the answer took this long

    assert [round(b - a, 6) for a, b in itertools.pairwise(starts)] == [1.0, 1.4]


async def test_pacer_keeps_groups_to_twenty_a_minute() -> None:
    time = FakeTime()
    pacer = Pacer(RateLimits(), monotonic=time.monotonic, sleep=time.sleep)
    starts = []
    for _ in range(4):
        async with pacer.slot("-1001234567890"):
            starts.append(time.now)

    assert [round(b - a, 6) for a, b in itertools.pairwise(starts)] == [3.0] * 3


async def test_pacer_spaces_all_chats_under_the_overall_rate() -> None:
    time = FakeTime()
    limits = RateLimits(global_per_second=30, headroom=0.9)
    pacer = Pacer(limits, monotonic=time.monotonic, sleep=time.sleep)
    starts: list[float] = []

    async def one(chat: str) -> None:
        async with pacer.slot(chat):
            starts.append(time.now)

    await asyncio.gather(*(one(str(6000 + i)) for i in range(60)))

    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 1 / 27 - 1e-9
    assert starts[-1] - starts[0] == pytest.approx(59 / 27)


class LateTime(FakeTime):
    """A fake clock whose sleeps overrun by a chosen amount, like a busy event loop."""

    def __init__(self, lateness: Callable[[], float]) -> None:
        super().__init__()
        self.lateness = lateness

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        self.now += self.lateness()


async def test_a_stalled_pacer_starts_a_new_schedule_instead_of_bursting() -> None:
    stalls = iter([0.0, 0.0, 0.5])  # the third wake-up comes half a second late
    time = LateTime(lambda: next(stalls, 0.0))
    pacer = Pacer(
        RateLimits(global_per_second=30, headroom=0.9), monotonic=time.monotonic, sleep=time.sleep
    )
    starts: list[float] = []

    async def one(chat: str) -> None:
        async with pacer.slot(chat):
            starts.append(time.now)

    await asyncio.gather(*(one(str(6000 + i)) for i in range(10)))

    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 1 / 27 - 1e-9  # the calls queued behind the stall do not catch up
    assert max(gaps) > 0.5


async def paced_starts(pacer: Pacer, time: FakeTime, calls: int) -> list[float]:
    starts: list[float] = []

    async def one(chat: str) -> None:
        async with pacer.slot(chat):
            starts.append(time.now)

    await asyncio.gather(*(one(str(6000 + i)) for i in range(calls)))
    return starts


def busiest_second(starts: list[float]) -> int:
    return max(bisect.bisect_right(starts, t + 1.0 - 1e-9) - i for i, t in enumerate(starts))


async def test_ordinary_loop_jitter_costs_no_rate() -> None:
    jitter = random.Random(7)
    # Late by up to 15 ms, under half the 36 ms interval: the schedule holds.
    time = LateTime(lambda: jitter.uniform(0.0, 0.015))
    starts = await paced_starts(
        Pacer(RateLimits(), monotonic=time.monotonic, sleep=time.sleep), time, 600
    )

    assert busiest_second(starts) <= 29
    assert (len(starts) - 1) / (starts[-1] - starts[0]) >= 0.92 * 30


async def test_a_stalling_loop_still_keeps_every_second_under_telegrams_thirty() -> None:
    jitter = random.Random(11)
    time = LateTime(lambda: jitter.choice([0.0, 0.0, 0.01, 0.017, 0.019, 0.03, 0.2]))
    starts = await paced_starts(
        Pacer(RateLimits(), monotonic=time.monotonic, sleep=time.sleep), time, 600
    )

    assert busiest_second(starts) <= 29


async def test_a_paused_chat_does_not_hold_up_another() -> None:
    time = FakeTime()
    pacer = Pacer(RateLimits(), monotonic=time.monotonic, sleep=time.sleep)
    pacer.pause("5001", 30)

    assert pacer.delay("5001") == 30
    async with pacer.slot("5002"):
        assert time.now == 1000.0
    async with pacer.slot("5001"):
        assert time.now == 1030.0
    assert pacer.delay("5001") == 1.0


def test_rate_limits_scale_and_refuse_nonsense() -> None:
    fast = RateLimits().scaled(10)
    assert (fast.global_per_second, fast.per_chat_per_second, fast.group_per_minute) == (
        300,
        10,
        200,
    )
    with pytest.raises(ValueError):
        RateLimits(per_chat_per_second=0)
    with pytest.raises(ValueError):
        RateLimits(headroom=1.5)


# --- a row for one chat in particular ------------------------------------------------------


async def test_a_row_for_one_chat_goes_there_not_to_the_best_ranked_chat(
    office: Office, session: AsyncSession
) -> None:
    an = office.commune.an
    first = await office.identity(an)
    newer = await bind_chat(session, an, "7009")  # bound later: ranks first from now on
    newer.last_seen_at = T0
    await session.commit()
    told, usual = await office.add(
        new_reminder(
            office.commune,
            an,
            kind="nudge",
            payload={TO_CHAT: first.id},
            due=T0 - timedelta(minutes=1),
        ),
        due(office, an),
    )
    transport = ScriptedTransport()

    await office.dispatcher(transport).run_once()

    assert transport.to(AN_CHAT) == [told]
    assert transport.to("7009") == [usual]


async def test_a_worker_leaves_a_person_another_worker_wrote_to_a_moment_ago(
    office: Office,
) -> None:
    an = office.commune.an
    await office.add(due(office, an, -1))
    await office.dispatcher(ScriptedTransport(), "w1").run_once()  # sent at T0
    later = await office.add(due(office, an, 0, kind="due_day"))
    second = office.dispatcher(ScriptedTransport(), "w2")

    # Within Telegram's one second per chat of w1's message: not w2's to send yet.
    assert await second.claim(T0 + timedelta(milliseconds=500)) == []
    assert [r.id for r in await second.claim(T0 + timedelta(seconds=1))] == later
