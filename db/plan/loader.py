"""Writing a plan into the database: an idempotent upsert in one transaction.

Rows are matched by unit code, official key, task code and obligation code. What left the
file is marked inactive, never deleted: submissions, status answers and the audit trail of
past work keep pointing at it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.clock import Clock
from db.files import FileStore
from db.models import (
    AssigneeRole,
    AuditEntry,
    LeavePeriod,
    Obligation,
    ObligationAssignee,
    Official,
    Task,
    TaskAssignee,
    Unit,
)
from db.names import fold_name
from db.plan.calendar import ObligationPlan
from db.plan.forwarding import ForwardLinks, relink
from db.plan.schema import LeaveSpec, OfficialSpec, PlanFile, TaskSpec
from db.plan.source import Plan, PlanError
from db.unit_calendar import UnitCalendar
from db.unit_tree import ancestors

log = logging.getLogger(__name__)


class ParentNotLoaded(PlanError):
    """`unit.parent` names a unit that is not in the database: its plan comes first."""

    def __init__(self, plan: Plan, code: str) -> None:
        super().__init__(
            plan.filename,
            plan.parent_line,
            "unit.parent",
            f"no unit {code!r} in the database: load the parent's plan first "
            "(nạp kế hoạch của tỉnh trước)",
            "parent_not_loaded",
            {"code": code},
            ("unit", plan.spec.unit.code),
        )
        self.code = code


@dataclass
class Tally:
    """How many rows of one kind a load created, changed and deactivated."""

    created: int = 0
    updated: int = 0
    deactivated: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated)


@dataclass
class LoadReport:
    """What a load did, per kind of row."""

    unit_code: str
    unit_name: str
    unit_created: bool = False
    unit_updated: bool = False
    officials: Tally = field(default_factory=Tally)
    tasks: Tally = field(default_factory=Tally)
    obligations: Tally = field(default_factory=Tally)
    # Child collectors linked to, re-dated on, unlinked from parent reports by this load.
    forwarded: ForwardLinks = field(default_factory=ForwardLinks)
    # `unit.parent` when it is not loaded and the unit was let stand alone (see `_parent_id`).
    parent_missing: str | None = None

    @property
    def changed(self) -> bool:
        tallies = (self.officials, self.tasks, self.obligations, self.forwarded)
        return self.unit_created or self.unit_updated or any(t.changed for t in tallies)

    def counts(self) -> dict[str, Any]:
        """The counts as plain data, for the audit entry."""
        return {
            "unit": "created" if self.unit_created else "updated" if self.unit_updated else None,
            "forwarded": vars(self.forwarded),
            **({"parent_missing": self.parent_missing} if self.parent_missing else {}),
            **{
                kind: vars(tally)
                for kind, tally in (
                    ("officials", self.officials),
                    ("tasks", self.tasks),
                    ("obligations", self.obligations),
                )
            },
        }


async def load_plan(
    session: AsyncSession,
    plan: Plan,
    clock: Clock,
    store: FileStore | None = None,
    actor: str = "cli",
) -> LoadReport:
    """Upsert `plan` and commit; on any error nothing is written.

    With a `store`, the report templates the plan names are copied into it, so reminders
    can hand them out wherever the plan file itself ends up. `actor` is the audit's (a clerk
    loading a workbook in the chat: "official:<id>").
    """
    try:
        report = await _apply(session, plan, clock, store, actor)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return report


async def preview_plan(session: AsyncSession, plan: Plan, clock: Clock) -> LoadReport:
    """What `load_plan` would change, changing nothing: the writes are made in a savepoint
    and rolled back, so the caller's own transaction (a chat's turn) goes on."""
    nested = await session.begin_nested()
    try:
        return await _apply(session, plan, clock, None)
    finally:
        await nested.rollback()


async def apply_plan(
    session: AsyncSession, plan: Plan, clock: Clock, store: FileStore | None, actor: str
) -> LoadReport:
    """`load_plan` inside the caller's transaction (a chat's turn), which commits it; on an
    error nothing of the plan is written (a savepoint) and the caller's transaction goes on."""
    nested = await session.begin_nested()
    try:
        report = await _apply(session, plan, clock, store, actor)
    except BaseException:
        await nested.rollback()
        raise
    await nested.commit()
    return report


async def _apply(
    session: AsyncSession,
    plan: Plan,
    clock: Clock,
    store: FileStore | None,
    actor: str = "cli",
) -> LoadReport:
    spec = plan.spec
    report = LoadReport(spec.unit.code, spec.unit.name)
    unit = await session.scalar(select(Unit).where(Unit.code == spec.unit.code))
    parent_id = await _parent_id(session, plan, unit, report)
    unit_values = {
        "name": spec.unit.name,
        "timezone": spec.unit.timezone,
        "reports_to": spec.unit.reports_to,
        "parent_id": parent_id,
        "office_name": spec.unit.office_name,
        "percent_decimals": spec.unit.percent_decimals,
        "sample": spec.unit.sample,
        **plan.calendar.columns(),
    }
    old_parent_id = unit.parent_id if unit is not None else None
    if unit is None:
        unit = Unit(code=spec.unit.code, **unit_values)
        session.add(unit)
        await session.flush()
        report.unit_created = True
    else:
        report.unit_updated = _assign(unit, unit_values)

    officials = await _sync_officials(session, unit.id, spec.officials, report.officials)
    # Assignee rows refer to officials by id, so new officials need theirs first.
    await session.flush()
    ids = {key: official.id for key, official in officials.items()}
    # New assignee rows are stamped: the policy's assignment notice is sent after this moment.
    now = clock.now()
    await _sync_tasks(session, unit.id, spec.tasks, ids, report.tasks, now, plan.calendar)
    templates = _stored_templates(plan, store)
    await _sync_obligations(session, unit.id, plan, ids, templates, report.obligations, now)
    await session.flush()
    # As a parent, its reports may take its children's collectors; as a child, its reports
    # may feed its parent's (and no longer the old parent's, if it moved).
    parents = {p for p in (unit.id, parent_id, old_parent_id) if p is not None}
    report.forwarded = await relink(session, parents, now)

    if report.changed:
        session.add(
            AuditEntry(
                unit_id=unit.id,
                actor=actor,
                action="plan.load",
                target=plan.filename[-128:],
                at=clock.now(),
                details={**report.counts(), "file": plan.filename},
            )
        )
    await session.flush()
    return report


async def _parent_id(
    session: AsyncSession, plan: Plan, unit: Unit | None, report: LoadReport
) -> int | None:
    """The id of the unit `unit.parent` names; refused when it is missing or below this unit.

    A database holding no other unit lets the plan stand alone (a one-commune trial, the
    bundled example): `report.parent_missing` says so, and loading it again after the
    parent's puts it in the tree.
    """
    code = plan.spec.unit.parent
    if code is None:
        return None
    parent = await session.scalar(select(Unit).where(Unit.code == code))
    if parent is None:
        other = await session.scalar(
            select(Unit.id).where(Unit.code != plan.spec.unit.code).limit(1)
        )
        if other is not None:
            raise ParentNotLoaded(plan, code)
        report.parent_missing = code
        log.warning("unit %s stands alone: its parent %s is not loaded", plan.spec.unit.code, code)
        return None
    if unit is not None and unit.id in {
        parent.id,
        *(a.id for a in await ancestors(session, parent.id)),
    }:
        raise PlanError(
            plan.filename,
            plan.parent_line,
            "unit.parent",
            f"unit {code!r} is below {unit.code!r} in the tree; a unit cannot be above itself",
            "parent_below",
            {"code": code, "unit": unit.code},
            ("unit", unit.code),
        )
    return parent.id


def _assign(row: object, values: Mapping[str, Any]) -> bool:
    """Set the attributes that differ; True if any did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _official_values(spec: OfficialSpec) -> dict[str, Any]:
    return {
        "full_name": spec.name,
        "name_folded": fold_name(spec.name),
        "position": spec.position,
        "department": spec.department,
        "is_official": "official" in spec.roles,
        "is_clerk": "clerk" in spec.roles,
        "is_leader": "leader" in spec.roles,
        "language": spec.language,
        "active": spec.active,
    }


def _leave_rows(leave: Iterable[LeaveSpec]) -> list[LeavePeriod]:
    return [LeavePeriod(starts_on=p.starts, ends_on=p.ends, note=p.note) for p in leave]


def _sync_leaves(official: Official, leave: Sequence[LeaveSpec]) -> bool:
    wanted = sorted((p.starts, p.ends, p.note) for p in leave)
    current = sorted((p.starts_on, p.ends_on, p.note) for p in official.leaves)
    if wanted == current:
        return False
    # delete-orphan removes the old rows; leave periods carry no history worth keeping.
    official.leaves = _leave_rows(leave)
    return True


async def _sync_officials(
    session: AsyncSession, unit_id: int, specs: Sequence[OfficialSpec], tally: Tally
) -> dict[str, Official]:
    rows = await session.scalars(
        select(Official).where(Official.unit_id == unit_id).options(selectinload(Official.leaves))
    )
    existing = {official.key: official for official in rows}
    for spec in specs:
        values = _official_values(spec)
        official = existing.get(spec.key)
        if official is None:
            official = Official(
                unit_id=unit_id, key=spec.key, leaves=_leave_rows(spec.leave), **values
            )
            session.add(official)
            existing[spec.key] = official
            tally.created += 1
        else:
            changed = _assign(official, values)
            if _sync_leaves(official, spec.leave) or changed:
                tally.updated += 1
    in_file = {spec.key for spec in specs}
    tally.deactivated += _deactivate(o for key, o in existing.items() if key not in in_file)
    return existing


def _deactivate(rows: Iterable[Official | Task | Obligation]) -> int:
    count = 0
    for row in rows:
        if row.active:
            row.active = False
            count += 1
    return count


def _task_values(spec: TaskSpec, calendar: UnitCalendar) -> dict[str, Any]:
    return {
        "title": spec.title,
        "detail": spec.detail,
        "source_ref": spec.source,
        # Moved off a day off under `deadline_on_day_off: next_working_day`, like reports'.
        "due_date": calendar.due(spec.due) if spec.due is not None else None,
        "checkin_rrule": spec.checkin,
        "checkin_start": spec.checkin_from,
        "priority": spec.priority,
        "basis_number": spec.basis.number if spec.basis else "",
        "basis_date": spec.basis.date if spec.basis else None,
        "basis_issuer": spec.basis.issuer if spec.basis else "",
        "product": spec.product,
        "roles_illustrative": spec.roles_illustrative,
        "active": True,
    }


def _task_roles(spec: TaskSpec, ids: Mapping[str, int]) -> dict[int, AssigneeRole]:
    roles = {ids[key]: AssigneeRole.LEAD for key in spec.lead}
    roles.update({ids[key]: AssigneeRole.COORDINATE for key in spec.coordinate})
    return roles


def _sync_task_assignees(task: Task, wanted: Mapping[int, AssigneeRole], now: datetime) -> bool:
    changed = False
    for row in list(task.assignees):
        if row.official_id not in wanted:
            task.assignees.remove(row)
            changed = True
        elif row.role != wanted[row.official_id]:
            # Updated in place: a delete plus insert would trip the (task, official) unique key.
            row.role = wanted[row.official_id]
            changed = True
    present = {row.official_id for row in task.assignees}
    for official_id, role in wanted.items():
        if official_id not in present:
            task.assignees.append(TaskAssignee(official_id=official_id, role=role, assigned_at=now))
            changed = True
    return changed


async def _sync_tasks(
    session: AsyncSession,
    unit_id: int,
    specs: Sequence[TaskSpec],
    ids: Mapping[str, int],
    tally: Tally,
    now: datetime,
    calendar: UnitCalendar,
) -> None:
    rows = await session.scalars(
        select(Task).where(Task.unit_id == unit_id).options(selectinload(Task.assignees))
    )
    existing = {task.code: task for task in rows}
    for spec in specs:
        values = _task_values(spec, calendar)
        wanted = _task_roles(spec, ids)
        task = existing.get(spec.code)
        if task is None:
            assignees = [
                TaskAssignee(official_id=i, role=r, assigned_at=now) for i, r in wanted.items()
            ]
            session.add(Task(unit_id=unit_id, code=spec.code, assignees=assignees, **values))
            tally.created += 1
        else:
            changed = _assign(task, values)
            if _sync_task_assignees(task, wanted, now) or changed:
                tally.updated += 1
    in_file = {spec.code for spec in specs}
    tally.deactivated += _deactivate(t for code, t in existing.items() if code not in in_file)


def _stored_templates(plan: Plan, store: FileStore | None) -> dict[str, dict[str, str | None]]:
    """Each template the plan names: its file name, the plan's path, and where it is stored."""
    found: dict[str, dict[str, str | None]] = {}
    for item in plan.obligations:
        for source in item.templates:
            if source in found:
                continue
            file = plan.base_dir / source
            stored = store.put(file.read_bytes())[1] if store and file.is_file() else None
            found[source] = {"name": PurePosixPath(source).name, "source": source, "path": stored}
    return found


def _obligation_values(
    item: ObligationPlan, ids: Mapping[str, int], templates: Mapping[str, dict[str, str | None]]
) -> dict[str, Any]:
    return {
        "report_code": item.report_code,
        "kind": item.kind,
        "title": item.title,
        "due_date": item.due_date,
        "window_start": item.window_start,
        "window_end": item.window_end,
        "templates": [templates[source] for source in item.templates],
        "collector_id": ids[item.collector],
        "forward_to": item.forward_to,
        "forward_due": item.forward_due,
        "indicators": list(item.indicators),
        "outline": list(item.outline),
        "children_submit": item.children_submit,
        "chase_days": item.chase_days,
        "active": True,
    }


def _submitter_ids(spec: PlanFile, item: ObligationPlan, ids: Mapping[str, int]) -> set[int]:
    report = next(r for r in spec.reports if r.code == item.report_code)
    return {ids[official.key] for official in spec.submitters_of(report)}


def _sync_obligation_assignees(
    obligation: Obligation, wanted: set[int], own: set[int], now: datetime
) -> bool:
    changed = False
    for row in list(obligation.assignees):
        # Other units' people (a child's collector) are linked by `forwarding.relink`.
        if row.official_id not in wanted and row.official_id in own:
            obligation.assignees.remove(row)
            changed = True
    present = {row.official_id for row in obligation.assignees}
    for official_id in sorted(wanted - present):
        obligation.assignees.append(ObligationAssignee(official_id=official_id, assigned_at=now))
        changed = True
    return changed


def _kept_templates(
    wanted: list[dict[str, str | None]], stored: list[dict[str, Any]] | None
) -> list[dict[str, str | None]]:
    """The templates, keeping the stored copy of one whose file is not beside this plan (a
    workbook sent in the chat has no templates beside it; the copy loaded before stays)."""
    before = {entry.get("source"): entry for entry in stored or []}
    kept = []
    for entry in wanted:
        old = before.get(entry["source"])
        if entry["path"] is None and old is not None and old.get("path"):
            entry = {**entry, "path": old["path"]}
        kept.append(entry)
    return kept


async def _sync_obligations(
    session: AsyncSession,
    unit_id: int,
    plan: Plan,
    ids: Mapping[str, int],
    templates: Mapping[str, dict[str, str | None]],
    tally: Tally,
    now: datetime,
) -> None:
    rows = await session.scalars(
        select(Obligation)
        .where(Obligation.unit_id == unit_id)
        .options(selectinload(Obligation.assignees))
    )
    existing = {obligation.code: obligation for obligation in rows}
    own = set(ids.values())
    for item in plan.obligations:
        values = _obligation_values(item, ids, templates)
        wanted = _submitter_ids(plan.spec, item, ids)
        obligation = existing.get(item.code)
        if obligation is not None:
            values["templates"] = _kept_templates(values["templates"], obligation.templates)
        if obligation is None:
            assignees = [ObligationAssignee(official_id=i, assigned_at=now) for i in sorted(wanted)]
            session.add(Obligation(unit_id=unit_id, code=item.code, assignees=assignees, **values))
            tally.created += 1
        else:
            changed = _assign(obligation, values)
            if _sync_obligation_assignees(obligation, wanted, own, now) or changed:
                tally.updated += 1
    in_file = {item.code for item in plan.obligations}
    tally.deactivated += _deactivate(o for code, o in existing.items() if code not in in_file)
