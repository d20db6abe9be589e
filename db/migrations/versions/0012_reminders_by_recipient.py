"""An index of reminders by recipient and status: a claim skips the people another worker is
writing to, or wrote to within a second (issue 15: several processes, one chat at a time)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 08:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A person's pending rows (few), and their latest sent ones by time: both a short range.
    op.create_index(
        "ix_reminders_by_recipient",
        "reminders",
        ["recipient_id", "status", "sent_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_reminders_by_recipient", table_name="reminders")
