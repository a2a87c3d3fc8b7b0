"""Learning from moderators, end to end: decisions made through the real review service and store on
half of dev/dev.jsonl raise top-1 on the other half once the model is retrained with them."""

from __future__ import annotations

from pathlib import Path

from tests.learning_sim import read_items, simulate
from triagebot.app import Engine
from triagebot.store import open_store

DEV = Path(__file__).resolve().parent.parent / "dev" / "dev.jsonl"


def test_relabels_on_one_half_raise_top1_on_the_other(tmp_path: Path, engine: Engine) -> None:
    items = read_items(DEV)
    with open_store(f"sqlite:///{tmp_path / 'sim.sqlite3'}") as store:
        outcome = simulate(store, engine, items)
    assert outcome.decisions["relabelled"] > 0 and outcome.decisions["approved"] > 0
    assert outcome.reviewed == sum(outcome.decisions.values())
    assert outcome.after.top1 > outcome.before.top1, (outcome.before.top1, outcome.after.top1)
