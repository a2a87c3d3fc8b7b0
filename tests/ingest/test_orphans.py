"""A reading child never outlives its parent: SIGKILL the parent anywhere, the child is gone within 5 s."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from triagebot.ingest.background import BATCH

ROOT = Path(__file__).resolve().parents[2]
GRACE = 5.0

# Takes `stop_after` items, prints the reading child's pid, then stops consuming and sleeps: from
# there the child fills the queue and blocks writing into the pipe, the case that used to leak.
PARENT = """
import multiprocessing, sys, time
from pathlib import Path
from triagebot.ingest.background import read_paths_in_background

stop_after = int(sys.argv[2])
reader = read_paths_in_background([Path(sys.argv[1])])
for taken, _ in enumerate(reader, start=1):
    if taken >= stop_after:
        break
print(multiprocessing.active_children()[0].pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in {"Z", "X"}


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A `small` archive the queue holds whole (the child finishes reading and waits on its feeder
    thread, blocked on the pipe) and a `large` one (the child waits for room in the queue)."""
    folder = tmp_path_factory.mktemp("orphans")
    body = "a long line of a log that makes the batches big enough to fill a pipe\n" * 40
    made = {}
    for name, count in (("small", BATCH * 6), ("large", BATCH * 30)):
        messages = [
            f"From a@example.org Tue Mar  3 10:00:00 2009\nFrom: a@example.org\nSubject: q{i}\n"
            f"Message-ID: <m{i}@example.org>\n\n{body}"
            for i in range(count)
        ]
        made[name] = folder / f"{name}.mbox.gz"
        made[name].write_bytes(gzip.compress("".join(messages).encode()))
    return made


POINTS = [("small", 1), ("small", BATCH + 1), ("large", 1), ("large", BATCH * 3 + 1), ("large", BATCH * 12)]


@pytest.mark.parametrize(("which", "stop_after"), POINTS, ids=[f"{w}-after-{n}" for w, n in POINTS])
def test_killed_parent_leaves_no_reader(archives: dict[str, Path], which: str, stop_after: int) -> None:
    archive = archives[which]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(archive), str(stop_after)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.strip().isdigit(), parent.stderr.read() if parent.stderr else line
        child = int(line)
        time.sleep(0.5)  # let the child run ahead until it blocks on the full queue
        assert alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + GRACE
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        survived = alive(child)
        if survived:
            os.kill(child, signal.SIGKILL)
        assert not survived, f"reader {child} outlived its killed parent by {GRACE} s"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
