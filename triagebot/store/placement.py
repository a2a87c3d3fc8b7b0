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
from datetime import datetime
from typing import TypeVar

from sqlalchemy import bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from triagebot.core.models import InboundMessage
from triagebot.core.threads import (
    Fit,
    Role,
    ThreadFacts,
    Waiting,
    adopt,
    adopts_by_subject,
    author_key,
    is_reply_subject,
    may_join_by_subject,
    normalize_subject,
    parent_ids,
    role_in,
)
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
from triagebot.store.views import Placement, TriageState

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
        self._authors: dict[str, str] = {}  # author → author key; lists have few distinct posters
        self._adopted: list[int] = []  # stored follow-ups that wait for triage again after a merge

    def source_key(self, record: InboundMessage) -> tuple[str, str]:
        """The (channel, name) of the source a message belongs to."""
        return record.channel.value, self._source or record.source or self._fallback

    def place(self, session: Session, records: Sequence[InboundMessage], *, now: datetime) -> Placement:
        """Store the new records of one batch with their threads; return counts and what waits for triage."""
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(INGEST_LOCK)))
        fresh, duplicates = self._fresh(session, [clean_record(r) for r in records])
        self._by_message, self._by_id, self._latest = {}, {}, {}
        self._adopted = []
        if not fresh:
            return Placement(new=0, duplicates=duplicates, to_triage=())
        self._ensure_sources(session, {self.source_key(r) for r in fresh}, now)
        self._prefetch(session, fresh)
        self._dirty = {}
        placed = [self._place_one(record) for record in fresh]
        dirty = [self._dirty[tid] for tid in sorted(self._dirty)]
        if dialect == "postgresql":
            # Lock the stored threads we touch before anything else, in id order, as workers do: the
            # message inserts below take key-share locks on them, and mixed orders could deadlock.
            lock_threads(session, [tid for tid in sorted(self._dirty)])
        self._insert_threads(session, placed, now)
        inserted = self._insert_messages(session, placed, dialect, now)
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
        return Placement(new=len(inserted), duplicates=duplicates + lost, to_triage=to_triage, notes=notes)

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
        """Merge the orphan threads waiting for this batch's new messages, in archive order.

        Returns which thread went into which, and the audit notes on the adopting threads.
        """
        arrived = [p.record.message_id for p in placed if p.record.message_id in inserted]
        waits: dict[str, list[int]] = {}
        for part in chunked(sorted(set(arrived))):
            for wanted, pk in session.execute(
                select(PendingParentRow.wanted, PendingParentRow.message_pk)
                .where(PendingParentRow.wanted.in_(part))
                .order_by(PendingParentRow.message_pk)
            ):
                waits.setdefault(wanted, []).append(pk)
        merged: dict[int, int] = {}
        notes: list[tuple[int, str]] = []
        for mid in arrived:
            if mid in waits:
                notes.extend(self._adopt_into(session, mid, inserted[mid], waits[mid], merged, now))
        for p in placed:
            if p.fit.role is Role.QUESTION and p.thread.key and p.record.message_id in inserted:
                notes.extend(self._adopt_by_subject(session, p, inserted[p.record.message_id], merged, now))
        return merged, notes

    def _adopt_by_subject(
        self, session: Session, question: _Placed, question_pk: int, merged: dict[int, int], now: datetime
    ) -> list[tuple[int, str]]:
        """Take in the orphan threads of the question's subject that its later replies started."""
        if question.thread.id is None:
            return []
        found = session.execute(
            select(ThreadRow.id, ThreadRow.root_message_id, MessageRow.subject, ThreadRow.started_at)
            .join(MessageRow, MessageRow.message_id == ThreadRow.root_message_id)
            .where(
                ThreadRow.source_id == question.thread.source_id,
                ThreadRow.subject_key == question.thread.key,
                ThreadRow.is_question.is_(False),
                ThreadRow.id != question.thread.id,
            )
            .order_by(ThreadRow.id)
        ).all()
        starters = [
            (tid, root)
            for tid, root, subject, started in found
            if adopts_by_subject(question.record, subject, started)
        ]
        return self._merge(session, question.record.message_id, question_pk, starters, merged, now)

    def _adopt_into(
        self,
        session: Session,
        parent_mid: str,
        parent_pk: int,
        waiting: Sequence[int],
        merged: dict[int, int],
        now: datetime,
    ) -> list[tuple[int, str]]:
        """Move the orphan threads that hold `waiting` messages into the thread of `parent_pk`."""
        session.execute(delete(PENDING_PARENTS).where(PENDING_PARENTS.c.wanted == parent_mid))
        target_id = session.scalars(select(MessageRow.thread_id).where(MessageRow.id == parent_pk)).one()
        starters = session.execute(
            select(ThreadRow.id, ThreadRow.root_message_id)
            .where(
                ThreadRow.id.in_(select(MessageRow.thread_id).where(MessageRow.id.in_(waiting))),
                ThreadRow.is_question.is_(False),  # a question thread keeps its own messages
                ThreadRow.id != target_id,
            )
            .order_by(ThreadRow.id)
        ).all()
        return self._merge(
            session, parent_mid, parent_pk, [(tid, root) for tid, root in starters], merged, now
        )

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
            found = session.execute(
                select(ThreadRow.source_id, ThreadRow.subject_key, func.max(ThreadRow.id))
                .where(tuple_(ThreadRow.source_id, ThreadRow.subject_key).in_(pairs))
                .group_by(ThreadRow.source_id, ThreadRow.subject_key)
            )
            latest.update({(sid, key): tid for sid, key, tid in found if tid is not None})
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
        author = self._authors.get(record.author)
        if author is None:
            author = self._authors[record.author] = author_key(record.author)
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
        returned = session.execute(insert(THREADS).returning(THREADS.c.id, THREADS.c.root_message_id), rows)
        ids = {root: tid for tid, root in returned}
        for t in new:
            t.id = ids[t.root]
            self._by_id[t.id] = t

    def _insert_messages(
        self, session: Session, placed: Sequence[_Placed], dialect: str, now: datetime
    ) -> dict[str, int]:
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
        base = postgresql.insert(MESSAGES) if dialect == "postgresql" else sqlite.insert(MESSAGES)
        stmt = base.on_conflict_do_nothing(index_elements=["message_id"]).returning(
            MESSAGES.c.id, MESSAGES.c.message_id
        )
        return {mid: pk for pk, mid in session.execute(stmt, rows)}

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
