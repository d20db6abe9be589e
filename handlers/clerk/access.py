"""Who may use the desk: the clerk (the office) and the leaders."""

from __future__ import annotations

from db.models import Official
from handlers.catalog import t
from handlers.office import office_name
from handlers.types import Reply


def may_use_desk(official: Official) -> bool:
    """Clerks and leaders see everything; officials see only their own work."""
    return official.is_clerk or official.is_leader


def refusal(official: Official, lang: str) -> Reply:
    """A polite refusal that tells an official nothing about anybody's work (and names the
    office as the official's unit names it)."""
    text = t("clerk.refuse", lang, office=office_name(official.unit, lang))
    return Reply(text, notice=text)
