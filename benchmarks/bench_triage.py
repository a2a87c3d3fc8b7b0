"""Triage speed: in-process latency, `--jsonl` throughput, training time and CLI cold start.

Run from the repository root: `.venv/bin/python benchmarks/bench_triage.py [--messages 10000]`.
It trains into a temporary models directory, so models/ is left alone. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from triagebot.app import engine_from, read_templates  # noqa: E402
from triagebot.core.models import Channel, InboundMessage  # noqa: E402
from triagebot.core.training import train_model  # noqa: E402
from triagebot.kbfiles import load_knowledge_base  # noqa: E402
from triagebot.modelstore import save_model  # noqa: E402


def corpus() -> list[dict[str, str]]:
    """Questions to time: the dev set and the bundled samples (real-looking, mixed lengths)."""
    items: list[dict[str, str]] = []
    for path in (ROOT / "dev" / "dev.jsonl", ROOT / "samples" / "questions.jsonl"):
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    item = json.loads(line)
                    items.append({"subject": item.get("subject", ""), "body": item["body"]})
    if not items:
        raise SystemExit("no questions found: dev/dev.jsonl or samples/questions.jsonl is needed")
    return items


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000, help="messages for the --jsonl run")
    args = parser.parse_args()
    items = corpus()
    kb = load_knowledge_base(ROOT / "knowledge")

    started = time.perf_counter()
    model = train_model(kb)
    training = time.perf_counter() - started
    print(
        f"training: {training:.2f} s on {sum(len(t.examples) for t in kb.tips) + len(kb.out_of_scope)} examples"
    )

    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models"
        meta = save_model(model, models, trained_at="2026-01-01T00:00:00+00:00", examples=0)
        engine = engine_from(kb, model, meta, read_templates(ROOT / "templates"))
        messages = [
            InboundMessage(Channel.EMAIL, "bench", str(i), item["subject"], item["body"])
            for i, item in enumerate(items)
        ]
        for message in messages[:20]:
            engine.triage(message)  # warm up
        latencies = []
        for message in messages * max(1, 1000 // len(messages)):
            tick = time.perf_counter()
            engine.triage(message)
            latencies.append((time.perf_counter() - tick) * 1000)
        print(
            f"in-process, one message at a time: median {statistics.median(latencies):.3f} ms, "
            f"p99 {percentile(latencies, 0.99):.3f} ms over {len(latencies)} messages"
        )

        jsonl = Path(tmp) / "bench.jsonl"
        with jsonl.open("w", encoding="utf-8") as out:
            for i in range(args.messages):
                out.write(json.dumps(items[i % len(items)], ensure_ascii=False) + "\n")
        env = {
            **os.environ,
            "TRIAGEBOT_MODELS": str(models),
            "TRIAGEBOT_KB": str(ROOT / "knowledge"),
            "TRIAGEBOT_TEMPLATES": str(ROOT / "templates"),
        }
        command = [sys.executable, "-m", "triagebot"]
        tick = time.perf_counter()
        done = subprocess.run(
            [*command, "triage", "--jsonl", str(jsonl)], env=env, capture_output=True, check=False
        )
        seconds = time.perf_counter() - tick
        lines = done.stdout.count(b"\n")
        print(
            f"--jsonl end to end (with replies): {args.messages} messages in {seconds:.2f} s = "
            f"{args.messages / seconds:,.0f} messages/s (exit {done.returncode}, {lines} lines out)"
        )

        cold = []
        for _ in range(5):
            tick = time.perf_counter()
            subprocess.run(
                [*command, "triage", "SELinux is set to enforcing"], env=env, capture_output=True, check=True
            )
            cold.append(time.perf_counter() - tick)
        print(
            f"CLI cold start (`triagebot triage TEXT`): median {statistics.median(cold):.2f} s, "
            f"best {min(cold):.2f} s over 5 runs"
        )


if __name__ == "__main__":
    main()
