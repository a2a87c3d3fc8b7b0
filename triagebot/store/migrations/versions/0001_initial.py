"""Create the store: sources, threads, messages, triage results, review items and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    """JSON everywhere, JSONB on PostgreSQL."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create every table of the first schema."""
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("location", sa.String(500), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sources"),
        sa.UniqueConstraint("kind", "location", name="uq_sources_kind_location"),
    )
    op.create_table(
        "threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("root_message_id", sa.String(998), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("subject_key", sa.String(500), nullable=False),
        sa.Column("asker", sa.String(320), nullable=False),
        sa.Column("is_question", sa.Boolean(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("last_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_threads"),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name="fk_threads_source_id_sources"),
        sa.UniqueConstraint("root_message_id", name="uq_threads_root_message_id"),
    )
    op.create_index("ix_threads_source_subject", "threads", ["source_id", "subject_key"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("from_asker", sa.Boolean(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("in_reply_to", sa.Text(), nullable=True),
        sa.Column("references", _json(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("original", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("is_question", sa.Boolean(), nullable=False),
        sa.Column("triage_state", sa.String(12), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.CheckConstraint(
            "triage_state IN ('untriaged', 'claimed', 'triaged', 'skipped')",
            name="ck_messages_triage_state",
        ),
        sa.UniqueConstraint("message_id", name="uq_messages_message_id"),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"], name="fk_messages_thread_id_threads"),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name="fk_messages_source_id_sources"),
    )
    op.create_index("ix_messages_triage_state", "messages", ["triage_state", "id"])
    op.create_index("ix_messages_thread_id", "messages", ["thread_id"])
    op.create_table(
        "triage_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(100), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("tips", _json(), nullable=False),
        sa.Column("details", _json(), nullable=False),
        sa.Column("missing", _json(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_triage_results"),
        sa.UniqueConstraint("message_pk", "model_version", name="uq_triage_results_message_model"),
        sa.ForeignKeyConstraint(
            ["message_pk"], ["messages.id"], name="fk_triage_results_message_pk_messages"
        ),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"], name="fk_triage_results_thread_id_threads"),
    )
    op.create_index("ix_triage_results_thread_id", "triage_results", ["thread_id"])
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("draft_text", sa.Text(), nullable=False),
        sa.Column("final_text", sa.Text(), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("tips", _json(), nullable=False),
        sa.Column("missing", _json(), nullable=False),
        sa.Column("tip_keys", sa.Text(), nullable=False),
        sa.Column("missing_keys", sa.Text(), nullable=False),
        sa.Column("triage_result_id", sa.Integer(), nullable=False),
        sa.Column("based_on_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_items"),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'edited', 'rejected', 'sent')", name="ck_review_items_status"
        ),
        sa.UniqueConstraint("thread_id", name="uq_review_items_thread_id"),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"], name="fk_review_items_thread_id_threads"),
        sa.ForeignKeyConstraint(
            ["triage_result_id"],
            ["triage_results.id"],
            name="fk_review_items_triage_result_id_triage_results",
        ),
        sa.ForeignKeyConstraint(
            ["based_on_pk"], ["messages.id"], name="fk_review_items_based_on_pk_messages"
        ),
    )
    op.create_index("ix_review_items_status", "review_items", ["status"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("review_item_id", sa.Integer(), nullable=True),
        sa.Column("from_status", sa.String(10), nullable=True),
        sa.Column("to_status", sa.String(10), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"], name="fk_audit_log_thread_id_threads"),
        sa.ForeignKeyConstraint(
            ["review_item_id"], ["review_items.id"], name="fk_audit_log_review_item_id_review_items"
        ),
    )
    op.create_index("ix_audit_log_thread_id", "audit_log", ["thread_id"])


def downgrade() -> None:
    """Drop everything, children first."""
    for table in ("audit_log", "review_items", "triage_results", "messages", "threads", "sources"):
        op.drop_table(table)
