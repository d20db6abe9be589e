"""Whose deadline is when: a subject's due date, moved for one official by an extension."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, case


def effective_due(subject_due: date, extended_due: date | None) -> date:
    """The official's own due date: the later of the subject's and their extension."""
    if extended_due is not None and extended_due > subject_due:
        return extended_due
    return subject_due


def effective_due_sql(
    subject_due: SQLColumnExpression[Any], extended_due: SQLColumnExpression[Any]
) -> ColumnElement[date]:
    """`effective_due` as SQL; a plan that later moves the subject's date still wins if later."""
    return case((extended_due > subject_due, extended_due), else_=subject_due)
