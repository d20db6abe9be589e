"""reminder history by subject: the clerk's "reminded n times" reads only its own rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 17:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Without it SQLite answers /overdue's sent counts through ix_reminders_due (status), that
    # is by reading every reminder ever sent.
    op.create_index(
        "ix_reminders_by_subject",
        "reminders",
        ["subject_type", "subject_id", "recipient_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_reminders_by_subject", table_name="reminders")
