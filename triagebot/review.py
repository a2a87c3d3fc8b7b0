"""The review service: moderate the drafts the pipeline left pending.

    pending ──approve | edit | reject──▶ approved | edited | rejected ──mark_sent──▶ sent

Drafts come from `triagebot.pipeline` (ingest and work); every change here is one audited transition.
"""

from __future__ import annotations

from triagebot.errors import InputError
from triagebot.store import QueueEntry, QueueFilter, ReviewStatus, ReviewView, Store

_EDITABLE = frozenset({ReviewStatus.PENDING, ReviewStatus.APPROVED, ReviewStatus.EDITED})


def approve(store: Store, item_id: int, *, actor: str, note: str = "") -> ReviewView:
    """Accept the draft as it is: pending → approved."""
    return store.transition(
        item_id,
        allowed_from=frozenset({ReviewStatus.PENDING}),
        to=ReviewStatus.APPROVED,
        actor=actor,
        note=note,
        final_from_draft=True,
    )


def edit(store: Store, item_id: int, text: str, *, actor: str, note: str = "") -> ReviewView:
    """Replace the text that will be sent: pending, approved or edited → edited."""
    if not text.strip():
        raise InputError("the edited reply is empty; reject the item instead")
    return store.transition(
        item_id, allowed_from=_EDITABLE, to=ReviewStatus.EDITED, actor=actor, note=note, final_text=text
    )


def reject(store: Store, item_id: int, reason: str, *, actor: str) -> ReviewView:
    """Send nothing for this question: pending, approved or edited → rejected, with the reason audited."""
    return store.transition(
        item_id, allowed_from=_EDITABLE, to=ReviewStatus.REJECTED, actor=actor, note=reason
    )


def mark_sent(store: Store, item_id: int, *, actor: str, note: str = "") -> ReviewView:
    """Record that the approved or edited reply was delivered: approved or edited → sent."""
    return store.transition(
        item_id,
        allowed_from=frozenset({ReviewStatus.APPROVED, ReviewStatus.EDITED}),
        to=ReviewStatus.SENT,
        actor=actor,
        note=note,
        keep_final=True,
    )


def queue(store: Store, filters: QueueFilter | None = None) -> tuple[QueueEntry, ...]:
    """The review items a moderator asked for, oldest first."""
    return store.queue(filters)


def show(store: Store, item_id: int) -> ReviewView:
    """Everything about one review item."""
    return store.show(item_id)
