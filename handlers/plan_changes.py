"""What loading a plan changes, in a line: "thêm 2 nhiệm vụ, sửa 1 nhiệm vụ, 1 người mới"."""

from __future__ import annotations

from db.plan import LoadReport, Tally
from handlers.catalog import t


def change_summary(report: LoadReport, language: str) -> str:
    """The changes of a load (or of its preview), in the order a clerk reads a plan."""
    parts: list[str] = []
    if report.unit_created:
        parts.append(t("plan.changes.unit_created", language))
    elif report.unit_updated:
        parts.append(t("plan.changes.unit_updated", language))
    kinds: tuple[tuple[str, Tally], ...] = (
        ("tasks", report.tasks),
        ("officials", report.officials),
        ("obligations", report.obligations),
    )
    for kind, tally in kinds:
        for change in ("created", "updated", "deactivated"):
            count = getattr(tally, change)
            if count:
                parts.append(t(f"plan.changes.{kind}_{change}", language, count=count))
    return ", ".join(parts) if parts else t("plan.changes.none", language)
