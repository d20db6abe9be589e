"""Zalo and the web app: numbered prompts, received updates, upload and file links, routing

A chat without buttons answers the latest numbered prompt; Zalo may hand the same update out
twice, so each is recorded before it is acted on; officials upload documents through one-time
web links and fetch files through download links; reminders follow the channel used last.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 02:37:06.747643
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("telegram", "zalo", "console", name="channel", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("sent_at", db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", db.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_prompts")),
        sa.UniqueConstraint(
            "channel", "external_id", name=op.f("uq_chat_prompts_channel_external_id")
        ),
    )
    op.create_table(
        "file_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("created_at", db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_file_links_token_hash")),
    )
    op.create_table(
        "received_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("telegram", "zalo", "console", name="channel", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("update_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_updates")),
        sa.UniqueConstraint(
            "channel", "update_id", name=op.f("uq_received_updates_channel_update_id")
        ),
    )
    with op.batch_alter_table("received_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_received_updates_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "upload_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("created_at", db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(obligation_id IS NULL) <> (task_id IS NULL)", name=op.f("ck_upload_links_one_subject")
        ),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["obligations.id"],
            name=op.f("fk_upload_links_obligation_id_obligations"),
        ),
        sa.ForeignKeyConstraint(
            ["official_id"], ["officials.id"], name=op.f("fk_upload_links_official_id_officials")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_upload_links_submission_id_submissions"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_upload_links_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_upload_links_token_hash")),
    )
    with op.batch_alter_table("upload_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_upload_links_official_id"), ["official_id"], unique=False
        )

    with op.batch_alter_table("channel_identities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_seen_at", db.types.UtcDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("officials", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "preferred_channel",
                sa.Enum(
                    "telegram", "zalo", "console", name="channel", native_enum=False, length=16
                ),
                nullable=True,
            )
        )


def downgrade() -> None:
    # ALTER TABLE DROP COLUMN (SQLite 3.35+): rebuilding officials would drop a table that
    # other tables refer to, which SQLite refuses while foreign keys are enforced.
    with op.batch_alter_table("officials", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("preferred_channel")

    with op.batch_alter_table("channel_identities", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("last_seen_at")

    with op.batch_alter_table("upload_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_links_official_id"))

    op.drop_table("upload_links")
    with op.batch_alter_table("received_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_received_updates_received_at"))

    op.drop_table("received_updates")
    op.drop_table("file_links")
    op.drop_table("chat_prompts")
