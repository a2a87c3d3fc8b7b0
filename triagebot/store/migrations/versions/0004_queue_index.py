"""Queue index: the moderation queue's filters (status, language, tips, missing details) in one index.

Counting and filtering 10,000 review items otherwise reads every wide row (draft text, tips JSON).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the covering index of the queue filters."""
    op.create_index(
        "ix_review_items_queue", "review_items", ["status", "language", "tip_keys", "missing_keys"]
    )


def downgrade() -> None:
    """Drop it again."""
    op.drop_index("ix_review_items_queue", table_name="review_items")
