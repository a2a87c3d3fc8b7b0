"""Threading does not depend on arrival order: the sample archive in any order gives the same threads.

Forwards, backwards, in halves both ways (two ingest runs), and by two processes at once (each with
one half, on one SQLite file): the threads (as sets of Message-IDs), their answered flags and the
drafts (which threads have a pending review item, and its tips) are the same. Ingest stores without
triage and one worker triages afterwards with the real engine, as `work --until-empty` does.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import TEMPLATES
from tests.store.dump import thread_view
from tests.store.factories import archive_records, record
from triagebot.app import Engine, engine_from, read_templates
from triagebot.core.classify import TrainedModel
from triagebot.core.kb import KnowledgeBase
from triagebot.core.models import InboundMessage
from triagebot.ingest.archive import read_paths
from triagebot.modelstore import ModelMeta
from triagebot.pipeline import ingest, work
from triagebot.store import make_engine, open_store
from triagebot.store.tables import MESSAGES, REVIEW_ITEMS, THREADS

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "archive"

Threads = frozenset[tuple[frozenset[str], bool, str | None]]  # (messages, answered, pending tips)


@pytest.fixture(scope="module")
def real_engine(kb: KnowledgeBase, trained: tuple[TrainedModel, ModelMeta]) -> Engine:
    model, meta = trained
    return engine_from(kb, model, meta, read_templates(TEMPLATES))


@pytest.fixture(scope="module")
def archive() -> list[InboundMessage]:
    messages = [m for m in read_paths([SAMPLES]) if isinstance(m, InboundMessage)]
    assert len(messages) > 50
    return messages


def threads(url: str) -> Threads:
    """Every thread as its messages, its answered flag and the tips of its pending draft (if any)."""
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            members: dict[int, set[str]] = {}
            for mid, tid in c.execute(select(MESSAGES.c.message_id, MESSAGES.c.thread_id)):
                members.setdefault(tid, set()).add(mid)
            drafts = {
                tid: keys
                for tid, keys in c.execute(
                    select(REVIEW_ITEMS.c.thread_id, REVIEW_ITEMS.c.tip_keys).where(
                        REVIEW_ITEMS.c.status == "pending"
                    )
                )
            }
            answered = {tid: flag for tid, flag in c.execute(select(THREADS.c.id, THREADS.c.answered))}
    finally:
        engine.dispose()
    assert set(members) == set(answered), "every thread has messages and every message a thread"
    return frozenset((frozenset(m), answered[tid], drafts.get(tid)) for tid, m in members.items())


def ingest_runs(url: str, runs: Sequence[Sequence[InboundMessage]], engine: Engine) -> Threads:
    """Ingest each run in turn (no triage), then triage everything with one worker."""
    for part in runs:
        with open_store(url) as store:
            ingest(part, store, None, batch_size=7)
    with open_store(url) as store:
        work(store, engine, "w1", until_empty=True)
    return threads(url)


def _ingest_half(url: str, start: int, stop: int, go: object) -> None:
    """One of two processes: wait for the start signal, then ingest its half of the sample archive."""
    messages = [m for m in read_paths([SAMPLES]) if isinstance(m, InboundMessage)]
    go.wait()  # type: ignore[attr-defined]
    with open_store(url) as store:
        ingest(messages[start:stop], store, None, batch_size=3)


def test_any_order_gives_the_same_threads(
    archive: list[InboundMessage], real_engine: Engine, tmp_path: Path
) -> None:
    half = len(archive) // 2
    orders: dict[str, list[list[InboundMessage]]] = {
        "backwards": [archive[::-1]],
        "halves": [archive[:half], archive[half:]],
        "halves, later first": [archive[half:], archive[:half]],
    }
    forwards = ingest_runs(f"sqlite:///{tmp_path}/forwards.db", [archive], real_engine)
    assert any(answered for _, answered, _ in forwards) and any(tips for _, _, tips in forwards)
    assert any(len(messages) > 2 for messages, _, _ in forwards)
    for name, runs in orders.items():
        got = ingest_runs(f"sqlite:///{tmp_path}/{name}.db", runs, real_engine)
        assert got == forwards, f"{name}: {sorted(map(sorted, {m for m, *_ in got ^ forwards}))[:4]}"


def test_two_processes_at_once_give_the_same_threads(
    archive: list[InboundMessage], real_engine: Engine, tmp_path: Path
) -> None:
    forwards = ingest_runs(f"sqlite:///{tmp_path}/forwards.db", [archive], real_engine)
    url = f"sqlite:///{tmp_path}/together.db"
    open_store(url).close()  # migrated once, so the two processes race on messages, not on the schema
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    half = len(archive) // 2
    workers = [
        context.Process(target=_ingest_half, args=(url, start, stop, go))
        for start, stop in ((half, len(archive)), (0, half))
    ]
    for process in workers:
        process.start()
    go.set()
    for process in workers:
        process.join(timeout=300)
        assert process.exitcode == 0
    with open_store(url) as store:
        work(store, real_engine, "w1", until_empty=True)
    assert threads(url) == forwards


def test_two_halves_later_first_on_postgresql(
    archive: list[InboundMessage], real_engine: Engine, make_db_url: Callable[[], str], tmp_path: Path
) -> None:
    half = len(archive) // 2
    forwards = ingest_runs(make_db_url(), [archive], real_engine)
    assert ingest_runs(make_db_url(), [archive[half:], archive[:half]], real_engine) == forwards


def test_a_reply_stored_first_joins_its_late_parent_and_answers_it(
    tmp_path: Path, real_engine: Engine
) -> None:
    url = f"sqlite:///{tmp_path}/late.db"
    question = record("q@x", "SSVM will not start", "The secondary storage VM stays in Starting on 4.19")
    answer = record(
        "a@x",
        "Re: SSVM will not start",
        "Check the systemvm template",
        "Bob <bob@example.org>",
        in_reply_to="q@x",
        minute=5,
    )
    again = record(
        "b@x",
        "Re: SSVM will not start",
        "That fixed it",
        in_reply_to="a@x",
        references=["q@x", "a@x"],
        minute=9,
    )
    with open_store(url) as store:
        ingest([again, answer], store, None)
        orphan = store.thread_of("b@x")
        assert orphan is not None and not orphan.is_question and orphan.root_message_id in {"a@x", "b@x"}
        ingest([question], store, None)
        thread = store.thread_of("b@x")
        assert thread is not None and thread.root_message_id == "q@x"
        assert set(thread.message_ids) == {"q@x", "a@x", "b@x"}
        assert (thread.asker, thread.is_question, thread.answered) == ("alice@example.org", True, True)
        assert store.row_counts()["threads"] == 1 and store.row_counts()["pending_parents"] == 0
        assert store.message("b@x") is not None


def _factory_half(url: str, count: int, start: int, stop: int, go: object) -> None:
    """One of two processes: wait for the start signal, then ingest its slice of the factory archive."""
    messages = list(archive_records(count, seed=3))
    go.wait()  # type: ignore[attr-defined]
    with open_store(url) as store:
        ingest(messages[start:stop], store, None, batch_size=20)


FACTORY = 600  # messages of the synthetic archive: seven subjects, so subject threading is busy


def test_a_synthetic_archive_in_any_order_gives_the_same_threads(
    make_db_url: Callable[[], str], real_engine: Engine
) -> None:
    archive = list(archive_records(FACTORY, seed=3))
    half = len(archive) // 2
    forwards = ingest_runs(make_db_url(), [archive], real_engine)
    assert any(len(messages) > 3 for messages, _, _ in forwards)
    assert any(answered and tips for _, answered, tips in forwards)
    assert any(not answered and tips for _, answered, tips in forwards)
    orders = {
        "backwards": [archive[::-1]],
        "halves, later first": [archive[half:], archive[:half]],
        "halves, each backwards": [archive[half:][::-1], archive[:half][::-1]],
    }
    for name, runs in orders.items():
        got = ingest_runs(make_db_url(), runs, real_engine)
        assert got == forwards, f"{name}: {len(got ^ forwards)} threads differ"
    url = make_db_url()
    open_store(url).close()
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    workers = [
        context.Process(target=_factory_half, args=(url, FACTORY, start, stop, go))
        for start, stop in ((half, FACTORY), (0, half))
    ]
    for process in workers:
        process.start()
    go.set()
    for process in workers:
        process.join(timeout=300)
        assert process.exitcode == 0
    with open_store(url) as store:
        work(store, real_engine, "w1", until_empty=True)
    assert thread_view(url) == forwards


def test_triage_while_ingesting_backwards_gives_the_drafts_of_forwards(
    make_db_url: Callable[[], str], real_engine: Engine
) -> None:
    archive = list(archive_records(300, seed=5))
    urls = {"forwards": make_db_url(), "backwards": make_db_url()}
    for name, messages in (("forwards", archive), ("backwards", archive[::-1])):
        with open_store(urls[name]) as store:
            ingest(messages, store, real_engine, batch_size=25)
    forwards, backwards = thread_view(urls["forwards"]), thread_view(urls["backwards"])
    assert any(tips for _, _, tips in forwards)
    assert backwards == forwards
    with open_store(urls["backwards"]) as store:
        assert store.claimed() == 0


def test_a_late_question_takes_back_the_draft_of_a_follow_up_and_drops_its_answered_parents_draft(
    tmp_path: Path, real_engine: Engine
) -> None:
    url = f"sqlite:///{tmp_path}/late-question.db"
    question = record(
        "q@x",
        "cloudstack-setup-databases fails",
        "cloudstack-setup-databases fails with Access denied for user 'root'@'localhost'",
        "Ann <ann@example.org>",
    )
    follow_up = record(
        "f@x",
        "Re: cloudstack-setup-databases fails",
        "SELinux is set to enforcing during management server setup, if that matters",
        "Ann <ann@example.org>",
        in_reply_to="q@x",
        minute=3,
    )
    answer = record(
        "a@x",
        "Re: cloudstack-setup-databases fails",
        "Grant the root user",
        "Bob <bob@x.org>",
        in_reply_to="f@x",
        references=["q@x", "f@x"],
        minute=8,
    )
    with open_store(url) as store:
        ingest([follow_up, answer], store, real_engine)
        before = thread_view(url)
        assert len(before) == 1 and next(iter(before))[1] is True  # an orphan thread, answered by Bob
        ingest([question], store, real_engine)
        ((messages, answered, tips),) = thread_view(url)
        assert messages == {"q@x", "f@x", "a@x"} and answered
        assert tips is not None and "setup-databases" in tips
        assert store.row_counts()["review_items"] == 1 and store.row_counts()["threads"] == 1
