"""Review app: user accounts, a richer audit log, review reasons and flags, and the outbox.

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    """JSON everywhere, JSONB on PostgreSQL."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Add the accounts and outbox tables and the new review and audit columns."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.CheckConstraint("role IN ('moderator', 'maintainer', 'admin')", name="ck_users_role"),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    # audit_log is a child table only, so SQLite's copy-and-rename batch mode is safe for it.
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("thread_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("action", sa.String(40), server_default="", nullable=False))
        batch.add_column(sa.Column("before", _json(), nullable=True))
        batch.add_column(sa.Column("after", _json(), nullable=True))
    # review_items is referenced by other tables: plain ADD COLUMNs only, never a table rebuild.
    op.add_column("review_items", sa.Column("reason", sa.Text(), nullable=True))
    op.add_column(
        "review_items", sa.Column("escalated", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        "review_items", sa.Column("relabelled", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_item_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("destination", _json(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", _json(), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.CheckConstraint(
            "state IN ('queued', 'sending', 'sent', 'retry', 'failed', 'unknown')", name="ck_outbox_state"
        ),
        sa.UniqueConstraint("review_item_id", name="uq_outbox_review_item_id"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
        sa.ForeignKeyConstraint(
            ["review_item_id"], ["review_items.id"], name="fk_outbox_review_item_id_review_items"
        ),
    )
    op.create_index("ix_outbox_state_due", "outbox", ["state", "next_attempt_at"])


def downgrade() -> None:
    """Drop the outbox and accounts and the added columns (audit rows without a thread are removed)."""
    op.drop_table("outbox")
    for column in ("relabelled", "escalated", "reason"):
        op.drop_column("review_items", column)
    op.execute("DELETE FROM audit_log WHERE thread_id IS NULL")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("after")
        batch.drop_column("before")
        batch.drop_column("action")
        batch.alter_column("thread_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("users")
