"""clerk desk: extended due dates, extension requests, the handed_in flag and its triggers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types
from db.desk import handed_in

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "extension_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("current_due", sa.Date(), nullable=False),
        sa.Column("requested_due", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "approved",
                "refused",
                name="extensionstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", db.types.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(obligation_id IS NULL) <> (task_id IS NULL)",
            name=op.f("ck_extension_requests_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["officials.id"],
            name=op.f("fk_extension_requests_decided_by_id_officials"),
        ),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["obligations.id"],
            name=op.f("fk_extension_requests_obligation_id_obligations"),
        ),
        sa.ForeignKeyConstraint(
            ["official_id"],
            ["officials.id"],
            name=op.f("fk_extension_requests_official_id_officials"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_extension_requests_task_id_tasks")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_extension_requests_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extension_requests")),
    )
    with op.batch_alter_table("extension_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_extension_requests_by_official", ["official_id", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_extension_requests_unit_id"), ["unit_id"], unique=False
        )

    with op.batch_alter_table("obligation_assignees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extended_due", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("handed_in", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            "ix_obligation_assignees_open", ["obligation_id", "handed_in"], unique=False
        )

    with op.batch_alter_table("task_assignees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extended_due", sa.Date(), nullable=True))

    # Submissions made before this revision set the flag once; the triggers keep it after.
    op.execute(sa.text(handed_in.BACKFILL))
    for statement in handed_in.statements(op.get_bind().dialect.name):
        op.execute(sa.text(statement))


def downgrade() -> None:
    for statement in handed_in.drop_statements(op.get_bind().dialect.name):
        op.execute(sa.text(statement))

    with op.batch_alter_table("task_assignees", schema=None) as batch_op:
        batch_op.drop_column("extended_due")

    with op.batch_alter_table("obligation_assignees", schema=None) as batch_op:
        batch_op.drop_index("ix_obligation_assignees_open")
        batch_op.drop_column("handed_in")
        batch_op.drop_column("extended_due")

    with op.batch_alter_table("extension_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_extension_requests_unit_id"))
        batch_op.drop_index("ix_extension_requests_by_official")

    op.drop_table("extension_requests")
