"""The review service as the web app's `Moderation` port, and the background outbox deliverer.

Both are thin: every rule (state checks, audit rows, the outbox row written with the approval) lives in
`triagebot.review` and `triagebot.store.moderation`; this module only binds them to the app's store,
engine and settings.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence

from triagebot import review
from triagebot.config import Settings
from triagebot.review import DraftRenderer, RejectReason, ReplyAddressing
from triagebot.store import Store, browse
from triagebot.store.moderation import resolve
from triagebot.store.views import OutboxState

log = logging.getLogger(__name__)


class ReviewService:
    """Review actions for the web app, done through `triagebot.review`."""

    def __init__(
        self, store: Store, renderer: DraftRenderer, addressing: ReplyAddressing | None = None
    ) -> None:
        """Act on `store`; `renderer` re-renders relabelled drafts; `addressing` says where replies go."""
        self.store = store
        self.renderer = renderer
        self.addressing = addressing

    @property
    def reject_reasons(self) -> Sequence[str]:
        """The service's reject reason codes."""
        return tuple(reason.value for reason in RejectReason)

    def approve(self, item_id: int, *, actor: str, text: str | None, send_anyway: bool) -> bool:
        """Approve (with `text` when the moderator edited it); True when a reply was queued."""
        review.approve(
            self.store, item_id, actor=actor, text=text, send_anyway=send_anyway, addressing=self.addressing
        )
        facts = browse.draft_facts(self.store, item_id)
        return facts is not None and facts.outbox_state is not None

    def reject(self, item_id: int, *, actor: str, reason: str, text: str) -> None:
        """Reject with a reason code and free text."""
        review.reject(self.store, item_id, reason, text, actor=actor)

    def relabel(self, item_id: int, tip_ids: Sequence[str], *, actor: str) -> None:
        """New tips, re-rendered draft."""
        review.relabel(self.store, item_id, tip_ids, actor=actor, renderer=self.renderer)

    def escalate(self, item_id: int, *, actor: str, note: str) -> None:
        """Needs an expert."""
        review.escalate(self.store, item_id, actor=actor, note=note)

    def resend(self, outbox_id: int, *, actor: str) -> None:
        """Queue a failed or unknown delivery again (the moderator's explicit decision)."""
        resolve(self.store, outbox_id, actor=actor, to=OutboxState.QUEUED, note="sent again from the web app")

    def mark_delivered(self, outbox_id: int, *, actor: str) -> None:
        """Record that an unknown delivery did arrive."""
        resolve(
            self.store, outbox_id, actor=actor, to=OutboxState.SENT, note="confirmed delivered in the web app"
        )


def start_deliverer(store: Store, settings: Settings, stop: threading.Event) -> threading.Thread | None:
    """Run the outbox deliverer (`triagebot.outbox.watch`) in a daemon thread until `stop` is set.

    Returns None, with a log line, when no SMTP host is configured: approved replies then wait in the
    outbox until `triagebot deliver` runs with one.
    """
    from triagebot import outbox

    if not settings.smtp.host:
        log.warning("no [smtp] host configured: approved replies wait in the outbox")
        return None
    senders = outbox.smtp_senders(settings)
    worker = f"web:{socket.gethostname()}:{os.getpid()}"
    thread = threading.Thread(
        target=outbox.watch,
        kwargs={
            "store": store,
            "settings": settings,
            "worker": worker,
            "interval": settings.web.deliver_seconds,
            "should_stop": stop.is_set,
            "senders": senders,
            "sleep": stop.wait,
        },
        name="outbox-deliverer",
        daemon=True,
    )
    thread.start()
    return thread
