"""Records where each new message goes, as decided by the threader in `triagebot.core.threads`.

The placer looks up what the rules need (stored messages by id, the latest thread of a subject,
each thread's asker and state), asks `core.threads` which thread a message joins and what it is
there, and writes the outcome: thread rows, message rows with their triage state, and notes for the
audit log (`Placement.notes`, written once the batch is triaged). It knows no channel: every message
arrives as the same `InboundMessage`.

A `Placer` lives for one ingest run; within a batch it remembers every thread it has seen, so a batch
needs only a few bulk look-ups. It forgets them between batches, since another run may have merged
threads meanwhile. Everything it writes happens inside the batch's transaction.

Arrival order does not matter: the first message of an orphan thread (a reply whose parent is not
stored) leaves its parent ids in `pending_parents`; when a message with such an id arrives, the orphan
thread joins the newcomer's thread as `core.threads.adopt` decides, and disappears.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from triagebot.core.models import Channel, InboundMessage
from triagebot.core.threads import (
    Fit,
    PlannedThread,
    Role,
    ThreadFacts,
    Threading,
    Waiting,
    adopt,
    adopts_by_subject,
    arrival_key,
    author_key,
    is_reply_subject,
    may_join_by_subject,
    normalize_subject,
    parent_ids,
    role_in,
    thread_all,
)
from triagebot.store.bulk import insert_returning
from triagebot.store.tables import (
    AUDIT_LOG,
    MESSAGES,
    PENDING_PARENTS,
    REVIEW_ITEMS,
    SOURCES,
    THREADS,
    TRIAGE_RESULTS,
    MessageRow,
    PendingParentRow,
    SourceRow,
    ThreadRow,
)
from triagebot.store.views import Placement, ReviewStatus, TriageState

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RECOMPUTED = (
    "thread recomputed: a message that belongs before its own arrived later; "
    "its questions wait for triage again"
)
INGEST_LOCK = 72_656_422  # PostgreSQL advisory lock that keeps two ingest runs from interleaving batches
CHUNK = 500  # ids per IN (...) look-up
T = TypeVar("T")


def chunked(values: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    """Slices of at most `size` values, to keep IN (...) lists within every database's limits."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def clean_text(text: str) -> str:
    """Text every database accepts: no NUL characters (PostgreSQL refuses them), no lone surrogates."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def clean_record(record: InboundMessage) -> InboundMessage:
    """The record with every text field made storable (the same record when nothing needed cleaning)."""
    fields = (record.message_id, record.subject, record.author, record.text, record.original, record.where)
    refs = (record.in_reply_to or "", *record.references)
    if all(clean_text(value) is value for value in (*fields, *refs)):
        return record
    return replace(
        record,
        message_id=clean_text(record.message_id),
        subject=clean_text(record.subject),
        author=clean_text(record.author),
        text=clean_text(record.text),
        original=clean_text(record.original),
        where=clean_text(record.where),
        in_reply_to=clean_text(record.in_reply_to) if record.in_reply_to is not None else None,
        references=tuple(clean_text(ref) for ref in record.references),
    )


def lock_threads(session: Session, ids: Sequence[int]) -> None:
    """Take row locks on threads in ascending id order (PostgreSQL), so concurrent writers never deadlock."""
    for part in chunked(sorted(ids)):
        session.execute(
            select(ThreadRow.id).where(ThreadRow.id.in_(part)).order_by(ThreadRow.id).with_for_update()
        )


def _final(merged: dict[int, int], thread_id: int) -> int:
    """The thread a thread ended up in after this batch's merges (itself when it was not merged)."""
    while thread_id in merged:
        thread_id = merged[thread_id]
    return thread_id


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    """The later of two optional times."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


@dataclass(slots=True)
class _Thread:
    """What the placer knows about a thread; `id` is None until the thread row is inserted."""

    id: int | None
    source_id: int
    root: str
    subject: str
    key: str
    asker: str
    is_question: bool
    answered: bool
    message_count: int
    started_at: datetime | None
    last_at: datetime | None


@dataclass(slots=True)
class _Placed:
    """One new message and the decisions taken about it."""

    record: InboundMessage
    thread: _Thread
    source_id: int
    fit: Fit
    from_asker: bool
    by_id: bool = False  # joined a thread through one of its parent ids (rules 1 to 3)

    @property
    def state(self) -> TriageState:
        """Triage state the message is stored with."""
        return TriageState.UNTRIAGED if self.fit.triage else TriageState.SKIPPED


class Placer:
    """Threads and stores batches of messages for one ingest run, remembering what it has placed."""

    def __init__(self, *, source: str | None = None, fallback_source: str = "") -> None:
        """`source` names the list or channel of every message; when None each message's own `source`
        is used, and `fallback_source` for messages that name none."""
        self._source = source
        self._fallback = fallback_source
        self._by_message: dict[str, _Thread] = {}
        self._by_id: dict[int, _Thread] = {}
        self._latest: dict[tuple[int, str], _Thread | None] = {}
        self._sources: dict[tuple[str, str], int] = {}
        self._dirty: dict[int, _Thread] = {}  # stored threads changed by the current batch
        self._adopted: list[int] = []  # stored follow-ups that wait for triage again after a merge
        # The highest message key stored when the threads above were last known right: while it is
        # unchanged at the start of a batch nobody else has placed a message (ingests take turns,
        # see INGEST_LOCK), so the threads remembered from earlier batches still hold.
        self._known_top: int | None = None
        self._newest: dict[int, tuple[bool, datetime, str] | None] = {}  # per source: `_newest_stored`

    def source_key(self, record: InboundMessage) -> tuple[str, str]:
        """The (channel, name) of the source a message belongs to."""
        return record.channel.value, self._source or record.source or self._fallback

    def place(self, session: Session, records: Sequence[InboundMessage], *, now: datetime) -> Placement:
        """Store the new records of one batch with their threads; return counts and what waits for triage."""
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(INGEST_LOCK)))
        fresh, duplicates = self._fresh(session, [clean_record(r) for r in records])
        fresh.sort(key=arrival_key)
        top = _top_message(session)
        if top is None or top != self._known_top:
            self._by_message, self._by_id, self._latest = {}, {}, {}
            self._newest = {}
        self._known_top = None  # until this batch is placed without merging threads
        self._adopted = []
        if not fresh:
            self._known_top = top
            return Placement(new=0, duplicates=duplicates, to_triage=())
        self._ensure_sources(session, {self.source_key(r) for r in fresh}, now)
        if not self._in_order(session, fresh):
            return self._rethread(session, fresh, duplicates, dialect, now)
        self._prefetch(session, fresh)
        self._dirty = {}
        placed = [self._place_one(record) for record in fresh]
        dirty = [self._dirty[tid] for tid in sorted(self._dirty)]
        if dialect == "postgresql":
            # Lock the stored threads we touch before anything else, in id order, as workers do: the
            # message inserts below take key-share locks on them, and mixed orders could deadlock.
            lock_threads(session, [tid for tid in sorted(self._dirty)])
        self._insert_threads(session, placed, now)
        inserted = self._insert_messages(session, placed, now)
        self._update_threads(session, dirty, now)
        self._wait_for_parents(session, placed, inserted)
        merged, adopted = self._adopt_waiting(session, placed, inserted, now)
        notes = tuple(
            (_final(merged, p.thread.id), p.fit.note)
            for p in placed
            if p.fit.note is not None and p.thread.id is not None and p.record.message_id in inserted
        ) + tuple(adopted)
        to_triage = tuple(
            inserted[p.record.message_id] for p in placed if p.fit.triage and p.record.message_id in inserted
        ) + tuple(self._adopted)
        lost = len(placed) - len(inserted)  # taken by a concurrent writer between our check and insert
        if not merged and not adopted and not self._adopted and not lost:
            self._known_top = max(inserted.values(), default=top)
            for p in placed:  # in arrival order: the last of each source is its newest now
                self._newest[p.source_id] = arrival_key(p.record)
        return Placement(new=len(inserted), duplicates=duplicates + lost, to_triage=to_triage, notes=notes)

    # -- arrivals out of order ---------------------------------------------------------------------

    def _in_order(self, session: Session, fresh: Sequence[InboundMessage]) -> bool:
        """Whether placing the batch one message at a time gives what `thread_all` would.

        True when every new message sorts (`arrival_key`) after every stored message of its source, no
        stored message waits for one of the new ids, and no new message names a later one of the batch.
        """
        ids = {r.message_id for r in fresh}
        seen: set[str] = set()
        for r in fresh:
            if any(ref in ids and ref not in seen for ref in parent_ids(r)):
                return False
            seen.add(r.message_id)
        for part in chunked(sorted(ids)):
            waiting = session.execute(
                select(PendingParentRow.id).where(PendingParentRow.wanted.in_(part)).limit(1)
            ).first()
            if waiting is not None:
                return False
        first: dict[int, tuple[bool, datetime, str]] = {}
        for r in fresh:
            first.setdefault(self._sources[self.source_key(r)], arrival_key(r))
        for source_id, key in first.items():
            if source_id not in self._newest:
                self._newest[source_id] = _newest_stored(session, source_id)
            newest = self._newest[source_id]
            if newest is not None and not newest < key:
                return False
        return True

    def _rethread(
        self,
        session: Session,
        fresh: Sequence[InboundMessage],
        duplicates: int,
        dialect: str,
        now: datetime,
    ) -> Placement:
        """Store a batch that arrived out of order: thread each of its sources again as a whole.

        `core.threads.thread_all` decides over the stored and the new messages together; the rows are
        then brought in line. A thread whose stored messages or their roles changed loses its pending
        draft and its triage results, and its waiting messages are triaged again; a reviewed draft is
        kept and follows the message it was based on. Children (messages, results, review items, audit
        rows) point to their new threads before any thread row is deleted, all in the batch's
        transaction.
        """
        source_ids = sorted({self._sources[self.source_key(r)] for r in fresh})
        thread_rows = {
            row.id: row for row in session.execute(select(THREADS).where(THREADS.c.source_id.in_(source_ids)))
        }
        if dialect == "postgresql":
            lock_threads(session, list(thread_rows))
        stored = {
            row.message_id: row
            for row in session.execute(
                select(*_STUB_COLUMNS).where(MESSAGES.c.source_id.in_(source_ids)).order_by(MESSAGES.c.id)
            )
        }
        channels = {sid: Channel(kind) for (kind, _), sid in self._sources.items()}
        stubs = {mid: _stub(row, channels[row.source_id]) for mid, row in stored.items()}
        keys = {mid: arrival_key(stub) for mid, stub in stubs.items()}
        keys.update((r.message_id, arrival_key(r)) for r in fresh)
        by_source: dict[int, list[InboundMessage]] = {sid: [] for sid in source_ids}
        for mid, row in stored.items():
            by_source[row.source_id].append(stubs[mid])
        for r in fresh:
            by_source[self._sources[self.source_key(r)]].append(r)
        plans = {sid: thread_all(messages) for sid, messages in by_source.items()}
        fits: dict[str, Fit] = {}
        mine: dict[str, bool] = {}
        waits: dict[str, tuple[str, ...]] = {}
        for plan in plans.values():
            fits.update(plan.fits)
            mine.update(plan.from_asker)
            waits.update(plan.waits)

        # Thread rows: reuse those whose first message stays first, insert the others.
        old_by_root = {row.root_message_id: tid for tid, row in thread_rows.items()}
        thread_id: dict[str, int] = {}
        new_rows = [
            _thread_values(sid, t, now) | {"created_at": now}
            for sid, plan in plans.items()
            for t in plan.threads
            if t.root not in old_by_root
        ]
        thread_id.update(
            (t.root, old_by_root[t.root]) for p in plans.values() for t in p.threads if t.root in old_by_root
        )
        if new_rows:
            returned = insert_returning(session, THREADS, new_rows, ("id", "root_message_id"))
            thread_id.update((root, tid) for tid, root in returned)
        where = {mid: thread_id[t.root] for p in plans.values() for t in p.threads for mid in t.members}
        changed = self._changed(plans, thread_id, thread_rows, stored, fits, mine, keys)

        # Drafts and results of the threads that changed.
        affected = {stored[mid].thread_id for mid in stored if where[mid] in changed}
        affected |= set(thread_rows) - set(thread_id.values())
        items = (
            []
            if not affected
            else session.execute(
                select(REVIEW_ITEMS.c.id, REVIEW_ITEMS.c.status, REVIEW_ITEMS.c.triage_result_id).where(
                    REVIEW_ITEMS.c.thread_id.in_(sorted(affected))
                )
            ).all()
        )
        dropped = [i.id for i in items if i.status == ReviewStatus.PENDING.value]
        kept_items = [i.id for i in items if i.status != ReviewStatus.PENDING.value]
        kept_results = {i.triage_result_id for i in items if i.status != ReviewStatus.PENDING.value}
        if dropped:
            session.execute(
                update(AUDIT_LOG).where(AUDIT_LOG.c.review_item_id.in_(dropped)).values(review_item_id=None)
            )
            session.execute(delete(REVIEW_ITEMS).where(REVIEW_ITEMS.c.id.in_(dropped)))
        reset = [stored[mid].id for mid in stored if where[mid] in changed]
        still_triaged: set[int] = set()
        if kept_results:
            still_triaged = set(
                session.scalars(
                    select(TRIAGE_RESULTS.c.message_pk).where(TRIAGE_RESULTS.c.id.in_(sorted(kept_results)))
                )
            )
        for part in chunked(reset):
            session.execute(
                delete(TRIAGE_RESULTS).where(
                    TRIAGE_RESULTS.c.message_pk.in_(part), TRIAGE_RESULTS.c.id.not_in(sorted(kept_results))
                )
            )

        # Messages: the new ones inserted, the stored ones moved and given their new roles.
        to_triage: list[int] = []
        updates = []
        for mid, row in stored.items():
            state, claimed_by, claimed_at = row.triage_state, row.claimed_by, row.claimed_at
            if where[mid] in changed and row.id not in still_triaged:
                state = (TriageState.UNTRIAGED if fits[mid].triage else TriageState.SKIPPED).value
                claimed_by = claimed_at = None
                if fits[mid].triage:
                    to_triage.append(row.id)
            values = (where[mid], mine[mid], fits[mid].role is Role.QUESTION, state, claimed_by, claimed_at)
            if values != (
                row.thread_id,
                row.from_asker,
                row.is_question,
                row.triage_state,
                row.claimed_by,
                row.claimed_at,
            ):
                updates.append(
                    dict(
                        zip(
                            (
                                "message_pk",
                                "new_thread",
                                "new_asker",
                                "new_question",
                                "new_state",
                                "new_by",
                                "new_at",
                            ),
                            (row.id, *values),
                            strict=True,
                        )
                    )
                )
        if updates:
            session.execute(
                update(MESSAGES)
                .where(MESSAGES.c.id == bindparam("message_pk"))
                .values(
                    thread_id=bindparam("new_thread"),
                    from_asker=bindparam("new_asker"),
                    is_question=bindparam("new_question"),
                    triage_state=bindparam("new_state"),
                    claimed_by=bindparam("new_by"),
                    claimed_at=bindparam("new_at"),
                ),
                updates,
            )
        placed = [
            _Placed(
                r,
                _Thread(where[r.message_id], 0, "", "", "", "", False, False, 0, None, None),
                self._sources[self.source_key(r)],
                fits[r.message_id],
                mine[r.message_id],
            )
            for r in fresh
        ]
        inserted = self._insert_messages(session, placed, now)
        to_triage.extend(
            inserted[p.record.message_id] for p in placed if p.fit.triage and p.record.message_id in inserted
        )

        # Children of the old threads follow their messages; then the old rows go.
        if affected:
            by_message = (
                select(MESSAGES.c.thread_id)
                .where(MESSAGES.c.id == TRIAGE_RESULTS.c.message_pk)
                .scalar_subquery()
            )
            session.execute(
                update(TRIAGE_RESULTS)
                .where(TRIAGE_RESULTS.c.thread_id.in_(sorted(affected)))
                .values(thread_id=by_message)
            )
        if kept_items:
            based_on = (
                select(MESSAGES.c.thread_id)
                .where(MESSAGES.c.id == REVIEW_ITEMS.c.based_on_pk)
                .scalar_subquery()
            )
            session.execute(
                update(REVIEW_ITEMS).where(REVIEW_ITEMS.c.id.in_(kept_items)).values(thread_id=based_on)
            )
        gone = sorted(set(thread_rows) - set(thread_id.values()))
        if gone:
            session.execute(
                update(AUDIT_LOG)
                .where(AUDIT_LOG.c.thread_id == bindparam("old_thread"))
                .values(thread_id=bindparam("new_thread")),
                [{"old_thread": tid, "new_thread": where[thread_rows[tid].root_message_id]} for tid in gone],
            )
        pks = {mid: row.id for mid, row in stored.items()} | inserted
        for part in chunked(sorted(row.id for row in stored.values())):
            session.execute(delete(PENDING_PARENTS).where(PENDING_PARENTS.c.message_pk.in_(part)))
        rows = [
            {"wanted": ref, "message_pk": pks[mid]}
            for mid, refs in waits.items()
            if mid in pks
            for ref in refs
        ]
        if rows:
            session.execute(insert(PENDING_PARENTS), rows)
        for part in chunked(gone):
            session.execute(delete(THREADS).where(THREADS.c.id.in_(part)))
        self._write_threads(session, plans, thread_id, thread_rows, now)

        notes = [
            (where[p.record.message_id], p.fit.note)
            for p in placed
            if p.fit.note is not None and p.record.message_id in inserted
        ] + [(tid, RECOMPUTED) for tid in sorted(changed)]
        lost = len(fresh) - len(inserted)
        return Placement(
            new=len(inserted), duplicates=duplicates + lost, to_triage=tuple(to_triage), notes=tuple(notes)
        )

    @staticmethod
    def _changed(
        plans: dict[int, Threading],
        thread_id: dict[str, int],
        thread_rows: dict[int, Any],
        stored: dict[str, Any],
        fits: dict[str, Fit],
        mine: dict[str, bool],
        keys: dict[str, tuple[bool, datetime, str]],
    ) -> set[int]:
        """Threads whose stored messages are not the ones they had, or have other roles, or that take
        new messages sorting before a stored one (which changes what the stored ones were triaged with)."""
        old_members: dict[int, set[str]] = {}
        for mid, row in stored.items():
            old_members.setdefault(row.thread_id, set()).add(mid)
        changed: set[int] = set()
        for plan in plans.values():
            for t in plan.threads:
                tid = thread_id[t.root]
                olds = [mid for mid in t.members if mid in stored]
                if tid not in thread_rows or set(olds) != old_members.get(tid, set()):
                    if olds:
                        changed.add(tid)
                    continue
                roles = any(
                    fits[mid].triage != (stored[mid].triage_state != TriageState.SKIPPED.value)
                    or mine[mid] != stored[mid].from_asker
                    for mid in olds
                )
                newest = max(keys[mid] for mid in olds)
                if roles or any(keys[mid] < newest for mid in t.members if mid not in stored):
                    changed.add(tid)
        return changed

    @staticmethod
    def _write_threads(
        session: Session,
        plans: dict[int, Threading],
        thread_id: dict[str, int],
        thread_rows: dict[int, Any],
        now: datetime,
    ) -> None:
        """Write the facts of every re-threaded thread row that kept its id, where they changed."""
        fields = (
            "subject",
            "subject_key",
            "asker",
            "is_question",
            "answered",
            "message_count",
            "started_at",
            "last_at",
        )
        rows = []
        for sid, plan in plans.items():
            for t in plan.threads:
                tid = thread_id[t.root]
                old = thread_rows.get(tid)
                values = _thread_values(sid, t, now)
                if old is not None and any(getattr(old, f) != values[f] for f in fields):
                    rows.append(
                        {"thread_pk": tid, **{f"new_{f}": values[f] for f in fields}, "new_updated_at": now}
                    )
        if rows:
            session.execute(
                update(THREADS)
                .where(THREADS.c.id == bindparam("thread_pk"))
                .values({f: bindparam(f"new_{f}") for f in (*fields, "updated_at")}),
                rows,
            )

    # -- late parents ------------------------------------------------------------------------------

    def _wait_for_parents(
        self, session: Session, placed: Sequence[_Placed], inserted: dict[str, int]
    ) -> None:
        """Remember the parent ids of new messages that found no thread through them.

        Such a message started an orphan thread or joined one by subject; in order, it would have
        joined its parent's thread.
        """
        rows = [
            {"wanted": ref, "message_pk": inserted[p.record.message_id]}
            for p in placed
            if not p.by_id and p.record.message_id in inserted
            for ref in dict.fromkeys(parent_ids(p.record))
        ]
        if rows:
            session.execute(insert(PENDING_PARENTS), rows)

    def _adopt_waiting(
        self, session: Session, placed: Sequence[_Placed], inserted: dict[str, int], now: datetime
    ) -> tuple[dict[int, int], list[tuple[int, str]]]:
        """Merge into each new question the orphan threads of its subject that it adopts, in archive order.

        Orphans waiting for one of the new messages by id need no look-up here: `_in_order` sends such
        a batch to `_rethread`, and in order no new message waits for a later one of its batch.
        Returns which thread went into which, and the audit notes on the adopting threads.
        """
        merged: dict[int, int] = {}
        notes: list[tuple[int, str]] = []
        questions = [
            p
            for p in placed
            if p.fit.role is Role.QUESTION
            and p.thread.key
            and p.thread.id is not None
            and p.record.message_id in inserted
        ]
        orphans = self._orphans_by_subject(session, questions)
        for p in questions:
            starters = [
                (tid, root)
                for tid, root, subject, started in orphans.get((p.thread.source_id, p.thread.key), ())
                if tid not in merged and tid != p.thread.id and adopts_by_subject(p.record, subject, started)
            ]
            notes.extend(
                self._merge(
                    session, p.record.message_id, inserted[p.record.message_id], starters, merged, now
                )
            )
        return merged, notes

    @staticmethod
    def _orphans_by_subject(
        session: Session, questions: Sequence[_Placed]
    ) -> dict[tuple[int, str], list[tuple[int, str, str, datetime | None]]]:
        """The threads that are no question, by (source, subject key) of the batch's new questions, in
        id order: (id, root Message-ID, root subject, start). One look-up per batch, not per question."""
        pairs = sorted({(p.thread.source_id, p.thread.key) for p in questions})
        found: dict[tuple[int, str], list[tuple[int, str, str, datetime | None]]] = {}
        for part in chunked(pairs):
            rows = session.execute(
                select(
                    ThreadRow.id,
                    ThreadRow.source_id,
                    ThreadRow.subject_key,
                    ThreadRow.root_message_id,
                    MessageRow.subject,
                    ThreadRow.started_at,
                )
                .join(MessageRow, MessageRow.message_id == ThreadRow.root_message_id)
                .where(
                    tuple_(ThreadRow.source_id, ThreadRow.subject_key).in_(part),
                    ThreadRow.is_question.is_(False),
                )
                .order_by(ThreadRow.id)
            )
            for tid, sid, key, root, subject, started in rows:
                found.setdefault((sid, key), []).append((tid, root, subject, started))
        return found

    def _merge(
        self,
        session: Session,
        parent_mid: str,
        parent_pk: int,
        starters: Sequence[tuple[int, str]],
        merged: dict[int, int],
        now: datetime,
    ) -> list[tuple[int, str]]:
        """Move the orphan threads `starters` (id, root Message-ID) into the thread of `parent_pk`."""
        if not starters:
            return []
        target = session.execute(
            select(
                ThreadRow.id,
                ThreadRow.asker,
                ThreadRow.is_question,
                ThreadRow.answered,
                ThreadRow.message_count,
                ThreadRow.last_at,
            )
            .join(MessageRow, MessageRow.thread_id == ThreadRow.id)
            .where(MessageRow.id == parent_pk)
        ).one()
        orphans = [tid for tid, _ in starters]
        if session.get_bind().dialect.name == "postgresql":
            lock_threads(session, [target.id, *orphans])
        rows = session.execute(
            select(
                MessageRow.id,
                MessageRow.thread_id,
                MessageRow.message_id,
                MessageRow.author,
                MessageRow.is_bot,
                MessageRow.sent_at,
            )
            .where(MessageRow.thread_id.in_(orphans))
            .order_by(MessageRow.id)
        ).all()
        groups = [
            [
                Waiting(r.message_id, author_key(r.author), r.is_bot, r.sent_at)
                for r in rows
                if r.thread_id == tid
            ]
            for tid in orphans
        ]
        adoption = adopt(ThreadFacts(target.asker, target.is_question, target.answered), groups)
        pk_of = {r.message_id: r.id for r in rows}
        session.execute(
            update(MESSAGES)
            .where(MESSAGES.c.id == bindparam("message_pk"))
            .values(thread_id=target.id, from_asker=bindparam("asker_wrote")),
            [
                {"message_pk": pk_of[mid], "asker_wrote": mine}
                for mid, mine in zip(adoption.moved, adoption.from_asker, strict=True)
            ],
        )
        follow_ups = [
            pk_of[mid] for mid, fit in zip(adoption.moved, adoption.fits, strict=True) if fit.triage
        ]
        for part in chunked(follow_ups):
            session.execute(
                update(MESSAGES)
                .where(MESSAGES.c.id.in_(part), MESSAGES.c.triage_state == TriageState.SKIPPED.value)
                .values(triage_state=TriageState.UNTRIAGED.value)
            )
        self._adopted.extend(follow_ups)
        session.execute(
            update(TRIAGE_RESULTS).where(TRIAGE_RESULTS.c.thread_id.in_(orphans)).values(thread_id=target.id)
        )
        session.execute(
            update(AUDIT_LOG)
            .where(AUDIT_LOG.c.thread_id.in_(orphans))
            .values(thread_id=target.id, review_item_id=None)
        )
        dropped = (
            session.execute(
                delete(REVIEW_ITEMS)
                .where(REVIEW_ITEMS.c.thread_id.in_(orphans))
                .returning(REVIEW_ITEMS.c.thread_id)
            )
            .scalars()
            .all()
        )
        session.execute(delete(PENDING_PARENTS).where(PENDING_PARENTS.c.message_pk.in_(list(pk_of.values()))))
        session.execute(delete(THREADS).where(THREADS.c.id.in_(orphans)))
        last_at = target.last_at
        for r in rows:
            last_at = _later(last_at, r.sent_at)
        session.execute(
            update(THREADS)
            .where(THREADS.c.id == target.id)
            .values(
                answered=adoption.answered,
                message_count=target.message_count + len(rows),
                last_at=last_at,
                updated_at=now,
            )
        )
        for tid in orphans:
            merged[tid] = target.id
        return [(target.id, fit.note) for fit in adoption.fits if fit.note is not None] + [
            (
                target.id,
                f"thread of <{root}> joined this thread: its parent <{parent_mid}> arrived later"
                + ("; its review item was removed" if tid in dropped else ""),
            )
            for tid, root in starters
        ]

    # -- steps -------------------------------------------------------------------------------------

    def _fresh(self, session: Session, records: Sequence[InboundMessage]) -> tuple[list[InboundMessage], int]:
        """Records whose Message-ID is neither stored nor repeated earlier in the batch."""
        ids = list(dict.fromkeys(r.message_id for r in records))
        stored: set[str] = set()
        for part in chunked(ids):
            stored.update(
                session.scalars(select(MessageRow.message_id).where(MessageRow.message_id.in_(part)))
            )
        fresh: list[InboundMessage] = []
        seen: set[str] = set()
        for record in records:
            if record.message_id in stored or record.message_id in seen:
                continue
            seen.add(record.message_id)
            fresh.append(record)
        return fresh, len(records) - len(fresh)

    def _ensure_sources(self, session: Session, keys: set[tuple[str, str]], now: datetime) -> None:
        """Create the source rows this batch needs and remember their ids."""
        missing = sorted(keys - self._sources.keys())
        if not missing:
            return
        rows = [{"kind": kind, "location": name, "created_at": now} for kind, name in missing]
        dialect = session.get_bind().dialect.name
        stmt = postgresql.insert(SOURCES) if dialect == "postgresql" else sqlite.insert(SOURCES)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["kind", "location"]), rows)
        for part in chunked(missing):
            found = session.execute(
                select(SourceRow.kind, SourceRow.location, SourceRow.id).where(
                    tuple_(SourceRow.kind, SourceRow.location).in_(part)
                )
            )
            self._sources.update({(kind, location): source_id for kind, location, source_id in found})

    def forget(self) -> None:
        """The last batch was rolled back: drop the sources it may have added, and let the next batch
        drop the remembered threads (with no known top, `place` starts afresh)."""
        self._sources = {}
        self._known_top = None

    def _prefetch(self, session: Session, fresh: Sequence[InboundMessage]) -> None:
        """Load, in bulk, the stored threads that this batch's headers and subjects may point to."""
        wanted = {ref for r in fresh for ref in parent_ids(r) if ref not in self._by_message}
        thread_of: dict[str, int] = {}
        ordered = sorted(wanted)
        for part in chunked(ordered):
            rows = session.execute(
                select(MessageRow.message_id, MessageRow.thread_id).where(MessageRow.message_id.in_(part))
            )
            thread_of.update({mid: tid for mid, tid in rows})
        keys: set[tuple[int, str]] = set()
        for r in fresh:
            if is_reply_subject(r.subject):
                key = (self._sources[self.source_key(r)], normalize_subject(r.subject))
                if key[1] and key not in self._latest:
                    keys.add(key)
        latest: dict[tuple[int, str], int] = {}
        for pairs in chunked(sorted(keys)):
            # The thread whose first message sorts last (`arrival_key`), as `thread_all` takes it.
            ranked = (
                select(
                    ThreadRow.source_id,
                    ThreadRow.subject_key,
                    ThreadRow.id,
                    func.row_number()
                    .over(
                        partition_by=(ThreadRow.source_id, ThreadRow.subject_key),
                        order_by=(
                            ThreadRow.started_at.is_(None).desc(),
                            ThreadRow.started_at.desc(),
                            ThreadRow.root_message_id.desc(),
                        ),
                    )
                    .label("rank"),
                )
                .where(tuple_(ThreadRow.source_id, ThreadRow.subject_key).in_(pairs))
                .subquery()
            )
            found = session.execute(
                select(ranked.c.source_id, ranked.c.subject_key, ranked.c.id).where(ranked.c.rank == 1)
            )
            latest.update({(sid, key): tid for sid, key, tid in found})
        self._load_threads(session, {*thread_of.values(), *latest.values()})
        for mid, tid in thread_of.items():
            self._by_message[mid] = self._by_id[tid]
        for key in keys:
            newest = latest.get(key)
            self._latest[key] = self._by_id[newest] if newest is not None else None

    def _load_threads(self, session: Session, ids: set[int]) -> None:
        """Bring stored threads into memory (those not seen yet in this run)."""
        todo = sorted(ids - self._by_id.keys())
        columns = (
            ThreadRow.id,
            ThreadRow.source_id,
            ThreadRow.root_message_id,
            ThreadRow.subject,
            ThreadRow.subject_key,
            ThreadRow.asker,
            ThreadRow.is_question,
            ThreadRow.answered,
            ThreadRow.message_count,
            ThreadRow.started_at,
            ThreadRow.last_at,
        )
        for part in chunked(todo):
            for row in session.execute(select(*columns).where(ThreadRow.id.in_(part))):
                self._by_id[row.id] = _Thread(
                    id=row.id,
                    source_id=row.source_id,
                    root=row.root_message_id,
                    subject=row.subject,
                    key=row.subject_key,
                    asker=row.asker,
                    is_question=row.is_question,
                    answered=row.answered,
                    message_count=row.message_count,
                    started_at=row.started_at,
                    last_at=row.last_at,
                )

    def _parent(self, record: InboundMessage, source_id: int) -> _Thread | None:
        """The thread a message joins (rules 1 to 4 of `core.threads`), from what is stored or placed."""
        for ref in parent_ids(record):
            if ref in self._by_message:
                return self._by_message[ref]
        if is_reply_subject(record.subject):
            key = normalize_subject(record.subject)
            latest = self._latest.get((source_id, key)) if key else None
            if latest is not None and may_join_by_subject(record, latest.last_at):
                return latest
        return None

    def _place_one(self, record: InboundMessage) -> _Placed:
        """Ask the threader about one new message and apply its decision to the in-memory threads."""
        source_id = self._sources[self.source_key(record)]
        author = author_key(record.author)
        thread = self._parent(record, source_id)
        by_id = any(ref in self._by_message for ref in parent_ids(record))
        if thread is None:
            fit = role_in(record, author, None)
            key = normalize_subject(record.subject)
            thread = _Thread(
                id=None,
                source_id=source_id,
                root=record.message_id,
                subject=record.subject,
                key=key[:500],
                asker=author,
                is_question=fit.role is Role.QUESTION,
                answered=False,
                message_count=1,
                started_at=record.sent_at,
                last_at=record.sent_at,
            )
            if key:
                self._latest[(source_id, key)] = thread
            self._by_message[record.message_id] = thread
            return _Placed(record, thread, source_id, fit, True)
        fit = role_in(record, author, ThreadFacts(thread.asker, thread.is_question, thread.answered))
        self._by_message[record.message_id] = thread
        thread.message_count += 1
        thread.last_at = _later(thread.last_at, record.sent_at)
        if thread.id is not None:
            self._dirty[thread.id] = thread
        if fit.answers:
            thread.answered = True
        return _Placed(record, thread, source_id, fit, author == thread.asker, by_id)

    def _insert_threads(self, session: Session, placed: Sequence[_Placed], now: datetime) -> None:
        """Insert the threads started in this batch and learn their ids."""
        new = list({id(p.thread): p.thread for p in placed if p.thread.id is None}.values())
        if not new:
            return
        rows = [
            {
                "source_id": t.source_id,
                "root_message_id": t.root,
                "subject": t.subject,
                "subject_key": t.key,
                "asker": t.asker,
                "is_question": t.is_question,
                "answered": t.answered,
                "message_count": t.message_count,
                "started_at": t.started_at,
                "last_at": t.last_at,
                "created_at": now,
                "updated_at": now,
            }
            for t in new
        ]
        returned = insert_returning(session, THREADS, rows, ("id", "root_message_id"))
        ids = {root: tid for tid, root in returned}
        for t in new:
            t.id = ids[t.root]
            self._by_id[t.id] = t

    def _insert_messages(self, session: Session, placed: Sequence[_Placed], now: datetime) -> dict[str, int]:
        """Insert the messages (ON CONFLICT DO NOTHING on Message-ID); map each inserted one to its key."""
        rows = [
            {
                "message_id": p.record.message_id,
                "thread_id": p.thread.id,
                "source_id": p.source_id,
                "author": p.record.author,
                "from_asker": p.from_asker,
                "subject": p.record.subject,
                "sent_at": p.record.sent_at,
                "in_reply_to": p.record.in_reply_to,
                "references": list(p.record.references),
                "text": p.record.text,
                "original": p.record.original,
                "raw": p.record.raw,
                "origin": p.record.where,
                "is_question": p.fit.role is Role.QUESTION,
                "thread_key": p.record.thread_key,
                "is_bot": p.record.is_bot,
                "triage_state": p.state.value,
                "claimed_by": None,
                "claimed_at": None,
                "created_at": now,
            }
            for p in placed
        ]
        returned = insert_returning(
            session, MESSAGES, rows, ("id", "message_id"), skip_conflicts_on="message_id"
        )
        return {mid: pk for pk, mid in returned}

    def _update_threads(self, session: Session, dirty: Sequence[_Thread], now: datetime) -> None:
        """Write back the stored threads this batch changed."""
        if not dirty:
            return
        session.execute(
            update(THREADS)
            .where(THREADS.c.id == bindparam("thread_pk"))
            .values(
                answered=bindparam("answered"),
                message_count=bindparam("message_count"),
                last_at=bindparam("last_at"),
                updated_at=bindparam("updated_at"),
            ),
            [
                {
                    "thread_pk": t.id,
                    "answered": t.answered,
                    "message_count": t.message_count,
                    "last_at": t.last_at,
                    "updated_at": now,
                }
                for t in dirty
            ],
        )


_STUB_COLUMNS = (
    MESSAGES.c.id,
    MESSAGES.c.message_id,
    MESSAGES.c.thread_id,
    MESSAGES.c.source_id,
    MESSAGES.c.author,
    MESSAGES.c.subject,
    MESSAGES.c.sent_at,
    MESSAGES.c.in_reply_to,
    MESSAGES.c.references,
    MESSAGES.c.thread_key,
    MESSAGES.c.is_bot,
    MESSAGES.c.from_asker,
    MESSAGES.c.is_question,
    MESSAGES.c.triage_state,
    MESSAGES.c.claimed_by,
    MESSAGES.c.claimed_at,
)


def _stub(row: Any, channel: Channel) -> InboundMessage:
    """A stored message with the fields the threader reads (no text: threading never reads it)."""
    return InboundMessage(
        channel=channel,
        source="",
        message_id=row.message_id,
        subject=row.subject,
        text="",
        original="",
        author=row.author,
        sent_at=row.sent_at,
        in_reply_to=row.in_reply_to,
        references=tuple(row.references),
        thread_key=row.thread_key,
        is_bot=row.is_bot,
    )


def _thread_values(source_id: int, thread: PlannedThread, now: datetime) -> dict[str, Any]:
    """Columns of a thread row as `thread_all` planned it."""
    return {
        "source_id": source_id,
        "root_message_id": thread.root,
        "subject": thread.subject,
        "subject_key": thread.key,
        "asker": thread.asker,
        "is_question": thread.is_question,
        "answered": thread.answered,
        "message_count": len(thread.members),
        "started_at": thread.started_at,
        "last_at": thread.last_at,
        "updated_at": now,
    }


def _top_message(session: Session) -> int | None:
    """The highest message key stored (None in an empty store): changes whenever a message is placed."""
    top: int | None = session.execute(select(func.max(MESSAGES.c.id))).scalar()
    return top


def _newest_stored(session: Session, source_id: int) -> tuple[bool, datetime, str] | None:
    """The `arrival_key` of the stored message of a source that sorts last (None when it has none)."""
    undated = session.scalar(
        select(func.max(MessageRow.message_id)).where(
            MessageRow.source_id == source_id, MessageRow.sent_at.is_(None)
        )
    )
    if undated is not None:
        return (True, _EPOCH, undated)
    row = session.execute(
        select(MessageRow.sent_at, MessageRow.message_id)
        .where(MessageRow.source_id == source_id, MessageRow.sent_at.is_not(None))
        .order_by(MessageRow.sent_at.desc(), MessageRow.message_id.desc())
        .limit(1)
    ).first()
    return None if row is None else (False, row.sent_at, row.message_id)
