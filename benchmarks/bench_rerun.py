"""Ingest again, after a kill, and by workers: the figures a long-running installation depends on.

Run from the repository root: `.venv/bin/python benchmarks/bench_rerun.py [--messages 20000]
[--runs 3] [--compare /path/to/other/checkout]`. Everything goes through the `triagebot` command
line, as an operator would run it, so another checkout (with its own `.venv`) is timed the same way;
with `--compare` the two take turns in every round, so both share the machine's load. Each checkout
trains its model into a temporary directory first (not timed). A private PostgreSQL server is
started the way the tests do it (tests/pg.py).

Printed, medians of the runs:
- re-ingest: the same archive ingested a second time into SQLite (everything a duplicate);
- killed ingest: an ingest into SQLite killed (SIGKILL) after KILL_AFTER seconds, then run again to
  the end: the second run's time, whether the database then holds every message once, and whether
  any process of the killed run was still alive 5 s later;
- PostgreSQL worker: `work --until-empty` over an archive stored with `--no-triage`, messages/s.
Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from tests.pg import PgServer

KILL_AFTER = 3.0  # seconds into the ingest when it is killed
SURVIVOR_WAIT = 5.0  # seconds a killed run's processes get to go away


class Checkout:
    """One checkout's command line, with its own model directory."""

    def __init__(self, root: Path, work: Path, name: str) -> None:
        self.root = root
        self.name = name
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGEBOT_")}
        self.env["PYTHONPATH"] = str(root)
        self.env["TRIAGEBOT_MODELS"] = str(work / f"models-{name}")

    def argv(self, *args: str) -> list[str]:
        return [str(self.root / ".venv" / "bin" / "python"), "-m", "triagebot", *args]

    def run(self, *args: str) -> float:
        """Run a command to its end; its wall time in seconds."""
        started = time.perf_counter()
        done = subprocess.run(self.argv(*args), cwd=self.root, env=self.env, capture_output=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode not in (0, 3):  # 3: finished, some input reported and skipped
            raise SystemExit(
                f"{self.name}: {' '.join(args)} failed ({done.returncode}):\n{done.stderr.decode()}"
            )
        return seconds


def stored_messages(db: Path) -> tuple[int, int]:
    """(messages stored, distinct Message-IDs among them) in a SQLite store."""
    with sqlite3.connect(db) as connection:
        total, distinct = connection.execute(
            "SELECT count(*), count(DISTINCT message_id) FROM messages"
        ).fetchone()
    return int(total), int(distinct)


def survivors(marker: str) -> int:
    """Processes whose command line holds `marker` (the killed run's database path)."""
    found = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in command:
            found += 1
    return found


def reingest(checkout: Checkout, mbox: Path, work: Path, round_no: int) -> float:
    db = work / f"re-{checkout.name}-{round_no}.sqlite3"
    checkout.run("--db", f"sqlite:///{db}", "ingest", str(mbox))
    return checkout.run("--db", f"sqlite:///{db}", "ingest", str(mbox))


def killed(checkout: Checkout, mbox: Path, work: Path, round_no: int) -> tuple[float, bool, int]:
    db = work / f"kill-{checkout.name}-{round_no}.sqlite3"
    url = f"sqlite:///{db}"
    process = subprocess.Popen(
        checkout.argv("--db", url, "ingest", str(mbox)),
        cwd=checkout.root,
        env=checkout.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(KILL_AFTER)
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(SURVIVOR_WAIT)
    left = survivors(str(db))
    seconds = checkout.run("--db", url, "ingest", str(mbox))
    total, distinct = stored_messages(db)
    return seconds, total == distinct, left


def pg_worker(checkout: Checkout, mbox: Path, server: PgServer) -> float:
    url = server.fresh_database()
    checkout.run("--db", url, "ingest", str(mbox), "--no-triage")
    return checkout.run("--db", url, "work", "--until-empty")


def main() -> None:
    """Generate the archive, train each checkout's model, take turns and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", type=Path, help="another checkout with its own .venv, timed alike")
    args = parser.parse_args()

    from benchmarks.gen_mbox import write_mbox
    from tests.pg import start_server

    work = Path(tempfile.mkdtemp(prefix="triagebot-rerun-"))
    mbox = work / "archive.mbox"
    write_mbox(args.messages, mbox)
    checkouts = [Checkout(ROOT, work, "this")]
    if args.compare:
        checkouts.append(Checkout(args.compare.resolve(), work, "other"))
    for checkout in checkouts:
        checkout.run("train")
    server = start_server()
    figures: dict[str, dict[str, list[float]]] = {c.name: {} for c in checkouts}
    whole: dict[str, list[bool]] = {c.name: [] for c in checkouts}
    left: dict[str, list[int]] = {c.name: [] for c in checkouts}
    try:
        for round_no in range(args.runs):
            for checkout in checkouts if round_no % 2 == 0 else checkouts[::-1]:
                mine = figures[checkout.name]
                mine.setdefault("re-ingest s", []).append(reingest(checkout, mbox, work, round_no))
                seconds, complete, alive = killed(checkout, mbox, work, round_no)
                mine.setdefault("resumed ingest s", []).append(seconds)
                whole[checkout.name].append(complete)
                left[checkout.name].append(alive)
                worker = pg_worker(checkout, mbox, server)
                mine.setdefault("PostgreSQL worker msg/s", []).append(args.messages / worker)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"{args.messages:,} messages, {args.runs} runs each, medians")
    names = [c.name for c in checkouts]
    print(f"{'':<28}" + "".join(f"{n:>12}" for n in names))
    for figure in figures[names[0]]:
        cells = "".join(f"{statistics.median(figures[n][figure]):>12,.1f}" for n in names)
        print(f"{figure:<28}{cells}")
    for name in names:
        print(
            f"{name}: after the kill every message stored once in {sum(whole[name])} of {len(whole[name])} runs; "
            f"processes of the killed run alive {SURVIVOR_WAIT:.0f} s later: {max(left[name])} at most"
        )


if __name__ == "__main__":
    main()
