"""A task's assigning document ("Căn cứ") and expected output ("Sản phẩm"), in words."""

from __future__ import annotations

from db.clock import format_date
from db.models import Task
from handlers.catalog import t
from handlers.presenting import h


def basis_text(task: Task, lang: str) -> str:
    """ "số …/TB-UBND ngày 12/01/2024 của UBND xã Ba Bích"; empty when the plan gives none."""
    parts = []
    if task.basis_number:
        parts.append(t("plan.basis.number", lang, number=task.basis_number))
    if task.basis_date is not None:
        parts.append(t("plan.basis.date", lang, date=format_date(task.basis_date)))
    if task.basis_issuer:
        parts.append(t("plan.basis.issuer", lang, issuer=task.basis_issuer))
    return " ".join(parts)


def task_document_lines(task: Task, lang: str) -> list[str]:
    """The lines of a task's basis and product under its prompt (HTML-escaped), if any."""
    lines = []
    if basis := basis_text(task, lang):
        lines.append(t("plan.show.basis", lang, basis=h(basis)))
    if task.product:
        lines.append(t("plan.show.product", lang, product=h(task.product)))
    return lines
