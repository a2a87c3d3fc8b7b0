"""Score triage against a labelled set: tips, abstention, the four details, and a threshold sweep."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from triagebot.core.versions import parse_version

DETAILS = ("version", "os", "hypervisor")
SWEEP = tuple(round(0.05 * i, 2) for i in range(2, 19))


@dataclass(frozen=True, slots=True)
class Gold:
    """One labelled item: the right tips (empty = out of scope) and the right details."""

    labels: tuple[str, ...]
    details: Mapping[str, Any]


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
    )


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
