"""sweep marks: where each unit's reminder sweep stopped

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sweep_marks",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("swept_until", db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_sweep_marks_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_sweep_marks")),
    )


def downgrade() -> None:
    op.drop_table("sweep_marks")
