"""What the store hands out: states as enums and frozen views, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from triagebot.core.models import Action, Channel, Detail, InboundMessage, Language, TipScore


class TriageState(StrEnum):
    """Where a stored message stands with respect to triage."""

    UNTRIAGED = "untriaged"  # waiting for the engine: a question, or the asker's follow-up
    CLAIMED = "claimed"  # a worker has taken it
    TRIAGED = "triaged"  # a triage result exists
    SKIPPED = "skipped"  # not for triage: an answer, an orphan reply, or a follow-up after an answer


class ReviewStatus(StrEnum):
    """Moderation state of the one review item a question thread has."""

    PENDING = "pending"  # drafted, waiting for a moderator
    APPROVED = "approved"  # the draft goes out as it is
    EDITED = "edited"  # a moderator rewrote the text; it goes out as edited
    REJECTED = "rejected"  # nothing goes out
    SENT = "sent"  # delivered


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which review items to list; every field left as None matches everything."""

    tip: str | None = None
    language: Language | None = None
    source: str | None = None
    missing: Detail | None = None
    status: ReviewStatus | None = None
    answered: bool | None = None  # True: only threads someone else replied in; False: only the others
    limit: int | None = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One line of the moderation queue."""

    id: int
    thread_id: int
    subject: str
    asker: str
    source: str
    language: Language
    channel: Channel
    action: Action
    tips: tuple[TipScore, ...]
    missing: tuple[Detail, ...]
    status: ReviewStatus
    answered: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded change or note on a review."""

    at: datetime
    actor: str
    from_status: ReviewStatus | None
    to_status: ReviewStatus | None
    note: str


@dataclass(frozen=True, slots=True)
class ReviewView:
    """Everything a moderator needs to decide on one review item."""

    id: int
    thread_id: int
    status: ReviewStatus
    subject: str
    asker: str
    source: str
    language: Language
    channel: Channel
    action: Action
    answered: bool
    question: str  # the starter's words followed by the asker's follow-ups
    tips: tuple[TipScore, ...]
    missing: tuple[Detail, ...]
    why: str
    model_version: str
    draft_text: str
    final_text: str | None
    created_at: datetime
    updated_at: datetime
    history: tuple[AuditEntry, ...]


@dataclass(frozen=True, slots=True)
class MessageView:
    """A stored message's place in its thread and its triage state."""

    pk: int
    message_id: str
    thread_id: int
    author: str
    subject: str
    is_question: bool
    from_asker: bool
    triage_state: TriageState
    claimed_by: str | None


@dataclass(frozen=True, slots=True)
class ThreadView:
    """A thread with its messages in arrival order."""

    id: int
    source: str
    root_message_id: str
    subject_key: str
    asker: str
    is_question: bool
    answered: bool
    message_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TriageInput:
    """A message due for triage, with the text the engine should see (starter plus asker follow-ups)."""

    message_pk: int
    thread_id: int
    message: InboundMessage


@dataclass(frozen=True, slots=True)
class Claim:
    """Messages one worker has taken; `token` proves the claim when the results are written."""

    token: str
    message_pks: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Placement:
    """What storing one batch of records did."""

    new: int
    duplicates: int
    to_triage: tuple[int, ...]  # primary keys of the new messages that wait for triage, in order
    notes: tuple[tuple[int, str], ...] = ()  # (thread id, note) for the audit log


@dataclass(frozen=True, slots=True)
class Recorded:
    """What writing one batch of triage results did."""

    recorded: int  # results stored
    lost: int  # results dropped because the claim had passed to another worker
    drafted: int  # review items created
    updated: int  # pending drafts rewritten after a follow-up from the asker


class UserRole(StrEnum):
    """What a moderator account may do: review, plus maintain the knowledge base, plus administer."""

    MODERATOR = "moderator"
    MAINTAINER = "maintainer"
    ADMIN = "admin"


class OutboxState(StrEnum):
    """Delivery state of one approved reply; only `queued` and due `retry` rows are ever attempted.

    A row is marked `sending` (and committed) before the SMTP conversation starts and `sent` after it.
    A row found still `sending` after a crash may or may not have reached the server, so it is never
    retried automatically: it becomes `unknown` and waits for a moderator (exactly once, not at least once).
    """

    QUEUED = "queued"  # waiting for its first attempt
    SENDING = "sending"  # an attempt is under way (or its process died during it)
    SENT = "sent"  # the server accepted it
    RETRY = "retry"  # a temporary failure; tried again at next_attempt_at
    FAILED = "failed"  # a permanent failure (5xx, or too many attempts); not retried
    UNKNOWN = "unknown"  # the sender died mid-attempt; a moderator decides whether to resend
