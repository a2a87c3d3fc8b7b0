"""Time `find_gaps` (the clustering behind `triagebot gaps`) over a synthetic set of unanswered questions.

    .venv/bin/python benchmarks/bench_gaps.py [COUNT]      # default 5,000

The set repeats the planted test questions with varied words, so it has themes to find; figures are
printed, never asserted.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from pathlib import Path

from triagebot.core.gaps import GapQuestion, find_gaps

PLANTED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "gaps" / "planted.jsonl"
FILLERS = [
    "on 4.18",
    "since yesterday",
    "after the upgrade",
    "on Rocky Linux 9",
    "in our lab",
    "again",
    "今日から",
]


def questions(count: int) -> list[GapQuestion]:
    rows = [json.loads(line) for line in PLANTED.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(3)
    made = []
    for i in range(count):
        row = rng.choice(rows)
        words = row["body"].split()
        rng.shuffle(words)
        body = " ".join(words[: max(6, len(words) * 3 // 4)]) + f" {rng.choice(FILLERS)} #{i}"
        made.append(
            GapQuestion(str(i), f"{row['subject']} {rng.choice(FILLERS)}", body, f"2024-W{1 + i % 20:02d}")
        )
    return made


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    data = questions(count)
    started = time.perf_counter()
    report = find_gaps(data)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"find_gaps over {count:,} questions: {elapsed:.2f} s, {len(report.clusters)} clusters, "
        f"largest {report.clusters[0].size if report.clusters else 0}, peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
