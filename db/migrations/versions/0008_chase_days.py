"""Obligations: how many days after the due date a late submitter is chased (issue 14)

The overdue reminders decay and end: after `chase_days` (30 unless the plan says otherwise)
the late report is the clerk's case. Existing rows get the default.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# In place on SQLite (recreate="never"): obligations is referred to by other tables, and
# rebuilding a referred-to table fails with foreign keys on.


def upgrade() -> None:
    with op.batch_alter_table("obligations", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("chase_days", sa.Integer(), server_default=sa.text("30"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("obligations", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("chase_days")
