"""Score triage against a labelled set: tips, abstention, the four details, a threshold sweep, the worst
mistakes and a reliability table (does a score of 0.8 mean right four times in five?)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from triagebot.core.versions import parse_version

DETAILS = ("version", "os", "hypervisor")
SWEEP = tuple(round(0.05 * i, 2) for i in range(2, 19))
BINS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)
WORST = 20


@dataclass(frozen=True, slots=True)
class Gold:
    """One labelled item: the right tips (empty = out of scope) and the right details."""

    labels: tuple[str, ...]
    details: Mapping[str, Any]
    id: str = ""


@dataclass(frozen=True, slots=True)
class Predicted:
    """What triage said about one item: ranked suggested tips, all scores, the details found."""

    tips: tuple[str, ...]
    scores: Mapping[str, float]
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TipMetrics:
    """Precision, recall and F1 of one tip over the suggested tips."""

    tip: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Mistake:
    """A wrong or missing suggestion: what was right, what was said (`-` for nothing), how sure."""

    id: str
    gold: tuple[str, ...]
    got: str
    score: float


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """Suggestions whose top score fell in [low, high) and the share of them that were right."""

    low: float
    high: float
    count: int
    precision: float


@dataclass(frozen=True, slots=True)
class Report:
    """Everything `triagebot eval` prints."""

    items: int
    in_scope: int
    out_of_scope: int
    top1: float
    top3: float
    top_precision: float
    abstention: float
    coverage: float
    per_tip: tuple[TipMetrics, ...]
    detail_presence: dict[str, float]
    detail_value: dict[str, float]
    specifics: float
    sweep: tuple[dict[str, float], ...] = field(default=())
    threshold: float = 0.0
    mistakes: tuple[Mistake, ...] = field(default=())
    reliability: tuple[ReliabilityBin, ...] = field(default=())


def _ratio(good: int, total: int) -> float:
    return round(good / total, 4) if total else 0.0


def evaluate(golds: Sequence[Gold], preds: Sequence[Predicted], threshold: float) -> Report:
    """Compare predictions with the labels."""
    in_scope = [i for i, g in enumerate(golds) if g.labels]
    out_scope = [i for i, g in enumerate(golds) if not g.labels]
    top1 = sum(1 for i in in_scope if preds[i].tips and preds[i].tips[0] in golds[i].labels)
    top3 = sum(1 for i in in_scope if set(preds[i].tips[:3]) & set(golds[i].labels))
    suggested = [i for i, p in enumerate(preds) if p.tips]
    top_right = sum(1 for i in suggested if preds[i].tips[0] in golds[i].labels)
    abstained = sum(1 for i in out_scope if not preds[i].tips)
    covered = sum(1 for i in in_scope if preds[i].tips)

    tips = sorted({t for g in golds for t in g.labels} | {t for p in preds for t in p.tips})
    per_tip = []
    for tip in tips:
        tp = sum(1 for g, p in zip(golds, preds, strict=True) if tip in g.labels and tip in p.tips)
        fp = sum(1 for g, p in zip(golds, preds, strict=True) if tip not in g.labels and tip in p.tips)
        fn = sum(1 for g, p in zip(golds, preds, strict=True) if tip in g.labels and tip not in p.tips)
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
        per_tip.append(TipMetrics(tip, precision, recall, f1, tp + fn))

    presence = {}
    value = {}
    for name in DETAILS:
        presence[name] = _ratio(
            sum(
                1
                for g, p in zip(golds, preds, strict=True)
                if (g.details.get(name) is None) == (p.details.get(name) is None)
            ),
            len(golds),
        )
        stated = [(g, p) for g, p in zip(golds, preds, strict=True) if g.details.get(name) is not None]
        value[name] = _ratio(
            sum(1 for g, p in stated if same_value(name, g.details[name], p.details.get(name))), len(stated)
        )
    specifics = _ratio(
        sum(
            1
            for g, p in zip(golds, preds, strict=True)
            if bool(g.details.get("specifics")) == bool(p.details.get("specifics"))
        ),
        len(golds),
    )
    return Report(
        items=len(golds),
        in_scope=len(in_scope),
        out_of_scope=len(out_scope),
        top1=_ratio(top1, len(in_scope)),
        top3=_ratio(top3, len(in_scope)),
        top_precision=_ratio(top_right, len(suggested)),
        abstention=_ratio(abstained, len(out_scope)),
        coverage=_ratio(covered, len(in_scope)),
        per_tip=tuple(per_tip),
        detail_presence=presence,
        detail_value=value,
        specifics=specifics,
        sweep=tuple(sweep(golds, preds)),
        threshold=threshold,
        mistakes=tuple(mistakes(golds, preds)),
        reliability=tuple(reliability(golds, preds)),
    )


def _top(pred: Predicted) -> tuple[str, float]:
    """The suggested top tip and its score, or ("-", best score of any tip) when nothing was said."""
    if pred.tips:
        return pred.tips[0], round(pred.scores.get(pred.tips[0], 0.0), 4)
    return "-", round(max(pred.scores.values(), default=0.0), 4)


def mistakes(golds: Sequence[Gold], preds: Sequence[Predicted], limit: int = WORST) -> list[Mistake]:
    """Wrong top suggestions first (most confident first), then in-scope items left without one."""
    wrong: list[Mistake] = []
    missed: list[Mistake] = []
    for gold, pred in zip(golds, preds, strict=True):
        got, score = _top(pred)
        if pred.tips and got not in gold.labels:
            wrong.append(Mistake(gold.id, gold.labels, got, score))
        elif not pred.tips and gold.labels:
            missed.append(Mistake(gold.id, gold.labels, got, score))
    wrong.sort(key=lambda m: (-m.score, m.id))
    missed.sort(key=lambda m: (-m.score, m.id))
    return (wrong + missed)[:limit]


def reliability(
    golds: Sequence[Gold], preds: Sequence[Predicted], bins: Sequence[float] = BINS
) -> list[ReliabilityBin]:
    """Observed precision of the top suggestion per score bin; `[]` items count as wrong."""
    rows = []
    for low, high in zip(bins, bins[1:], strict=False):
        outcomes = [
            pred.tips[0] in gold.labels
            for gold, pred in zip(golds, preds, strict=True)
            if pred.tips and low <= pred.scores.get(pred.tips[0], 0.0) < high
        ]
        rows.append(ReliabilityBin(low, min(high, 1.0), len(outcomes), _ratio(sum(outcomes), len(outcomes))))
    return rows


def sweep(golds: Sequence[Gold], preds: Sequence[Predicted]) -> list[dict[str, float]]:
    """Top-1 accuracy, precision and abstention had the threshold been each value in SWEEP."""
    rows = []
    in_scope = sum(1 for g in golds if g.labels)
    out_scope = len(golds) - in_scope
    for threshold in SWEEP:
        suggested = right = top1 = abstained = 0
        for gold, pred in zip(golds, preds, strict=True):
            best = max(pred.scores.items(), key=lambda kv: kv[1], default=("", 0.0))
            if best[1] >= threshold:
                suggested += 1
                hit = best[0] in gold.labels
                right += hit
                top1 += hit and bool(gold.labels)
            elif not gold.labels:
                abstained += 1
        rows.append(
            {
                "threshold": threshold,
                "top1": _ratio(top1, in_scope),
                "precision": _ratio(right, suggested),
                "abstention": _ratio(abstained, out_scope),
            }
        )
    return rows


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "", text.lower())


def same_value(name: str, gold: Any, found: Any) -> bool:
    """Loose equality of a detail value: versions by their stated parts, names by normalised prefix."""
    if found is None:
        return False
    if name == "version":
        g, f = parse_version(str(gold)), parse_version(str(found))
        if g is None or f is None:
            return False
        length = min(len(g), len(f))
        return g[:length] == f[:length]
    a, b = _norm(str(gold)), _norm(str(found))
    return bool(a) and bool(b) and (a.startswith(b) or b.startswith(a))
