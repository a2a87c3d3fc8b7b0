"""Server time of the moderators' web app with 10,000 pending drafts in SQLite.

Usage: `.venv/bin/python benchmarks/bench_web.py [--drafts N] [--runs R]`. Builds a fresh SQLite
database in a temporary directory, ingests N question threads (English and Japanese, from the topics of
`gen_mbox.py`) through the real triage engine, then requests the queue page (first page, a filtered
page, a late page) and draft pages R times each in-process and prints the median and p90 server time,
measured around the ASGI app (no network, no browser). Target: median < 100 ms for each.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


class Timed:
    """ASGI wrapper that records how long the app took for each request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        start = time.perf_counter()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.times.append(time.perf_counter() - start)


def records(count: int) -> list[Any]:
    from gen_mbox import EN_TOPICS, HYPERVISORS, JA_TOPICS, OSES, VERSIONS  # type: ignore[import-not-found]

    from triagebot.core.models import Channel, InboundMessage

    rng = random.Random(7)
    start = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
    out = []
    for n in range(count):
        japanese = n % 3 == 0
        subject, body = rng.choice(JA_TOPICS if japanese else EN_TOPICS)
        if rng.random() < 0.5:
            body += (
                f"\nCloudStack {rng.choice(VERSIONS)} on {rng.choice(OSES)} with {rng.choice(HYPERVISORS)}."
            )
        text = f"{body}\n(case {n})"
        out.append(
            InboundMessage(
                channel=Channel.EMAIL,
                message_id=f"bench-{n}@example.org",
                subject=f"{subject} #{n}",
                author=f"user{n % 500} <user{n % 500}@example.org>",
                sent_at=start + timedelta(minutes=7 * n),
                in_reply_to=None,
                references=(),
                text=text,
                original=text,
                raw=text.encode(),
                where=f"bench#{n}",
                source="users-ja.cloudstack.apache.org" if japanese else "users.cloudstack.apache.org",
            )
        )
    return out


def measure(client: Any, timed: Timed, paths: list[str], runs: int) -> tuple[float, float]:
    timed.times.clear()
    for _ in range(runs):
        for path in paths:
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}")
    ordered = sorted(timed.times)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.9)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    from starlette.testclient import TestClient

    from triagebot.app import build_engine
    from triagebot.config import WebSettings, load_settings
    from triagebot.pipeline import ingest
    from triagebot.store import open_store
    from triagebot.store.accounts import add_user
    from triagebot.store.views import UserRole
    from triagebot.web import create_app
    from triagebot.web.security import CSRF_FIELD, hash_password
    from triagebot.web.service import ReviewService

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(None, {"TRIAGEBOT_MODELS": str(ROOT / "models")})
        engine = build_engine(settings, notify=lambda m: print(m, file=sys.stderr))
        store = open_store(f"sqlite:///{tmp}/bench.sqlite3")
        began = time.perf_counter()
        summary = ingest(records(args.drafts), store, engine)
        print(
            f"ingested {summary.new} questions, {summary.drafted} pending drafts in {time.perf_counter() - began:.1f} s"
        )
        add_user(store, "bench", hash_password("bench-password"), UserRole.MODERATOR, actor="bench")
        timed = Timed(
            create_app(
                store,
                ReviewService(store, engine),
                settings=WebSettings(),
                secret="bench",
                tips=[(t.id, t.title.en) for t in engine.kb.tips],
            )
        )
        client = TestClient(timed, follow_redirects=False)
        login = client.get("/login").text
        marker = f'name="{CSRF_FIELD}" value="'
        token = login[login.index(marker) + len(marker) :].split('"', 1)[0]
        client.post("/login", data={"name": "bench", "password": "bench-password", CSRF_FIELD: token})
        pages = -(-summary.drafted // 50)
        cases = {
            "queue, first page": ["/"],
            "queue, filtered (ja, missing version, by score)": ["/?language=ja&missing=version&sort=score"],
            f"queue, page {pages // 2}": [f"/?page={pages // 2}"],
            "draft page": [f"/items/{i}" for i in random.Random(3).sample(range(1, summary.drafted + 1), 20)],
        }
        print(f"{'page':52} {'median ms':>10} {'p90 ms':>8}")
        for name, paths in cases.items():
            measure(client, timed, paths, 2)  # warm up
            median, p90 = measure(
                client, timed, paths, args.runs if len(paths) == 1 else max(1, args.runs // 10)
            )
            flag = "" if median < 100 else "  (over the 100 ms target)"
            print(f"{name:52} {median:10.1f} {p90:8.1f}{flag}")
        store.close()


if __name__ == "__main__":
    main()
