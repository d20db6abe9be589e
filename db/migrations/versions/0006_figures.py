"""Structured figures: report indicators and outline, and the figures given with a submission

A report may declare indicators (summed, counted, ratios recomputed from sums, text) and the
headings of its outline; each submission can carry its submitter's figures, versioned with it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 03:10:39.320417
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submission_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_submission_figures_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_figures")),
        sa.UniqueConstraint(
            "submission_id", "indicator", name=op.f("uq_submission_figures_submission_id_indicator")
        ),
    )
    with op.batch_alter_table("submission_figures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_figures_submission_id"), ["submission_id"], unique=False
        )

    # Existing reports declare none: an empty list, written by the server for the rows there.
    with op.batch_alter_table("obligations", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("indicators", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(
            sa.Column("outline", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    # In place: rebuilding obligations would drop a table that others refer to.
    with op.batch_alter_table("obligations", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("outline")
        batch_op.drop_column("indicators")

    with op.batch_alter_table("submission_figures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_figures_submission_id"))

    op.drop_table("submission_figures")
