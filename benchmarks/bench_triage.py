"""Triage speed: in-process latency, `--jsonl` throughput, training time and CLI cold start.

Run from the repository root: `.venv/bin/python benchmarks/bench_triage.py [--messages 10000]
[--compare /path/to/other/checkout]`. It trains into temporary models directories, so models/ is left
alone. The `--jsonl` run and the cold start are repeated RUNS times and the median is printed; with
`--compare`, the other checkout (with its own `.venv`) runs the same input in the same rounds, turn
about, so both figures share the machine's load. Figures are printed, not asserted.
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


RUNS = 5


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000, help="messages for the --jsonl run")
    parser.add_argument("--compare", type=Path, help="another checkout with its own .venv, timed alike")
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
        setups = {"this checkout": ([sys.executable, "-m", "triagebot"], env, ROOT)}
        if args.compare:
            other = args.compare.resolve()
            other_env = {
                **os.environ,
                "TRIAGEBOT_MODELS": str(Path(tmp) / "other-models"),
                "TRIAGEBOT_KB": str(other / "knowledge"),
                "TRIAGEBOT_TEMPLATES": str(other / "templates"),
            }
            other_command = [str(other / ".venv" / "bin" / "python"), "-m", "triagebot"]
            subprocess.run(
                [*other_command, "train"], env=other_env, cwd=other, capture_output=True, check=True
            )
            setups[str(other)] = (other_command, other_env, other)
        rates: dict[str, list[float]] = {name: [] for name in setups}
        cold: dict[str, list[float]] = {name: [] for name in setups}
        for _ in range(RUNS):
            for name, (command, run_env, cwd) in setups.items():
                tick = time.perf_counter()
                done = subprocess.run(
                    [*command, "triage", "--jsonl", str(jsonl)],
                    env=run_env,
                    cwd=cwd,
                    capture_output=True,
                    check=False,
                )
                seconds = time.perf_counter() - tick
                if done.returncode != 0 or done.stdout.count(b"\n") != args.messages:
                    raise SystemExit(f"{name}: --jsonl run failed (exit {done.returncode})")
                rates[name].append(args.messages / seconds)
                tick = time.perf_counter()
                subprocess.run(
                    [*command, "triage", "SELinux is set to enforcing"],
                    env=run_env,
                    cwd=cwd,
                    capture_output=True,
                    check=True,
                )
                cold[name].append(time.perf_counter() - tick)
        for name in setups:
            print(
                f"{name}: --jsonl end to end (with replies), {args.messages} messages: median "
                f"{statistics.median(rates[name]):,.0f} messages/s (range {min(rates[name]):,.0f}–"
                f"{max(rates[name]):,.0f}, {RUNS} runs); CLI cold start (`triagebot triage TEXT`): median "
                f"{statistics.median(cold[name]):.2f} s (best {min(cold[name]):.2f} s)"
            )


if __name__ == "__main__":
    main()
