"""What moderators' corrections would change: per tip, examples added and quality on reviewed questions.

"Before" is the model trained on the knowledge base alone; "after" is out-of-fold: the reviewed
questions are split into folds and each fold is scored by a model trained on the knowledge base plus
the other folds' decisions, so no question is scored by a model that saw it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from triagebot.core.classify import Classifier, SymptomRules, TrainedModel
from triagebot.core.evaluate import Gold, Predicted, Report, evaluate
from triagebot.core.kb import KnowledgeBase
from triagebot.core.learning import ReviewedExample
from triagebot.core.question import make_question
from triagebot.core.training import train_model

NO_TIP = "(no tip)"


@dataclass(frozen=True, slots=True)
class TipChange:
    """One tip's reviewed examples and its recall on reviewed questions before and after."""

    tip: str
    added: int
    recall_before: float
    recall_after: float


@dataclass(frozen=True, slots=True)
class Quality:
    """Figures on the reviewed questions (`core.evaluate` definitions)."""

    top1: float
    top3: float
    precision: float
    abstention: float


@dataclass(frozen=True, slots=True)
class LearningReport:
    """The whole report: counts by verdict, per-tip changes, and overall quality before and after."""

    reviewed: int
    verdicts: dict[str, int]
    tips: tuple[TipChange, ...]
    before: Quality
    after: Quality
    folds: int
    review_weight: float


def _predict(model: TrainedModel, kb: KnowledgeBase, examples: Sequence[ReviewedExample]) -> list[Predicted]:
    classifier = Classifier(model, SymptomRules(kb))
    questions = [make_question(e.subject, e.text) for e in examples]
    results = classifier.classify_many(questions)
    scored = classifier.score_many(questions)
    return [
        Predicted(tuple(t.tip_id for t in r.tips), s.scores, {}) for r, s in zip(results, scored, strict=True)
    ]


def _quality(report: Report) -> Quality:
    return Quality(report.top1, report.top3, report.top_precision, report.abstention)


def learning_report(
    kb: KnowledgeBase,
    reviewed: Sequence[ReviewedExample],
    *,
    review_weight: float,
    folds: int = 3,
) -> LearningReport:
    """Train before and after (out-of-fold) and compare them on the reviewed questions.

    Slow: one training for "before" and one per fold.
    """
    if not reviewed:
        raise ValueError("no reviewed examples to report on")
    folds = max(2, min(folds, len(reviewed)))
    golds = [Gold(e.labels, {}, str(e.item_id)) for e in reviewed]
    base = train_model(kb, folds=3)
    before_preds = _predict(base, kb, reviewed)
    after_preds: list[Predicted | None] = [None] * len(reviewed)
    for fold in range(folds):
        held = [i for i in range(len(reviewed)) if i % folds == fold]
        rest = [reviewed[i] for i in range(len(reviewed)) if i % folds != fold]
        model = train_model(kb, reviewed=rest, review_weight=review_weight, folds=3)
        for i, predicted in zip(held, _predict(model, kb, [reviewed[i] for i in held]), strict=True):
            after_preds[i] = predicted
    after = [p for p in after_preds if p is not None]
    before_report = evaluate(golds, before_preds, base.threshold)
    after_report = evaluate(golds, after, base.threshold)
    added = Counter(label for e in reviewed for label in e.labels or (NO_TIP,))
    tips = tuple(
        TipChange(tip, added[tip], _recall(tip, golds, before_preds), _recall(tip, golds, after))
        for tip in sorted(added, key=lambda t: (-added[t], t))
    )
    return LearningReport(
        reviewed=len(reviewed),
        verdicts=dict(Counter(e.verdict.value for e in reviewed)),
        tips=tips,
        before=_quality(before_report),
        after=_quality(after_report),
        folds=folds,
        review_weight=review_weight,
    )


def _recall(tip: str, golds: Sequence[Gold], preds: Sequence[Predicted]) -> float:
    """Share of the reviewed questions labelled `tip` whose top suggestion is it (for NO_TIP: silence)."""
    if tip == NO_TIP:
        rows = [i for i, g in enumerate(golds) if not g.labels]
        hits = sum(1 for i in rows if not preds[i].tips)
    else:
        rows = [i for i, g in enumerate(golds) if tip in g.labels]
        hits = sum(1 for i in rows if preds[i].tips and preds[i].tips[0] == tip)
    return round(hits / len(rows), 4) if rows else 0.0
