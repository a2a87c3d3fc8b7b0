"""What the web app needs from the review service, as a Protocol the composition root fills in.

The pages only read through `triagebot.store.browse` and change state only through these calls, so
every review action runs the service's rules (state checks, audit rows, the outbox) and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Moderation(Protocol):
    """Review actions on behalf of a signed-in moderator (`actor` is the account name)."""

    @property
    def reject_reasons(self) -> Sequence[str]:
        """The reason codes a rejection may carry, in the order the form lists them."""
        ...

    def approve(self, item_id: int, *, actor: str, text: str | None, send_anyway: bool) -> bool:
        """Approve the draft (or `text`, when edited); True when a reply was queued for sending."""
        ...

    def reject(self, item_id: int, *, actor: str, reason: str, text: str) -> None:
        """Reject with one of `reject_reasons` and the moderator's own words."""
        ...

    def relabel(self, item_id: int, tip_ids: Sequence[str], *, actor: str) -> None:
        """Replace the suggested tips and render the draft again from them."""
        ...

    def escalate(self, item_id: int, *, actor: str, note: str) -> None:
        """Mark the item as needing an expert."""
        ...

    def resend(self, outbox_id: int, *, actor: str) -> None:
        """Queue a failed or unknown delivery again, on a moderator's explicit word."""
        ...

    def mark_delivered(self, outbox_id: int, *, actor: str) -> None:
        """Record that an unknown delivery did arrive, so it is never sent again."""
        ...
