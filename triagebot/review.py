"""The review service: ingest archives into the store, triage what waits, and moderate the drafts.

    records ──ingest──▶ messages + threads ──triage (inline or by workers)──▶ triage results
                                                     └──▶ one review item per question thread (pending)
    moderator: approve | edit | reject ──▶ … ──mark_sent──▶ sent

Each ingest batch is one transaction (store, thread, triage, draft, audit), so an ingest killed
half-way and run again ends with exactly the rows of one clean run. Workers claim messages so that
any number of them on one database never triage the same message twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from triagebot.core.models import Channel, InboundMessage, TriageResult
from triagebot.errors import InputError, StoreError
from triagebot.ingest.records import MailRecord, ReadProblem
from triagebot.store import (
    Placer,
    QueueEntry,
    QueueFilter,
    Recorded,
    ReviewStatus,
    ReviewView,
    Store,
    TriageInput,
    starter_question,
)

log = logging.getLogger(__name__)

DEFAULT_BATCH = 500
DEFAULT_CLAIM_TIMEOUT = timedelta(minutes=10)
MAX_MESSAGE_ID = 998
INGEST_ACTOR = "ingest"


class TriageEngine(Protocol):
    """What the service needs from the triage engine (`triagebot.app.Engine` satisfies it)."""

    @property
    def model_version(self) -> str:
        """Id of the model, stored with every result."""
        ...

    def triage(self, message: InboundMessage) -> TriageResult:
        """Triage one message."""
        ...

    def triage_batch(self, messages: Sequence[InboundMessage]) -> list[TriageResult]:
        """Triage many messages at once, one result per message, in order."""
        ...


_Key = tuple[Channel, str, str]


def _key(message: InboundMessage) -> _Key:
    """Everything a triage result depends on: the reply's channel, the subject and the text."""
    return message.channel, message.subject, message.text


class TriageAhead:
    """A triage engine that works out likely question starters early, in the archive-reading process.

    With `read_paths_in_background(..., side=ahead)` the reading runs in a second process, which has
    time to spare; there, every record that will start a question thread if it is new (see
    `starter_question`) is triaged as the store will triage it. Results are kept by exactly what
    triage reads, so a wrong guess (a record already stored, say) costs time, never a wrong result;
    follow-ups and anything not prepared are triaged here by `engine`. At most `keep` results are
    held, the oldest dropped first.
    """

    def __init__(self, engine: TriageEngine, *, channel: Channel = Channel.EMAIL, keep: int = 5_000) -> None:
        """Wrap `engine`; `channel` is the one the ingest places records under."""
        self._engine = engine
        self._channel = channel
        self._keep = keep
        self._ready: dict[_Key, TriageResult] = {}
        self.reused = 0

    @property
    def model_version(self) -> str:
        """The wrapped engine's model version."""
        return self._engine.model_version

    def prepare(self, items: Sequence[MailRecord | ReadProblem]) -> list[tuple[_Key, TriageResult]]:
        """Triage the likely starters among `items` (runs in the reading process)."""
        messages = []
        for item in items:
            if not isinstance(item, MailRecord) or (question := starter_question(item)) is None:
                continue
            subject, text = question
            messages.append(
                InboundMessage(
                    channel=self._channel, source="", message_id=item.message_id, subject=subject, text=text
                )
            )
        if not messages:
            return []
        results = self._engine.triage_batch(messages)
        return [(_key(m), r) for m, r in zip(messages, results, strict=True)]

    def take(self, prepared: Sequence[tuple[_Key, TriageResult]]) -> None:
        """Keep results prepared in the reading process until the store asks for them."""
        for key, result in prepared:
            self._ready[key] = result
        while len(self._ready) > self._keep:
            del self._ready[next(iter(self._ready))]

    def triage(self, message: InboundMessage) -> TriageResult:
        """Triage one message."""
        return self.triage_batch([message])[0]

    def triage_batch(self, messages: Sequence[InboundMessage]) -> list[TriageResult]:
        """Prepared results where there are any; the rest triaged by the wrapped engine, as one batch."""
        found = [self._ready.get(_key(m)) for m in messages]
        todo = [i for i, result in enumerate(found) if result is None]
        if todo:
            for i, result in zip(todo, self._engine.triage_batch([messages[i] for i in todo]), strict=True):
                found[i] = result
        self.reused += len(messages) - len(todo)
        return [result for result in found if result is not None]


@dataclass(frozen=True, slots=True)
class IngestSummary:
    """What an ingest run did. `read` = `new` + `duplicates` + `skipped`; `errors` says why each skip."""

    read: int = 0
    new: int = 0
    duplicates: int = 0
    skipped: int = 0
    errors: tuple[tuple[str, str], ...] = ()
    triaged: int = 0
    drafted: int = 0
    updated: int = 0


@dataclass(frozen=True, slots=True)
class WorkSummary:
    """What one worker did before it stopped."""

    batches: int = 0
    triaged: int = 0
    lost: int = 0  # results dropped because a claim went stale and another worker took the messages
    drafted: int = 0
    updated: int = 0


def _unusable(record: MailRecord) -> str | None:
    """Why a readable record still cannot be stored, or None when it can."""
    if not record.message_id.strip():
        return "no Message-ID"
    if len(record.message_id) > MAX_MESSAGE_ID:
        return f"Message-ID longer than {MAX_MESSAGE_ID} characters"
    return None


def _triage(engine: TriageEngine, inputs: Sequence[TriageInput]) -> list[tuple[int, TriageResult]]:
    """Run the engine over a batch and pair each result with its message."""
    if not inputs:
        return []
    results = engine.triage_batch([i.message for i in inputs])
    if len(results) != len(inputs):
        raise StoreError(f"the triage engine returned {len(results)} results for {len(inputs)} messages")
    return [(i.message_pk, r) for i, r in zip(inputs, results, strict=True)]


def ingest(
    records: Iterable[MailRecord | ReadProblem],
    store: Store,
    engine: TriageEngine | None,
    *,
    source: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[IngestSummary], None] | None = None,
) -> IngestSummary:
    """Store records in batches, thread them, and (with an engine) triage questions and follow-ups.

    `source` names the list or channel (default: each record's List-Id, else "mail"). Without an
    engine, questions wait as untriaged for `work`. `progress` is called after every batch.

    Example:
        >>> summary = ingest(read_paths([Path("users.mbox")]), store, engine)  # doctest: +SKIP
        >>> summary.new, summary.duplicates                                      # doctest: +SKIP
        (1200, 0)
    """
    if batch_size < 1:
        raise InputError("batch size must be at least 1")
    placer = Placer(source=source)
    counts = {"read": 0, "new": 0, "duplicates": 0, "skipped": 0, "triaged": 0, "drafted": 0, "updated": 0}
    errors: list[tuple[str, str]] = []
    pending: list[MailRecord] = []

    def current() -> IngestSummary:
        return IngestSummary(errors=tuple(errors), **counts)

    def flush() -> None:
        if not pending:
            return
        recorded = Recorded(0, 0, 0, 0)
        with store.batch() as batch:
            placement = batch.place(placer, pending)
            if engine is not None and placement.to_triage:
                done = _triage(engine, batch.triage_inputs(placement.to_triage))
                recorded = batch.record_triage(done, model_version=engine.model_version, actor=INGEST_ACTOR)
            batch.record_notes(placement.notes, actor=INGEST_ACTOR)
        counts["new"] += placement.new
        counts["duplicates"] += placement.duplicates
        counts["triaged"] += recorded.recorded
        counts["drafted"] += recorded.drafted
        counts["updated"] += recorded.updated
        pending.clear()
        if progress is not None:
            progress(current())

    for item in records:
        counts["read"] += 1
        why = item.why if isinstance(item, ReadProblem) else _unusable(item)
        if why is not None:
            errors.append((item.where, why))
            counts["skipped"] += 1
            continue
        if isinstance(item, MailRecord):
            pending.append(item)
        if len(pending) >= batch_size:
            flush()
    flush()
    summary = current()
    log.info("ingest: %s", summary)
    return summary


def work(
    store: Store,
    engine: TriageEngine,
    worker_id: str,
    *,
    batch: int = 100,
    until_empty: bool = False,
    stale_after: timedelta = DEFAULT_CLAIM_TIMEOUT,
    poll_seconds: float = 2.0,
    should_stop: Callable[[], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[WorkSummary], None] | None = None,
) -> WorkSummary:
    """Claim waiting messages, triage them and record the results, batch after batch.

    Stops when nothing is left (`until_empty`) or when `should_stop()` says so; otherwise polls every
    `poll_seconds`. Claims older than `stale_after` (a worker that died) are taken over.

    Example:
        >>> work(store, engine, "worker-1", until_empty=True).triaged  # doctest: +SKIP
        42
    """
    if batch < 1:
        raise InputError("batch size must be at least 1")
    summary = WorkSummary()
    while should_stop is None or not should_stop():
        claim = store.claim(worker_id, batch, stale_after=stale_after)
        if not claim.message_pks:
            if until_empty:
                break
            sleep(poll_seconds)
            continue
        try:
            done = _triage(engine, store.triage_inputs(claim.message_pks))
        except BaseException:
            try:
                store.release(claim)
            except StoreError:
                log.warning(
                    "could not release claim %s; it will be taken over after it times out", claim.token
                )
            raise
        recorded = store.record_triage(done, model_version=engine.model_version, actor=worker_id, claim=claim)
        summary = WorkSummary(
            batches=summary.batches + 1,
            triaged=summary.triaged + recorded.recorded,
            lost=summary.lost + recorded.lost,
            drafted=summary.drafted + recorded.drafted,
            updated=summary.updated + recorded.updated,
        )
        if progress is not None:
            progress(summary)
    return summary


# -- moderation -----------------------------------------------------------------------------------
# Every action is one transaction (`triagebot.store.moderation.moderate`): the item is locked, the
# step checked against its status, one audit row written with actor, action, before and after, and an
# approval's reply put in the outbox. Replies leave only through the outbox (`triagebot.outbox`).

import uuid  # noqa: E402 - the moderation part keeps its imports with it
from collections.abc import Mapping  # noqa: E402
from enum import StrEnum  # noqa: E402
from typing import Any  # noqa: E402

from triagebot.config import ListSettings, Settings  # noqa: E402
from triagebot.core.models import Action, DetailReport, DraftReply, Language, TipScore  # noqa: E402
from triagebot.mail.message import reply_subject  # noqa: E402
from triagebot.store import ReviewStateError  # noqa: E402
from triagebot.store.moderation import Change, ItemFacts, OutboxDraft, moderate  # noqa: E402

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
