"""SQLAlchemy tables of the review store; these ORM rows never leave `triagebot.store`.

The schema itself is created by the Alembic migrations next to this module; a test checks that the two
agree, so a column added here without a migration fails the build.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from triagebot.store.views import OutboxState, ReviewStatus, TriageState, UserRole

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; a naive value is taken to be UTC already."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """SQLite hands back naive values: mark them as the UTC they were stored in."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONDoc = JSON().with_variant(JSONB(), "postgresql")


def _in(column: str, enum: type[StrEnum]) -> str:
    """A CHECK expression that keeps a status column within its enum."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


class Base(DeclarativeBase):
    """Declarative base with stable constraint names, so migrations can refer to them."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime}


class SourceRow(Base):
    """A list or chat channel that messages come from (`kind` is the channel)."""

    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("kind", "location", name="uq_sources_kind_location"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ThreadRow(Base):
    """A conversation: its starter, the normalised subject used for subject threading, and its asker."""

    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_source_subject", "source_id", "subject_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    root_message_id: Mapped[str] = mapped_column(String(998), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    subject_key: Mapped[str] = mapped_column(String(500))
    asker: Mapped[str] = mapped_column(String(320))
    is_question: Mapped[bool] = mapped_column(Boolean)
    answered: Mapped[bool] = mapped_column(Boolean)
    message_count: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessageRow(Base):
    """One stored message: what the author wrote, the decoded body, the raw bytes and its triage state."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(_in("triage_state", TriageState), name="triage_state"),
        Index("ix_messages_triage_state", "triage_state", "id"),
        Index("ix_messages_source_sent", "source_id", "sent_at"),  # the newest message of a source
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    author: Mapped[str] = mapped_column(Text)
    from_asker: Mapped[bool] = mapped_column(Boolean)
    subject: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[list[str]] = mapped_column(JSONDoc)
    text: Mapped[str] = mapped_column(Text)
    original: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    origin: Mapped[str] = mapped_column(Text)
    is_question: Mapped[bool] = mapped_column(Boolean)
    thread_key: Mapped[str | None] = mapped_column(String(200))  # the channel's thread id, where it has one
    is_bot: Mapped[bool] = mapped_column(Boolean, server_default=false())
    triage_state: Mapped[str] = mapped_column(String(12))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PendingParentRow(Base):
    """A parent id that the first message of an orphan thread names but that is not stored yet.

    When a message with that id arrives, the orphan thread joins its thread (see `core.threads.adopt`).
    """

    __tablename__ = "pending_parents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wanted: Mapped[str] = mapped_column(String(998), index=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)


class TriageResultRow(Base):
    """What the engine said about a question (or a question plus the asker's follow-ups)."""

    __tablename__ = "triage_results"
    __table_args__ = (
        UniqueConstraint("message_pk", "model_version", name="uq_triage_results_message_model"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    model_version: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(20))
    tips: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    details: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    missing: Mapped[list[str]] = mapped_column(JSONDoc)
    reply: Mapped[str] = mapped_column(Text)
    why: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReviewItemRow(Base):
    """The single review item of a question thread: the current draft and its moderation state."""

    __tablename__ = "review_items"
    __table_args__ = (
        CheckConstraint(_in("status", ReviewStatus), name="status"),
        # Covers the queue's filters, so counting 10,000 items never reads the wide draft rows.
        Index("ix_review_items_queue", "status", "language", "tip_keys", "missing_keys"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), unique=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    draft_text: Mapped[str] = mapped_column(Text)
    final_text: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    tips: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    missing: Mapped[list[str]] = mapped_column(JSONDoc)
    # " tip-a tip-b " and " os specifics ": portable LIKE filters on both SQLite and PostgreSQL.
    tip_keys: Mapped[str] = mapped_column(Text)
    missing_keys: Mapped[str] = mapped_column(Text)
    triage_result_id: Mapped[int] = mapped_column(ForeignKey("triage_results.id"))
    based_on_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    # "wrong-tip: the question is about …": the reject reason code, then the moderator's words.
    reason: Mapped[str | None] = mapped_column(Text)
    escalated: Mapped[bool] = mapped_column(Boolean, server_default=false())
    relabelled: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditRow(Base):
    """One recorded action: who, when, what (`action`), the state before and after, and why.

    `thread_id` is empty for actions that concern no thread (an account created, a delivery resolved).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id"), index=True)
    review_item_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id"))
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str | None] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(40), server_default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)


class UserRow(Base):
    """A moderator account: Argon2 password hash, role, and the login throttle's counters."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", UserRole), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(12))
    failed_logins: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxRow(Base):
    """One approved reply on its way out; `message_id` is fixed before any attempt (the idempotency key)."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_in("state", OutboxState), name="state"),
        Index("ix_outbox_state_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # one row per reply sent for the item: a second only after the asker answered a sent question
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    # where the channel delivers it: {"to": [...], "cc": [...], "list": "..."} or {"channel": "...", ...}
    destination: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChatEventRow(Base):
    """A chat event already handled, by its id, so a redelivery after a reconnect is handled once."""

    __tablename__ = "chat_events"
    __table_args__ = (UniqueConstraint("channel", "event_id", name="uq_chat_events_channel_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatCardRow(Base):
    """The message that shows a review item to moderators in a chat channel, so it can be updated."""

    __tablename__ = "chat_cards"
    __table_args__ = (UniqueConstraint("review_item_id", "channel", name="uq_chat_cards_item_channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"))
    channel: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(200))  # the moderators' channel id
    post_id: Mapped[str] = mapped_column(String(200))  # the card message's id (Slack ts, Discord snowflake)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Core handles on the tables, for bulk statements: ORM bulk inserts with RETURNING cost far more per row.
SOURCES = cast(Table, SourceRow.__table__)
THREADS = cast(Table, ThreadRow.__table__)
MESSAGES = cast(Table, MessageRow.__table__)
TRIAGE_RESULTS = cast(Table, TriageResultRow.__table__)
REVIEW_ITEMS = cast(Table, ReviewItemRow.__table__)
AUDIT_LOG = cast(Table, AuditRow.__table__)
USERS = cast(Table, UserRow.__table__)
OUTBOX = cast(Table, OutboxRow.__table__)
PENDING_PARENTS = cast(Table, PendingParentRow.__table__)
