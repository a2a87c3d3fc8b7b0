"""The review service: moderate the drafts the pipeline left pending, and queue approved replies.

    pending ──approve | edit | reject | relabel | escalate──▶ approved | edited | rejected | …
    approved / edited ──outbox (`triagebot.outbox`)──▶ sent

Drafts come from `triagebot.pipeline` (ingest and work). Every action is one audited transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from triagebot.config import ListSettings, Settings
from triagebot.core.models import Action, Channel, DetailReport, DraftReply, Language, TipScore
from triagebot.errors import InputError
from triagebot.mail.message import reply_subject
from triagebot.store import QueueEntry, QueueFilter, ReviewStateError, ReviewStatus, ReviewView, Store
from triagebot.store.moderation import Change, ItemFacts, OutboxDraft, moderate

log = logging.getLogger(__name__)

# -- moderation -----------------------------------------------------------------------------------
# Every action is one transaction (`triagebot.store.moderation.moderate`): the item is locked, the
# step checked against its status, one audit row written with actor, action, before and after, and an
# approval's reply put in the outbox. Replies leave only through the outbox (`triagebot.outbox`).


MAX_REASON_TEXT = 2000
MODERATOR_EVIDENCE = "chosen by a moderator"


class RejectReason(StrEnum):
    """Why a moderator rejected a draft; kept with the item so the bot's mistakes can be counted."""

    WRONG_TIP = "wrong-tip"  # the suggested tip does not fit (relabel instead when another one does)
    NOT_A_QUESTION = "not-a-question"
    ALREADY_ANSWERED = "already-answered"
    DUPLICATE = "duplicate"
    NEEDS_HUMAN = "needs-human"  # a person should answer this one
    OTHER = "other"  # the free text says why


class DraftRenderer(Protocol):
    """Renders a draft for tips a moderator chose (`triagebot.app.Engine` satisfies it)."""

    def rerender(
        self, tips: Sequence[TipScore], details: DetailReport, language: Language, channel: Channel
    ) -> tuple[Action, DraftReply]:
        """The action and reply for these tips and the details found earlier."""
        ...


@dataclass(frozen=True, slots=True)
class ReplyAddressing:
    """Where approved replies go: per-list settings, and the domain of the Message-IDs we create."""

    lists: Mapping[str, ListSettings]
    domain: str = "triagebot.invalid"

    @classmethod
    def from_settings(cls, settings: Settings) -> ReplyAddressing:
        """Addressing from the `[lists.*]` settings; Message-IDs in the domain of `[smtp] from_address`."""
        address = settings.smtp.from_address.rsplit("<", 1)[-1].strip(" >")
        domain = address.rpartition("@")[2] or "triagebot.invalid"
        return cls(lists=dict(settings.lists), domain=domain)

    def new_message_id(self) -> str:
        """A fresh, globally unique Message-ID (without <>): the reply's idempotency key."""
        return f"{uuid.uuid4().hex}.triagebot@{self.domain}"

    def draft(self, facts: ItemFacts, body: str) -> OutboxDraft:
        """The outbox row for an approved reply: threading headers, recipients, a fixed Message-ID."""
        headers: dict[str, Any] = {
            "in_reply_to": facts.question_id,
            "references": [*facts.question_references, facts.question_id],
        }
        if facts.channel is Channel.EMAIL:
            settings = self.lists.get(facts.source, ListSettings())
            if settings.reply_to == "list" and settings.address:
                to = [settings.address]
            elif facts.asker:
                to = [facts.asker]
            else:
                raise InputError(f"no address to reply to for the list {facts.source!r}; set [lists] address")
            destination: dict[str, Any] = {"to": to, "cc": [], "list": facts.source}
        else:
            destination = {"channel": facts.source, "thread": facts.root_id}
        return OutboxDraft(
            channel=facts.channel,
            destination=destination,
            subject=reply_subject(facts.subject),
            body=body,
            headers=headers,
            message_id=self.new_message_id(),
        )


DEFAULT_ADDRESSING = ReplyAddressing(lists={})


def _refuse(facts: ItemFacts, step: str, allowed: frozenset[ReviewStatus]) -> None:
    """Raise ReviewStateError unless the item's status allows `step`."""
    if facts.status not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise ReviewStateError(f"review item {facts.id} is {facts.status.value}; {step} needs: {names}")


_PENDING = frozenset({ReviewStatus.PENDING})


def approve(
    store: Store,
    item_id: int,
    *,
    actor: str,
    text: str | None = None,
    note: str = "",
    send_anyway: bool = False,
    addressing: ReplyAddressing | None = None,
) -> ReviewView:
    """Approve a pending draft, as it is or with the moderator's `text`, and queue the reply.

    The item becomes `approved` (draft unchanged) or `edited` (text changed). The reply goes into the
    outbox in the same transaction, so it is queued exactly once even when two moderators approve at
    the same moment (the second is refused). A thread that someone already answered is approved but
    not queued unless `send_anyway` is true.

    Raises:
        ReviewStateError: the item is not pending.
        InputError: the edited text is empty, or there is nobody to send the reply to.

    Example:
        >>> approve(store, 12, actor="hana", text="Please check SELinux first…")  # doctest: +SKIP
    """
    if text is not None:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            raise InputError("the edited reply is empty; reject the item instead")
    plan = addressing or DEFAULT_ADDRESSING

    def decide(facts: ItemFacts) -> Change:
        _refuse(facts, "approving", _PENDING)
        final = facts.draft_text if text is None or text == facts.draft_text else text
        edited = final != facts.draft_text
        queue_it = send_anyway or not facts.answered
        return Change(
            action="edit-approve" if edited else "approve",
            to=ReviewStatus.EDITED if edited else ReviewStatus.APPROVED,
            values={"final_text": final},
            note=note or ("" if queue_it else "already answered in the thread: not queued for sending"),
            before={"status": facts.status.value, "text": facts.draft_text},
            after={
                "status": (ReviewStatus.EDITED if edited else ReviewStatus.APPROVED).value,
                "text": final,
                "queued": queue_it,
                "send_anyway": send_anyway,
            },
            outbox=plan.draft(facts, final) if queue_it else None,
        )

    moderate(store, item_id, actor=actor, decide=decide)
    return store.show(item_id)


def edit(
    store: Store,
    item_id: int,
    text: str,
    *,
    actor: str,
    note: str = "",
    send_anyway: bool = False,
    addressing: ReplyAddressing | None = None,
) -> ReviewView:
    """Approve a pending draft with the moderator's rewritten `text` (see `approve`)."""
    if not text.strip():
        raise InputError("the edited reply is empty; reject the item instead")
    return approve(
        store, item_id, actor=actor, text=text, note=note, send_anyway=send_anyway, addressing=addressing
    )


def reject(
    store: Store, item_id: int, reason: RejectReason | str, text: str = "", *, actor: str
) -> ReviewView:
    """Send nothing for this question, recording a reason code and the moderator's words.

    Allowed while pending, and for an approved item whose reply was never queued (an answered thread).

    Raises:
        InputError: `reason` is not one of `RejectReason`, or `other` comes without text.
        ReviewStateError: the item is decided already, or its reply is in the outbox.
    """
    try:
        code = RejectReason(reason)
    except ValueError:
        codes = ", ".join(r.value for r in RejectReason)
        raise InputError(f"unknown reject reason {reason!r}; use one of: {codes}") from None
    words = " ".join(text.split())[:MAX_REASON_TEXT]
    if code is RejectReason.OTHER and not words:
        raise InputError("say why when the reason is 'other'")
    stored = f"{code.value}: {words}" if words else code.value

    def decide(facts: ItemFacts) -> Change:
        allowed = _PENDING
        if facts.outbox_state is None:
            allowed = frozenset({ReviewStatus.PENDING, ReviewStatus.APPROVED, ReviewStatus.EDITED})
        _refuse(facts, "rejecting", allowed)
        return Change(
            action="reject",
            to=ReviewStatus.REJECTED,
            values={"reason": stored, "final_text": None},
            note=stored,
            before={"status": facts.status.value, "reason": facts.reason},
            after={"status": ReviewStatus.REJECTED.value, "reason": code.value, "text": words},
        )

    moderate(store, item_id, actor=actor, decide=decide)
    return store.show(item_id)


def escalate(store: Store, item_id: int, *, actor: str, note: str = "") -> ReviewView:
    """Mark a pending draft as needing an expert; it stays pending, flagged, for someone who knows.

    Raises:
        ReviewStateError: the item is not pending or is escalated already.
    """

    def decide(facts: ItemFacts) -> Change:
        _refuse(facts, "escalating", _PENDING)
        if facts.escalated:
            raise ReviewStateError(f"review item {facts.id} is already marked as needing an expert")
        return Change(
            action="escalate",
            to=facts.status,
            values={"escalated": True},
            note=note,
            before={"escalated": False},
            after={"escalated": True},
        )

    moderate(store, item_id, actor=actor, decide=decide)
    return store.show(item_id)


def relabel(
    store: Store,
    item_id: int,
    tip_ids: Sequence[str],
    *,
    actor: str,
    renderer: DraftRenderer,
    note: str = "",
) -> ReviewView:
    """Replace a pending draft's tips with the moderator's choice and render the draft again.

    The new draft uses the details found at triage and the item's language and channel; tips keep
    their earlier score when the model had suggested them (0 otherwise). An empty list means no tip
    fits: the draft then asks for missing details, or says nothing. The item stays pending.

    Raises:
        InputError: a tip id the knowledge base does not have.
        ReviewStateError: the item is not pending.
    """
    chosen = list(dict.fromkeys(t.strip() for t in tip_ids if t.strip()))

    def decide(facts: ItemFacts) -> Change:
        _refuse(facts, "relabelling", _PENDING)
        scores = {t.tip_id: t for t in facts.tips}
        tips = tuple(
            TipScore(tip_id=t, score=scores[t].score if t in scores else 0.0, evidence=(MODERATOR_EVIDENCE,))
            for t in chosen
        )
        action, reply = renderer.rerender(tips, facts.details, facts.language, facts.channel)
        tips_json = [{"tip_id": t.tip_id, "score": t.score, "evidence": list(t.evidence)} for t in tips]
        return Change(
            action="relabel",
            to=facts.status,
            values={
                "tips": tips_json,
                "tip_keys": " " + " ".join(chosen) + " " if chosen else " ",
                "action": action.value,
                "draft_text": reply.text,
                "relabelled": True,
            },
            note=note,
            before={"tips": [t.tip_id for t in facts.tips], "draft_text": facts.draft_text},
            after={"tips": chosen, "draft_text": reply.text},
        )

    moderate(store, item_id, actor=actor, decide=decide)
    return store.show(item_id)


def mark_sent(store: Store, item_id: int, *, actor: str, note: str = "") -> ReviewView:
    """Record that an approved reply went out by other means (it was never queued here).

    Raises:
        ReviewStateError: the item is not approved or edited, or its reply is in the outbox (the
            deliverer records that one).
    """

    def decide(facts: ItemFacts) -> Change:
        _refuse(facts, "marking as sent", frozenset({ReviewStatus.APPROVED, ReviewStatus.EDITED}))
        if facts.outbox_state is not None:
            raise ReviewStateError(
                f"review item {facts.id} has its reply in the outbox; the deliverer sends it"
            )
        return Change(
            action="mark-sent",
            to=ReviewStatus.SENT,
            note=note,
            before={"status": facts.status.value},
            after={"status": ReviewStatus.SENT.value},
        )

    moderate(store, item_id, actor=actor, decide=decide)
    return store.show(item_id)


def queue(store: Store, filters: QueueFilter | None = None) -> tuple[QueueEntry, ...]:
    """The review items a moderator asked for, oldest first."""
    return store.queue(filters)


def show(store: Store, item_id: int) -> ReviewView:
    """Everything about one review item."""
    return store.show(item_id)
