"""Slack message ids carry their channel: a Slack `ts` is unique only within one channel.

A message stored as `1709632800.000100` becomes `C0123/1709632800.000100`, and so do the thread
keys, thread roots and awaited parents that name it, so a backfill run after the upgrade finds the
messages it stored before and adds nothing.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SLACK_SOURCE = "SELECT id FROM sources WHERE kind = 'slack'"


def _location(source_column: str) -> str:
    """The channel id of the Slack source a row names."""
    return f"(SELECT location FROM sources WHERE sources.id = {source_column})"


def upgrade() -> None:
    """Prefix every Slack id still stored as a bare `ts` with its channel."""
    op.execute(
        f"UPDATE messages SET message_id = {_location('messages.source_id')} || '/' || message_id "
        f"WHERE source_id IN ({_SLACK_SOURCE}) AND message_id NOT LIKE '%/%'"
    )
    op.execute(
        f"UPDATE messages SET thread_key = {_location('messages.source_id')} || '/' || thread_key "
        f"WHERE source_id IN ({_SLACK_SOURCE}) AND thread_key IS NOT NULL AND thread_key NOT LIKE '%/%'"
    )
    op.execute(
        f"UPDATE threads SET root_message_id = {_location('threads.source_id')} || '/' || root_message_id "
        f"WHERE source_id IN ({_SLACK_SOURCE}) AND root_message_id NOT LIKE '%/%'"
    )
    op.execute(
        "UPDATE pending_parents SET wanted = (SELECT location FROM sources JOIN messages "
        "ON messages.source_id = sources.id WHERE messages.id = pending_parents.message_pk) || '/' || wanted "
        f"WHERE message_pk IN (SELECT id FROM messages WHERE source_id IN ({_SLACK_SOURCE})) "
        "AND wanted NOT LIKE '%/%'"
    )


def downgrade() -> None:
    """Back to bare `ts` ids (two channels' messages with the same `ts` cannot both be kept then)."""
    owner = (
        "(SELECT location FROM sources JOIN messages ON messages.source_id = sources.id "
        "WHERE messages.id = pending_parents.message_pk)"
    )
    op.execute(
        f"UPDATE pending_parents SET wanted = substr(wanted, length({owner}) + 2) "
        f"WHERE message_pk IN (SELECT id FROM messages WHERE source_id IN ({_SLACK_SOURCE})) "
        f"AND wanted LIKE {owner} || '/%'"
    )
    for table, column in (
        ("messages", "message_id"),
        ("messages", "thread_key"),
        ("threads", "root_message_id"),
    ):
        location = _location(f"{table}.source_id")
        op.execute(
            f"UPDATE {table} SET {column} = substr({column}, length({location}) + 2) "
            f"WHERE source_id IN ({_SLACK_SOURCE}) AND {column} LIKE {location} || '/%'"
        )
