"""Workers on one database, on SQLite and PostgreSQL: disjoint claims, each message triaged exactly once."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.store.doubles import Watched
from tests.store.factories import archive_records, record
from triagebot.app import Engine
from triagebot.errors import StoreError
from triagebot.pipeline import WorkSummary, ingest, work
from triagebot.store import Claim, Store, TriageState, open_store
from triagebot.store.tables import MESSAGES, TRIAGE_RESULTS

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import sys
from tests.store.doubles import Watched, saved_engine
from triagebot.pipeline import work
from triagebot.store import open_store

store = open_store(sys.argv[1])
engine = Watched(saved_engine(sys.argv[3]), delay=0.01)
summary = work(store, engine, sys.argv[2], batch=5, until_empty=True)
print(summary.triaged)
"""


def _fill(url: str, count: int = 300) -> int:
    """Store an archive without triage; return how many messages wait."""
    store = open_store(url)
    ingest(archive_records(count, seed=3), store, None, batch_size=100)
    waiting = store.untriaged()
    store.close()
    return waiting


def _check_exactly_once(url: str, waiting: int, workers: Sequence[str]) -> dict[str, int]:
    """Every waiting message has one result; return how many each worker's claims covered."""
    store = open_store(url)
    try:
        with store.engine.connect() as c:
            results = c.execute(select(func.count()).select_from(TRIAGE_RESULTS)).scalar()
            doubled = c.execute(
                select(TRIAGE_RESULTS.c.message_pk)
                .group_by(TRIAGE_RESULTS.c.message_pk)
                .having(func.count() > 1)
            ).all()
            claimed = c.execute(
                select(MESSAGES.c.claimed_by).where(MESSAGES.c.triage_state == TriageState.TRIAGED.value)
            ).scalars()
            per_worker = {w: 0 for w in workers}
            for token in claimed:
                per_worker[token.split(":")[0]] += 1
        assert store.untriaged() == 0
    finally:
        store.close()
    assert results == waiting and doubled == []
    return per_worker


def test_two_worker_threads_share_the_work(db_url: str, engine: Engine) -> None:
    waiting = _fill(db_url)
    watched = Watched(engine, delay=0.01)
    stores = [open_store(db_url), open_store(db_url)]
    start = threading.Barrier(2)
    summaries: dict[str, WorkSummary] = {}
    failures: list[BaseException] = []

    def run(name: str, store: Store) -> None:
        try:
            start.wait()
            summaries[name] = work(store, watched, name, batch=5, until_empty=True)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(f"w{i}", s)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for s in stores:
        s.close()
    assert not failures, failures
    per_worker = _check_exactly_once(db_url, waiting, ["w0", "w1"])
    assert per_worker == {name: s.triaged for name, s in summaries.items()}
    assert all(n > 0 for n in per_worker.values()), per_worker
    seen = [m.message_id for m in watched.seen]
    assert len(seen) == len(set(seen)) == waiting


def test_two_worker_processes_share_the_work(db_url: str, saved_models: Path) -> None:
    """Each process builds the real engine from the model the session trained and saved."""
    waiting = _fill(db_url, 200)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url, f"p{i}", str(saved_models)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    per_worker = _check_exactly_once(db_url, waiting, ["p0", "p1"])
    assert [int(out.strip()) for out in outputs] == [per_worker["p0"], per_worker["p1"]]
    assert sum(per_worker.values()) == waiting


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


CLAIM_TIMEOUT = timedelta(minutes=10)


@pytest.fixture
def clocked(db_url: str) -> Iterator[tuple[Store, Clock]]:
    """A store on a hand-moved clock, holding one question waiting for triage."""
    clock = Clock()
    store = open_store(db_url, clock=clock)
    try:
        ingest([record("q@x", "SELinux", "SELinux is set to enforcing")], store, None)
        yield store, clock
    finally:
        store.close()


def test_stale_claims_are_taken_over_and_the_late_result_dropped(
    clocked: tuple[Store, Clock], engine: Engine
) -> None:
    store, clock = clocked
    first = store.claim("A", 10, stale_after=CLAIM_TIMEOUT)
    assert len(first.message_pks) == 1
    assert store.claim("B", 10, stale_after=CLAIM_TIMEOUT).message_pks == ()
    clock.now += CLAIM_TIMEOUT + timedelta(seconds=1)
    second = store.claim("B", 10, stale_after=CLAIM_TIMEOUT)
    assert second.message_pks == first.message_pks
    results = list(
        zip(
            first.message_pks,
            engine.triage_batch([i.message for i in store.triage_inputs(first.message_pks)]),
            strict=True,
        )
    )
    late = store.record_triage(results, model_version=engine.model_version, actor="A", claim=first)
    fresh = store.record_triage(results, model_version=engine.model_version, actor="B", claim=second)
    assert (late.recorded, late.lost) == (0, 1)
    assert (fresh.recorded, fresh.lost, fresh.drafted) == (1, 0, 1)
    assert store.row_counts()["triage_results"] == 1
    message = store.message("q@x")
    assert message is not None and message.triage_state is TriageState.TRIAGED
    assert message.claimed_by is not None and message.claimed_by.startswith("B:")


def test_a_failing_batch_gives_its_claim_back(store: Store, engine: Engine) -> None:
    ingest([record("q@x", "SELinux", "SELinux is set to enforcing")], store, None)
    with pytest.raises(RuntimeError, match="exploded"):
        work(store, Watched(engine, fail=RuntimeError("model exploded")), "w", until_empty=True)
    message = store.message("q@x")
    assert message is not None
    assert (message.triage_state, message.claimed_by) == (TriageState.UNTRIAGED, None)


def test_polling_worker_sleeps_when_idle_and_stops_when_told(store: Store, engine: Engine) -> None:
    naps: list[float] = []
    summary = work(
        store, engine, "w", poll_seconds=0.5, sleep=naps.append, should_stop=lambda: len(naps) >= 2
    )
    assert naps == [0.5, 0.5] and summary == WorkSummary()


def test_workers_keep_up_with_a_running_ingest(db_url: str, engine: Engine) -> None:
    """Ingest (without triage) and two polling workers at once: no deadlock, no message triaged twice."""
    open_store(db_url).close()
    watched = Watched(engine, delay=0.005)
    stored = threading.Event()
    failures: list[BaseException] = []

    def ingester() -> None:
        try:
            with open_store(db_url) as store:
                ingest(archive_records(600, seed=9), store, None, batch_size=25)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            stored.set()

    def worker(name: str) -> None:
        try:
            store = open_store(db_url)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
            return
        try:
            work(
                store,
                watched,
                name,
                batch=10,
                poll_seconds=0.01,
                should_stop=lambda: bool(failures) or (stored.is_set() and store.untriaged() == 0),
            )
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=ingester)] + [
        threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not failures, failures
    store = open_store(db_url)
    with store.engine.connect() as c:
        triaged = c.execute(
            select(func.count())
            .select_from(MESSAGES)
            .where(MESSAGES.c.triage_state == TriageState.TRIAGED.value)
        ).scalar()
    store.close()
    assert triaged and triaged > 100
    _check_exactly_once(db_url, int(triaged), ["w0", "w1"])


def test_until_empty_waits_for_a_dead_workers_claim_and_takes_it_over(
    clocked: tuple[Store, Clock], engine: Engine
) -> None:
    store, clock = clocked
    dead = store.claim("dead-worker", 10, stale_after=CLAIM_TIMEOUT)
    assert dead.message_pks
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        clock.now += timedelta(minutes=4)

    summary = work(store, engine, "w", until_empty=True, stale_after=CLAIM_TIMEOUT, poll_seconds=5, sleep=nap)
    assert summary.triaged == 1
    assert naps == [5, 5, 5], "it must wait while the claim is fresh, and take it over once stale"
    message = store.message("q@x")
    assert message is not None and message.triage_state is TriageState.TRIAGED
    assert message.claimed_by is not None and message.claimed_by.startswith("w:")
    assert store.claimed() == 0


def test_store_errors_are_logged_and_retried_with_backoff(
    store: Store, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    ingest([record("q@x", "SELinux", "SELinux is set to enforcing")], store, None)
    real_claim, failures = store.claim, iter([StoreError("database error: server closed the connection")] * 3)

    def flaky_claim(worker: str, limit: int, *, stale_after: timedelta) -> Claim:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real_claim(worker, limit, stale_after=stale_after)

    store.claim = flaky_claim  # type: ignore[method-assign]
    naps: list[float] = []
    with caplog.at_level(logging.WARNING, logger="triagebot.pipeline"):
        summary = work(store, engine, "w", until_empty=True, retry_cap=3.0, sleep=naps.append)
    assert naps == [1.0, 2.0, 3.0]
    assert summary.triaged == 1
    assert [r.getMessage() for r in caplog.records][0].startswith(
        "claiming messages failed: database error: server closed the connection; retrying in 1 s"
    )
    assert len(caplog.records) == 3


def test_results_are_recorded_beside_the_next_batch_where_the_database_allows(
    db_url: str, engine: Engine
) -> None:
    """On PostgreSQL a batch is written by a second thread while the next is triaged; on SQLite in turn."""
    waiting = _fill(db_url, 120)
    store = open_store(db_url)
    real_record, threads = store.record_triage, []

    def noted_record(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread() is threading.main_thread())
        return real_record(*args, **kwargs)

    store.record_triage = noted_record  # type: ignore[method-assign]
    try:
        summary = work(store, engine, "w", batch=10, until_empty=True)
    finally:
        store.close()
    assert summary.triaged == waiting and summary.batches == len(threads) > 1
    assert set(threads) == ({False} if store.writes_in_parallel else {True})
    assert store.writes_in_parallel is db_url.startswith("postgresql")
    _check_exactly_once(db_url, waiting, ["w"])


def test_a_batch_whose_results_cannot_be_written_is_given_back_and_done_again(
    store: Store, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    ingest(archive_records(60, seed=5), store, None, batch_size=100)
    waiting = store.untriaged()
    real_record, failures = store.record_triage, iter([None, StoreError("database error: connection reset")])

    def flaky_record(*args, **kwargs):  # type: ignore[no-untyped-def]
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real_record(*args, **kwargs)

    store.record_triage = flaky_record  # type: ignore[method-assign]
    naps: list[float] = []
    with caplog.at_level(logging.WARNING, logger="triagebot.pipeline"):
        summary = work(store, engine, "w", batch=5, until_empty=True, sleep=naps.append)
    assert summary.triaged == waiting and naps == [1.0]
    assert [r.getMessage() for r in caplog.records][0].endswith(
        "failed: database error: connection reset; retrying"
    )
    assert store.untriaged() == 0 and store.claimed() == 0
    assert store.row_counts()["triage_results"] == waiting


def test_the_batch_in_flight_is_still_recorded_when_the_next_fails(store: Store, engine: Engine) -> None:
    ingest(archive_records(60, seed=5), store, None, batch_size=100)
    waiting = store.untriaged()
    calls = 0

    class FailsSecond:
        model_version = engine.model_version

        def triage_batch(self, messages):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            if calls == 2:
                raise RuntimeError("model exploded")
            return engine.triage_batch(messages)

    with pytest.raises(RuntimeError, match="exploded"):
        work(store, FailsSecond(), "w", batch=5, until_empty=True)  # type: ignore[arg-type]
    assert store.row_counts()["triage_results"] == 5  # the first batch, written while the second ran
    assert store.untriaged() == waiting - 5 and store.claimed() == 0  # the second's claim given back
