"""Review actions and the outbox, each one transaction: lock the item, check, change, audit, enqueue.

The service (`triagebot.review`) decides what an action does from `ItemFacts`; this module only reads
the facts under a row lock and writes the `Change` it is handed, so a moderator's decision, its audit
row and the reply's outbox row are committed together or not at all. Two moderators acting at once
queue on the item's lock (FOR UPDATE on PostgreSQL, the single write lock on SQLite): the second one
sees the first one's result and is refused, so a reply is queued once.

Outbox rows move queued → sending → sent | retry | failed. `sending` is committed before the SMTP
conversation starts; a row still `sending` when its deliverer is gone becomes `unknown`, never queued
again by itself (see `OutboxState`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from triagebot.core.models import Channel, DetailReport, Language, TipScore
from triagebot.store.errors import NotFoundError, ReviewStateError
from triagebot.store.repository import Store
from triagebot.store.tables import (
    AuditRow,
    MessageRow,
    OutboxRow,
    ReviewItemRow,
    SourceRow,
    ThreadRow,
    TriageResultRow,
)
from triagebot.store.views import OutboxState, ReviewStatus

MAX_ERROR = 2000


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What a review action may look at: the item, its thread, the question it answers, its outbox row."""

    id: int
    thread_id: int
    status: ReviewStatus
    draft_text: str
    final_text: str | None
    language: Language
    channel: Channel
    tips: tuple[TipScore, ...]
    details: DetailReport
    escalated: bool
    relabelled: bool
    reason: str | None
    answered: bool  # someone other than the asker has replied in the thread
    subject: str  # the thread's subject
    source: str  # list or channel name
    asker: str  # the asker's address
    question_id: str  # Message-ID (without <>) of the newest asker message the draft answers
    question_references: tuple[str, ...]
    root_id: str  # the thread starter's Message-ID
    outbox_state: OutboxState | None


@dataclass(frozen=True, slots=True)
class OutboxDraft:
    """An outbox row to create: where the reply goes, what it says, and its fixed Message-ID."""

    channel: Channel
    destination: Mapping[str, Any]
    subject: str
    body: str
    headers: Mapping[str, Any]
    message_id: str


@dataclass(frozen=True, slots=True)
class Change:
    """What one review action does: the new status, columns to set, the audit entry and maybe a reply."""

    action: str
    to: ReviewStatus
    values: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    outbox: OutboxDraft | None = None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One outbox row as the deliverer and the moderators' outbox page see it."""

    id: int
    review_item_id: int
    thread_id: int
    source: str
    channel: Channel
    destination: Mapping[str, Any]
    subject: str
    body: str
    headers: Mapping[str, Any]
    message_id: str
    state: OutboxState
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    claimed_by: str | None
    created_at: datetime
    sent_at: datetime | None


def _details(data: Mapping[str, Any]) -> DetailReport:
    """A stored detail report back as the core's dataclass."""
    return DetailReport(
        version=data.get("version"),
        series=data.get("series"),
        os=data.get("os"),
        hypervisor=data.get("hypervisor"),
        hypervisor_kind=data.get("hypervisor_kind"),
        specifics=bool(data.get("specifics", False)),
    )


def _facts(session: Session, row: ReviewItemRow) -> ItemFacts:
    """Gather everything about a locked review item."""
    thread, source = session.execute(
        select(ThreadRow, SourceRow.location)
        .join(SourceRow, SourceRow.id == ThreadRow.source_id)
        .where(ThreadRow.id == row.thread_id)
    ).one()
    question = session.execute(
        select(MessageRow.message_id, MessageRow.references).where(MessageRow.id == row.based_on_pk)
    ).one()
    details = session.scalar(
        select(TriageResultRow.details).where(TriageResultRow.id == row.triage_result_id)
    )
    state = session.scalar(
        select(OutboxRow.state)
        .where(OutboxRow.review_item_id == row.id)
        .order_by(OutboxRow.id.desc())
        .limit(1)
    )
    return ItemFacts(
        id=row.id,
        thread_id=row.thread_id,
        status=ReviewStatus(row.status),
        draft_text=row.draft_text,
        final_text=row.final_text,
        language=Language(row.language),
        channel=Channel(row.channel),
        tips=tuple(
            TipScore(tip_id=str(t["tip_id"]), score=float(t["score"]), evidence=tuple(t.get("evidence", ())))
            for t in row.tips
        ),
        details=_details(details or {}),
        escalated=row.escalated,
        relabelled=row.relabelled,
        reason=row.reason,
        answered=thread.answered,
        subject=thread.subject,
        source=source,
        asker=thread.asker,
        question_id=question.message_id,
        question_references=tuple(question.references or ()),
        root_id=thread.root_message_id,
        outbox_state=OutboxState(state) if state is not None else None,
    )


def _audit(
    session: Session,
    *,
    actor: str,
    action: str,
    at: datetime,
    thread_id: int | None,
    item_id: int | None,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Add one audit row to the session's transaction."""
    session.add(
        AuditRow(
            thread_id=thread_id,
            review_item_id=item_id,
            from_status=from_status,
            to_status=to_status,
            actor=actor[:200],
            note=note,
            at=at,
            action=action[:40],
            before=dict(before) if before is not None else None,
            after=dict(after) if after is not None else None,
        )
    )


def item_facts(store: Store, item_id: int) -> ItemFacts:
    """The facts about one review item, read without locking (for pages and checks).

    Raises:
        NotFoundError: there is no such item.
    """
    with store.reading() as session:
        row = session.get(ReviewItemRow, item_id)
        if row is None:
            raise NotFoundError(f"review item {item_id} not found")
        return _facts(session, row)


def moderate(store: Store, item_id: int, *, actor: str, decide: Callable[[ItemFacts], Change]) -> Change:
    """Lock the item, let `decide` turn its facts into a Change, and write that Change with its audit row.

    `decide` may raise (ReviewStateError, InputError): then nothing is written.

    Raises:
        NotFoundError: there is no such item.
    """
    with store.writing() as session:
        row = session.scalars(
            select(ReviewItemRow).where(ReviewItemRow.id == item_id).with_for_update()
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"review item {item_id} not found")
        facts = _facts(session, row)
        change = decide(facts)
        now = store.clock()
        for name, value in change.values.items():
            setattr(row, name, value)
        row.status = change.to.value
        row.updated_at = now
        _audit(
            session,
            actor=actor,
            action=change.action,
            at=now,
            thread_id=row.thread_id,
            item_id=row.id,
            from_status=facts.status.value,
            to_status=change.to.value,
            note=change.note,
            before=change.before,
            after=change.after,
        )
        if change.outbox is not None:
            # a reopened item (the asker answered our questions) already has its earlier reply, sent
            if facts.outbox_state not in (None, OutboxState.SENT) or facts.status is not ReviewStatus.PENDING:
                raise ReviewStateError(f"review item {item_id} already has a reply in the outbox")
            draft = change.outbox
            session.add(
                OutboxRow(
                    review_item_id=row.id,
                    channel=draft.channel.value,
                    destination=dict(draft.destination),
                    subject=draft.subject,
                    body=draft.body,
                    headers=dict(draft.headers),
                    message_id=draft.message_id,
                    state=OutboxState.QUEUED.value,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        return change


# -- outbox -----------------------------------------------------------------------------------------


def _entry(row: OutboxRow, thread_id: int, source: str) -> OutboxEntry:
    """An outbox row as a frozen entry."""
    return OutboxEntry(
        id=row.id,
        review_item_id=row.review_item_id,
        thread_id=thread_id,
        source=source,
        channel=Channel(row.channel),
        destination=dict(row.destination),
        subject=row.subject,
        body=row.body,
        headers=dict(row.headers),
        message_id=row.message_id,
        state=OutboxState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        claimed_by=row.claimed_by,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def _with_thread() -> Any:
    """SELECT outbox rows with their thread id and source name."""
    return (
        select(OutboxRow, ReviewItemRow.thread_id, SourceRow.location)
        .join(ReviewItemRow, ReviewItemRow.id == OutboxRow.review_item_id)
        .join(ThreadRow, ThreadRow.id == ReviewItemRow.thread_id)
        .join(SourceRow, SourceRow.id == ThreadRow.source_id)
    )


def outbox_entries(
    store: Store, states: Sequence[OutboxState] | None = None, *, limit: int = 200
) -> tuple[OutboxEntry, ...]:
    """Outbox rows in the given states (default: all), newest first."""
    stmt = _with_thread().order_by(OutboxRow.id.desc()).limit(limit)
    if states:
        stmt = stmt.where(OutboxRow.state.in_([s.value for s in states]))
    with store.reading() as session:
        return tuple(_entry(row, tid, source) for row, tid, source in session.execute(stmt))


def outbox_entry(store: Store, outbox_id: int) -> OutboxEntry:
    """One outbox row by id.

    Raises:
        NotFoundError: there is no such row.
    """
    with store.reading() as session:
        found = session.execute(_with_thread().where(OutboxRow.id == outbox_id)).one_or_none()
        if found is None:
            raise NotFoundError(f"outbox entry {outbox_id} not found")
        return _entry(*found)


def outbox_for_item(store: Store, item_id: int) -> OutboxEntry | None:
    """The newest outbox row of a review item, if a reply was queued."""
    with store.reading() as session:
        found = session.execute(
            _with_thread().where(OutboxRow.review_item_id == item_id).order_by(OutboxRow.id.desc()).limit(1)
        ).one_or_none()
        return _entry(*found) if found is not None else None


def claim_due(
    store: Store, worker: str, *, limit: int, channels: Sequence[Channel]
) -> tuple[str, tuple[OutboxEntry, ...]]:
    """Mark up to `limit` due rows `sending` for `worker` and commit, before any of them is attempted.

    Due: `queued`, or `retry` whose time has come. PostgreSQL skips rows another deliverer has
    locked; SQLite runs the conditional UPDATE under its single write lock. Returns the claim token
    (to be shown when recording the outcome) and the claimed entries, oldest first.
    """
    token = f"{worker}:{secrets.token_hex(4)}"[:200]
    now = store.clock()
    due = and_(
        OutboxRow.channel.in_([c.value for c in channels]),
        or_(
            OutboxRow.state == OutboxState.QUEUED.value,
            and_(OutboxRow.state == OutboxState.RETRY.value, OutboxRow.next_attempt_at <= now),
        ),
    )
    with store.writing() as session:
        chosen = select(OutboxRow.id).where(due).order_by(OutboxRow.id).limit(limit)
        if store.dialect == "postgresql":
            ids = list(session.scalars(chosen.with_for_update(skip_locked=True)))
        else:
            ids = list(session.scalars(chosen))
        if ids:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids), due)
                .values(
                    state=OutboxState.SENDING.value,
                    claimed_by=token,
                    claimed_at=now,
                    attempts=OutboxRow.attempts + 1,
                ),
                execution_options={"synchronize_session": False},
            )
        rows = session.execute(
            _with_thread().where(OutboxRow.id.in_(ids), OutboxRow.claimed_by == token).order_by(OutboxRow.id)
        ).all()
        return token, tuple(_entry(row, tid, source) for row, tid, source in rows)


def _claimed(session: Session, outbox_id: int, token: str) -> OutboxRow:
    """The row this claim holds, locked; a row that changed hands is refused."""
    row = session.scalars(select(OutboxRow).where(OutboxRow.id == outbox_id).with_for_update()).one_or_none()
    if row is None:
        raise NotFoundError(f"outbox entry {outbox_id} not found")
    # `unknown` too: a slow deliverer that was taken for dead still knows best what happened.
    if row.claimed_by != token or row.state not in (OutboxState.SENDING.value, OutboxState.UNKNOWN.value):
        raise ReviewStateError(f"outbox entry {outbox_id} is no longer held by {token}")
    return row


def _item_thread(session: Session, item_id: int) -> int:
    """The thread id of a review item."""
    return int(session.scalar(select(ReviewItemRow.thread_id).where(ReviewItemRow.id == item_id)) or 0)


def record_sent(store: Store, outbox_id: int, token: str, *, actor: str, receipt: str = "") -> None:
    """The server accepted the reply: the row becomes `sent` and its review item `sent`, with audit rows."""
    with store.writing() as session:
        row = _claimed(session, outbox_id, token)
        now = store.clock()
        before = {"state": row.state, "attempts": row.attempts}
        row.state, row.sent_at, row.last_error = OutboxState.SENT.value, now, None
        item = session.scalars(
            select(ReviewItemRow).where(ReviewItemRow.id == row.review_item_id).with_for_update()
        ).one()
        old = item.status
        if old in (ReviewStatus.APPROVED.value, ReviewStatus.EDITED.value):
            item.status, item.updated_at = ReviewStatus.SENT.value, now
        _audit(
            session,
            actor=actor,
            action="deliver-sent",
            at=now,
            thread_id=item.thread_id,
            item_id=item.id,
            from_status=old,
            to_status=item.status,
            note=receipt,
            before=before,
            after={"state": row.state, "message_id": row.message_id, "outbox_id": row.id},
        )


def record_failure(
    store: Store,
    outbox_id: int,
    token: str,
    *,
    actor: str,
    error: str,
    retry_at: datetime | None,
    uncertain: bool = False,
) -> OutboxState:
    """An attempt failed: `retry` at `retry_at` when given, else `failed` for good; returns the new state.

    `uncertain` (the connection broke while the message was handed over) makes it `unknown` instead:
    it may have arrived, so only a moderator may send it again.
    """
    with store.writing() as session:
        row = _claimed(session, outbox_id, token)
        now = store.clock()
        before = {"state": row.state, "attempts": row.attempts}
        if uncertain:
            state, retry_at = OutboxState.UNKNOWN, None
        else:
            state = OutboxState.RETRY if retry_at is not None else OutboxState.FAILED
        row.state, row.next_attempt_at, row.last_error = state.value, retry_at, error[:MAX_ERROR]
        _audit(
            session,
            actor=actor,
            action=f"deliver-{state.value}",
            at=now,
            thread_id=_item_thread(session, row.review_item_id),
            item_id=row.review_item_id,
            note=error[:MAX_ERROR],
            before=before,
            after={
                "state": state.value,
                "attempts": row.attempts,
                "next_attempt_at": retry_at.isoformat() if retry_at else None,
            },
        )
        return state


def mark_abandoned(
    store: Store, *, older_than: timedelta, actor: str, channels: Sequence[Channel] | None = None
) -> tuple[int, ...]:
    """Rows left `sending` for longer than `older_than` (their deliverer died) become `unknown`.

    They may or may not have reached the server, so they are not retried: a moderator resolves them
    (`resolve`) or asks for a resend. `channels` limits it to the rows of those channels (default:
    all). Returns the ids marked.
    """
    now = store.clock()
    stale = select(OutboxRow).where(
        OutboxRow.state == OutboxState.SENDING.value, OutboxRow.claimed_at <= now - older_than
    )
    if channels is not None:
        stale = stale.where(OutboxRow.channel.in_([c.value for c in channels]))
    with store.writing() as session:
        rows = list(session.scalars(stale.with_for_update()))
        for row in rows:
            row.state = OutboxState.UNKNOWN.value
            row.last_error = f"deliverer {row.claimed_by} stopped during the attempt; it may have been sent"
            _audit(
                session,
                actor=actor,
                action="deliver-unknown",
                at=now,
                thread_id=_item_thread(session, row.review_item_id),
                item_id=row.review_item_id,
                note=row.last_error,
                before={"state": OutboxState.SENDING.value, "attempts": row.attempts},
                after={"state": OutboxState.UNKNOWN.value},
            )
        return tuple(row.id for row in rows)


def resolve(store: Store, outbox_id: int, *, actor: str, to: OutboxState, note: str = "") -> OutboxEntry:
    """A moderator settles an `unknown` or `failed` row: `queued` (send again), `sent` (it did arrive)
    or `failed` (give up).

    Raises:
        NotFoundError: there is no such row.
        ReviewStateError: the row is not waiting for a moderator, or `to` is not one of those states.
    """
    if to not in (OutboxState.QUEUED, OutboxState.SENT, OutboxState.FAILED):
        raise ReviewStateError(f"an outbox entry can be resolved to queued, sent or failed, not {to.value}")
    with store.writing() as session:
        row = session.scalars(
            select(OutboxRow).where(OutboxRow.id == outbox_id).with_for_update()
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"outbox entry {outbox_id} not found")
        if row.state not in (OutboxState.UNKNOWN.value, OutboxState.FAILED.value) or row.state == to.value:
            raise ReviewStateError(
                f"outbox entry {outbox_id} is {row.state}; only unknown or failed entries can be resolved"
            )
        now = store.clock()
        before = {"state": row.state, "attempts": row.attempts, "last_error": row.last_error}
        row.state, row.claimed_by, row.claimed_at = to.value, None, None
        item = session.scalars(
            select(ReviewItemRow).where(ReviewItemRow.id == row.review_item_id).with_for_update()
        ).one()
        old = item.status
        if to is OutboxState.QUEUED:
            row.attempts, row.next_attempt_at, row.last_error = 0, now, None
        elif to is OutboxState.SENT:
            row.sent_at = now
            if old in (ReviewStatus.APPROVED.value, ReviewStatus.EDITED.value):
                item.status, item.updated_at = ReviewStatus.SENT.value, now
        _audit(
            session,
            actor=actor,
            action=f"outbox-{'resend' if to is OutboxState.QUEUED else to.value}",
            at=now,
            thread_id=item.thread_id,
            item_id=item.id,
            from_status=old,
            to_status=item.status,
            note=note,
            before=before,
            after={"state": row.state},
        )
    return outbox_entry(store, outbox_id)
