"""Store errors a caller may want to tell apart; both are StoreErrors, so the CLI treats them alike."""

from __future__ import annotations

from triagebot.errors import StoreError


class NotFoundError(StoreError):
    """The review item (or other record) asked for does not exist."""


class ReviewStateError(StoreError):
    """A moderation step is not allowed from the item's current status (e.g. approving a sent reply)."""
