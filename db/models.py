"""The commune's data: people, chat identities, tasks, reports, answers and the outbox.

Every row belongs to a `Unit` (a commune) so one deployment can later serve several.
Timestamps are aware UTC (`UtcDateTime`); deadlines are local calendar dates of the unit.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.desk import handed_in as _handed_in
from db.types import UtcDateTime

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as plain strings (no native enum type, no CHECK) so adding a value is not a migration.
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Role(enum.StrEnum):
    OFFICIAL = "official"
    CLERK = "clerk"
    LEADER = "leader"


class Channel(enum.StrEnum):
    TELEGRAM = "telegram"
    ZALO = "zalo"
    CONSOLE = "console"


class AssigneeRole(enum.StrEnum):
    LEAD = "lead"  # chủ trì
    COORDINATE = "coordinate"  # phối hợp


class TaskState(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"


class ReviewState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    RETURNED = "returned"


class ExtensionState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DROPPED = "dropped"  # no longer needed (submitted meanwhile, coalesced, recipient unreachable)
    FAILED = "failed"  # permanent send error


class Unit(Base):
    """An office: a commune (UBND xã), or the level above it (the province's Sở Nội vụ)."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    # The level the clerk forwards compiled reports to (district in the seed, province since 2025).
    reports_to: Mapped[str | None] = mapped_column(String(200))
    # The unit above in the tree (province → communes); a unit with children is that level.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # The unit's working calendar from the plan (issue 14): days off the `holidays` package
    # does not know, weekend days worked to make up for a bridge day (ISO dates), office hours
    # ("07:00"; None keeps the default) and what a due date on a day off means: "keep" (the
    # document's date) or "next_working_day" (Civil Code 2015, Art. 148 §5).
    days_off: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    working_days: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    work_start: Mapped[str | None] = mapped_column(String(5))
    work_end: Mapped[str | None] = mapped_column(String(5))
    deadline_on_day_off: Mapped[str] = mapped_column(
        String(24), default="keep", server_default=text("'keep'")
    )
    # Issue 16: the office's own name as the plan gives it (since 2025 "Văn phòng HĐND và
    # UBND xã"; None: the catalog's default), the decimals of the percentages the desk writes
    # (the seed writes 13,56%), and whether the plan is sample data (the bundled Ba Bích).
    office_name: Mapped[str | None] = mapped_column(String(200))
    percent_decimals: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    sample: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    officials: Mapped[list[Official]] = relationship(back_populates="unit")


class Official(Base):
    """A person of the commune office: official, clerk or leader (or several)."""

    __tablename__ = "officials"
    __table_args__ = (UniqueConstraint("unit_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    # The plan's stable handle for this person; names may be corrected, keys do not change.
    key: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    position: Mapped[str] = mapped_column(String(200), default="")
    department: Mapped[str] = mapped_column(String(200), default="")
    is_official: Mapped[bool] = mapped_column(Boolean, default=True)
    is_clerk: Mapped[bool] = mapped_column(Boolean, default=False)
    is_leader: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(8), default="vi")
    # Where reminders go when the person is bound on several channels (`/kenh`); None means
    # the channel they wrote on last.
    preferred_channel: Mapped[Channel | None] = mapped_column(_enum(Channel))

    unit: Mapped[Unit] = relationship(back_populates="officials")
    leaves: Mapped[list[LeavePeriod]] = relationship(
        back_populates="official", cascade="all, delete-orphan", order_by="LeavePeriod.starts_on"
    )
    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="official")

    @property
    def roles(self) -> frozenset[Role]:
        flags = {Role.OFFICIAL: self.is_official, Role.CLERK: self.is_clerk}
        flags[Role.LEADER] = self.is_leader
        return frozenset(role for role, on in flags.items() if on)

    def on_leave(self, day: date) -> bool:
        """Whether `day` falls inside one of this official's leave periods."""
        return any(p.starts_on <= day <= p.ends_on for p in self.leaves)


class LeavePeriod(Base):
    """A stretch of days (inclusive) when an official gets no reminders."""

    __tablename__ = "leave_periods"
    __table_args__ = (CheckConstraint("starts_on <= ends_on", name="order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")

    official: Mapped[Official] = relationship(back_populates="leaves")


class ChannelIdentity(Base):
    """A chat through which an official is reached; one external id belongs to one official."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    external_id: Mapped[str] = mapped_column(String(64))
    bound_at: Mapped[datetime]
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    unreachable_reason: Mapped[str | None] = mapped_column(Text)
    # When the person last wrote from this chat: reminders follow the channel used last.
    last_seen_at: Mapped[datetime | None]

    official: Mapped[Official] = relationship(back_populates="identities")


class Invite(Base):
    """A one-time registration code; only its sha256 is stored."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_identity_id: Mapped[int | None] = mapped_column(ForeignKey("channel_identities.id"))

    official: Mapped[Official] = relationship()


class Task(Base):
    """A standing task of the plan (the seed's 2.1 … 2.9)."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("unit_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="")
    source_ref: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    # RFC 5545 RRULE for status check-ins, evaluated with dateutil from checkin_start.
    checkin_rrule: Mapped[str | None] = mapped_column(Text)
    checkin_start: Mapped[date | None] = mapped_column(Date)
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Issue 16: the assigning document (số, ngày, cơ quan ban hành) and the expected output
    # (sản phẩm); `roles_illustrative` marks a lead and coordinators the plan made up for a
    # sample (the seed names none for 2.1–2.9), shown as such.
    basis_number: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    basis_date: Mapped[date | None] = mapped_column(Date)
    basis_issuer: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    product: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    roles_illustrative: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )

    assignees: Mapped[list[TaskAssignee]] = relationship(
        back_populates="task", cascade="all, delete-orphan"
    )


class TaskAssignee(Base):
    """Who leads (chủ trì) or coordinates (phối hợp) a task."""

    __tablename__ = "task_assignees"
    __table_args__ = (UniqueConstraint("task_id", "official_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), index=True)
    role: Mapped[AssigneeRole] = mapped_column(_enum(AssigneeRole))
    # An approved extension for this official only; the later of this and the task's date counts.
    extended_due: Mapped[date | None] = mapped_column(Date)
    # When a plan load gave this person the task; None for rows older than migration 0011.
    # The policy sends one assignment notice at the first working slot after it.
    assigned_at: Mapped[datetime | None]

    task: Mapped[Task] = relationship(back_populates="assignees")
    official: Mapped[Official] = relationship()


class Obligation(Base):
    """One instance of a periodic report ("Báo cáo CCHC Quý I năm 2024")."""

    __tablename__ = "obligations"
    __table_args__ = (
        UniqueConstraint("unit_id", "code"),
        Index("ix_obligations_open_by_due", "unit_id", "active", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    code: Mapped[str] = mapped_column(String(64))
    report_code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    due_date: Mapped[date] = mapped_column(Date)
    # The data window; its end is an estimate and may fall after the due date (the seed's rule).
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    templates: Mapped[list[Any]] = mapped_column(default=list)
    collector_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    # Free text ("Phòng Nội vụ huyện"), or the code of the parent unit's report this one feeds.
    forward_to: Mapped[str | None] = mapped_column(Text)
    forward_due: Mapped[date | None] = mapped_column(Date)
    # Submitted by the child units (`submitters: {units: children}`): their reports that name
    # this one in `forward_to` make their collectors its assignees (db/plan/forwarding.py).
    children_submit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The figures each submitter gives (db.plan.schema.IndicatorSpec, as dicts) and the
    # headings of the report's outline: what a compiled report is made of.
    indicators: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    outline: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    # Days after the due date that overdue reminders go on (issue 14); then the clerk's case.
    chase_days: Mapped[int] = mapped_column(Integer, default=30, server_default=text("30"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    assignees: Mapped[list[ObligationAssignee]] = relationship(
        back_populates="obligation", cascade="all, delete-orphan"
    )
    collector: Mapped[Official | None] = relationship()


class ObligationAssignee(Base):
    """An official who must submit an obligation."""

    __tablename__ = "obligation_assignees"
    __table_args__ = (
        UniqueConstraint("obligation_id", "official_id"),
        Index("ix_obligation_assignees_open", "obligation_id", "handed_in"),
        # Only what is still owed: small whatever the years of history (migration 0004).
        Index(
            "ix_obligation_assignees_owed",
            "obligation_id",
            postgresql_where=text("NOT handed_in"),
            sqlite_where=text("NOT handed_in"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligations.id"))
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), index=True)
    # This assignee's own date from the plan, in place of the report's: a child unit's
    # `forward_due` to its parent. Kept apart from `extended_due`, which is the desk's decision.
    own_due: Mapped[date | None] = mapped_column(Date)
    # An approved extension for this official only; the later of this and their date counts.
    extended_due: Mapped[date | None] = mapped_column(Date)
    # Latest submission exists and was not returned; kept by triggers (db/desk/handed_in.py).
    handed_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When a plan load made this person a submitter; None for rows older than migration 0011.
    assigned_at: Mapped[datetime | None]

    obligation: Mapped[Obligation] = relationship(back_populates="assignees")
    official: Mapped[Official] = relationship()


class Submission(Base):
    """A report (or task result) handed in; a resubmission is a new version, never an edit."""

    __tablename__ = "submissions"
    __table_args__ = (
        CheckConstraint("(obligation_id IS NULL) <> (task_id IS NULL)", name="one_subject"),
        UniqueConstraint("official_id", "obligation_id", "version", name="uq_submissions_obl_ver"),
        UniqueConstraint("official_id", "task_id", "version", name="uq_submissions_task_ver"),
        Index("ix_submissions_by_obligation", "obligation_id", "official_id"),
        Index("ix_submissions_by_task", "task_id", "official_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    obligation_id: Mapped[int | None] = mapped_column(ForeignKey("obligations.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    version: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime]
    # Whole local days after the due date at submission time; 0 means on time.
    late_days: Mapped[int] = mapped_column(Integer, default=0)
    review_state: Mapped[ReviewState] = mapped_column(
        _enum(ReviewState), default=ReviewState.PENDING
    )
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    reviewed_at: Mapped[datetime | None]

    files: Mapped[list[StoredFile]] = relationship(
        back_populates="submission", order_by="StoredFile.id"
    )
    official: Mapped[Official] = relationship(foreign_keys=[official_id])

    @property
    def on_time(self) -> bool:
        return self.late_days == 0


class ExtensionRequest(Base):
    """An official's request (/giahan) to hand in one report or task later, and its decision."""

    __tablename__ = "extension_requests"
    __table_args__ = (
        CheckConstraint("(obligation_id IS NULL) <> (task_id IS NULL)", name="one_subject"),
        Index("ix_extension_requests_by_official", "official_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    obligation_id: Mapped[int | None] = mapped_column(ForeignKey("obligations.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    # The official's due date when asking, kept so the decision shows what it moves from.
    current_due: Mapped[date] = mapped_column(Date)
    requested_due: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime]
    state: Mapped[ExtensionState] = mapped_column(
        _enum(ExtensionState), default=ExtensionState.PENDING
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    decided_at: Mapped[datetime | None]

    official: Mapped[Official] = relationship(foreign_keys=[official_id])
    decided_by: Mapped[Official | None] = relationship(foreign_keys=[decided_by_id])


class LeaveKind(enum.StrEnum):
    LEAVE = "leave"  # nghỉ phép
    SICK = "sick"  # nghỉ ốm
    MISSION = "mission"  # đi công tác
    STUDY = "study"  # đi học tập


class LeaveRequest(Base):
    """Leave asked for in the chat (/nghiphep) and its decision; approved, it silences the
    reminders on those days and moves a deadline inside it to the first working day after."""

    __tablename__ = "leave_requests"
    __table_args__ = (
        CheckConstraint("starts_on <= ends_on", name="order"),
        Index("ix_leave_requests_by_official", "official_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    kind: Mapped[LeaveKind] = mapped_column(_enum(LeaveKind))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime]
    state: Mapped[ExtensionState] = mapped_column(
        _enum(ExtensionState), default=ExtensionState.PENDING
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    decided_at: Mapped[datetime | None]

    official: Mapped[Official] = relationship(foreign_keys=[official_id])
    decided_by: Mapped[Official | None] = relationship(foreign_keys=[decided_by_id])


class SubmissionFigure(Base):
    """One figure given with a submission: versioned with it, never edited.

    `number` is a decimal in canonical text ("376", "12.5"): sums stay exact on both
    databases; `text` holds words (a `text` indicator), `number` a count's 1 or 0.
    """

    __tablename__ = "submission_figures"
    __table_args__ = (UniqueConstraint("submission_id", "indicator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    indicator: Mapped[str] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str | None] = mapped_column(Text)
    # How the figure came: "chat" (asked one by one), "appendix" (read from the .xlsx) or
    # "compiled" (a unit's total, handed up to the level above).
    source: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime]


class StoredFile(Base):
    """A received file, kept on disk under the data directory by its sha256."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    mime_type: Mapped[str] = mapped_column(String(128))
    original_name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(255))  # relative to DATA_DIR
    received_at: Mapped[datetime]
    channel: Mapped[Channel | None] = mapped_column(_enum(Channel))
    # Lets the clerk get the file back through the channel without a new upload.
    channel_file_id: Mapped[str | None] = mapped_column(String(255))
    channel_file_unique_id: Mapped[str | None] = mapped_column(String(128))

    submission: Mapped[Submission | None] = relationship(back_populates="files")


class StatusUpdate(Base):
    """An official's answer about a task's progress."""

    __tablename__ = "status_updates"
    __table_args__ = (Index("ix_status_updates_latest", "task_id", "official_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    state: Mapped[TaskState] = mapped_column(_enum(TaskState))
    percent: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class Reminder(Base):
    """An outbox row: one message to deliver once, identified by its idempotency key."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_due", "status", "due_at"),
        # What was sent about a subject to a person: the desk's "reminded n times".
        Index("ix_reminders_by_subject", "subject_type", "subject_id", "recipient_id"),
        # Whom another worker is writing to, or wrote to a moment ago (`outbox.claim`).
        Index("ix_reminders_by_recipient", "recipient_id", "status", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    # recipient / subject / kind / slot, so writing the same reminder twice is a no-op.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    slot_at: Mapped[datetime]
    due_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[ReminderStatus] = mapped_column(
        _enum(ReminderStatus), default=ReminderStatus.PENDING
    )
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class ConversationState(Base):
    """A multi-step flow in progress for one chat (waiting for a file, for a reason)."""

    __tablename__ = "conversation_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identities.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime]


class AuditEntry(Base):
    """Who did what, when: every status answer, submission, review and binding."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_unit_at", "unit_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    actor_official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SweepMark(Base):
    """How far the reminder sweep of a unit has looked; the next sweep starts there."""

    __tablename__ = "sweep_marks"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    swept_until: Mapped[datetime]


class ChatPrompt(Base):
    """The latest choices offered in a chat without buttons, which a typed number answers."""

    __tablename__ = "chat_prompts"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    external_id: Mapped[str] = mapped_column(String(64))
    # [[label, data], ...] in the order they were numbered.
    choices: Mapped[list[Any]] = mapped_column(default=list)
    sent_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]


class ReceivedUpdate(Base):
    """An update a channel handed us, recorded before acting on it: a channel that may deliver
    the same update twice (Zalo) is answered once, and the raw update is kept."""

    __tablename__ = "received_updates"
    __table_args__ = (UniqueConstraint("channel", "update_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    update_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class UploadLink(Base):
    """A one-time web upload link for one official and one report or task; only its sha256
    is stored."""

    __tablename__ = "upload_links"
    __table_args__ = (
        CheckConstraint("(obligation_id IS NULL) <> (task_id IS NULL)", name="one_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), index=True)
    obligation_id: Mapped[int | None] = mapped_column(ForeignKey("obligations.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))

    official: Mapped[Official] = relationship()


class FileLink(Base):
    """A download link to a stored file, for channels that cannot send documents (Zalo)."""

    __tablename__ = "file_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    # Absolute path on disk, as `OutgoingFile.path` gives it.
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


# The flag obligation_assignees.handed_in is kept by triggers, created with the tables too.
_handed_in.attach(Base.metadata)
