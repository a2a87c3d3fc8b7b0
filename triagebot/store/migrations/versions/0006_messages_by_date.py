"""Messages by source and date: ingest asks for the newest stored message of a source every batch.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the index of messages by source and date."""
    op.create_index("ix_messages_source_sent", "messages", ["source_id", "sent_at"])


def downgrade() -> None:
    """Drop it again."""
    op.drop_index("ix_messages_source_sent", table_name="messages")
