"""Units in a tree: a unit's parent, reports the child units submit, an assignee's own date

A commune may feed a report of its province: the province's report is submitted by the child
units' collectors, each by the date the commune's plan gives (`forward_due`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 03:18:01.667475
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# In place on SQLite (recreate="never"): rebuilding a table that others refer to fails with
# foreign keys on, and units, obligations and obligation_assignees are all referred to.


def upgrade() -> None:
    with op.batch_alter_table("obligation_assignees", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("own_due", sa.Date(), nullable=True))

    with op.batch_alter_table("obligations", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("children_submit", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a constraint only with its column, written inline; the name is the one
        # the naming convention gives, so the models and the schema compare equal.
        op.execute(
            "ALTER TABLE units ADD COLUMN parent_id INTEGER "
            "CONSTRAINT fk_units_parent_id_units REFERENCES units (id)"
        )
    else:
        op.add_column("units", sa.Column("parent_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_units_parent_id_units"), "units", "units", ["parent_id"], ["id"]
        )
    op.create_index(op.f("ix_units_parent_id"), "units", ["parent_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_units_parent_id"), table_name="units")
    if op.get_bind().dialect.name != "sqlite":
        # SQLite drops an inline constraint with its column.
        op.drop_constraint(op.f("fk_units_parent_id_units"), "units", type_="foreignkey")
    with op.batch_alter_table("units", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("parent_id")

    with op.batch_alter_table("obligations", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("children_submit")

    with op.batch_alter_table("obligation_assignees", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("own_due")
