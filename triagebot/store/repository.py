"""The review store: opens the database, keeps transactions short and hands out frozen views.

SQLite (the default) runs in WAL mode with foreign keys on; every write transaction starts with
BEGIN IMMEDIATE so writers queue for the lock instead of failing half-way. PostgreSQL uses row locks:
`SELECT … FOR UPDATE SKIP LOCKED` to claim work, and thread locks taken in id order before drafts change.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, and_, bindparam, create_engine, event, func, insert, or_, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.elements import ColumnElement

from triagebot.core.models import Action, Channel, Detail, InboundMessage, Language, TipScore, TriageResult
from triagebot.core.threads import join_asker_messages
from triagebot.errors import StoreError
from triagebot.store import schema
from triagebot.store.bulk import insert_returning
from triagebot.store.errors import NotFoundError, ReviewStateError
from triagebot.store.placement import Placer, chunked, lock_threads
from triagebot.store.tables import (
    AUDIT_LOG,
    REVIEW_ITEMS,
    TRIAGE_RESULTS,
    AuditRow,
    Base,
    MessageRow,
    ReviewItemRow,
    SourceRow,
    ThreadRow,
    TriageResultRow,
)
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

Clock = Callable[[], datetime]
SQLITE_BUSY_TIMEOUT_MS = 30_000


def utc_now() -> datetime:
    """The current time in UTC; the store's default clock."""
    return datetime.now(UTC)


def _sqlite_engine(url: URL, *, create: bool = True) -> Engine:
    """An engine for a SQLite file (parent directory created) in WAL mode with foreign keys on.

    With `create` false a missing file is a StoreError, and nothing is created on disk.
    """
    database = url.database or ""
    memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not memory and not database.startswith("file:"):
        if not create and not Path(database).is_file():
            raise StoreError(
                f"no database at {database}: nothing was ingested there yet "
                "(run `triagebot ingest` first, or name another with --db)"
            )
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    if memory:
        kwargs = {"connect_args": {"check_same_thread": False}, "poolclass": StaticPool}
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        if not memory and create:  # a read-only opening changes nothing, not even the journal mode
            _switch_to_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A transaction that will write takes the write lock up front; one that first reads and
        # later writes could otherwise fail at once when another writer committed in between.
        writes = connection.get_execution_options().get("triagebot_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


def _switch_to_wal(cursor: Any) -> None:
    """Put the database file in WAL mode, waiting out other connections doing the same.

    Switching the journal mode needs an exclusive lock, and SQLite answers "database is locked" at once,
    without its busy handler, when several new connections to a fresh file race for it.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _masked(url: str) -> str:
    """The URL for messages: password hidden, or only its scheme when it cannot be parsed."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        scheme, sep, _ = url.partition("://")
        return f"{scheme}://…" if sep else "(unparsable)"


def make_engine(url: str, *, create: bool = True) -> Engine:
    """A SQLAlchemy engine for `url`, with a clear StoreError for bad URLs and missing drivers.

    `create` false refuses a SQLite file that does not exist instead of creating it.
    """
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed, create=create)
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    except NoSuchModuleError as exc:
        raise StoreError(f"no database driver for {_masked(url)}: {exc}") from None
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"the database driver for {_masked(url)} is not installed ({exc.name}); "
            "for PostgreSQL install triagebot[postgres]"
        ) from None
    except (ArgumentError, ValueError) as exc:
        raise StoreError(f"not a database URL: {_masked(url)} ({exc})") from None


def open_store(url: str, *, clock: Clock = utc_now, migrate: bool = True, read_only: bool = False) -> Store:
    """Open the database at `url` and bring its schema to the newest migration.

    `read_only` (for commands that only look) creates and migrates nothing: a database that does
    not exist, or is not at the newest schema, is a StoreError saying what to do.

    Example:
        >>> store = open_store("sqlite:///var/triagebot.sqlite3")  # doctest: +SKIP
    """
    engine = make_engine(url, create=not read_only)
    store = Store(engine, clock=clock)
    if read_only:
        try:
            current = schema.current_revision(store.engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot read the database {store.display_url}: {_reason(exc)}") from None
        if current != schema.head_revision():
            engine.dispose()
            state = "holds no triagebot data" if current is None else f"is at schema {current}"
            raise StoreError(
                f"the database {store.display_url} {state}; this version needs schema "
                f"{schema.head_revision()} (`triagebot ingest` or `triagebot work` creates or upgrades it)"
            )
        return store
    if migrate:
        try:
            schema.ensure_current(store.engine, store.write_engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot prepare the database {store.display_url}: {_reason(exc)}") from None
    return store


def _reason(exc: SQLAlchemyError) -> str:
    """The first line of the driver's message, which is what a person can act on."""
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- conversions --------------------------------------------------------------------------------


def _tips_json(result: TriageResult) -> list[dict[str, Any]]:
    """The classifier's tips as JSON."""
    return [
        {"tip_id": t.tip_id, "score": round(float(t.score), 6), "evidence": list(t.evidence)}
        for t in result.classification.tips
    ]


def _tips_from(data: Sequence[dict[str, Any]]) -> tuple[TipScore, ...]:
    """TipScores back from JSON."""
    return tuple(
        TipScore(tip_id=str(t["tip_id"]), score=float(t["score"]), evidence=tuple(t.get("evidence", ())))
        for t in data
    )


def _details_json(result: TriageResult) -> dict[str, Any]:
    """The detail report as JSON."""
    d = result.details
    return {
        "version": d.version,
        "series": d.series,
        "os": d.os,
        "hypervisor": d.hypervisor,
        "hypervisor_kind": d.hypervisor_kind,
        "specifics": d.specifics,
    }


def _keys(values: Sequence[str]) -> str:
    """Join values as " a b ", a list that LIKE '% a %' can search on any database."""
    return " " + " ".join(values) + " " if values else " "


def _status(value: str | None) -> ReviewStatus | None:
    """A stored status string as the enum."""
    return ReviewStatus(value) if value is not None else None


@dataclass(slots=True)
class _Draft:
    """A review item being created or rewritten while a batch of results is written."""

    id: int | None
    status: ReviewStatus
    based_on: int
    based_sent: datetime | None = None  # date of the message the draft is based on
    missing: tuple[str, ...] = ()  # the details the current draft asks for
    values: dict[str, Any] = field(default_factory=dict)
    changed: bool = False


# -- transactions -------------------------------------------------------------------------------


class Batch:
    """One write transaction of an ingest run: store a batch, triage it, record the results, commit."""

    def __init__(self, session: Session, now: datetime) -> None:
        """Wrap an open session; `now` stamps every row written in this transaction."""
        self._session = session
        self.now = now
        self._placers: list[Placer] = []

    def place(self, placer: Placer, records: Sequence[InboundMessage]) -> Placement:
        """Store the new records with their threads (see `triagebot.store.placement`)."""
        self._placers.append(placer)
        return placer.place(self._session, records, now=self.now)

    def rolled_back(self) -> None:
        """Nothing of this transaction was kept: the placers forget the threads it placed."""
        for placer in self._placers:
            placer.forget()

    def triage_inputs(self, message_pks: Sequence[int]) -> list[TriageInput]:
        """What the engine should read for each message (see `Store.triage_inputs`)."""
        return _triage_inputs(self._session, message_pks)

    def record_triage(
        self, results: Sequence[tuple[int, TriageResult]], *, model_version: str, actor: str
    ) -> Recorded:
        """Store results of messages this transaction placed and create or update their drafts."""
        return _record_triage(
            self._session, results, model_version=model_version, actor=actor, claim=None, now=self.now
        )

    def record_notes(self, notes: Sequence[tuple[int, str]], *, actor: str) -> None:
        """Add notes to the threads' audit logs (linked to their review items when they have one)."""
        if not notes:
            return
        thread_ids = sorted({tid for tid, _ in notes})
        items: dict[int, int] = {}
        for part in chunked(thread_ids):
            rows = self._session.execute(
                select(ReviewItemRow.thread_id, ReviewItemRow.id).where(ReviewItemRow.thread_id.in_(part))
            )
            items.update({tid: rid for tid, rid in rows})
        self._session.execute(
            insert(AUDIT_LOG),
            [
                {
                    "thread_id": tid,
                    "review_item_id": items.get(tid),
                    "from_status": None,
                    "to_status": None,
                    "actor": actor[:200],
                    "note": note,
                    "at": self.now,
                }
                for tid, note in notes
            ],
        )


class Store:
    """The database behind ingest, workers and moderation; every method runs its own transaction."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        """Use `engine`; `clock` gives the time for stamps and claim timeouts (tests pass their own)."""
        self.engine = engine
        self.write_engine = engine.execution_options(triagebot_write=True)
        self.clock = clock

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def dialect(self) -> str:
        """The SQLAlchemy dialect name: sqlite or postgresql."""
        return self.engine.dialect.name

    @property
    def writes_in_parallel(self) -> bool:
        """Whether two threads can write at once without one waiting for the other's commit.

        True for PostgreSQL (row locks); SQLite has one writer at a time.
        """
        return self.dialect == "postgresql"

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session; database failures become StoreError."""
        try:
            with Session(self.engine) as session:
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"database error on {self.display_url}: {_reason(exc)}") from None

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction, committed on success; database failures become StoreError."""
        try:
            with Session(self.write_engine, expire_on_commit=False) as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"database error on {self.display_url}: {_reason(exc)}") from None

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """One ingest batch as a single transaction: all of it is committed, or none of it."""
        batch: Batch | None = None
        try:
            with self.writing() as session:
                batch = Batch(session, self.clock())
                yield batch
        except BaseException:
            if batch is not None:
                batch.rolled_back()
            raise

    # -- work queue -------------------------------------------------------------------------------

    def claim(self, worker: str, limit: int, *, stale_after: timedelta) -> Claim:
        """Take up to `limit` messages waiting for triage, and claims older than `stale_after`.

        No two claims ever hold the same message: PostgreSQL skips rows other workers have locked,
        SQLite runs the conditional UPDATE under its single write lock.
        """
        token = f"{worker}:{secrets.token_hex(4)}"[:200]
        now = self.clock()
        claimable = or_(
            MessageRow.triage_state == TriageState.UNTRIAGED.value,
            and_(
                MessageRow.triage_state == TriageState.CLAIMED.value,
                MessageRow.claimed_at < now - stale_after,
            ),
        )
        values = {"triage_state": TriageState.CLAIMED.value, "claimed_by": token, "claimed_at": now}
        with self.writing() as session:
            if self.dialect == "postgresql":
                ids = list(
                    session.scalars(
                        select(MessageRow.id)
                        .where(claimable)
                        .order_by(MessageRow.id)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                )
                if ids:
                    session.execute(
                        update(MessageRow).where(MessageRow.id.in_(ids)).values(**values),
                        execution_options={"synchronize_session": False},
                    )
            else:
                chosen = select(MessageRow.id).where(claimable).order_by(MessageRow.id).limit(limit)
                ids = list(
                    session.scalars(
                        update(MessageRow)
                        .where(MessageRow.id.in_(chosen.scalar_subquery()))
                        .values(**values)
                        .returning(MessageRow.id),
                        execution_options={"synchronize_session": False},
                    )
                )
        return Claim(token=token, message_pks=tuple(sorted(ids)))

    def release(self, claim: Claim) -> int:
        """Give claimed messages back (after a failure), so another worker can take them at once."""
        if not claim.message_pks:
            return 0
        with self.writing() as session:
            result = session.execute(
                update(MessageRow)
                .where(
                    MessageRow.id.in_(claim.message_pks),
                    MessageRow.claimed_by == claim.token,
                    MessageRow.triage_state == TriageState.CLAIMED.value,
                )
                .values(triage_state=TriageState.UNTRIAGED.value, claimed_by=None, claimed_at=None)
                .returning(MessageRow.id),
                execution_options={"synchronize_session": False},
            )
            return len(result.all())

    def triage_inputs(self, message_pks: Sequence[int]) -> list[TriageInput]:
        """For each message, what the engine should read: its thread's starter and the asker's follow-ups
        up to and including that message."""
        with self.reading() as session:
            return _triage_inputs(session, message_pks)

    def record_triage(
        self,
        results: Sequence[tuple[int, TriageResult]],
        *,
        model_version: str,
        actor: str,
        claim: Claim | None = None,
    ) -> Recorded:
        """Store results and create or update drafts; with `claim`, only for messages still held by it."""
        with self.writing() as session:
            return _record_triage(
                session, results, model_version=model_version, actor=actor, claim=claim, now=self.clock()
            )

    # -- moderation -------------------------------------------------------------------------------

    def transition(
        self,
        item_id: int,
        *,
        allowed_from: frozenset[ReviewStatus],
        to: ReviewStatus,
        actor: str,
        note: str = "",
        final_text: str | None = None,
        final_from_draft: bool = False,
        keep_final: bool = False,
    ) -> ReviewView:
        """Move a review item to `to` if its status is in `allowed_from`, with an audit row.

        The text to send becomes `final_text`, or the draft (`final_from_draft`), or stays (`keep_final`).

        Raises:
            NotFoundError: there is no such item.
            ReviewStateError: the item's status does not allow this step.
        """
        with self.writing() as session:
            row = session.scalars(
                select(ReviewItemRow).where(ReviewItemRow.id == item_id).with_for_update()
            ).one_or_none()
            if row is None:
                raise NotFoundError(f"review item {item_id} not found")
            current = ReviewStatus(row.status)
            if current not in allowed_from:
                allowed = ", ".join(sorted(s.value for s in allowed_from))
                raise ReviewStateError(
                    f"review item {item_id} is {current.value}; it can become {to.value} only from: {allowed}"
                )
            now = self.clock()
            row.status = to.value
            if final_from_draft:
                row.final_text = row.draft_text
            elif not keep_final:
                row.final_text = final_text
            row.updated_at = now
            session.add(
                AuditRow(
                    thread_id=row.thread_id,
                    review_item_id=row.id,
                    from_status=current.value,
                    to_status=to.value,
                    actor=actor,
                    note=note,
                    at=now,
                )
            )
        return self.show(item_id)

    def queue(self, filters: QueueFilter | None = None) -> tuple[QueueEntry, ...]:
        """Review items matching `filters` (default: all, first page), oldest first."""
        filters = filters or QueueFilter()
        stmt = (
            select(ReviewItemRow, ThreadRow.subject, ThreadRow.asker, ThreadRow.answered, SourceRow.location)
            .join(ThreadRow, ThreadRow.id == ReviewItemRow.thread_id)
            .join(SourceRow, SourceRow.id == ThreadRow.source_id)
            .where(*queue_conditions(filters))
            .order_by(ReviewItemRow.id)
            .offset(filters.offset)
        )
        if filters.limit is not None:
            stmt = stmt.limit(filters.limit)
        with self.reading() as session:
            return tuple(
                QueueEntry(
                    id=item.id,
                    thread_id=item.thread_id,
                    subject=subject,
                    asker=asker,
                    source=source,
                    language=Language(item.language),
                    channel=Channel(item.channel),
                    action=Action(item.action),
                    tips=_tips_from(item.tips),
                    missing=tuple(Detail(m) for m in item.missing),
                    status=ReviewStatus(item.status),
                    answered=answered,
                    created_at=item.created_at,
                    updated_at=item.updated_at,
                )
                for item, subject, asker, answered, source in session.execute(stmt)
            )

    def count(self, filters: QueueFilter | None = None) -> int:
        """How many review items match `filters` (ignoring limit and offset)."""
        filters = filters or QueueFilter()
        stmt = (
            select(func.count(ReviewItemRow.id))
            .join(ThreadRow, ThreadRow.id == ReviewItemRow.thread_id)
            .join(SourceRow, SourceRow.id == ThreadRow.source_id)
            .where(*queue_conditions(filters))
        )
        with self.reading() as session:
            return int(session.scalar(stmt) or 0)

    def show(self, item_id: int) -> ReviewView:
        """One review item with its question, tips, evidence, missing details, draft and history.

        Raises:
            NotFoundError: there is no such item.
        """
        with self.reading() as session:
            found = session.execute(
                select(
                    ReviewItemRow,
                    ThreadRow,
                    SourceRow.location,
                    TriageResultRow.why,
                    TriageResultRow.model_version,
                )
                .join(ThreadRow, ThreadRow.id == ReviewItemRow.thread_id)
                .join(SourceRow, SourceRow.id == ThreadRow.source_id)
                .join(TriageResultRow, TriageResultRow.id == ReviewItemRow.triage_result_id)
                .where(ReviewItemRow.id == item_id)
            ).one_or_none()
            if found is None:
                raise NotFoundError(f"review item {item_id} not found")
            item, thread, source, why, model_version = found
            texts = session.scalars(
                select(MessageRow.text)
                .where(
                    MessageRow.thread_id == thread.id,
                    MessageRow.from_asker.is_(True),
                    MessageRow.id <= item.based_on_pk,
                )
                .order_by(MessageRow.id)
            ).all()
            history = tuple(
                AuditEntry(
                    at=a.at,
                    actor=a.actor,
                    from_status=_status(a.from_status),
                    to_status=_status(a.to_status),
                    note=a.note,
                )
                for a in session.scalars(
                    select(AuditRow).where(AuditRow.thread_id == thread.id).order_by(AuditRow.at, AuditRow.id)
                )
            )
            return ReviewView(
                id=item.id,
                thread_id=thread.id,
                status=ReviewStatus(item.status),
                subject=thread.subject,
                asker=thread.asker,
                source=source,
                language=Language(item.language),
                channel=Channel(item.channel),
                action=Action(item.action),
                answered=thread.answered,
                question="\n\n".join(texts),
                tips=_tips_from(item.tips),
                missing=tuple(Detail(m) for m in item.missing),
                why=why,
                model_version=model_version,
                draft_text=item.draft_text,
                final_text=item.final_text,
                created_at=item.created_at,
                updated_at=item.updated_at,
                history=history,
            )

    # -- inspection -------------------------------------------------------------------------------

    def message(self, message_id: str) -> MessageView | None:
        """A stored message by its Message-ID, or None."""
        with self.reading() as session:
            row = session.scalars(select(MessageRow).where(MessageRow.message_id == message_id)).one_or_none()
            if row is None:
                return None
            return MessageView(
                pk=row.id,
                message_id=row.message_id,
                thread_id=row.thread_id,
                author=row.author,
                subject=row.subject,
                is_question=row.is_question,
                from_asker=row.from_asker,
                triage_state=TriageState(row.triage_state),
                claimed_by=row.claimed_by,
            )

    def thread_of(self, message_id: str) -> ThreadView | None:
        """The thread a stored message belongs to, or None when the message is not stored."""
        with self.reading() as session:
            thread_id = session.scalar(
                select(MessageRow.thread_id).where(MessageRow.message_id == message_id)
            )
            if thread_id is None:
                return None
            thread, source = session.execute(
                select(ThreadRow, SourceRow.location)
                .join(SourceRow, SourceRow.id == ThreadRow.source_id)
                .where(ThreadRow.id == thread_id)
            ).one()
            ids = session.scalars(
                select(MessageRow.message_id).where(MessageRow.thread_id == thread_id).order_by(MessageRow.id)
            ).all()
            return ThreadView(
                id=thread.id,
                source=source,
                root_message_id=thread.root_message_id,
                subject_key=thread.subject_key,
                asker=thread.asker,
                is_question=thread.is_question,
                answered=thread.answered,
                message_ids=tuple(ids),
            )

    def review_id_for(self, message_id: str) -> int | None:
        """The review item of the thread a message belongs to, if there is one."""
        with self.reading() as session:
            return session.scalar(
                select(ReviewItemRow.id)
                .join(MessageRow, MessageRow.thread_id == ReviewItemRow.thread_id)
                .where(MessageRow.message_id == message_id)
            )

    def row_counts(self) -> dict[str, int]:
        """Rows per table, for summaries and checks."""
        with self.reading() as session:
            return {
                table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
                for table in Base.metadata.sorted_tables
            }

    def claimed(self) -> int:
        """Messages claimed by a worker and not yet triaged (by live workers or dead ones)."""
        with self.reading() as session:
            return int(
                session.scalar(
                    select(func.count(MessageRow.id)).where(
                        MessageRow.triage_state == TriageState.CLAIMED.value
                    )
                )
                or 0
            )

    def untriaged(self) -> int:
        """Messages still waiting for triage (claimed ones included)."""
        with self.reading() as session:
            waiting = (TriageState.UNTRIAGED.value, TriageState.CLAIMED.value)
            return int(
                session.scalar(select(func.count(MessageRow.id)).where(MessageRow.triage_state.in_(waiting)))
                or 0
            )


# -- shared steps ---------------------------------------------------------------------------------


def queue_conditions(filters: QueueFilter) -> list[ColumnElement[bool]]:
    """WHERE clauses for a queue filter (the CLI queue and the web queue share them)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.tip:
        conditions.append(ReviewItemRow.tip_keys.contains(f" {filters.tip} ", autoescape=True))
    if filters.missing is not None:
        conditions.append(ReviewItemRow.missing_keys.contains(f" {filters.missing.value} ", autoescape=True))
    if filters.language is not None:
        conditions.append(ReviewItemRow.language == filters.language.value)
    if filters.status is not None:
        conditions.append(ReviewItemRow.status == filters.status.value)
    if filters.source:
        conditions.append(SourceRow.location == filters.source)
    if filters.answered is not None:
        conditions.append(ThreadRow.answered.is_(filters.answered))
    return conditions


def _written_by(row: Any, target: Any) -> bool:
    """Whether the asker's message `row` came no later than `target`: by date when both have one,
    else by arrival. A reply stored before its late parent is thus read in its place in the thread."""
    if row.sent_at is not None and target.sent_at is not None:
        return bool(row.sent_at < target.sent_at or (row.sent_at == target.sent_at and row.id <= target.id))
    return bool(row.id <= target.id)


def _after(a: tuple[datetime | None, int], b: tuple[datetime | None, int]) -> bool:
    """Whether message `a` (date, key) comes after `b` in its thread: by date when both have one."""
    if a[0] is not None and b[0] is not None and a[0] != b[0]:
        return a[0] > b[0]
    return a[1] > b[1]


def _thread_order(row: Any) -> tuple[bool, datetime, int]:
    """Sort key of the asker's messages: by date (undated ones last, by arrival), then by arrival."""
    return (row.sent_at is None, row.sent_at or datetime.min.replace(tzinfo=UTC), row.id)


def _triage_inputs(session: Session, message_pks: Sequence[int]) -> list[TriageInput]:
    """Compose, for each message, the starter plus the asker's follow-ups up to that message."""
    if not message_pks:
        return []
    targets: dict[int, Any] = {}
    for part in chunked(sorted(set(message_pks))):
        for row in session.execute(
            select(
                MessageRow.id,
                MessageRow.thread_id,
                MessageRow.message_id,
                MessageRow.author,
                MessageRow.sent_at,
                MessageRow.in_reply_to,
                MessageRow.references,
            ).where(MessageRow.id.in_(part))
        ):
            targets[row.id] = row
    thread_ids = sorted({row.thread_id for row in targets.values()})
    threads: dict[int, Any] = {}
    asked: dict[int, list[Any]] = {tid: [] for tid in thread_ids}
    for part in chunked(thread_ids):
        for thread_row in session.execute(
            select(ThreadRow.id, ThreadRow.subject, SourceRow.kind, SourceRow.location)
            .join(SourceRow, SourceRow.id == ThreadRow.source_id)
            .where(ThreadRow.id.in_(part))
        ):
            threads[thread_row.id] = thread_row
        for text_row in session.execute(
            select(
                MessageRow.id, MessageRow.thread_id, MessageRow.sent_at, MessageRow.text, MessageRow.original
            )
            .where(MessageRow.thread_id.in_(part), MessageRow.from_asker.is_(True))
            .order_by(MessageRow.id)
        ):
            asked[text_row.thread_id].append(text_row)
    inputs: list[TriageInput] = []
    for pk in message_pks:
        target = targets.get(pk)
        if target is None:
            continue
        thread = threads[target.thread_id]
        parts = sorted(
            (row for row in asked[target.thread_id] if _written_by(row, target)), key=_thread_order
        )
        message = InboundMessage(
            channel=Channel(thread.kind),
            source=thread.location,
            message_id=target.message_id,
            subject=thread.subject,
            text=join_asker_messages(row.text for row in parts),
            original=join_asker_messages(row.original for row in parts),
            author=target.author,
            sent_at=target.sent_at,
            in_reply_to=target.in_reply_to,
            references=tuple(target.references),
        )
        inputs.append(TriageInput(message_pk=pk, thread_id=target.thread_id, message=message))
    return inputs


def _draft_values(result: TriageResult, result_id: int, based_on: int, now: datetime) -> dict[str, Any]:
    """Columns of a review item that come from one triage result."""
    tips = _tips_json(result)
    missing = [d.value for d in result.details.missing]
    return {
        "draft_text": result.reply.text,
        "language": result.reply.language.value,
        "channel": result.reply.channel.value,
        "action": result.decision.action.value,
        "tips": tips,
        "missing": missing,
        "tip_keys": _keys([t["tip_id"] for t in tips]),
        "missing_keys": _keys(missing),
        "triage_result_id": result_id,
        "based_on_pk": based_on,
        "updated_at": now,
    }


def _record_triage(
    session: Session,
    results: Sequence[tuple[int, TriageResult]],
    *,
    model_version: str,
    actor: str,
    claim: Claim | None,
    now: datetime,
) -> Recorded:
    """Mark messages triaged, store their results, and create or update the thread's one review item.

    A result whose action is `Action.NOT_A_QUESTION` is stored but creates no review item and leaves
    an existing draft as it was, so such threads never appear in the queue.

    A message is only recorded if it is still untriaged (inline triage during ingest) or still held by
    `claim` (workers); a result for a message whose claim went stale and passed on is dropped.
    """
    if not results:
        return Recorded(0, 0, 0, 0)
    pks = [pk for pk, _ in results]
    marked: dict[int, tuple[int, str]] = {}
    sent: dict[int, datetime | None] = {}
    for part in chunked(sorted(set(pks))):
        stmt = update(MessageRow).where(MessageRow.id.in_(part))
        if claim is not None:
            stmt = stmt.where(
                MessageRow.triage_state == TriageState.CLAIMED.value, MessageRow.claimed_by == claim.token
            ).values(triage_state=TriageState.TRIAGED.value)
        else:
            stmt = stmt.where(MessageRow.triage_state == TriageState.UNTRIAGED.value).values(
                triage_state=TriageState.TRIAGED.value, claimed_by=actor[:200], claimed_at=now
            )
        rows = session.execute(
            stmt.returning(MessageRow.id, MessageRow.thread_id, MessageRow.message_id, MessageRow.sent_at),
            execution_options={"synchronize_session": False},
        )
        for pk, tid, mid, at in rows:
            marked[pk] = (tid, mid)
            sent[pk] = at
    kept = sorted(((pk, r) for pk, r in dict(results).items() if pk in marked), key=lambda pair: pair[0])
    lost = len(set(pks)) - len(kept)
    if not kept:
        return Recorded(0, lost, 0, 0)
    thread_ids = sorted({marked[pk][0] for pk, _ in kept})
    if session.get_bind().dialect.name == "postgresql":
        lock_threads(session, thread_ids)

    result_rows = [
        {
            "message_pk": pk,
            "thread_id": marked[pk][0],
            "model_version": model_version or r.model_version,
            "language": r.reply.language.value,
            "action": r.decision.action.value,
            "tips": _tips_json(r),
            "details": _details_json(r),
            "missing": [d.value for d in r.details.missing],
            "reply": r.reply.text,
            "why": r.decision.why,
            "created_at": now,
        }
        for pk, r in kept
    ]
    inserted = insert_returning(session, TRIAGE_RESULTS, result_rows, ("id", "message_pk"))
    result_ids = {message_pk: rid for rid, message_pk in inserted}

    drafts: dict[int, _Draft] = {}
    for part in chunked(thread_ids):
        for rid, tid, status, based_on, based_sent, missing in session.execute(
            select(
                ReviewItemRow.id,
                ReviewItemRow.thread_id,
                ReviewItemRow.status,
                ReviewItemRow.based_on_pk,
                MessageRow.sent_at,
                ReviewItemRow.missing,
            )
            .join(MessageRow, MessageRow.id == ReviewItemRow.based_on_pk)
            .where(ReviewItemRow.thread_id.in_(part))
        ):
            drafts[tid] = _Draft(
                id=rid,
                status=ReviewStatus(status),
                based_on=based_on,
                based_sent=based_sent,
                missing=tuple(missing or ()),
            )

    notes: list[tuple[int, ReviewStatus | None, ReviewStatus, str]] = []
    drafted = updated = 0
    for pk, r in kept:
        tid, mid = marked[pk]
        if r.decision.action is Action.NOT_A_QUESTION:
            continue  # an announcement, vote or thanks: the result is kept, no draft is made or changed
        values = _draft_values(r, result_ids[pk], pk, now)
        draft = drafts.get(tid)
        if draft is None:
            drafts[tid] = _Draft(
                id=None,
                status=ReviewStatus.PENDING,
                based_on=pk,
                based_sent=sent[pk],
                values=values,
                changed=True,
            )
            notes.append((tid, None, ReviewStatus.PENDING, f"drafted from <{mid}>"))
            drafted += 1
        elif not _after((sent[pk], pk), (draft.based_sent, draft.based_on)):
            continue  # an earlier message of the thread: the draft already covers it
        elif draft.status is ReviewStatus.PENDING:
            draft.values.update(values)
            draft.based_on = pk
            draft.based_sent = sent[pk]
            draft.changed = True
            notes.append(
                (
                    tid,
                    ReviewStatus.PENDING,
                    ReviewStatus.PENDING,
                    f"draft updated after the asker's follow-up <{mid}>",
                )
            )
            updated += 1
        elif draft.status is ReviewStatus.SENT and set(values["missing"]) < set(draft.missing):
            # the sent reply asked for details and the asker gave some: a new draft, pending review again
            draft.values.update(values, status=ReviewStatus.PENDING.value, final_text=None)
            draft.based_on, draft.based_sent, draft.changed = pk, sent[pk], True
            draft.status, draft.missing = ReviewStatus.PENDING, tuple(values["missing"])
            notes.append(
                (
                    tid,
                    ReviewStatus.SENT,
                    ReviewStatus.PENDING,
                    f"the asker answered the details asked for in <{mid}>; drafted again",
                )
            )
            updated += 1
        else:
            notes.append(
                (
                    tid,
                    draft.status,
                    draft.status,
                    f"follow-up <{mid}> from the asker came after review; draft left as it was",
                )
            )

    created = [(tid, d) for tid, d in drafts.items() if d.id is None]
    if created:
        item_rows = [
            {
                **d.values,
                "thread_id": tid,
                "status": ReviewStatus.PENDING.value,
                "final_text": None,
                "created_at": now,
            }
            for tid, d in created
        ]
        for rid, tid in insert_returning(session, REVIEW_ITEMS, item_rows, ("id", "thread_id")):
            drafts[tid].id = rid
    fresh = {tid for tid, _ in created}
    rewritten = [d for tid, d in drafts.items() if d.changed and tid not in fresh]
    for group in {tuple(sorted(d.values)) for d in rewritten}:  # reopened items set two more columns
        columns = list(group)
        session.execute(
            update(REVIEW_ITEMS)
            .where(REVIEW_ITEMS.c.id == bindparam("item_pk"))
            .values({name: bindparam(f"new_{name}") for name in columns}),
            [
                {"item_pk": d.id, **{f"new_{name}": d.values[name] for name in columns}}
                for d in rewritten
                if tuple(sorted(d.values)) == group
            ],
        )
    if notes:
        session.execute(
            insert(AUDIT_LOG),
            [
                {
                    "thread_id": tid,
                    "review_item_id": drafts[tid].id,
                    "from_status": old.value if old else None,
                    "to_status": new.value,
                    "actor": actor[:200],
                    "note": note,
                    "at": now,
                }
                for tid, old, new, note in notes
            ],
        )
    return Recorded(recorded=len(kept), lost=lost, drafted=drafted, updated=updated)
