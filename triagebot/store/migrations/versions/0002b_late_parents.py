"""Replies stored before their parent: the parent ids each orphan thread's first message waits for.

Revision ID: 0002b
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002b"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `pending_parents`; threads stored before this revision wait for nothing."""
    op.create_table(
        "pending_parents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wanted", sa.String(998), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pending_parents"),
        sa.ForeignKeyConstraint(
            ["message_pk"], ["messages.id"], name="fk_pending_parents_message_pk_messages"
        ),
    )
    op.create_index("ix_pending_parents_wanted", "pending_parents", ["wanted"])
    op.create_index("ix_pending_parents_message_pk", "pending_parents", ["message_pk"])


def downgrade() -> None:
    """Drop the table again."""
    op.drop_index("ix_pending_parents_message_pk", table_name="pending_parents")
    op.drop_index("ix_pending_parents_wanted", table_name="pending_parents")
    op.drop_table("pending_parents")
