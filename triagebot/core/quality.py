"""The figures of the quality report: confusion matrix, precision–coverage curve, reliability diagram and
moderators' decisions over time, computed from labelled predictions and stored decisions.

Pure: the CLI and the web app gather the inputs (a labelled file scored by the engine, the store's
decisions and gap clusters) and draw what this module computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from triagebot.core.evaluate import Gold, Predicted, Report, evaluate
from triagebot.core.gaps import GapReport

OUT_OF_SCOPE = "(out of scope)"  # the gold label of a question no tip answers
NOTHING = "(no tip)"  # what the bot said when it suggested nothing
CURVE_STEPS = 50
RELIABILITY_BINS = 10


@dataclass(frozen=True, slots=True)
class Confusion:
    """Counts of (gold first label, suggested top tip); rows and columns in the same order."""

    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]  # counts[gold][suggested]

    @property
    def total(self) -> int:
        """Every item counted."""
        return sum(sum(row) for row in self.counts)


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """Had the threshold been `threshold`: the share of in-scope questions answered, and how many right."""

    threshold: float
    coverage: float
    precision: float
    suggested: int


@dataclass(frozen=True, slots=True)
class ReliabilityPoint:
    """Suggestions whose top score fell in [low, high): their mean score and the share that were right."""

    low: float
    high: float
    count: int
    mean_score: float
    precision: float


@dataclass(frozen=True, slots=True)
class WeeklyDecisions:
    """How moderators first decided on drafts in one ISO week."""

    week: str
    approved: int  # sent as drafted
    edited: int  # sent after a moderator changed the text
    rejected: int

    @property
    def total(self) -> int:
        """All decisions of the week."""
        return self.approved + self.edited + self.rejected

    def share(self, part: str) -> float:
        """The share of the week's decisions that were `part` ("approved", "edited" or "rejected")."""
        count: int = getattr(self, part)
        return count / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Everything `triagebot report` draws."""

    source: str
    evaluation: Report
    confusion: Confusion
    curve: tuple[CurvePoint, ...]
    chosen: CurvePoint
    reliability: tuple[ReliabilityPoint, ...]
    decisions: tuple[WeeklyDecisions, ...]
    gaps: GapReport


def confusion(golds: Sequence[Gold], preds: Sequence[Predicted]) -> Confusion:
    """The confusion matrix of the first gold label against the suggested top tip (or nothing)."""
    pairs = [
        (gold.labels[0] if gold.labels else OUT_OF_SCOPE, pred.tips[0] if pred.tips else NOTHING)
        for gold, pred in zip(golds, preds, strict=True)
    ]
    tips = sorted(({a for a, _ in pairs} | {b for _, b in pairs}) - {OUT_OF_SCOPE, NOTHING})
    labels = (*tips, OUT_OF_SCOPE)
    index = {label: i for i, label in enumerate(labels)}
    index[NOTHING] = index[OUT_OF_SCOPE]  # saying nothing on an out-of-scope question is the right call
    grid = [[0] * len(labels) for _ in labels]
    for gold, got in pairs:
        grid[index[gold]][index[got]] += 1
    return Confusion(labels, tuple(tuple(row) for row in grid))


def _best(pred: Predicted) -> tuple[str, float]:
    return max(pred.scores.items(), key=lambda kv: kv[1], default=("", 0.0))


def curve_point(golds: Sequence[Gold], preds: Sequence[Predicted], threshold: float) -> CurvePoint:
    """Coverage (in-scope questions given a tip) and precision (right top tips among all given)."""
    in_scope = sum(1 for g in golds if g.labels)
    suggested = right = covered = 0
    for gold, pred in zip(golds, preds, strict=True):
        tip, score = _best(pred)
        if score >= threshold and tip:
            suggested += 1
            right += tip in gold.labels
            covered += bool(gold.labels)
    return CurvePoint(
        round(threshold, 4),
        covered / in_scope if in_scope else 0.0,
        right / suggested if suggested else 1.0,
        suggested,
    )


def precision_coverage(
    golds: Sequence[Gold], preds: Sequence[Predicted], steps: int = CURVE_STEPS
) -> tuple[CurvePoint, ...]:
    """The curve traced by moving the threshold from 0 to 1 in `steps` steps (best score only)."""
    return tuple(curve_point(golds, preds, i / steps) for i in range(steps + 1))


def reliability(
    golds: Sequence[Gold], preds: Sequence[Predicted], bins: int = RELIABILITY_BINS
) -> tuple[ReliabilityPoint, ...]:
    """Observed precision of suggested top tips per score bin, with the bin's mean score (calibration)."""
    cells: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for gold, pred in zip(golds, preds, strict=True):
        if pred.tips:
            score = pred.scores.get(pred.tips[0], 0.0)
            cells[min(int(score * bins), bins - 1)].append((score, pred.tips[0] in gold.labels))
    points = []
    for i, cell in enumerate(cells):
        count = len(cell)
        points.append(
            ReliabilityPoint(
                i / bins,
                (i + 1) / bins,
                count,
                sum(s for s, _ in cell) / count if count else 0.0,
                sum(1 for _, ok in cell if ok) / count if count else 0.0,
            )
        )
    return tuple(points)


def build_report(
    source: str,
    golds: Sequence[Gold],
    preds: Sequence[Predicted],
    threshold: float,
    *,
    decisions: Sequence[WeeklyDecisions] = (),
    gaps: GapReport | None = None,
) -> QualityReport:
    """Every figure of the report from scored labelled items, stored decisions and gap clusters."""
    return QualityReport(
        source=source,
        evaluation=evaluate(golds, preds, threshold),
        confusion=confusion(golds, preds),
        curve=precision_coverage(golds, preds),
        chosen=curve_point(golds, preds, threshold),
        reliability=reliability(golds, preds),
        decisions=tuple(decisions),
        gaps=gaps or GapReport(0, (), 0),
    )
