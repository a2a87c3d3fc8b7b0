"""The SQL store: tables, migrations and a repository that hands out frozen views (never ORM rows).

Example:
    >>> from triagebot.store import open_store
    >>> store = open_store("sqlite:///var/triagebot.sqlite3")  # doctest: +SKIP
"""

from __future__ import annotations

from triagebot.store.errors import NotFoundError, ReviewStateError
from triagebot.store.placement import Placer
from triagebot.store.repository import Batch, Store, make_engine, open_store, utc_now
from triagebot.store.views import (
    AuditEntry,
    Claim,
    MessageView,
    Placement,
    QueueEntry,
    QueueFilter,
    Recorded,
    ReviewStatus,
    ReviewView,
    ThreadView,
    TriageInput,
    TriageState,
)

__all__ = [
    "AuditEntry",
    "Batch",
    "Claim",
    "MessageView",
    "NotFoundError",
    "Placement",
    "Placer",
    "QueueEntry",
    "QueueFilter",
    "Recorded",
    "ReviewStateError",
    "ReviewStatus",
    "ReviewView",
    "Store",
    "ThreadView",
    "TriageInput",
    "TriageState",
    "make_engine",
    "open_store",
    "utc_now",
]
