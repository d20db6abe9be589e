"""The outbox dispatcher: claim due rows, send them, record what happened.

Delivery is at least once, and exactly once outside one window:

1. `claim` marks up to `batch_size` due rows as ours with a lease, in one conditional UPDATE
   (on PostgreSQL its candidates are picked `FOR UPDATE SKIP LOCKED`), and commits before
   anything is sent. The UPDATE re-checks "pending and not leased", so of two dispatchers at
   most one ever owns a row, on PostgreSQL and on SQLite (which serialises writers).
2. The batch is rendered (the injected `Renderer`, in a few queries), then each row is sent; only
   after the channel accepted it is the row marked SENT, and only if we still own it
   (`claimed_by` = us). Marks are group-committed: rows accepted while one mark commits are
   marked together by the next, so a fast channel costs one commit per few rows, not per row.
3. A crash (or a hang) between a send and the commit of its mark leaves the row pending; its
   lease expires and another dispatcher sends it again. That is the one window where a person
   can get a reminder twice (it spans the rows accepted during one commit); a lost reminder
   is never possible. A Telegram timeout after the request left is the other (see
   `bot.telegram_transport`).

A dispatcher never starts a send later than half the lease after its claim, so a row it is
still working on cannot be re-claimed by another dispatcher in the meantime.

Failures (one `DeliveryError`, see `scheduler.delivery`): a 429 releases only that row until
`retry_after` and pauses only that chat; timeouts and 5xx back off exponentially (capped);
a permanent error fails the row; an unreachable chat fails the row, marks the identity
unreachable, writes an audit entry and queues one notice to the unit's clerks; a migrated
group gets its new chat id stored and the message resent there once.

All the SQL is in `db.outbox` (rows) and `db.reachability` (chats): the dispatcher decides,
those modules query. It never looks inside a message: the composition root injects a renderer
and transports that agree on one message type (`handlers.types.Reply` in the bot).

One message per person per slot (issue 14): with a `bundle` function, the rows of one chat
that share a `slot_at` (the 08:00 wave's reminders for several reports and tasks, a check-in, a
digest, the desk's notices for that slot) go out as ONE message that `bundle` makes of their
rendered messages; its rows are marked together after the one send, and fail or wait together.
A full batch holds back its last person's rows of the last slot, so a batch boundary never
splits one person's morning message in two.

Up to `concurrency` chats are served at once, each chat's rows in due order; a chat whose
pacer wait is longer than `max_wait` gets its rows released for later instead of holding up
the batch. The bound matters for speed as much as for politeness: a few hundred sends waiting
at once cost more CPU in the HTTP client's pool than the sends themselves.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Generic, TypeAlias, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import outbox, reachability
from db.audit import record
from db.clock import Clock, SystemClock
from db.kinds import IDENTITY, OFFICIAL, TO_CHAT, UNREACHABLE_NOTICE
from db.models import Channel, ChannelIdentity, Official, Reminder, ReminderStatus
from db.outbox import NewReminder
from scheduler.delivery import DeliveryError, Transport

log = logging.getLogger(__name__)

NO_REACHABLE_CHAT = "no reachable chat"
NOTHING_TO_SAY = "no longer needed when sent"
AUDIT_UNREACHABLE = "identity.unreachable"
AUDIT_MIGRATED = "identity.migrated"

Message = TypeVar("Message")
# Each row's outcome of rendering, in the rows' order: its message, None when it is no longer
# needed (handed in since it was queued), or the exception that stopped this one row.
Rendered: TypeAlias = Message | Exception | None
# Renders a claimed batch at once (a few queries for the whole batch, not a few per row).
Renderer: TypeAlias = Callable[[Sequence[Reminder]], Awaitable[list[Rendered[Message]]]]
# Makes one message of the rendered messages of one person's rows of one slot (two or more).
Bundler: TypeAlias = Callable[[Sequence[Reminder], Sequence[Message]], Message]


_MAX_ERROR = 1000
# How long a row waits when its chat is still busy with the previous batch.
_BUSY_CHAT_DELAY = timedelta(seconds=1)


def backoff(
    attempts: int,
    base: timedelta = timedelta(seconds=30),
    cap: timedelta = timedelta(hours=1),
) -> timedelta:
    """The wait before retry number `attempts` + 1: base × 2^attempts, at most `cap`."""
    # No jitter: a handful of processes cannot stampede Telegram, and tests stay exact.
    if attempts >= 32:
        return cap
    wait: timedelta = base * (2**attempts)
    return min(cap, wait)


def default_worker_id() -> str:
    """host:pid:random, unique per dispatcher instance and readable in the outbox."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class DispatchReport:
    """What one run did, row by row."""

    claimed: int = 0
    sent: int = 0
    messages: int = 0  # messages the channels accepted (a bundle of rows is one)
    rate_limited: int = 0  # released until the 429's retry_after
    retrying: int = 0  # timeout or 5xx: backing off
    failed: int = 0  # permanent error, or unreachable chat
    dropped: int = 0  # no reachable chat, or nothing left to say
    deferred: int = 0  # released unsent: chat busy for long, or claim too old
    unreachable: int = 0  # identities newly marked unreachable
    migrated: int = 0  # identities moved to a new chat id
    notices: int = 0  # notices queued for clerks
    coalesced: int = 0  # stale rows dropped before claiming
    lost_claims: int = 0  # sent, but the row had been re-claimed meanwhile

    def merge(self, other: DispatchReport) -> None:
        """Add `other`'s counts to this report."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class _Run:
    """One run: its report, and its time, `now` plus the monotonic time elapsed since."""

    now: datetime
    started: float
    monotonic: Callable[[], float]
    report: DispatchReport = field(default_factory=DispatchReport)

    def elapsed(self) -> float:
        return self.monotonic() - self.started

    def at(self) -> datetime:
        """The current time of this run (simulated runs stay on their simulated time)."""
        return self.now + timedelta(seconds=self.elapsed())


@dataclass
class _Chat(Generic[Message]):
    """Where one recipient's rows of this batch go."""

    identity_id: int
    official_id: int
    unit_id: int
    external_id: str
    transport: Transport[Message]


def _parcels(queue: Sequence[Reminder]) -> list[list[Reminder]]:
    """One chat's rows grouped by slot, in the order each slot first appears."""
    by_slot: dict[datetime, list[Reminder]] = {}
    for row in queue:
        by_slot.setdefault(row.slot_at, []).append(row)
    return list(by_slot.values())


def _hold_back_last_parcel(rows: list[Reminder]) -> tuple[list[Reminder], list[Reminder]]:
    """Split off the last recipient's rows of the last slot of a full batch (the claim may have
    cut them short), unless they are the whole batch; the next claim takes them all."""
    last = rows[-1]
    held = [r for r in rows if r.recipient_id == last.recipient_id and r.slot_at == last.slot_at]
    if len(held) == len(rows):
        return rows, []
    kept = {r.id for r in rows} - {r.id for r in held}
    return [r for r in rows if r.id in kept], held


class _GroupMark:
    """Group commit of SENT marks: one write at a time, taking every row accepted meanwhile.

    A sender awaits its own row's mark, so nothing is reported sent before it is recorded;
    while one write commits the next rows queue up and go together in the following one.
    """

    def __init__(self, write: Callable[[list[int]], Awaitable[set[int]]]) -> None:
        self._write = write
        self._queued: dict[int, asyncio.Future[bool]] = {}
        self._writer: asyncio.Task[None] | None = None

    async def mark(self, row_id: int) -> bool:
        """Record `row_id` as sent; False when the row was no longer ours to mark."""
        marked: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queued[row_id] = marked
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await marked

    async def _drain(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, {}
            try:
                done = await self._write(list(batch))
            except Exception as exc:
                for waiting in batch.values():
                    if not waiting.done():
                        waiting.set_exception(exc)
                continue
            for row_id, waiting in batch.items():
                if not waiting.done():
                    waiting.set_result(row_id in done)


class Dispatcher(Generic[Message]):
    """Sends due outbox rows through the transports; safe to run in several processes."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        transports: Sequence[Transport[Message]],
        render: Renderer[Message],
        *,
        bundle: Bundler[Message] | None = None,
        clock: Clock | None = None,
        worker_id: str | None = None,
        batch_size: int = 100,
        concurrency: int = 16,
        lease: timedelta = timedelta(minutes=2),
        max_wait: float = 5.0,
        backoff_base: timedelta = timedelta(seconds=30),
        backoff_cap: timedelta = timedelta(hours=1),
        max_attempts: int = 20,
        stale_after: timedelta | None = timedelta(minutes=30),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`transports`, one per channel: a person is reached on the reachable chat of the
        channel they chose, else the one they wrote from last (the order of `transports`
        breaks ties). Run ONE dispatcher per process with every channel's transport: a row
        whose recipient it cannot reach is dropped (and the clerk told). With `bundle`, one
        person's rows of one slot are sent as one message."""
        if not transports:
            raise ValueError("a dispatcher needs at least one transport")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.sessionmaker = sessionmaker
        self.transports = {t.channel: t for t in transports}
        self.channels: tuple[Channel, ...] = tuple(self.transports)
        self.render = render
        self.bundle = bundle
        self.clock: Clock = clock or SystemClock()
        self.worker_id = (worker_id or default_worker_id())[:64]
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease = lease
        self.max_wait = max_wait
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_attempts = max_attempts
        self.stale_after = stale_after
        self._monotonic = monotonic
        self._serving: set[int] = set()  # identities a batch of this dispatcher is sending to

    # --- the loop -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, idle: float = 1.0) -> None:
        """Dispatch until `stop` is set; a full batch runs the next at once, else wait `idle`.

        Once a full batch has started its last chats, the next batch is claimed and rendered
        while they finish, so a long backlog leaves the channel no idle gap between batches
        (at most two batches are in flight)."""
        finishing: asyncio.Task[DispatchReport] | None = None
        while not stop.is_set():
            tail = asyncio.Event()
            current = asyncio.create_task(self._run_logged(tail))
            tail_reached = asyncio.create_task(tail.wait())
            await asyncio.wait({current, tail_reached}, return_when=asyncio.FIRST_COMPLETED)
            tail_reached.cancel()
            if finishing is not None:
                await finishing
                finishing = None
            if not current.done():
                finishing = current  # full, and only its last chats are left: go on
                continue
            if current.result().claimed >= self.batch_size:
                continue
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), idle)
        if finishing is not None:
            await finishing

    async def _run_logged(self, tail: asyncio.Event) -> DispatchReport:
        try:
            return await self.run_once(tail=tail)
        except Exception:
            # The database or a bug: leased rows come back when their lease expires.
            log.exception("dispatch run failed")
            return DispatchReport()

    async def drain(self, now: datetime | None = None, *, max_runs: int = 10_000) -> DispatchReport:
        """Run until a run claims nothing (rows waiting on a backoff stay for later)."""
        total = DispatchReport()
        for _ in range(max_runs):
            report = await self.run_once(now)
            total.merge(report)
            if report.claimed == 0:
                break
        return total

    async def run_once(
        self, now: datetime | None = None, *, tail: asyncio.Event | None = None
    ) -> DispatchReport:
        """Claim one batch of due rows and deliver it; `now` defaults to the clock. `tail` is
        set when a full batch has handed its last chat to a sender."""
        run = _Run(now or self.clock.now(), self._monotonic(), self._monotonic)
        report = run.report
        if self.stale_after is not None:
            report.coalesced = await self._coalesce(run.now)
        rows = await self.claim(run.now)
        report.claimed = len(rows)
        if not rows:
            return report
        full = len(rows) >= self.batch_size
        if full and self.bundle is not None:
            rows, held = _hold_back_last_parcel(rows)
            report.deferred += await self._release(held, None)
        chats = await self._route(run, rows)
        # A chat still being served by the previous batch waits for the next claim, so that
        # its rows keep their order.
        busy = [(chat, queue) for chat, queue in chats if chat.identity_id in self._serving]
        chats = [(chat, queue) for chat, queue in chats if chat.identity_id not in self._serving]
        for _, queue in busy:
            report.deferred += await self._release(queue, run.at() + _BUSY_CHAT_DELAY)
        routed = [row for _, queue in chats for row in queue]
        messages = await self._render_all(routed)
        rendered = dict(zip((row.id for row in routed), messages, strict=True))
        marks = _GroupMark(partial(self._mark_sent, run))
        pending = iter(chats)

        async def serve_chats() -> None:
            # Senders share one iterator: each takes the next chat when it is free.
            for chat, queue in pending:
                self._serving.add(chat.identity_id)
                try:
                    await self._serve(run, chat, queue, rendered, marks)
                except Exception:
                    # Most likely the database; that chat's rows come back when the lease expires.
                    log.exception("serving chat of official %d failed", chat.official_id)
                finally:
                    self._serving.discard(chat.identity_id)
            if full and tail is not None:
                tail.set()

        await asyncio.gather(*(serve_chats() for _ in range(min(self.concurrency, len(chats)))))
        return report

    # --- claiming -------------------------------------------------------------------------

    async def claim(self, now: datetime, limit: int | None = None) -> list[Reminder]:
        """Lease up to `limit` (the batch size) due rows to this worker; committed on return."""
        async with self.sessionmaker() as session:
            rows = await outbox.claim(
                session, self.worker_id, now, self.lease, limit or self.batch_size
            )
            # Detached before the commit, the rows stay readable whatever the sessionmaker's
            # expire_on_commit says; the renderer gets them after this session is gone.
            session.expunge_all()
            await session.commit()
        return rows

    async def _coalesce(self, now: datetime) -> int:
        assert self.stale_after is not None
        try:
            async with self.sessionmaker() as session:
                dropped = await outbox.coalesce_stale(session, now, self.stale_after)
                await session.commit()
        except DBAPIError:
            # Two processes coalescing the same backlog: the other one did it.
            log.warning("could not coalesce the stale backlog this time", exc_info=True)
            return 0
        if dropped:
            log.info(
                "dropped %d stale reminders, keeping the newest per person and subject", dropped
            )
        return dropped

    # --- routing --------------------------------------------------------------------------

    async def _route(
        self, run: _Run, rows: Sequence[Reminder]
    ) -> list[tuple[_Chat[Message], list[Reminder]]]:
        """Group the rows by the chat that reaches their recipient; drop the unreachable."""
        recipients = {row.recipient_id for row in rows}
        async with self.sessionmaker() as session:
            identities = await reachability.candidate_chats(session, recipients, self.channels)
        best: dict[int, ChannelIdentity] = {}
        best_rank: dict[int, tuple[bool, datetime, int, int]] = {}
        known: set[int] = set()
        reachable: dict[int, ChannelIdentity] = {}
        for identity, chosen in identities:
            known.add(identity.official_id)
            if not identity.reachable:
                continue
            reachable[identity.id] = identity
            rank = self._rank(identity, chosen)
            if identity.official_id not in best or rank > best_rank[identity.official_id]:
                best[identity.official_id] = identity
                best_rank[identity.official_id] = rank
        chats: dict[int, tuple[_Chat[Message], list[Reminder]]] = {}
        nowhere: list[Reminder] = []
        for row in rows:
            # A row for one chat in particular (the warning that a chat was added goes to the
            # earlier ones): that chat or none, never the best-ranked one.
            to_chat = (row.payload or {}).get(TO_CHAT)
            if to_chat is not None:
                target = reachable.get(int(to_chat))
                if target is not None and target.official_id != row.recipient_id:
                    target = None
            else:
                target = best.get(row.recipient_id)
            if target is None:
                nowhere.append(row)
                continue
            if target.id not in chats:
                chat = _Chat(
                    target.id,
                    target.official_id,
                    row.unit_id,
                    target.external_id,
                    self.transports[target.channel],
                )
                chats[target.id] = (chat, [])
            chats[target.id][1].append(row)
        if nowhere:
            await self._drop_unroutable(run, nowhere, known)
        return list(chats.values())

    def _rank(
        self, identity: ChannelIdentity, chosen: Channel | None
    ) -> tuple[bool, datetime, int, int]:
        """How well a chat reaches its official (greater is better): the channel they chose
        with /kenh, else the chat they wrote from last (or bound last, if they never wrote),
        then the order of the transports; one chat per official, so never a reminder twice."""
        seen = identity.last_seen_at or identity.bound_at
        preference = -self.channels.index(identity.channel)
        return (identity.channel == chosen, seen, preference, identity.id)

    async def _drop_unroutable(self, run: _Run, rows: Sequence[Reminder], known: set[int]) -> None:
        # Someone who never registered a chat: the clerk hears of it once per person. Someone
        # whose chat became unreachable: the clerk was told when that happened.
        async with self.sessionmaker() as session:
            run.report.dropped += await outbox.finish(
                session,
                self.worker_id,
                [r.id for r in rows],
                ReminderStatus.DROPPED,
                NO_REACHABLE_CHAT,
            )
            unregistered = {
                (r.unit_id, r.recipient_id)
                for r in rows
                if r.recipient_id not in known and r.kind != UNREACHABLE_NOTICE
            }
            for unit_id, official_id in sorted(unregistered):
                run.report.notices += await self._notify_clerks(
                    session,
                    unit_id=unit_id,
                    official_id=official_id,
                    subject=(OFFICIAL, official_id),
                    key=f"notice:no_chat:{official_id}",
                    reason="no_chat",
                    detail=NO_REACHABLE_CHAT,
                    channel=None,
                    now=run.at(),
                )
            await session.commit()

    # --- serving one chat -----------------------------------------------------------------

    async def _serve(
        self,
        run: _Run,
        chat: _Chat[Message],
        queue: list[Reminder],
        rendered: dict[int, Rendered[Message]],
        marks: _GroupMark,
    ) -> None:
        report = run.report
        pacer = chat.transport.pacer
        parcels = _parcels(queue) if self.bundle is not None else [[row] for row in queue]
        for i, parcel in enumerate(parcels):
            rest = [row for later in parcels[i:] for row in later]
            if run.elapsed() > self.lease.total_seconds() / 2:
                # Too close to the lease's end: another dispatcher may take these over soon.
                report.deferred += await self._release(rest, None)
                return
            wait = pacer.delay(chat.external_id) if pacer is not None else 0.0
            if wait > self.max_wait:
                until = run.at() + timedelta(seconds=wait)
                report.deferred += await self._release(rest, until)
                return
            live: list[Reminder] = []
            messages: list[Message] = []
            for row in parcel:
                message = rendered[row.id]
                if isinstance(message, Exception):
                    error = f"render failed: {message!r}"[:_MAX_ERROR]
                    await self._finish([row], ReminderStatus.FAILED, error)
                    report.failed += 1
                elif message is None:
                    await self._finish([row], ReminderStatus.DROPPED, NOTHING_TO_SAY)
                    report.dropped += 1
                else:
                    live.append(row)
                    messages.append(message)
            if not live:
                continue
            if len(live) > 1 and self.bundle is not None:
                one = self.bundle(live, messages)
            else:
                one = messages[0]
            if not await self._deliver(run, chat, live, one, marks):
                # The chat became unreachable: the rest go back to be routed again (to another
                # channel of the person, or dropped without a second notice).
                later = [row for p in parcels[i + 1 :] for row in p]
                report.deferred += await self._release(later, None)
                return

    async def _render_all(self, rows: Sequence[Reminder]) -> list[Rendered[Message]]:
        """Every row's message, rendered as the batch is claimed: the batch at once if we can."""
        if not rows:
            return []
        try:
            return await self.render(rows)
        except Exception:
            # Something the whole batch shares (the database?): find the culprit row by row.
            log.exception("rendering a batch of %d reminders failed", len(rows))
        results: list[Rendered[Message]] = []
        for row in rows:
            try:
                results += await self.render([row])
            except Exception as exc:
                log.exception("could not render reminder %d", row.id)
                results.append(exc)
        return results

    async def _deliver(
        self,
        run: _Run,
        chat: _Chat[Message],
        rows: Sequence[Reminder],
        message: Message,
        marks: _GroupMark,
    ) -> bool:
        """Send one message for `rows` and record the outcome of each; False when the chat
        turned out unreachable."""
        resent = False
        while True:
            try:
                await chat.transport.send(chat.external_id, message)
            except DeliveryError as exc:
                if exc.migrated_to is not None and not resent:
                    await self._migrate(run, chat, exc.migrated_to)
                    resent = True
                    continue
                return await self._failed(run, chat, rows, exc)
            except Exception as exc:
                # A transport bug must not stop the other chats; the rows are retried later.
                log.exception("transport %s raised unexpectedly", chat.transport.channel)
                unexpected = DeliveryError(f"unexpected {type(exc).__name__}")
                return await self._failed(run, chat, rows, unexpected)
            break
        run.report.messages += 1
        for marked in await asyncio.gather(*(marks.mark(row.id) for row in rows)):
            if marked:
                run.report.sent += 1
            else:
                run.report.lost_claims += 1
                log.warning(
                    "a reminder was sent after its lease had been taken over; it may arrive twice"
                )
        return True

    async def _failed(
        self, run: _Run, chat: _Chat[Message], rows: Sequence[Reminder], error: DeliveryError
    ) -> bool:
        now = run.at()
        report = run.report
        text = error.message[:_MAX_ERROR]
        if error.retry_after is not None:
            # Flood control for this chat: only these rows and this chat wait.
            pacer = chat.transport.pacer
            if pacer is not None:
                pacer.pause(chat.external_id, error.retry_after)
            for row in rows:
                await self._retry_at(row, now + timedelta(seconds=error.retry_after), text, False)
            report.rate_limited += len(rows)
            return True
        if error.unreachable:
            await self._unreachable(run, chat, rows, error)
            report.failed += len(rows)
            return False
        if error.permanent:
            log.warning("reminders %s failed for good: %s", [r.id for r in rows], text)
            await self._finish(rows, ReminderStatus.FAILED, text)
            report.failed += len(rows)
            return True
        for row in rows:
            attempts = row.attempts + 1
            if attempts >= self.max_attempts:
                log.warning("reminder %d failed %d times, giving up: %s", row.id, attempts, text)
                await self._finish([row], ReminderStatus.FAILED, text, attempts=attempts)
                report.failed += 1
                continue
            wait = backoff(row.attempts, self.backoff_base, self.backoff_cap)
            note = f"{text} (may have been delivered)" if error.ambiguous else text
            await self._retry_at(row, now + wait, note[:_MAX_ERROR], True)
            report.retrying += 1
        return True

    # --- writing outcomes -----------------------------------------------------------------

    async def _mark_sent(self, run: _Run, ids: list[int]) -> set[int]:
        """Mark rows SENT that we still own; the ids so marked."""
        async with self.sessionmaker() as session:
            done = await outbox.mark_sent(session, self.worker_id, ids, run.at())
            await session.commit()
        return done

    async def _finish(
        self,
        rows: Sequence[Reminder],
        status: ReminderStatus,
        error: str,
        *,
        attempts: int | None = None,
    ) -> None:
        async with self.sessionmaker() as session:
            ids = [row.id for row in rows]
            await outbox.finish(session, self.worker_id, ids, status, error, attempts=attempts)
            await session.commit()

    async def _retry_at(self, row: Reminder, at: datetime, error: str, count: bool) -> None:
        async with self.sessionmaker() as session:
            await outbox.retry_at(session, self.worker_id, row.id, at, error, count=count)
            await session.commit()

    async def _release(self, rows: Sequence[Reminder], until: datetime | None) -> int:
        """Give rows back unsent: claimable again at `until` (None: at once)."""
        if not rows:
            return 0
        async with self.sessionmaker() as session:
            released = await outbox.release(session, self.worker_id, [r.id for r in rows], until)
            await session.commit()
        return released

    async def _unreachable(
        self, run: _Run, chat: _Chat[Message], rows: Sequence[Reminder], error: DeliveryError
    ) -> None:
        now = run.at()
        reason = error.message[:_MAX_ERROR]
        async with self.sessionmaker() as session:
            # Write first (SQLite takes its write lock here); only the dispatcher that flips
            # the flag records it and tells the clerks, so they hear it once.
            flipped = await reachability.mark_unreachable(
                session, chat.identity_id, chat.external_id, reason
            )
            ids = [row.id for row in rows]
            await outbox.finish(session, self.worker_id, ids, ReminderStatus.FAILED, reason)
            if flipped:
                run.report.unreachable += 1
                target = f"identity:{chat.identity_id}"
                earlier = await reachability.times_audited(session, AUDIT_UNREACHABLE, target)
                record(
                    session,
                    at=now,
                    actor=f"dispatcher:{self.worker_id}",
                    action=AUDIT_UNREACHABLE,
                    unit_id=chat.unit_id,
                    target=target,
                    details={
                        "official_id": chat.official_id,
                        "channel": str(chat.transport.channel),
                        "reason": reason,
                        "reminder_id": rows[0].id,
                    },
                )
                # Per identity and per time it became unreachable (blocked, unblocked, blocked
                # again is two notices; two dispatchers hitting one block is one).
                generation = earlier + 1
                run.report.notices += await self._notify_clerks(
                    session,
                    unit_id=chat.unit_id,
                    official_id=chat.official_id,
                    subject=(IDENTITY, chat.identity_id),
                    key=f"notice:unreachable:{chat.identity_id}:{generation}",
                    reason="unreachable",
                    detail=reason,
                    channel=chat.transport.channel,
                    now=now,
                )
            await session.commit()
        log.warning("chat of official %d is unreachable: %s", chat.official_id, reason)

    async def _notify_clerks(
        self,
        session: AsyncSession,
        *,
        unit_id: int,
        official_id: int,
        subject: tuple[str, int],
        key: str,
        reason: str,
        detail: str,
        channel: Channel | None,
        now: datetime,
    ) -> int:
        """Queue one notice per clerk (leaders when the unit has no clerk) of the person's own
        unit: a commune clerk who owes the province's report is the commune's to reach."""
        person = await session.get(Official, official_id)
        if person is not None:
            unit_id = person.unit_id
        recipients = await reachability.who_hears_of(session, unit_id, official_id)
        payload: dict[str, Any] = {
            "official_id": official_id,
            "official_name": person.full_name if person is not None else "",
            "reason": reason,
            "detail": detail,
            "channel": str(channel) if channel is not None else None,
        }
        return await outbox.enqueue(
            session,
            (
                NewReminder(
                    unit_id=unit_id,
                    idempotency_key=f"{key}:{clerk.id}",
                    recipient_id=clerk.id,
                    subject_type=subject[0],
                    subject_id=subject[1],
                    kind=UNREACHABLE_NOTICE,
                    slot_at=now,
                    due_at=now,
                    payload=payload,
                )
                for clerk in recipients
            ),
        )

    async def _migrate(self, run: _Run, chat: _Chat[Message], new_id: str) -> None:
        """Store a group's new chat id; the caller resends there."""
        old_id = chat.external_id
        async with self.sessionmaker() as session:
            try:
                if await reachability.move_chat(session, chat.identity_id, old_id, new_id):
                    record(
                        session,
                        at=run.at(),
                        actor=f"dispatcher:{self.worker_id}",
                        action=AUDIT_MIGRATED,
                        unit_id=chat.unit_id,
                        target=f"identity:{chat.identity_id}",
                        details={"from": old_id, "to": new_id},
                    )
                await session.commit()
            except IntegrityError:
                # The new chat is bound to an identity already: send there, keep this one.
                await session.rollback()
                log.warning("the new chat id of identity %d is bound already", chat.identity_id)
        chat.external_id = new_id
        run.report.migrated += 1
