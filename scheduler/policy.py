"""The reminder policy of issue 4, pure: plan, state and a time window in; reminders out.

No I/O, no clock reads, no database. The sweep builds a `PlanSnapshot` from the database (open
obligations and active tasks only; who is done; leaves), asks `reminders_between(snapshot,
config, last_sweep, now)` and inserts each `DueReminder` into the outbox under its
`idempotency_key`, ignoring conflicts. Windows are half-open, (after, until], so consecutive
sweeps neither lose nor repeat a slot; a second call with the same arguments gives the same
list, and the keys make a repeated insert a no-op. After downtime the sweep passes the
catch-up window through `coalesce` first. `preview` is the clerk's calendar.

The policy, precisely (local = `PolicyConfig.tz`, H = reminder time of the subject):

* Deadline reminders, for an obligation or task with a due date D, to every assignee that
  is not done, whose official is active and reachable, and who is not on leave on the local
  day the reminder is actually sent: ``before_N`` at D−N days, H (N in `before_days`,
  7/3/1 by default) and ``due_day`` at D, H. Their nominal slot moves EARLIER out of quiet
  time (`WorkingCalendar.move_earlier`: the latest working day, at H clamped into working
  hours, that is not after the nominal slot), so it still arrives before the deadline.
* Overdue (issue 14: a cadence that decays and ends): the first on the first working day
  after D, then every `overdue_every_working_days` (2) working days after that one while the
  nominal day is within `overdue_fast_days` (14) calendar days of D; then every
  `overdue_slow_every_days` (7) calendar days after the last of those, at H. The chase ends
  after D + `chase_days` (the obligation's, else `PolicyConfig.chase_days`, 30) and, for a
  report, before `series_next_due`: the due date of the next report of the same series (same
  unit and kind, a later due date, a data window covering this one's), which asks for the
  late report's data again. No overdue reminder is SENT (slot's local day) after that last
  day; the clerk's digests and desk carry the case from there. Due Sun 10/03/2024, 30 days:
  Mon 11/03, Wed 13/03, Fri 15/03, Tue 19/03, Thu 21/03, then Thu 28/03, Thu 04/04; none
  after Tue 09/04.
* Check-ins: a task's RRULE is evaluated by dateutil from `checkin_start` at H local time;
  each occurrence is a ``checkin`` status prompt. They stop at the deadline: for a task with
  a due date D, no check-in is SENT (slot's local day) after D; from then the overdue cadence
  chases the lead. Overdue and check-in slots move LATER out of quiet time
  (`WorkingCalendar.move_later`).
* Lead and coordinators (`AssigneeState.role`): a task's lead (``LEAD``, chủ trì) owns its
  status and gets all of the above; a coordinator (``COORDINATE``, phối hợp) gets only the
  before_N and due_day reminders, with ``role: "coordinate"`` in the payload (the text names
  the lead and asks for their part), and no overdue reminder and no check-in. A report's
  submitters are all leads. A task's assignee is done when its lead answered "done" (the
  task's status), a coordinator also when they answered "done" for their part.
* Assignment notices: an assignee with an `assigned_at` (stamped by the plan load that gave
  them the subject) gets ONE ``assigned`` notice, at the first slot after `assigned_at` at
  the config's reminder time (NOT the subject's rule), moved LATER out of quiet time; if that
  local day is on their leave, at the first such slot after that leave (repeated while it
  lands on another). Its nominal slot, hence its key, is the reminder time on the local day
  of `assigned_at`, or on the next day when that day's (moved) slot is not after it; a leave
  moves only the slot. Only while the subject is open for them: not done,
  no returned submission (`restarted_at`), active and reachable, and the notice's local day
  not after the due date (a task without one always qualifies). It is no deadline reminder:
  it does not take part in the collapse, and is left out when a reminder of the same subject
  reaches them at the same slot (that one already tells them). The payload is the subject's,
  with ``role`` (lead or coordinate) for a task.
* Collapse: one reminder per recipient, subject and slot. When several land on the same
  slot (before_1 and due_day both pulled back to the Friday before a Sunday deadline; a
  Saturday and a Sunday check-in pushed to Monday), the one closest to the deadline is kept:
  due_day, then before_1, before_3 … , then overdue, then check-in (the latest nominal among
  check-ins). Moving is monotonic, so reminders never swap order; they can only meet.
* Restart and done: ``done`` is the state at sweep time, so a done assignee gets nothing at
  all; after a returned submission, slots at or before
  `restarted_at` are not produced for that assignee and the next one is again "first".
* Escalation digests: if at least one assignee (active official) is not done, ONE
  ``digest_clerk`` to each clerk at D + `clerk_digest_after_days` (1) and ONE
  ``digest_leaders`` to each leader at D + `leader_digest_after_days` (3) calendar days, at
  the config's reminder time, moved LATER out of quiet time. The payload lists every missing
  assignee with ``on_leave`` (on the digest's day) and ``reachable``. A digest's subject is
  the obligation or task it is about; its kind starts with ``digest_``. Clerks and leaders
  who are inactive, unreachable or on leave that day get none.
* `first_for_subject` is true on the earliest reminder (digests and notices excluded) the
  policy gives that recipient for that subject under the current state (after
  `restarted_at`, skipping days on leave, a coordinator's kinds only); the first reminder of
  a report carries its templates in the payload.
* Idempotency keys use the NOMINAL slot, so a change in holidays or working hours moves a
  pending reminder without creating a second one. Two limits: overdue nominal days are
  counted in working days, so a day off added later re-spaces the overdue cadence after it
  (new days, new keys; a day already keyed keeps its key); and changing a reminder hour
  changes every nominal slot after the change.
* Unreachable officials get nothing (they are shown with ``reachable: false`` in digests);
  an assignee whose official is missing from the snapshot is ignored.

The kinds and subject types written here are the outbox's vocabulary, `db.kinds`. The
preview's text is rendered above this layer (`handlers.reminder_preview`).

Performance: everything that does not depend on the assignee is computed once per distinct
(due date, rule) per call, and a window that contains no instant at a subject's reminder
time of day rejects that subject with a dictionary lookup, so a one-minute sweep over
100,000 assignee rows stays well inside its budget (see the benchmark test). Notices are
looked at only when the window holds the config's reminder time, and only for rows assigned
in the 30 days before the window or of people with a leave (a notice comes later than that
only after a leave); their slot is computed once per distinct `assigned_at` (a plan load
stamps all its rows alike).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rruleset, rrulestr

from db.chase import CHASE_DAYS
from db.chase import chase_last as last_chase_day
from db.kinds import (
    ASSIGNED,
    CHECKIN,
    DIGEST_CLERK,
    DIGEST_LEADERS,
    DUE_DAY,
    OBLIGATION,
    OVERDUE,
    TASK,
    before_kind,
)
from db.kinds import is_digest as is_digest_kind
from scheduler.working_time import WorkingCalendar

VIETNAM: Final = ZoneInfo("Asia/Ho_Chi_Minh")

ROLE_OFFICIAL: Final = "official"
ROLE_CLERK: Final = "clerk"
ROLE_LEADER: Final = "leader"

# An assignee's part in a task: the values of `db.models.AssigneeRole`. A report's submitters
# own it as a lead owns a task.
LEAD: Final = "lead"  # chủ trì
COORDINATE: Final = "coordinate"  # phối hợp

# Collapse priority (lower wins): due_day, before_N by N, then overdue, then check-in.
_RANK_OVERDUE = 1_000_000
_RANK_CHECKIN = 1_000_001
_RANK_DIGEST = 2_000_000
_TICK = timedelta(microseconds=1)
# Longer than any run of days off: a notice due later than this after its assignment was
# delayed by a leave.
_NOTICE_REACH = timedelta(days=30)


# -- inputs ------------------------------------------------------------------------------------


def _check_clock(hour: int | None, minute: int | None) -> None:
    if hour is not None and not 0 <= hour <= 23:
        raise ValueError(f"hour must be 0–23, got {hour}")
    if minute is not None and not 0 <= minute <= 59:
        raise ValueError(f"minute must be 0–59, got {minute}")


def _check_before_days(days: tuple[int, ...]) -> None:
    if any(not isinstance(n, int) or n < 1 for n in days):
        raise ValueError(f"before_days must be positive whole days, got {days}")


@dataclass(frozen=True, slots=True)
class ReminderRule:
    """A per-obligation or per-task override of the reminder offsets and time of day."""

    before_days: tuple[int, ...] | None = None
    hour: int | None = None
    minute: int | None = None

    def __post_init__(self) -> None:
        _check_clock(self.hour, self.minute)
        if self.before_days is not None:
            _check_before_days(self.before_days)


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The office's reminder settings; the defaults are those of issue 4."""

    tz: ZoneInfo = VIETNAM
    reminder_hour: int = 8
    reminder_minute: int = 0
    before_days: tuple[int, ...] = (7, 3, 1)
    overdue_every_working_days: int = 2
    work_start: time = time(7, 0)
    work_end: time = time(17, 30)
    working_weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    clerk_digest_after_days: int = 1
    leader_digest_after_days: int = 3
    # True sends every reminder at its nominal slot, nights, weekends and holidays included.
    allow_quiet_time: bool = False
    # Days off the `holidays` package does not know (a provincial Tết extension, a local day).
    extra_days_off: frozenset[date] = frozenset()
    # Weekend days worked to swap for a bridge day (Sat 04/05/2024, Sat 26/04/2025).
    extra_working_days: frozenset[date] = frozenset()
    holiday_country: str | None = "VN"
    # dtstart of a check-in rule whose task has no checkin_start (the sweep should pass one).
    checkin_epoch: date = date(2024, 1, 1)
    # Issue 14: the overdue cadence is fast for two weeks, weekly after that, and ends after
    # `chase_days` (an obligation may carry its own, from the plan); then it is the clerk's.
    overdue_fast_days: int = 14
    overdue_slow_every_days: int = 7
    chase_days: int = CHASE_DAYS

    def __post_init__(self) -> None:
        _check_clock(self.reminder_hour, self.reminder_minute)
        _check_before_days(self.before_days)
        if self.overdue_every_working_days < 1:
            raise ValueError("overdue_every_working_days must be at least 1")
        if self.overdue_fast_days < 0 or self.chase_days < 0:
            raise ValueError("overdue_fast_days and chase_days cannot be negative")
        if self.overdue_slow_every_days < 1:
            raise ValueError("overdue_slow_every_days must be at least 1")
        if self.clerk_digest_after_days < 1 or self.leader_digest_after_days < 1:
            raise ValueError("digests come at least one day after the due date")
        self.calendar()  # validates working hours, weekdays and extra days

    @property
    def reminder_time(self) -> time:
        """The default local time of day of every reminder."""
        return time(self.reminder_hour, self.reminder_minute)

    def calendar(self) -> WorkingCalendar:
        """The working calendar these settings describe (shared, cached)."""
        return _calendar(self)


@lru_cache(maxsize=32)
def _calendar(config: PolicyConfig) -> WorkingCalendar:
    return WorkingCalendar(
        config.tz,
        work_start=config.work_start,
        work_end=config.work_end,
        working_weekdays=config.working_weekdays,
        extra_days_off=config.extra_days_off,
        extra_working_days=config.extra_working_days,
        holiday_country=config.holiday_country,
        enforce_quiet_time=not config.allow_quiet_time,
    )


@dataclass(frozen=True, slots=True)
class OfficialView:
    """What the policy needs of a person: whether to send, and when they are away."""

    id: int
    active: bool = True
    roles: frozenset[str] = frozenset({ROLE_OFFICIAL})
    # Inclusive (first day, last day) pairs.
    leaves: tuple[tuple[date, date], ...] = ()
    reachable: bool = True

    def on_leave(self, day: date) -> bool:
        """Whether `day` falls in one of the leave periods."""
        return any(start <= day <= end for start, end in self.leaves)


@dataclass(frozen=True, slots=True)
class AssigneeState:
    """One assignee of a subject, at sweep time."""

    official_id: int
    # Submitted and not returned (reports) / the task's lead answered "done", or this
    # coordinator answered "done" for their part (tasks).
    done: bool = False
    # When a returned submission restarted the reminders; earlier slots are not produced.
    restarted_at: datetime | None = None
    # LEAD or COORDINATE (tasks); a report's submitters are LEAD.
    role: str = LEAD
    # When a plan load gave them the subject (aware); None: before migration 0011, no notice.
    assigned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ObligationView:
    """An open periodic report instance and who still has to submit it."""

    id: int
    code: str
    title: str
    due_date: date
    window_start: date
    window_end: date
    # (file name, stored path or None): the outline and appendix handed out with the first reminder.
    templates: tuple[tuple[str, str | None], ...] = ()
    assignees: tuple[AssigneeState, ...] = ()
    rule: ReminderRule | None = None
    # Days after the due date that overdue reminders go on; None takes the config's.
    chase_days: int | None = None
    # The due date of the next report of the same series, whose data window covers this
    # one's: from then on that report asks for the data, so this one is no longer chased.
    series_next_due: date | None = None


@dataclass(frozen=True, slots=True)
class TaskView:
    """An active task: optional deadline, optional check-in recurrence."""

    id: int
    code: str
    title: str
    due_date: date | None = None
    checkin_rrule: str | None = None
    checkin_start: date | None = None
    assignees: tuple[AssigneeState, ...] = ()
    rule: ReminderRule | None = None


@dataclass(frozen=True)
class PlanSnapshot:
    """Everything the policy looks at, read by the sweep in one go."""

    officials: Mapping[int, OfficialView]
    obligations: Sequence[ObligationView] = ()
    tasks: Sequence[TaskView] = ()


# -- output ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DueReminder:
    """One message to one person at one slot; `payload` holds plain JSON-ready values."""

    recipient_id: int
    subject_type: str
    subject_id: int | None
    kind: str
    slot_at: datetime
    nominal_at: datetime
    due_date: date | None
    first_for_subject: bool = False
    payload: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def idempotency_key(self) -> str:
        """recipient:subject_type:subject_id:kind:nominal slot (UTC, YYYYMMDDHHMM)."""
        nominal = self.nominal_at.astimezone(UTC).strftime("%Y%m%d%H%M")
        return f"{self.recipient_id}:{self.subject_type}:{self.subject_id}:{self.kind}:{nominal}"

    @property
    def is_digest(self) -> bool:
        """Whether this is an escalation digest to a clerk or the leaders."""
        return is_digest_kind(self.kind)


# -- slot streams (assignee-independent) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Slot:
    rank: int
    kind: str
    nominal: datetime
    slot: datetime
    day: date  # local day of `slot`


@dataclass(frozen=True, slots=True)
class _Timing:
    when: time
    before_days: tuple[int, ...]  # unique, largest first


@dataclass(frozen=True, slots=True)
class _Stream:
    """Everything that decides a subject's slots: the same for all its assignees."""

    due: date | None
    timing: _Timing
    checkin_rule: str | None
    checkin_start: date
    chase_last: date | None = None  # the last local day of an overdue slot


@dataclass(frozen=True, slots=True)
class _Work:
    """A subject's slots inside the current window (shared by subjects with the same key)."""

    stream: _Stream
    slots: tuple[_Slot, ...]
    digests: tuple[_Slot, ...]


def _timing(config: PolicyConfig, rule: ReminderRule | None) -> _Timing:
    hour, minute, days = config.reminder_hour, config.reminder_minute, config.before_days
    if rule is not None:
        hour = rule.hour if rule.hour is not None else hour
        minute = rule.minute if rule.minute is not None else minute
        days = rule.before_days if rule.before_days is not None else days
    return _Timing(time(hour, minute), tuple(sorted(set(days), reverse=True)))


def _deadline_candidates(
    cal: WorkingCalendar,
    cadence: _Cadence,
    due: date,
    timing: _Timing,
    lo: date,
    hi: date,
    chase_last: date | None,
) -> list[_Slot]:
    """before_N, due_day and overdue slots whose NOMINAL day lies in [lo, hi] (overdue ones
    only when sent on or before `chase_last`)."""
    when = timing.when
    out: list[_Slot] = []
    for n in timing.before_days:
        day = due - timedelta(days=n)
        if lo <= day <= hi:
            out.append(_moved(cal, n, before_kind(n), cal.at(day, when), when, earlier=True))
    if lo <= due <= hi:
        out.append(_moved(cal, 0, DUE_DAY, cal.at(due, when), when, earlier=True))
    # A slot is never sent before its nominal day, so nominal days after the chase's last day
    # need not be looked at.
    if chase_last is not None:
        hi = min(hi, chase_last)
    for day in _overdue_days(cal, cadence, due, lo, hi):
        s = _moved(cal, _RANK_OVERDUE, OVERDUE, cal.at(day, when), when, earlier=False)
        if chase_last is None or s.day <= chase_last:
            out.append(s)
    return out


@dataclass(frozen=True, slots=True)
class _Cadence:
    """The overdue cadence of `PolicyConfig`: fast (working days), then slow (calendar days)."""

    every: int
    fast_days: int
    slow_every: int


def _cadence(config: PolicyConfig) -> _Cadence:
    return _Cadence(
        config.overdue_every_working_days,
        config.overdue_fast_days,
        config.overdue_slow_every_days,
    )


def _overdue_days(
    cal: WorkingCalendar, cadence: _Cadence, due: date, lo: date, hi: date
) -> list[date]:
    """The nominal overdue days in [lo, hi]: the fast ones, working days, then the slow ones.

    The fast phase keeps the working-day count of issue 4 (a holiday re-spaces it, see the
    module doc); the slow one counts calendar days from the last fast day, so its nominal
    days (and keys) do not move when a day off is added, only its slots do.
    """
    every = cadence.every
    first = cal.next_working_day(due)
    if hi < first:
        return []
    # The first overdue day is always a fast one, even when `fast_days` is 0.
    fast_end = max(due + timedelta(days=cadence.fast_days), first)
    days: list[date] = []
    # Overdue day k is the (k * every)-th working day after the first one: jump straight to
    # the first k inside the range instead of walking from the due date.
    k = 0 if lo <= first else -(-cal.count_working_days(first, lo) // every)
    day = cal.add_working_days(first, k * every)
    while day <= hi and day <= fast_end:
        days.append(day)
        day = cal.add_working_days(day, every)
    if hi <= fast_end:
        return days
    n_fast = -(-cal.count_working_days(first, fast_end + timedelta(days=1)) // every)
    last_fast = cal.add_working_days(first, (n_fast - 1) * every)
    step = cadence.slow_every
    j = max(1, -(-(lo - last_fast).days // step))
    day = last_fast + timedelta(days=j * step)
    while day <= hi:
        days.append(day)
        day += timedelta(days=step)
    return days


@lru_cache(maxsize=256)
def _checkin_rule(text: str, start: date, when: time) -> rrule | rruleset:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :].strip()
    # Naive local wall time: the rule counts local days, whatever zone the process runs in.
    return rrulestr(body, dtstart=datetime.combine(start, when), cache=True)


def _checkin_candidates(cal: WorkingCalendar, stream: _Stream, lo: date, hi: date) -> list[_Slot]:
    """Check-in slots whose nominal day lies in [lo, hi], none sent after the due date."""
    assert stream.checkin_rule is not None
    due, when = stream.due, stream.timing.when
    if due is not None:
        # Past the deadline the overdue cadence chases the lead: check-ins stop at it.
        hi = min(hi, due)
        if hi < lo:
            return []
    rule = _checkin_rule(stream.checkin_rule, stream.checkin_start, when)
    occurrences = rule.between(datetime.combine(lo, time.min), datetime.combine(hi, time.max), True)
    slots = [
        _moved(cal, _RANK_CHECKIN, CHECKIN, _localize(cal, occ), when, earlier=False)
        for occ in occurrences
    ]
    return slots if due is None else [s for s in slots if s.day <= due]


def _first_checkin(cal: WorkingCalendar, stream: _Stream) -> datetime | None:
    assert stream.checkin_rule is not None
    when = stream.timing.when
    rule = _checkin_rule(stream.checkin_rule, stream.checkin_start, when)
    occ = rule.after(datetime.combine(stream.checkin_start, time.min), True)
    if occ is None:
        return None
    first = _moved(cal, _RANK_CHECKIN, CHECKIN, _localize(cal, occ), when, earlier=False)
    if stream.due is not None and first.day > stream.due:
        return None
    return first.slot


def _localize(cal: WorkingCalendar, naive_local: datetime) -> datetime:
    return naive_local.replace(tzinfo=cal.tz).astimezone(UTC)


def _moved(
    cal: WorkingCalendar, rank: int, kind: str, nominal: datetime, when: time, *, earlier: bool
) -> _Slot:
    slot = cal.move_earlier(nominal, when) if earlier else cal.move_later(nominal, when)
    return _Slot(rank, kind, nominal, slot, cal.local_date(slot))


def _collapse(slots: Iterable[_Slot]) -> tuple[_Slot, ...]:
    """One slot per instant: the lowest rank wins, then the latest nominal (see module doc)."""
    best: dict[datetime, _Slot] = {}
    for s in slots:
        held = best.get(s.slot)
        if held is None or (s.rank, held.nominal) < (held.rank, s.nominal):
            best[s.slot] = s
    return tuple(sorted(best.values(), key=lambda s: s.slot))


def _nominal_range(cal: WorkingCalendar, after: datetime, until: datetime) -> tuple[date, date]:
    # A slot moves at most to the neighbouring working day of its nominal day, so nominal days
    # from the working day before the window to the working day after it cover every slot in it.
    return (
        cal.previous_working_day(cal.local_date(after)),
        cal.next_working_day(cal.local_date(until)),
    )


def _stream_between(
    cal: WorkingCalendar, cadence: _Cadence, stream: _Stream, after: datetime, until: datetime
) -> tuple[_Slot, ...]:
    """The collapsed slots of a subject in (after, until], with no shortcut (reference path)."""
    if until <= after:
        return ()
    lo, hi = _nominal_range(cal, after, until)
    found: list[_Slot] = []
    if stream.due is not None:
        found += _deadline_candidates(
            cal, cadence, stream.due, stream.timing, lo, hi, stream.chase_last
        )
    if stream.checkin_rule is not None:
        found += _checkin_candidates(cal, stream, lo, hi)
    return tuple(s for s in _collapse(found) if after < s.slot <= until)


def _first_deadline_slot(cal: WorkingCalendar, stream: _Stream) -> datetime | None:
    """The earliest before-deadline (or due-day) slot of a subject: a coordinator's first."""
    if stream.due is None:
        return None
    when = stream.timing.when
    # Moving is monotonic, so the largest offset (or the due day) comes first.
    days = stream.timing.before_days[0] if stream.timing.before_days else 0
    return cal.move_earlier(cal.at(stream.due - timedelta(days=days), when), when)


def _first_slot(cal: WorkingCalendar, stream: _Stream) -> datetime | None:
    """The earliest slot a subject ever has (assignee filters aside)."""
    firsts: list[datetime] = []
    deadline = _first_deadline_slot(cal, stream)
    if deadline is not None:
        firsts.append(deadline)
    if stream.checkin_rule is not None:
        first = _first_checkin(cal, stream)
        if first is not None:
            firsts.append(first)
    return min(firsts, default=None)


# -- one call ------------------------------------------------------------------------------------


class _Sweep:
    """The caches of one `reminders_between` call: per distinct stream, never per assignee."""

    def __init__(
        self, snapshot: PlanSnapshot, config: PolicyConfig, after: datetime, until: datetime
    ) -> None:
        self.snapshot = snapshot
        self.config = config
        self.cal = config.calendar()
        self.cadence = _cadence(config)
        self.after = after
        self.until = until
        self.full_range = _nominal_range(self.cal, after, until)
        self.default_timing = _timing(config, None)
        self.timings: dict[ReminderRule, _Timing] = {}
        self.time_ranges: dict[time, tuple[date, date] | None] = {}
        self.slots: dict[_Stream, tuple[_Slot, ...]] = {}
        self.firsts: dict[tuple[_Stream, bool], datetime | None] = {}
        self.notice_bases: dict[datetime, tuple[datetime, datetime, date]] = {}
        # Every notice lands at the unit's reminder time of day (moved later out of quiet
        # time), so a window holding no such instant holds none: one check per call.
        self.notices_due = self.time_range(config.reminder_time) is not None
        self.digests: dict[date, tuple[_Slot, ...]] = {}
        self.work_cache: dict[tuple[Any, ...], _Work | None] = {}
        officials = sorted(snapshot.officials.values(), key=lambda o: o.id)
        usable = [o for o in officials if o.active and o.reachable]
        self.clerks = [o for o in usable if ROLE_CLERK in o.roles]
        self.leaders = [o for o in usable if ROLE_LEADER in o.roles]

    def timing(self, rule: ReminderRule | None) -> _Timing:
        if rule is None:
            return self.default_timing
        found = self.timings.get(rule)
        if found is None:
            found = self.timings[rule] = _timing(self.config, rule)
        return found

    def time_range(self, when: time) -> tuple[date, date] | None:
        """Nominal days that can give a deadline/overdue slot at `when` in the window, or None.

        Every such slot lands exactly at the preferred time of day, so a short window that
        contains no such instant holds none of them: the common case of a one-minute sweep.
        """
        if when in self.time_ranges:
            return self.time_ranges[when]
        cal = self.cal
        first, last = cal.local_date(self.after), cal.local_date(self.until)
        result: tuple[date, date] | None = self.full_range
        if (last - first).days <= 2:
            slot_time = cal.preferred_time(when) if cal.enforce_quiet_time else when
            days = [
                d
                for d in (first + timedelta(days=i) for i in range((last - first).days + 1))
                if self.after < cal.at(d, slot_time) <= self.until
            ]
            result = (
                (cal.previous_working_day(days[0]), cal.next_working_day(days[-1]))
                if days
                else None
            )
        self.time_ranges[when] = result
        return result

    def stream_slots(self, stream: _Stream) -> tuple[_Slot, ...]:
        cached = self.slots.get(stream)
        if cached is not None:
            return cached
        found: list[_Slot] = []
        if stream.due is not None:
            span = self.time_range(stream.timing.when)
            if span is not None:
                found += _deadline_candidates(
                    self.cal, self.cadence, stream.due, stream.timing, *span, stream.chase_last
                )
        if stream.checkin_rule is not None:
            found += _checkin_candidates(self.cal, stream, *self.full_range)
        result = tuple(s for s in _collapse(found) if self.after < s.slot <= self.until)
        self.slots[stream] = result
        return result

    def first_slot(self, stream: _Stream, coordinator: bool) -> datetime | None:
        key = (stream, coordinator)
        if key not in self.firsts:
            find = _first_deadline_slot if coordinator else _first_slot
            self.firsts[key] = find(self.cal, stream)
        return self.firsts[key]

    def digest_slots(self, due: date) -> tuple[_Slot, ...]:
        cached = self.digests.get(due)
        if cached is not None:
            return cached
        cal, when = self.cal, self.config.reminder_time
        found = []
        for kind, days in (
            (DIGEST_CLERK, self.config.clerk_digest_after_days),
            (DIGEST_LEADERS, self.config.leader_digest_after_days),
        ):
            nominal = cal.at(due + timedelta(days=days), when)
            found.append(_moved(cal, _RANK_DIGEST, kind, nominal, when, earlier=False))
        result = tuple(s for s in found if self.after < s.slot <= self.until)
        self.digests[due] = result
        return result

    # -- per subject ---------------------------------------------------------------------------

    def work(self, key: tuple[Any, ...]) -> _Work | None:
        """What a subject with this (due, rule, check-in rule, check-in start, chase days,
        next due of its series) has in the window.

        Cached per key, so subjects sharing a deadline and rule cost one dictionary lookup.
        """
        if key in self.work_cache:
            return self.work_cache[key]
        due, rule, checkin_rule, checkin_start, chase_days, next_due = key
        start = checkin_start if checkin_start is not None else self.config.checkin_epoch
        chase_last = None
        if due is not None:
            days = chase_days if chase_days is not None else self.config.chase_days
            chase_last = last_chase_day(due, days, next_due)
        stream = _Stream(due, self.timing(rule), checkin_rule, start, chase_last)
        slots = self.stream_slots(stream)
        digests = self.digest_slots(due) if due is not None else ()
        work = _Work(stream, slots, digests) if slots or digests else None
        self.work_cache[key] = work
        return work

    def subject(
        self,
        subject_type: str,
        subject: ObligationView | TaskView,
        work: _Work,
        out: list[DueReminder],
    ) -> None:
        stream = work.stream
        if work.slots:
            self.assignee_reminders(subject_type, subject, stream, work.slots, out)
        if work.digests and stream.due is not None:
            self.digest_reminders(subject_type, subject, stream.due, work.digests, out)

    def assignee_reminders(
        self,
        subject_type: str,
        subject: ObligationView | TaskView,
        stream: _Stream,
        slots: tuple[_Slot, ...],
        out: list[DueReminder],
    ) -> None:
        officials = self.snapshot.officials
        for a in subject.assignees:
            if a.done:
                continue
            official = officials.get(a.official_id)
            if official is None or not official.active or not official.reachable:
                continue
            coordinator = a.role == COORDINATE
            for s in slots:
                if coordinator and s.rank >= _RANK_OVERDUE:
                    continue  # overdue reminders and check-ins are the lead's
                if a.restarted_at is not None and s.slot <= a.restarted_at:
                    continue
                if official.leaves and official.on_leave(s.day):
                    continue
                first = self.is_first(stream, a, official, s)
                out.append(
                    DueReminder(
                        recipient_id=official.id,
                        subject_type=subject_type,
                        subject_id=subject.id,
                        kind=s.kind,
                        slot_at=s.slot,
                        nominal_at=s.nominal,
                        due_date=stream.due,
                        first_for_subject=first,
                        payload=_payload(subject, stream.due, s, first, a.role),
                    )
                )

    def is_first(self, stream: _Stream, a: AssigneeState, official: OfficialView, s: _Slot) -> bool:
        """Whether no earlier slot of this subject reaches this assignee."""
        coordinator = a.role == COORDINATE
        first = self.first_slot(stream, coordinator)
        if first is None:
            return False
        first_day = self.cal.local_date(first)
        leaves = [(b, e) for b, e in official.leaves if b <= s.day and e >= first_day]
        if a.restarted_at is None and not leaves:
            return s.slot == first
        start = first - _TICK
        if a.restarted_at is not None:
            start = max(start, a.restarted_at)
        earlier = _stream_between(self.cal, self.cadence, stream, start, s.slot - _TICK)
        if coordinator:
            earlier = tuple(e for e in earlier if e.rank < _RANK_OVERDUE)
        return all(any(b <= e.day <= f for b, f in leaves) for e in earlier)

    def notice_base(self, assigned_at: datetime) -> tuple[datetime, datetime, date]:
        """(nominal, slot, slot's local day) of the notice of an assignment made at
        `assigned_at`: the first reminder time after it, and that moved later out of quiet
        time (leave aside)."""
        found = self.notice_bases.get(assigned_at)
        if found is None:
            cal, when = self.cal, self.config.reminder_time
            day = cal.local_date(assigned_at)
            nominal = cal.at(day, when)
            slot = cal.move_later(nominal, when)
            if slot <= assigned_at:
                nominal = cal.at(day + timedelta(days=1), when)
                slot = cal.move_later(nominal, when)
            found = self.notice_bases[assigned_at] = (nominal, slot, cal.local_date(slot))
        return found

    def notices(self, out: list[DueReminder]) -> None:
        """The assignment notices that fall in the window, after every other reminder of it
        is in `out` (a notice yields to a reminder of its subject at its slot)."""
        # A notice comes at most a few weeks after its assignment (Tết is the longest run of
        # days off), unless a leave delays it: older rows of people with no leave are past.
        cutoff = self.after - _NOTICE_REACH
        away = {o.id for o in self.snapshot.officials.values() if o.leaves}
        fresh = [
            (subject_type, subject, a)
            for subject_type, subjects in (
                (OBLIGATION, self.snapshot.obligations),
                (TASK, self.snapshot.tasks),
            )
            for subject in subjects
            for a in subject.assignees
            if a.assigned_at is not None and (a.assigned_at > cutoff or a.official_id in away)
        ]
        if not fresh:
            return
        taken = {(r.recipient_id, r.subject_type, r.subject_id, r.slot_at) for r in out}
        for subject_type, subject, a in fresh:
            notice = self.notice(subject_type, subject, a)
            if notice is not None:
                key = (notice.recipient_id, subject_type, subject.id, notice.slot_at)
                if key not in taken:  # else that reminder already tells them of it
                    out.append(notice)

    def notice(
        self, subject_type: str, subject: ObligationView | TaskView, a: AssigneeState
    ) -> DueReminder | None:
        """The assignee's notice if it falls in the window and the subject is open for them."""
        assert a.assigned_at is not None
        # A returned submission means they have long known of it.
        if a.done or a.restarted_at is not None:
            return None
        official = self.snapshot.officials.get(a.official_id)
        if official is None or not official.active or not official.reachable:
            return None
        due = subject.due_date
        nominal, slot, day = self.notice_base(a.assigned_at)
        while official.leaves and official.on_leave(day):
            # On leave: the first working slot after the leave that covers that day.
            back = max(e for b, e in official.leaves if b <= day <= e) + timedelta(days=1)
            when = self.config.reminder_time
            slot = self.cal.move_later(self.cal.at(back, when), when)
            day = self.cal.local_date(slot)
        if not self.after < slot <= self.until or (due is not None and day > due):
            return None
        payload = _base_payload(subject, due)
        if isinstance(subject, TaskView):
            payload["role"] = a.role
        return DueReminder(
            recipient_id=official.id,
            subject_type=subject_type,
            subject_id=subject.id,
            kind=ASSIGNED,
            slot_at=slot,
            nominal_at=nominal,
            due_date=due,
            payload=payload,
        )

    def digest_reminders(
        self,
        subject_type: str,
        subject: ObligationView | TaskView,
        due: date,
        digests: tuple[_Slot, ...],
        out: list[DueReminder],
    ) -> None:
        officials = self.snapshot.officials
        missing: dict[int, OfficialView] = {}
        for a in subject.assignees:
            official = officials.get(a.official_id)
            if not a.done and official is not None and official.active:
                missing[official.id] = official
        if not missing:
            return
        people = sorted(missing.values(), key=lambda o: o.id)
        for s in digests:
            recipients = self.clerks if s.kind == DIGEST_CLERK else self.leaders
            listed = [
                {"official_id": o.id, "on_leave": o.on_leave(s.day), "reachable": o.reachable}
                for o in people
            ]
            for r in recipients:
                if r.on_leave(s.day):
                    continue
                payload = _base_payload(subject, due)
                payload["days_late"] = (s.day - due).days
                payload["missing"] = [dict(m) for m in listed]
                out.append(
                    DueReminder(
                        recipient_id=r.id,
                        subject_type=subject_type,
                        subject_id=subject.id,
                        kind=s.kind,
                        slot_at=s.slot,
                        nominal_at=s.nominal,
                        due_date=due,
                        first_for_subject=False,
                        payload=payload,
                    )
                )


def _base_payload(subject: ObligationView | TaskView, due: date | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "code": subject.code,
        "title": subject.title,
        "due_date": due.isoformat() if due is not None else None,
    }
    if isinstance(subject, ObligationView):
        payload["window_start"] = subject.window_start.isoformat()
        payload["window_end"] = subject.window_end.isoformat()
    return payload


def _payload(
    subject: ObligationView | TaskView, due: date | None, s: _Slot, first: bool, role: str
) -> dict[str, Any]:
    payload = _base_payload(subject, due)
    if role == COORDINATE:
        payload["role"] = role  # the text names the lead and asks for their part
    if due is not None:
        # Counted from the day the message is actually sent, not from the nominal day.
        delta = (due - s.day).days
        if delta >= 0 and s.kind != OVERDUE:
            payload["days_left"] = delta
        else:
            payload["days_late"] = -delta
    if first and isinstance(subject, ObligationView) and subject.templates:
        payload["templates"] = list(subject.templates)
    return payload


def _order(r: DueReminder) -> tuple[datetime, int, str, int, str]:
    return (r.slot_at, r.recipient_id, r.subject_type, r.subject_id or 0, r.kind)


def _aware_utc(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {at!r}")
    return at.astimezone(UTC)


# -- public API ----------------------------------------------------------------------------------


def reminders_between(
    snapshot: PlanSnapshot, config: PolicyConfig, after: datetime, until: datetime
) -> list[DueReminder]:
    """Every reminder whose slot_at lies in (after, until], sorted by slot then recipient."""
    after = _aware_utc(after, "after")
    until = _aware_utc(until, "until")
    if until <= after:
        return []
    sweep = _Sweep(snapshot, config, after, until)
    out: list[DueReminder] = []
    # The hot loop of the per-minute sweep: keep it to one tuple and one lookup per subject.
    work_for = sweep.work
    for ob in snapshot.obligations:
        work = work_for((ob.due_date, ob.rule, None, None, ob.chase_days, ob.series_next_due))
        if work is not None:
            sweep.subject(OBLIGATION, ob, work, out)
    for task in snapshot.tasks:
        if task.due_date is None and task.checkin_rrule is None:
            continue
        # A task has no series and no chase days of its own: the config's default applies.
        key = (task.due_date, task.rule, task.checkin_rrule, task.checkin_start, None, None)
        work = work_for(key)
        if work is not None:
            sweep.subject(TASK, task, work, out)
    if sweep.notices_due:
        sweep.notices(out)
    out.sort(key=_order)
    return out


def window_may_hold_slots(config: PolicyConfig, after: datetime, until: datetime) -> bool:
    """Whether any reminder at all can fall in (after, until]; False lets a sweep skip reading.

    Every slot lands at the reminder time of day (or, moved out of quiet time, at that time
    clamped into working hours), so most one-minute windows hold none.
    """
    after, until = _aware_utc(after, "after"), _aware_utc(until, "until")
    if until <= after:
        return False
    cal = config.calendar()
    first, last = cal.local_date(after), cal.local_date(until)
    if (last - first).days > 2:
        return True
    times = {config.reminder_time, cal.preferred_time(config.reminder_time)}
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    return any(after < cal.at(day, when) <= until for day in days for when in times)


@dataclass(frozen=True)
class UnitTimings:
    """What decides whether a unit may have a reminder in a window, without its people:
    the (due date, check-in rule, check-in start, chase days) of each open subject it owes
    (an assignee's own date or extension gives one of its own), the latest assignment, and
    whether anyone it chases has a leave (which can delay a notice indefinitely)."""

    subjects: frozenset[tuple[date | None, str | None, date | None, int | None]] = frozenset()
    latest_assigned: datetime | None = None
    anyone_away: bool = False


def unit_may_remind(
    timings: UnitTimings, config: PolicyConfig, after: datetime, until: datetime
) -> bool:
    """Whether `reminders_between` may find anything in (after, until] for a unit with these
    timings; False is certain, so the sweep need not load the unit's snapshot.

    It asks the same per-subject question `reminders_between` asks first (`_Sweep.work`),
    without what only removes reminders (who is done, inactive, unreachable or on leave, a
    returned report, the series' next report ending the chase), so it never says False
    where a reminder is due.
    """
    after, until = _aware_utc(after, "after"), _aware_utc(until, "until")
    if until <= after:
        return False
    sweep = _Sweep(PlanSnapshot(officials={}), config, after, until)
    for due, checkin_rule, checkin_start, chase_days in timings.subjects:
        if due is None and checkin_rule is None:
            continue
        if sweep.work((due, None, checkin_rule, checkin_start, chase_days, None)) is not None:
            return True
    if not sweep.notices_due:
        return False
    # As `_Sweep.notices` picks its candidates: fresh assignments, or anyone with a leave.
    latest = timings.latest_assigned
    return timings.anyone_away or (latest is not None and latest > after - _NOTICE_REACH)


def weekly_digest_slots(config: PolicyConfig, after: datetime, until: datetime) -> list[datetime]:
    """The weekly digests' slots in (after, until]: Monday at the reminder time, moved later
    out of quiet time (a holiday Monday gives Tuesday), newest last."""
    after, until = _aware_utc(after, "after"), _aware_utc(until, "until")
    cal = config.calendar()
    when = config.reminder_time
    first = cal.local_date(after) - timedelta(days=7)  # a moved Monday lands days later
    slots = []
    for offset in range((cal.local_date(until) - first).days + 1):
        day = first + timedelta(days=offset)
        if day.weekday() == 0:
            slot = cal.move_later(cal.at(day, when), when)
            if after < slot <= until:
                slots.append(slot)
    return slots


def coalesce(reminders: Iterable[DueReminder]) -> list[DueReminder]:
    """Keep the newest reminder per recipient and subject (per kind for digests).

    For the catch-up after downtime: one message instead of a stale burst. When the dropped
    ones include the subject's first reminder, the kept one inherits its templates.
    """
    groups: dict[tuple[Any, ...], list[DueReminder]] = {}
    for r in reminders:
        key: tuple[Any, ...] = (r.recipient_id, r.subject_type, r.subject_id)
        if r.is_digest:
            key = (*key, r.kind)
        groups.setdefault(key, []).append(r)
    kept: list[DueReminder] = []
    for group in groups.values():
        newest = max(group, key=lambda r: (r.slot_at, r.nominal_at, r.kind))
        firsts = [r for r in group if r.first_for_subject]
        if firsts and not newest.first_for_subject:
            payload = dict(newest.payload)
            if "templates" in firsts[0].payload:
                payload["templates"] = list(firsts[0].payload["templates"])
            newest = dataclasses.replace(newest, first_for_subject=True, payload=payload)
        kept.append(newest)
    kept.sort(key=_order)
    return kept


def local_days(config: PolicyConfig, start: date, end: date) -> tuple[datetime, datetime]:
    """The window (after, until] that holds exactly the local days start … end."""
    cal = config.calendar()
    return cal.at(start, time.min) - _TICK, cal.at(end + timedelta(days=1), time.min) - _TICK


def preview(
    snapshot: PlanSnapshot, config: PolicyConfig, start: date, end: date
) -> list[DueReminder]:
    """The reminders sent on local days start … end (inclusive), by slot then recipient."""
    return reminders_between(snapshot, config, *local_days(config, start, end))
