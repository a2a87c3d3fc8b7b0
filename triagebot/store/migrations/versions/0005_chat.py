"""Chat: handled event ids (redeliveries after a reconnect are dropped) and moderators' cards; an
item may get a second reply once the asker answers the details it asked for (outbox no longer unique
per review item).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the chat_events and chat_cards tables."""
    op.create_table(
        "chat_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_events"),
        sa.UniqueConstraint("channel", "event_id", name="uq_chat_events_channel_event"),
    )
    op.create_table(
        "chat_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_item_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("post_id", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_cards"),
        sa.ForeignKeyConstraint(
            ["review_item_id"], ["review_items.id"], name="fk_chat_cards_review_item_id_review_items"
        ),
        sa.UniqueConstraint("review_item_id", "channel", name="uq_chat_cards_item_channel"),
    )

    with op.batch_alter_table("outbox") as batch:  # a child table only: SQLite's rebuild is safe
        batch.drop_constraint("uq_outbox_review_item_id", type_="unique")
        batch.create_index("ix_outbox_review_item_id", ["review_item_id"])


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_review_item_id")
        batch.create_unique_constraint("uq_outbox_review_item_id", ["review_item_id"])
    op.drop_table("chat_cards")
    op.drop_table("chat_events")
