"""Leave asked for in the chat (/nghiphep) and its decision (issue 14)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 05:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leave_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "leave", "sick", "mission", "study", name="leavekind", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
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
        sa.CheckConstraint("starts_on <= ends_on", name=op.f("ck_leave_requests_order")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["officials.id"],
            name=op.f("fk_leave_requests_decided_by_id_officials"),
        ),
        sa.ForeignKeyConstraint(
            ["official_id"], ["officials.id"], name=op.f("fk_leave_requests_official_id_officials")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_leave_requests_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leave_requests")),
    )
    with op.batch_alter_table("leave_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leave_requests_by_official", ["official_id", "state"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_leave_requests_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("leave_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leave_requests_unit_id"))
        batch_op.drop_index("ix_leave_requests_by_official")
    op.drop_table("leave_requests")
