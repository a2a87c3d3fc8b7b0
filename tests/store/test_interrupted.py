"""An ingest killed with SIGKILL half-way and run again ends with the rows of one clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from tests.store.dump import dump
from tests.store.factories import archive_records
from triagebot.app import Engine
from triagebot.pipeline import ingest
from triagebot.store import make_engine, open_store
from triagebot.store.tables import MESSAGES

ROOT = Path(__file__).resolve().parents[2]
COUNT = 1500
BATCH = 50
INGEST = """
import sys
from tests.store.doubles import Watched, saved_engine
from tests.store.factories import archive_records
from triagebot.pipeline import ingest
from triagebot.store import open_store

count, batch = int(sys.argv[2]), int(sys.argv[3])
engine = Watched(saved_engine(sys.argv[4]), delay=0.05)
ingest(archive_records(count), open_store(sys.argv[1]), engine, batch_size=batch)
"""


def stored_messages(url: str) -> int:
    """Messages committed so far, read through a connection of our own."""
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            try:
                return int(c.execute(select(func.count()).select_from(MESSAGES)).scalar() or 0)
            except SQLAlchemyError:  # the schema is not there yet
                return 0
    finally:
        engine.dispose()


def kill_after_first_commit(url: str, models_dir: Path) -> int:
    """Start an ingest with the real engine (the session's saved model), SIGKILL it once at least one
    batch is committed; return what it had stored."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", INGEST, url, str(COUNT), str(BATCH), str(models_dir)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    try:
        while stored_messages(url) < BATCH:
            if proc.poll() is not None:
                raise AssertionError(f"ingest ended before it could be killed: {proc.stderr.read()!r}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise AssertionError("no batch was committed within two minutes")
            time.sleep(0.02)
        assert proc.poll() is None, "the ingest finished before the kill"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return stored_messages(url)


def test_killed_ingest_rerun_equals_one_clean_run(
    make_db_url: Callable[[], str], engine: Engine, saved_models: Path
) -> None:
    killed, clean = make_db_url(), make_db_url()
    partial = kill_after_first_commit(killed, saved_models)
    store = open_store(clean)
    full = ingest(archive_records(COUNT), store, engine, batch_size=BATCH)
    store.close()
    assert BATCH <= partial < full.new, (partial, full.new)

    store = open_store(killed)
    rerun = ingest(archive_records(COUNT), store, engine, batch_size=BATCH)
    store.close()
    assert rerun.new == full.new - partial
    assert dump(killed) == dump(clean)
