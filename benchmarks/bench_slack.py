"""Slack latency: a signed message event handed to the real Bolt app until its draft card has reached
the mock Slack Web API (store, thread, triage, draft, card post), in process, on SQLite.

Run from the repository root: `.venv/bin/python benchmarks/bench_slack.py [--events 200]`.
Printed: median, p90 and max in milliseconds. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_bolt import BoltRequest  # noqa: E402
from slack_sdk import WebClient  # noqa: E402

from tests.chat.slack_mock import BOT_USER, mock_slack, signed  # noqa: E402
from triagebot.app import build_engine, build_slack  # noqa: E402
from triagebot.config import load_settings  # noqa: E402
from triagebot.store import open_store  # noqa: E402

SECRET = "bench-secret"
QUESTIONS = [
    "The management server does not start on Rocky Linux 8 with KVM. The log says ERROR: /usr/bin/java does not exist",
    "CloudStack 4.19 の管理サーバが起動しません。SELinux は enforcing です。OS は Rocky Linux 9、KVM です。",
    "Adding the KVM host fails with 'Unable to add the host' on Ubuntu 22.04, CloudStack 4.18.1.0",
    "System VMs stay in Starting state after installing 4.17; the secondary storage is NFS",
]


def event(i: int) -> str:
    ts = f"{1_700_000_000 + i}.{i:06d}"
    return json.dumps(
        {
            "type": "event_callback",
            "event_id": f"EvBench{i}",
            "authorizations": [{"user_id": BOT_USER, "is_bot": True}],
            "event": {
                "type": "message",
                "channel": "C0HELP",
                "user": f"U{i}",
                "text": QUESTIONS[i % len(QUESTIONS)],
                "ts": ts,
            },
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, mock_slack() as mock:
        settings = load_settings(
            None,
            {"TRIAGEBOT_SLACK_SIGNING_SECRET": SECRET},
            overrides={
                "slack": {"transport": "http", "moderators_channel": "C0MODS", "channels": {"C0HELP": {}}},
            },
        )
        engine = build_engine(settings)
        store = open_store(f"sqlite:///{tmp}/bench.sqlite3")
        client = WebClient(token="xoxb-bench", base_url=mock.url + "/", retry_handlers=[])
        _, app = build_slack(settings, store, engine, client=client, process_before_response=True)
        timings = []
        for i in range(args.events + 10):
            body = event(i)
            request = BoltRequest(
                body=body, headers={**signed(SECRET, body), "content-type": "application/json"}
            )
            posted = len(mock.called("chat.postMessage"))
            start = time.perf_counter()
            response = app.dispatch(request)
            elapsed = time.perf_counter() - start
            if response.status != 200 or len(mock.called("chat.postMessage")) != posted + 1:
                raise SystemExit(f"event {i}: no card posted (status {response.status})")
            if i >= 10:  # the first events warm caches and the connection pool
                timings.append(elapsed * 1000)
        store.close()
    timings.sort()
    print(f"slack event → draft card posted to the mock API, {len(timings)} events, SQLite, in process")
    print(
        f"  median {statistics.median(timings):.1f} ms   p90 {timings[int(len(timings) * 0.9)]:.1f} ms   max {timings[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
