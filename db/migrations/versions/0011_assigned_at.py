"""Assignees: when a plan load gave the person the task or report (issue 14)

The policy sends one assignment notice ("Anh/chị được giao: …") at the first working slot
after it. Rows from before this migration keep NULL and get no notice.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 05:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# In place on SQLite (recreate="never"), as in 0007 and 0008.


def upgrade() -> None:
    for table in ("task_assignees", "obligation_assignees"):
        with op.batch_alter_table(table, schema=None, recreate="never") as batch_op:
            batch_op.add_column(
                sa.Column("assigned_at", db.types.UtcDateTime(timezone=True), nullable=True)
            )


def downgrade() -> None:
    for table in ("obligation_assignees", "task_assignees"):
        with op.batch_alter_table(table, schema=None, recreate="never") as batch_op:
            batch_op.drop_column("assigned_at")
