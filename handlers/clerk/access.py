"""Who may use the desk: the clerk (Văn phòng - Thống kê) and the leaders."""

from __future__ import annotations

from db.models import Official
from handlers.catalog import t
from handlers.types import Reply


def may_use_desk(official: Official) -> bool:
    """Clerks and leaders see everything; officials see only their own work."""
    return official.is_clerk or official.is_leader


def refusal(lang: str) -> Reply:
    """A polite refusal that tells an official nothing about anybody's work."""
    text = t("clerk.refuse", lang)
    return Reply(text, notice=text)
