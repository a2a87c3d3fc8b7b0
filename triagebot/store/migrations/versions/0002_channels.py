"""Messages from every channel: a chat thread's key and whether a bot posted the message.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `thread_key` and `is_bot` to messages; stored messages are nobody's bot and have no key."""
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("thread_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("is_bot", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    """Drop the two columns again."""
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("is_bot")
        batch.drop_column("thread_key")
