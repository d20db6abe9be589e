"""The plan as the office keeps it (issue 16): the office's own name, the decimals of its
percentages and a sample flag on the unit; the assigning document, the expected output and
"illustrative roles" on a task

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 08:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# In place on SQLite (recreate="never"), as in 0007, 0008 and 0011.


def upgrade() -> None:
    with op.batch_alter_table("units", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("office_name", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("percent_decimals", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("sample", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
    with op.batch_alter_table("tasks", schema=None, recreate="never") as batch_op:
        for name in ("basis_number", "basis_issuer", "product"):
            batch_op.add_column(
                sa.Column(name, sa.Text(), server_default=sa.text("''"), nullable=False)
            )
        batch_op.add_column(sa.Column("basis_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "roles_illustrative", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None, recreate="never") as batch_op:
        for name in ("roles_illustrative", "basis_date", "product", "basis_issuer", "basis_number"):
            batch_op.drop_column(name)
    with op.batch_alter_table("units", schema=None, recreate="never") as batch_op:
        for name in ("sample", "percent_decimals", "office_name"):
            batch_op.drop_column(name)
