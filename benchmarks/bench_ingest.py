"""Ingest speed: a synthetic mbox (50,000 messages by default) into SQLite and PostgreSQL, with triage.

Run from the repository root: `.venv/bin/python benchmarks/bench_ingest.py [--messages 50000]
[--pg-url URL | --no-postgres] [--no-triage]`. Without --pg-url a private PostgreSQL server is started
the way the tests do it (tests/pg.py). The model is trained into a temporary directory, so models/ is
left alone. Every measurement runs in a fresh subprocess, so its peak RSS is its own.

Printed: messages/s and peak RSS for a bare standard-library parse of the same file (split on the
`From ` lines, `email.message_from_binary_file` on each), for our archive reader alone, and for
`triagebot.pipeline.ingest` (reader + threading + storage + triage) into each database; the ratio is
ingest time over bare parse time. Targets: ≥ 1,500 messages/s into SQLite with triage, peak RSS < 400 MB.
Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import email
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FROM_LINE = re.compile(rb"^From \S+ +\w{3} \w{3} [ \d]?\d \d\d:\d\d:\d\d \d{4}$")
TARGET_RATE = 1500
TARGET_RSS_MB = 400


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reader_rss_mb() -> float:
    """Peak resident set size of the biggest finished child (the reading process), in MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def phase_parse(mbox: Path) -> dict[str, Any]:
    """The floor: split the mbox on From_ lines and let the standard library parse each message."""
    started = time.perf_counter()
    count = 0
    chunk: list[bytes] = []
    with mbox.open("rb") as handle:
        for line in handle:
            if FROM_LINE.match(line.rstrip(b"\r\n")):
                if chunk:
                    email.message_from_binary_file(io.BytesIO(b"".join(chunk)))
                    count += 1
                chunk = []
                continue
            chunk.append(line)
    if chunk:
        email.message_from_binary_file(io.BytesIO(b"".join(chunk)))
        count += 1
    return {"messages": count, "seconds": time.perf_counter() - started, "rss_mb": peak_rss_mb()}


def phase_train(models: Path) -> dict[str, Any]:
    """Train the classifier on the shipped knowledge base into `models` (not timed as ingest)."""
    from triagebot.app import train_and_save
    from triagebot.kbfiles import load_knowledge_base

    started = time.perf_counter()
    train_and_save(load_knowledge_base(ROOT / "knowledge"), models)
    return {"seconds": time.perf_counter() - started, "rss_mb": peak_rss_mb()}


def phase_read(mbox: Path) -> dict[str, Any]:
    """Our archive reader alone: decoding, quote and signature stripping, no database."""
    from triagebot.ingest.archive import read_paths

    started = time.perf_counter()
    count = sum(1 for _ in read_paths([mbox]))
    return {"messages": count, "seconds": time.perf_counter() - started, "rss_mb": peak_rss_mb()}


def phase_ingest(mbox: Path, url: str, triage: bool) -> dict[str, Any]:
    """The whole path: read, thread, store and (unless --no-triage) triage and draft."""
    from triagebot.app import build_engine
    from triagebot.config import load_settings
    from triagebot.ingest.background import READ_AHEAD, read_paths_in_background
    from triagebot.pipeline import DEFAULT_BATCH, TriageAhead, ingest
    from triagebot.store import open_store

    started = time.perf_counter()
    engine = None
    if triage:  # wired as `triagebot ingest` wires it
        built = build_engine(load_settings(None, os.environ), retrain=False)
        engine = TriageAhead(built, keep=DEFAULT_BATCH + READ_AHEAD)
    engine_seconds = time.perf_counter() - started
    store = open_store(url)
    started = time.perf_counter()
    summary = ingest(read_paths_in_background([mbox], side=engine), store, engine)
    seconds = time.perf_counter() - started
    counts = store.row_counts()
    store.close()
    return {
        "messages": summary.read,
        "new": summary.new,
        "skipped": summary.skipped,
        "triaged": summary.triaged,
        "triaged_while_reading": engine.reused if engine is not None else 0,
        "drafts": counts["review_items"],
        "seconds": seconds,
        "engine_seconds": engine_seconds,
        "rss_mb": peak_rss_mb(),
        "reader_rss_mb": reader_rss_mb(),
    }


def run_phase(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run one phase in a fresh interpreter and read its JSON line."""
    done = subprocess.run(
        [sys.executable, __file__, "--phase", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"phase {args[0]} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def postgres_url(given: str | None) -> tuple[str | None, Any]:
    """The URL to measure PostgreSQL with, and the private server to stop afterwards (if we started one)."""
    if given:
        return given, None
    from tests.pg import PgUnavailable, start_server

    try:
        server = start_server()
    except PgUnavailable as exc:
        print(f"postgres: not measured ({exc})")
        return None, None
    return server.fresh_database(), server


def line(name: str, result: dict[str, Any], floor: float) -> str:
    """One row of the report."""
    rate = result["messages"] / result["seconds"]
    ratio = result["seconds"] / floor
    extra = ""
    if "triaged" in result:
        extra = (
            f"  ({result['new']:,} stored, {result['triaged']:,} triaged "
            f"({result['triaged_while_reading']:,} while reading), {result['drafts']:,} drafts)"
        )
    return f"{name:<26} {rate:>9,.0f} msg/s  {result['seconds']:>7.1f} s  x{ratio:>5.1f}  {result['rss_mb']:>6.0f} MB{extra}"


def main() -> None:
    """Generate the archive, train a model, measure every phase and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--pg-url", default=None, help="PostgreSQL URL (default: start a private server)")
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite only")
    parser.add_argument("--no-triage", action="store_true", help="store and thread only")
    parser.add_argument("--keep", action="store_true", help="keep the archive and databases (path printed)")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        kind, *rest = args.phase
        if kind == "parse":
            out = phase_parse(Path(rest[0]))
        elif kind == "read":
            out = phase_read(Path(rest[0]))
        elif kind == "train":
            out = phase_train(Path(rest[0]))
        else:
            out = phase_ingest(Path(rest[0]), rest[1], triage=rest[2] == "triage")
        print(json.dumps(out))
        return

    from benchmarks.gen_mbox import write_mbox

    work = Path(tempfile.mkdtemp(prefix="triagebot-bench-"))
    mbox = work / f"bench-{args.messages}.mbox"
    started = time.perf_counter()
    size = write_mbox(args.messages, mbox)
    print(
        f"archive: {args.messages:,} messages, {size / 1e6:.1f} MB, generated in {time.perf_counter() - started:.1f} s"
    )

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGEBOT_")}
    env["PYTHONPATH"] = str(ROOT)
    triage = "no-triage" if args.no_triage else "triage"
    if not args.no_triage:
        # Trained in a subprocess too: a child inherits its parent's peak RSS on Linux, so the parent
        # must stay small for the figures of the phases to be their own.
        models = work / "models"
        trained = run_phase(["train", str(models)], env)
        env["TRIAGEBOT_MODELS"] = str(models)
        print(f"model: trained in {trained['seconds']:.1f} s (not part of any figure below)")

    floor = run_phase(["parse", str(mbox)], env)
    reader = run_phase(["read", str(mbox)], env)
    results = [("bare stdlib parse", floor), ("archive reader only", reader)]
    results.append(
        (
            f"ingest → SQLite ({triage})",
            run_phase(["ingest", str(mbox), f"sqlite:///{work}/bench.sqlite3", triage], env),
        )
    )
    server = None
    if not args.no_postgres:
        url, server = postgres_url(args.pg_url)
        if url:
            results.append(
                (f"ingest → PostgreSQL ({triage})", run_phase(["ingest", str(mbox), url, triage], env))
            )
    if server is not None:
        server.stop()

    print(f"\n{'':<26} {'rate':>15}  {'time':>9}  {'ratio':>6}  {'peak RSS':>9}")
    for name, result in results:
        print(line(name, result, floor["seconds"]))
    sqlite = results[2][1]
    rate = sqlite["messages"] / sqlite["seconds"]
    if "engine_seconds" in sqlite:
        print(f"\nengine load: {sqlite['engine_seconds']:.1f} s (outside the timed part)")
    print(
        f"peak RSS of the reading process (a fork of the ingest process, so much of it is shared): "
        f"{sqlite['reader_rss_mb']:.0f} MB with SQLite"
    )
    # What the store and the triage cost on top of reading, from the two measurements above.
    share = max(sqlite["seconds"] - reader["seconds"], 1e-9)
    print(f"store + triage alone: {sqlite['messages'] / share:,.0f} msg/s (ingest time minus reader time)")
    if args.keep:
        print(f"files kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    verdict = "meets" if rate >= TARGET_RATE and sqlite["rss_mb"] < TARGET_RSS_MB else "misses"
    print(
        f"SQLite with {triage}: {rate:,.0f} msg/s, {sqlite['rss_mb']:.0f} MB peak: {verdict} the target "
        f"(≥ {TARGET_RATE:,} msg/s, < {TARGET_RSS_MB} MB)"
    )


if __name__ == "__main__":
    main()
