"""Learning from moderators: top-1 and top-3 on half of dev/dev.jsonl before and after the other half
was moderated.

Run from the repository root: `.venv/bin/python benchmarks/bench_learning.py [--weight 5]`. It trains
the model on the knowledge base into a temporary directory (models/ is left alone), sends the
even-numbered dev questions through the real pipeline into a temporary SQLite store, lets a moderator
approve, relabel or reject each draft as the gold labels say (through the review service), retrains
with those decisions, and scores the odd-numbered questions with both models.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.learning_sim import read_items, simulate  # noqa: E402
from triagebot.app import engine_from, read_templates  # noqa: E402
from triagebot.core.training import train_model  # noqa: E402
from triagebot.kbfiles import load_knowledge_base  # noqa: E402
from triagebot.modelstore import save_model  # noqa: E402
from triagebot.store import open_store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weight", type=float, default=5.0, help="review weight (default 5)")
    args = parser.parse_args()
    kb = load_knowledge_base(ROOT / "knowledge")
    with tempfile.TemporaryDirectory() as tmp:
        model = train_model(kb)
        meta = save_model(model, Path(tmp), trained_at="2026-01-01T00:00:00+00:00", examples=0)
        engine = engine_from(kb, model, meta, read_templates(ROOT / "templates"))
        with open_store(f"sqlite:///{tmp}/sim.sqlite3") as store:
            outcome = simulate(
                store, engine, read_items(ROOT / "dev" / "dev.jsonl"), review_weight=args.weight
            )
    print(f"moderated: {outcome.decisions} -> {outcome.reviewed} reviewed examples, weight {args.weight}")
    print(f"held out: {outcome.before.items} items ({outcome.before.in_scope} in scope)")
    print(f"{'':8} {'top-1':>6} {'top-3':>6} {'precision':>9} {'abstention':>10}")
    for name, report in (("before", outcome.before), ("after", outcome.after)):
        print(
            f"{name:8} {report.top1:6.3f} {report.top3:6.3f} {report.top_precision:9.3f} {report.abstention:10.3f}"
        )


if __name__ == "__main__":
    main()
