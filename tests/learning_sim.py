"""The learning simulation shared by its test and `benchmarks/bench_learning.py`.

Half of a labelled file goes through the real pipeline into a store; a moderator confirms, relabels or
rejects each draft through the review service, as the gold labels say; the model is retrained with
those decisions, and both models are scored on the other half.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from triagebot.app import Engine
from triagebot.core.classify import Classifier, SymptomRules
from triagebot.core.evaluate import Gold, Predicted, Report, evaluate
from triagebot.core.learning import reviewed_examples
from triagebot.core.models import Channel, InboundMessage
from triagebot.core.question import make_question
from triagebot.core.text import clean_body
from triagebot.core.training import train_model
from triagebot.pipeline import ingest
from triagebot.review import RejectReason, ReplyAddressing, approve, reject, relabel
from triagebot.store import Store
from triagebot.store.learning import moderator_decisions

ADDRESSING = ReplyAddressing(lists={}, domain="example.org")
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Item:
    """One labelled question of the file."""

    id: str
    subject: str
    body: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    """Scores on the held-out half before and after learning, and what the moderator did."""

    before: Report
    after: Report
    decisions: dict[str, int]
    reviewed: int


def read_items(path: Path) -> list[Item]:
    """The labelled items of a JSONL file."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            items.append(Item(data["id"], data["subject"], data["body"], tuple(data["labels"])))
    return items


def score(classifier: Classifier, items: Sequence[Item]) -> Report:
    """`triagebot eval`'s tip figures for `items`."""
    questions = [make_question(i.subject, clean_body(i.body)) for i in items]
    results = classifier.classify_many(questions)
    scored = classifier.score_many(questions)
    preds = [
        Predicted(tuple(t.tip_id for t in r.tips), s.scores, {}) for r, s in zip(results, scored, strict=True)
    ]
    golds = [Gold(i.labels, {}, i.id) for i in items]
    return evaluate(golds, preds, classifier.threshold)


def moderate_as_labelled(store: Store, engine: Engine, items: Sequence[Item]) -> dict[str, int]:
    """Ingest `items` as questions and let a moderator decide each draft as its gold labels say."""
    records = [
        InboundMessage(
            channel=Channel.EMAIL,
            source=f"sim-{n}",  # one list each: no two questions fall into one thread by subject
            message_id=f"{item.id}@sim",
            subject=item.subject,
            author=f"Asker {n} <asker{n}@example.org>",
            sent_at=T0 + timedelta(minutes=n),
            text=clean_body(item.body),
            original=item.body,
            raw=item.body.encode(),
            where=f"sim#{item.id}",
        )
        for n, item in enumerate(items)
    ]
    ingest(records, store, engine)
    done = {"approved": 0, "relabelled": 0, "rejected": 0}
    for item in items:
        item_id = store.review_id_for(f"{item.id}@sim")
        if item_id is None:
            continue
        suggested = tuple(t.tip_id for t in store.show(item_id).tips)
        if not item.labels:
            reason = RejectReason.WRONG_TIP if suggested else RejectReason.NOT_A_QUESTION
            reject(store, item_id, reason, actor="mod")
            done["rejected"] += 1
            continue
        if set(suggested) != set(item.labels):  # the draft's tips are exactly the gold ones, or relabel
            relabel(store, item_id, item.labels, actor="mod", renderer=engine)
            done["relabelled"] += 1
        else:
            done["approved"] += 1
        approve(store, item_id, actor="mod", addressing=ADDRESSING)
    return done


def simulate(store: Store, engine: Engine, items: Sequence[Item], *, review_weight: float = 5.0) -> Outcome:
    """Moderate the even-numbered items, retrain with the decisions, score the odd-numbered ones."""
    taught, held_out = list(items[0::2]), list(items[1::2])
    before = score(engine.triager.classifier, held_out)
    decisions = moderate_as_labelled(store, engine, taught)
    reviewed = reviewed_examples(moderator_decisions(store), engine.kb.tip_ids)
    model = train_model(engine.kb, reviewed=reviewed, review_weight=review_weight)
    after = score(Classifier(model, SymptomRules(engine.kb)), held_out)
    return Outcome(before, after, decisions, len(reviewed))
