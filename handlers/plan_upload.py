"""A clerk sends the plan workbook in the chat: checked, its changes shown, applied on a tap.

Only a clerk's .xlsx with a "Nhiệm vụ" and a "Cán bộ" sheet is a plan; anything else (an
official's appendix) stays a report submission. The file is kept in the file store and the
chat's flow remembers it until the tap, as a template copy is held (`submission_checks`).
"""

from __future__ import annotations

from db import audit, conversations
from db.clock import FixedClock
from db.files import FileStore
from db.plan import PlanError, apply_plan, preview_plan
from db.plan.source import Plan
from db.plan.workbook import WorkbookError, is_plan_workbook, parse_workbook
from handlers import callbacks
from handlers.catalog import t
from handlers.plan_changes import change_summary
from handlers.plan_errors import plan_error_text, workbook_error_lines
from handlers.presenting import h
from handlers.turn import Turn
from handlers.types import Choice, Reply

CONFIRM_PLAN = "confirm_plan"


def is_plan_upload(turn: Turn, name: str, content: bytes) -> bool:
    """Whether a file a person sent is a plan workbook of a clerk's (else a report)."""
    return turn.official.is_clerk and name.lower().endswith(".xlsx") and is_plan_workbook(content)


async def workbook_sent(turn: Turn, name: str, content: bytes, store: FileStore) -> Reply:
    """Check the workbook and show what it would change, with the button that applies it;
    its mistakes, every one, when it cannot be loaded. Nothing of the plan changes here."""
    assert turn.identity is not None
    sha256, path = store.put(content)
    checked = await _checked_plan(turn, name, store, path)
    if isinstance(checked, Reply):
        return checked
    # The turn's own writes (the chat seen now) stay; the preview's are rolled back.
    await turn.session.flush()
    try:
        preview = await preview_plan(turn.session, checked, FixedClock(turn.now))
    except PlanError as exc:
        return Reply(t("plan.chat.failed", turn.lang, reason=h(plan_error_text(exc, turn.lang))))
    audit.record(
        turn.session,
        at=turn.now,
        actor=turn.actor,
        action="plan.workbook",
        unit_id=turn.official.unit_id,
        official=turn.official,
        target=name[-128:],
        details={"sha256": sha256, "path": path, "changed": preview.changed},
    )
    if not preview.changed:
        return Reply(t("plan.chat.unchanged", turn.lang, file=h(name)))
    data = {"sha256": sha256, "path": path, "name": name}
    await conversations.begin(turn.session, turn.identity.id, CONFIRM_PLAN, data, turn.now)
    text = t(
        "plan.chat.preview",
        turn.lang,
        file=h(name),
        unit=h(preview.unit_name),
        changes=change_summary(preview, turn.lang),
    )
    choices = [
        [Choice(t("plan.chat.apply", turn.lang), callbacks.plan_data(sha256))],
        [Choice(t("button.cancel", turn.lang), callbacks.CANCEL_DATA)],
    ]
    return Reply(text, choices)


async def plan_tapped(turn: Turn, digest: str, store: FileStore) -> list[Reply]:
    """ "Nạp kế hoạch": apply the workbook held for this clerk, if the tap is for it."""
    assert turn.identity is not None
    if not turn.official.is_clerk:
        text = t("refuse.bad_choice", turn.lang)
        return [Reply(text, notice=text)]
    state = await conversations.current(turn.session, turn.identity.id, turn.now)
    if (
        state is None
        or state.kind != CONFIRM_PLAN
        or not str(state.data.get("sha256", "")).startswith(digest)
    ):
        text = t("plan.chat.gone", turn.lang)
        return [Reply(text, notice=text)]
    name = str(state.data["name"])
    checked = await _checked_plan(turn, name, store, str(state.data["path"]))
    await conversations.finish(turn.session, turn.identity.id)
    if isinstance(checked, Reply):
        return [checked]
    try:
        report = await apply_plan(
            turn.session, checked, FixedClock(turn.now), store, actor=turn.actor
        )
    except PlanError as exc:
        reason = h(plan_error_text(exc, turn.lang))
        return [Reply(t("plan.chat.failed", turn.lang, reason=reason), edit=True)]
    text = t(
        "plan.chat.applied",
        turn.lang,
        unit=h(report.unit_name),
        changes=change_summary(report, turn.lang),
    )
    return [Reply(text, edit=True, notice=t("plan.import.done", turn.lang))]


async def _checked_plan(turn: Turn, name: str, store: FileStore, path: str) -> Plan | Reply:
    """The plan of the stored workbook, or the reply that says why it cannot be loaded."""
    stored = store.path_of(path)
    try:
        plan = parse_workbook(stored.read_bytes(), str(stored))
    except WorkbookError as exc:
        lines = workbook_error_lines(exc, name, turn.lang)
        return Reply("\n".join(h(line) for line in lines))
    except OSError:
        return Reply(t("plan.chat.gone", turn.lang))
    own = turn.official.unit
    if plan.spec.unit.code != own.code:
        return Reply(t("plan.chat.other_unit", turn.lang, code=h(plan.spec.unit.code)))
    return plan
