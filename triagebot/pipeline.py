"""The ingest and work pipeline: store what was read, thread it, triage what waits, draft replies.

    records ──ingest──▶ messages + threads ──triage (inline or by workers)──▶ triage results
                                                     └──▶ one review item per question thread (pending)

Moderation of the drafts lives in `triagebot.review`.

Each ingest batch is one transaction (store, thread, triage, draft, audit), so an ingest killed
half-way and run again ends with exactly the rows of one clean run. Workers claim messages so that
any number of them on one database never triage the same message twice.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol, TypeVar

from triagebot.core.models import Channel, InboundMessage, TriageResult
from triagebot.core.threads import (
    Role,
    ThreadFacts,
    author_key,
    join_asker_messages,
    parent_ids,
    role_in,
    starter_question,
)
from triagebot.errors import InputError, StoreError
from triagebot.ingest.records import ReadProblem
from triagebot.store import (
    Claim,
    Placer,
    Recorded,
    Store,
    TriageInput,
)

log = logging.getLogger(__name__)

DEFAULT_BATCH = 500
DEFAULT_CLAIM_TIMEOUT = timedelta(minutes=10)
MAX_MESSAGE_ID = 998
SPARE_CHUNK = 32  # messages triaged ahead between two checks that the caller is still busy
INGEST_ACTOR = "ingest"
# The source of a message that names none (mail without a List-Id, say) when no `source` is given.
DEFAULT_SOURCES = {Channel.EMAIL: "mail", Channel.SLACK: "slack", Channel.DISCORD: "discord"}
RETRY_FIRST = 1.0  # seconds before the first retry of a failed store call; doubled each time
RETRY_CAP = 60.0  # longest pause between retries
_T = TypeVar("_T")


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


@dataclass(slots=True)
class _Guessed:
    """A question thread as the reading process has seen it so far."""

    subject: str
    asker: str
    text: str  # the asker's messages joined as the store joins them (`join_asker_messages`)
    answered: bool = False

    @property
    def size(self) -> int:
        """Characters held for this thread."""
        return len(self.subject) + len(self.text)


class ThreadGuess:
    """Guess, in the reading process, what each record will be triaged with once stored.

    A record that must start a question is triaged with its own words (`starter_question`). A
    follow-up by the asker in a question thread nobody else has answered is triaged with the
    thread's asker messages joined in order, under the thread's subject: the same threading rules
    (`role_in`), applied to the records read in this run, found by their parent ids. Anything that
    depends on earlier runs (a parent stored before, a thread joined by subject) is not guessed.
    At most `max_chars` characters of thread text are held, the oldest threads let go first.
    """

    def __init__(self, *, max_chars: int = 5_000_000, max_ids: int = 100_000) -> None:
        """Hold at most `max_chars` characters of thread text and `max_ids` message ids."""
        self._max_chars = max_chars
        self._max_ids = max_ids
        self._held = 0
        self._root: dict[str, str] = {}  # message id → id of the record that started its thread
        self._threads: dict[str, _Guessed] = {}  # question threads by their first record's id

    def question(self, record: InboundMessage) -> tuple[str, str] | None:
        """Subject and text `record` will likely be triaged with; None when it will not be, or unknown."""
        if record.message_id in self._root:  # a duplicate: stored once, triaged once
            return None
        if (started := starter_question(record)) is not None:
            self._remember(record.message_id, record.message_id)
            self._hold(record.message_id, _Guessed(record.subject, author_key(record.author), record.text))
            return started
        root = next((self._root[ref] for ref in parent_ids(record) if ref in self._root), None)
        if root is None:
            return None
        self._remember(record.message_id, root)
        thread = self._threads.get(root)
        if thread is None:  # a thread that is no question, or one let go
            return None
        fit = role_in(record, author_key(record.author), ThreadFacts(thread.asker, True, thread.answered))
        if fit.answers:
            thread.answered = True
        if fit.role is not Role.FOLLOW_UP:
            return None
        self._held -= thread.size
        del self._threads[root]
        thread.text = join_asker_messages((thread.text, record.text))
        self._hold(root, thread)
        return thread.subject, thread.text

    def _remember(self, message_id: str, root: str) -> None:
        self._root[message_id] = root
        while len(self._root) > self._max_ids:
            del self._root[next(iter(self._root))]

    def _hold(self, root: str, thread: _Guessed) -> None:
        """Hold `thread` as the most recently active one, letting the oldest go beyond `max_chars`."""
        self._threads[root] = thread
        self._held += thread.size
        while self._held > self._max_chars:
            self._held -= self._threads.pop(next(iter(self._threads))).size


class TriageAhead:
    """A triage engine that works out likely triage inputs early, in the archive-reading process.

    With `read_paths_in_background(..., side=ahead)` the reading runs in a second process, which has
    time to spare; there, every record is read by a `ThreadGuess`, and each question starter and
    follow-up it expects is triaged as the store will triage it. Results are kept by exactly what
    triage reads, so a wrong guess (a record already stored, say) costs time, never a wrong result;
    anything not prepared is triaged here by `engine`. At most `keep` results are held, the oldest
    dropped first.
    """

    def __init__(self, engine: TriageEngine, *, keep: int = 5_000) -> None:
        """Wrap `engine`, holding at most `keep` prepared results."""
        self._engine = engine
        self._keep = keep
        self._ready: dict[_Key, TriageResult] = {}
        self._guess = ThreadGuess()
        self.reused = 0

    @property
    def model_version(self) -> str:
        """The wrapped engine's model version."""
        return self._engine.model_version

    def prepare(
        self, items: Sequence[InboundMessage | ReadProblem], spare: Callable[[], bool] = lambda: True
    ) -> list[tuple[_Key, TriageResult]]:
        """Read `items` into the guess and triage the likely inputs, `SPARE_CHUNK` at a time while
        `spare()` says there is time (the caller is busy).

        Runs in the reading process, on every batch in reading order, so the guess sees every record.
        """
        messages = []
        for item in items:
            if isinstance(item, InboundMessage) and (question := self._guess.question(item)) is not None:
                subject, text = question
                messages.append(
                    InboundMessage(
                        channel=item.channel,
                        source="",
                        message_id=item.message_id,
                        subject=subject,
                        text=text,
                    )
                )
        prepared: list[tuple[_Key, TriageResult]] = []
        for start in range(0, len(messages), SPARE_CHUNK):
            if not spare():
                break
            chunk = messages[start : start + SPARE_CHUNK]
            results = self._engine.triage_batch(chunk)
            prepared.extend((_key(m), r) for m, r in zip(chunk, results, strict=True))
        return prepared

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
    """What an ingest run did. `read` = `new` + `duplicates` + `skipped`; `errors` says why each skip.

    `notices` are about messages that were stored all the same (cut to fit the limits, split off a
    damaged separator): reported, not counted as skipped.
    """

    read: int = 0
    new: int = 0
    duplicates: int = 0
    skipped: int = 0
    errors: tuple[tuple[str, str], ...] = ()
    notices: tuple[tuple[str, str], ...] = ()
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


def _unusable(record: InboundMessage) -> str | None:
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
    records: Iterable[InboundMessage | ReadProblem],
    store: Store,
    engine: TriageEngine | None,
    *,
    source: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[IngestSummary], None] | None = None,
) -> IngestSummary:
    """Store records in batches, thread them, and (with an engine) triage questions and follow-ups.

    `source` names the list or channel (default: each message's own, else `DEFAULT_SOURCES`). Without an
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
    notices: list[tuple[str, str]] = []
    pending: list[InboundMessage] = []

    def current() -> IngestSummary:
        return IngestSummary(errors=tuple(errors), notices=tuple(notices), **counts)

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
        if isinstance(item, ReadProblem) and item.kept:
            notices.append((item.where, item.why))
            continue
        counts["read"] += 1
        why = item.why if isinstance(item, ReadProblem) else _unusable(item)
        if why is not None:
            errors.append((item.where, why))
            counts["skipped"] += 1
            continue
        if isinstance(item, InboundMessage):
            named = item.source or source
            pending.append(item if named else replace(item, source=DEFAULT_SOURCES[item.channel]))
        if len(pending) >= batch_size:
            flush()
    flush()
    summary = current()
    log.info("ingest: %s", summary)
    return summary


def _attempt(
    action: Callable[[], _T],
    what: str,
    *,
    retry_cap: float,
    should_stop: Callable[[], bool] | None,
    sleep: Callable[[float], None],
) -> _T | None:
    """Run `action`, retrying StoreError with doubling pauses (1 s up to `retry_cap`) and logging each.

    A polling worker must outlive a database restart, so store errors are waited out, not fatal.
    Returns None only when `should_stop()` asks to stop while waiting.
    """
    pause = RETRY_FIRST
    while True:
        try:
            return action()
        except StoreError as exc:
            if should_stop is not None and should_stop():
                return None
            log.warning("%s failed: %s; retrying in %.0f s", what, exc, pause)
            sleep(pause)
            pause = min(pause * 2, retry_cap)


def work(
    store: Store,
    engine: TriageEngine,
    worker_id: str,
    *,
    batch: int = 100,
    until_empty: bool = False,
    stale_after: timedelta = DEFAULT_CLAIM_TIMEOUT,
    poll_seconds: float = 2.0,
    retry_cap: float = RETRY_CAP,
    should_stop: Callable[[], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[WorkSummary], None] | None = None,
) -> WorkSummary:
    """Claim waiting messages, triage them and record the results, batch after batch.

    Stops when nothing is left (`until_empty`) or when `should_stop()` says so; otherwise polls every
    `poll_seconds`. Claims older than `stale_after` (a worker that died) are taken over. With
    `until_empty`, "nothing left" means no message waits *and none is claimed*: while other workers
    hold claims this worker keeps polling, so it finishes what they finish and takes over, once
    stale, what a dead worker left. Store errors (a database restarting) are logged and retried with
    backoff up to `retry_cap` seconds; a result recorded twice is impossible because recording
    checks the claim. Where the store writes in parallel (PostgreSQL), each batch's results are
    written by a second thread while the next batch is triaged; a batch whose results cannot be
    written gives its claim back and is done again.

    Example:
        >>> work(store, engine, "worker-1", until_empty=True).triaged  # doctest: +SKIP
        42
    """
    if batch < 1:
        raise InputError("batch size must be at least 1")
    summary = WorkSummary()
    waiting_on_others = False
    recording: tuple[Claim, Future[Recorded]] | None = None  # the batch being recorded meanwhile

    def attempt(action: Callable[[], _T], what: str) -> _T | None:
        return _attempt(action, what, retry_cap=retry_cap, should_stop=should_stop, sleep=sleep)

    def failed(claim: Claim, exc: BaseException) -> None:
        """Give the claim back; a store error is logged and waited out, anything else raised."""
        try:
            store.release(claim)
        except StoreError:
            log.warning("could not release claim %s; it will be taken over after it times out", claim.token)
        if not isinstance(exc, StoreError):
            raise exc
        log.warning("batch of claim %s failed: %s; retrying", claim.token, exc)
        sleep(RETRY_FIRST)

    def settle() -> None:
        """Wait for the batch being recorded and count it; a store error gives its claim back."""
        nonlocal recording, summary
        if recording is None:
            return
        claim, future = recording
        recording = None
        try:
            recorded = future.result()
        except BaseException as exc:
            failed(claim, exc)
            return
        summary = WorkSummary(
            batches=summary.batches + 1,
            triaged=summary.triaged + recorded.recorded,
            lost=summary.lost + recorded.lost,
            drafted=summary.drafted + recorded.drafted,
            updated=summary.updated + recorded.updated,
        )
        if progress is not None:
            progress(summary)

    # Where the database is a server (PostgreSQL), a batch's results are written while the next
    # batch is triaged, so the worker's core and the server's run side by side; SQLite would only
    # make the two writers wait for each other.
    recorder = ThreadPoolExecutor(max_workers=1) if store.writes_in_parallel else None
    try:
        while should_stop is None or not should_stop():
            claim = attempt(
                lambda: store.claim(worker_id, batch, stale_after=stale_after), "claiming messages"
            )
            if claim is None:
                break
            if not claim.message_pks:
                settle()  # our own batch still being recorded is no other worker's claim
                if until_empty:
                    held = attempt(store.claimed, "counting claimed messages")
                    if not held:
                        break
                    if not waiting_on_others:
                        log.warning(
                            "%d messages are claimed by other workers; waiting for them, or for their "
                            "claims to go stale after %s",
                            held,
                            stale_after,
                        )
                        waiting_on_others = True
                sleep(poll_seconds)
                continue
            waiting_on_others = False
            try:
                done = _triage(engine, store.triage_inputs(claim.message_pks))
            except BaseException as exc:
                failed(claim, exc)
                continue
            settle()

            def record(claim: Claim = claim, done: list[tuple[int, TriageResult]] = done) -> Recorded:
                version = engine.model_version
                return store.record_triage(done, model_version=version, actor=worker_id, claim=claim)

            recording = (claim, recorder.submit(record) if recorder else _done_now(record))
            if recorder is None:
                settle()
        settle()
    finally:
        if recorder is not None:
            if recording is not None:  # stopped by an error: the batch in flight still gets recorded
                with contextlib.suppress(BaseException):
                    settle()
            recorder.shutdown(wait=True)
    return summary


def _done_now(action: Callable[[], _T]) -> Future[_T]:
    """`action` run here and now, its outcome held in a finished Future (the path without a recorder)."""
    future: Future[_T] = Future()
    try:
        future.set_result(action())
    except BaseException as exc:
        future.set_exception(exc)
    return future
