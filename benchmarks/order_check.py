"""Arrival order and threading: one synthetic archive ingested in several orders, compared with forwards.

Run from the repository root: `.venv/bin/python benchmarks/order_check.py [--messages 3000]
[--batch 50] [--no-postgres] [--no-triage]`. The archive comes from the store tests'
factory (tests/store/factories.py: questions, answers, asker follow-ups, orphan replies, repeated
messages). Each order is ingested into a fresh database without triage, then one worker triages
everything with the real engine (model trained into a temporary directory), as `work --until-empty`
does. PostgreSQL runs on a private server started the way the tests do it (tests/pg.py), a fresh
database per run.

Printed, for each order and database: the number of threads, and how many threads differ from the
forwards run of the same database (a thread is its set of Message-IDs, its answered flag and the tips
of its pending draft). The target is 0 everywhere. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.store.dump import Threads, thread_view  # noqa: E402
from tests.store.factories import archive_records  # noqa: E402
from triagebot.core.models import InboundMessage  # noqa: E402

Runs = list[Sequence[InboundMessage]]


def orders(archive: list[InboundMessage], seed: int) -> dict[str, Runs]:
    """The arrival orders compared with forwards: each a list of ingest runs, one after the other."""
    half = len(archive) // 2
    shuffled = list(archive)
    random.Random(seed).shuffle(shuffled)
    return {
        "backwards": [archive[::-1]],
        "halves": [archive[:half], archive[half:]],
        "halves, later first": [archive[half:], archive[:half]],
        "halves, each backwards": [archive[half:][::-1], archive[:half][::-1]],
        "shuffled": [shuffled],
    }


def ingest_runs(url: str, runs: Runs, batch: int, engine: Any) -> Threads:
    """Ingest each run in turn without triage, then triage what waits with one worker."""
    from triagebot.pipeline import ingest, work
    from triagebot.store import open_store

    for part in runs:
        with open_store(url) as store:
            ingest(part, store, None, batch_size=batch)
    if engine is not None:
        with open_store(url) as store:
            work(store, engine, "order-check", until_empty=True)
    return thread_view(url)


def _ingest_part(url: str, count: int, seed: int, start: int, stop: int, batch: int, go: Any) -> None:
    """One of the concurrent processes: rebuild the archive, wait for the signal, ingest its slice."""
    from triagebot.pipeline import ingest
    from triagebot.store import open_store

    archive = list(archive_records(count, seed=seed))
    go.wait()
    with open_store(url) as store:
        ingest(archive[start:stop], store, None, batch_size=batch)


def together(url: str, count: int, seed: int, batch: int, engine: Any) -> Threads:
    """Two processes at once, each with one half (the later half started first), then one worker."""
    from triagebot.pipeline import work
    from triagebot.store import open_store

    open_store(url).close()  # migrated once, so the processes race on messages, not on the schema
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    half = count // 2
    procs = [
        context.Process(target=_ingest_part, args=(url, count, seed, start, stop, batch, go))
        for start, stop in ((half, count), (0, half))
    ]
    for proc in procs:
        proc.start()
    go.set()
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"a concurrent ingest process failed (exit code {proc.exitcode})")
    if engine is not None:
        with open_store(url) as store:
            work(store, engine, "order-check", until_empty=True)
    return thread_view(url)


def differing(got: Threads, forwards: Threads) -> int:
    """How many threads of one run have no identical thread in the other (counted on both sides)."""
    return len(got ^ forwards)


def load_engine(work: Path) -> Any:
    """The real engine over the shipped knowledge base, with a model trained into `work`."""
    from triagebot.app import engine_from, read_templates
    from triagebot.core.training import train_model
    from triagebot.kbfiles import load_knowledge_base
    from triagebot.modelstore import save_model

    kb = load_knowledge_base(ROOT / "knowledge")
    model = train_model(kb)
    meta = save_model(model, work / "models", trained_at="2026-01-01T00:00:00+00:00", examples=0)
    return engine_from(kb, model, meta, read_templates(ROOT / "templates"))


def check(name: str, make_url: Callable[[], str], args: argparse.Namespace, engine: Any) -> int:
    """Every order on one kind of database; prints a row per order, returns the total of differences."""
    archive = list(archive_records(args.messages, seed=args.seed))
    started = time.perf_counter()
    forwards = ingest_runs(make_url(), [archive], args.batch, engine)
    drafts = sum(1 for _, _, tips in forwards if tips is not None)
    answered = sum(1 for _, flag, _ in forwards if flag)
    print(
        f"{name}: forwards gives {len(forwards):,} threads ({answered:,} answered, {drafts:,} pending "
        f"drafts) in {time.perf_counter() - started:.1f} s"
    )
    total = 0
    runs: dict[str, Callable[[], Threads]] = {
        label: (lambda runs=runs: ingest_runs(make_url(), runs, args.batch, engine))
        for label, runs in orders(archive, args.seed).items()
    }
    runs["two processes at once"] = lambda: together(make_url(), args.messages, args.seed, args.batch, engine)
    for label, run in runs.items():
        started = time.perf_counter()
        got = run()
        diff = differing(got, forwards)
        total += diff
        print(
            f"  {label:<24} {len(got):>6,} threads  {diff:>5,} differ from forwards  "
            f"({time.perf_counter() - started:.1f} s)"
        )
    return total


def main() -> None:
    """Build the archive, run every order on SQLite (and PostgreSQL), print the differences."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7, help="seed of the factory and of the shuffle")
    parser.add_argument("--batch", type=int, default=50, help="ingest batch size")
    parser.add_argument("--no-postgres", action="store_true", help="check SQLite only")
    parser.add_argument("--no-triage", action="store_true", help="compare threads and answered flags only")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="triagebot-order-"))
    engine = None if args.no_triage else load_engine(work)
    counter = iter(range(1_000_000))
    total = check("SQLite", lambda: f"sqlite:///{work}/order-{next(counter)}.sqlite3", args, engine)
    server = None
    if not args.no_postgres:
        from tests.pg import PgUnavailable, start_server

        try:
            server = start_server()
        except PgUnavailable as exc:
            print(f"PostgreSQL: not checked ({exc})")
        else:
            total += check("PostgreSQL", server.fresh_database, args, engine)
    if server is not None:
        server.stop()
    shutil.rmtree(work, ignore_errors=True)
    print(f"threads differing from forwards, all orders: {total:,} (target 0)")


if __name__ == "__main__":
    main()
