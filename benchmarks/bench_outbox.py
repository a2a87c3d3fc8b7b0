"""Approval and delivery speed: approve N drafts (each with its outbox row), then deliver them all to a
local aiosmtpd server over one SMTP connection per run, on SQLite (and PostgreSQL with --pg-url).

Run from the repository root: `.venv/bin/python benchmarks/bench_outbox.py [--replies 500] [--pg-url URL]`.
Printed: approvals/s and replies delivered/s. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiosmtpd.controller import Controller  # noqa: E402

from tests.store.factories import record  # noqa: E402
from triagebot.app import build_engine  # noqa: E402
from triagebot.config import load_settings  # noqa: E402
from triagebot.outbox import deliver  # noqa: E402
from triagebot.pipeline import ingest  # noqa: E402
from triagebot.review import ReplyAddressing, approve  # noqa: E402
from triagebot.store import open_store  # noqa: E402


class Counter:
    """Accepts every message and counts it."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(url: str, replies: int, label: str) -> None:
    counter = Counter()
    port = free_port()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = load_settings(
            None,
            {},
            overrides={
                "smtp": {"host": "127.0.0.1", "port": port, "security": "none"},
                "lists": {"users": {"address": "users@lists.example.org"}},
            },
        )
        store = open_store(url)
        ingest(
            [
                record(f"q{n}@bench", f"Question {n}", "SELinux is enforcing", list_id="users")
                for n in range(replies)
            ],
            store,
            build_engine(settings, notify=lambda text: print(text, file=sys.stderr)),
        )
        ids = [store.review_id_for(f"q{n}@bench") for n in range(replies)]
        addressing = ReplyAddressing.from_settings(settings)
        started = time.perf_counter()
        for item in ids:
            assert item is not None
            approve(store, item, actor="bench", addressing=addressing)
        approving = time.perf_counter() - started
        started = time.perf_counter()
        sent = 0
        while (done := deliver(store, settings, worker="bench", limit=100)).claimed:
            sent += done.sent
        delivering = time.perf_counter() - started
        store.close()
        print(
            f"{label}: {replies} approvals in {approving:.2f} s ({replies / approving:,.0f}/s); "
            f"{sent} replies delivered in {delivering:.2f} s ({sent / delivering:,.0f}/s); server got {counter.count}"
        )
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replies", type=int, default=500)
    parser.add_argument("--pg-url", default=None, help="an empty PostgreSQL database to use as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{folder}/bench.sqlite3", args.replies, "SQLite")
    if args.pg_url:
        run(args.pg_url, args.replies, "PostgreSQL")


if __name__ == "__main__":
    main()
