"""Units: the working calendar from the plan (issue 14)

Extra days off, make-up working days, office hours and the rule for a due date that falls on
a day off. Existing units get an empty calendar, the default hours and "keep".

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 05:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# In place on SQLite (recreate="never"): units is referred to by most tables.


def upgrade() -> None:
    with op.batch_alter_table("units", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("days_off", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("working_days", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
        batch_op.add_column(sa.Column("work_start", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("work_end", sa.String(length=5), nullable=True))
        batch_op.add_column(
            sa.Column(
                "deadline_on_day_off",
                sa.String(length=24),
                server_default=sa.text("'keep'"),
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("units", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("deadline_on_day_off")
        batch_op.drop_column("work_end")
        batch_op.drop_column("work_start")
        batch_op.drop_column("working_days")
        batch_op.drop_column("days_off")
