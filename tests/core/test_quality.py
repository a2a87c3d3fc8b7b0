"""The quality report's figures on hand-made predictions."""

from __future__ import annotations

import pytest

from triagebot.core.evaluate import Gold, Predicted
from triagebot.core.quality import (
    NOTHING,
    OUT_OF_SCOPE,
    WeeklyDecisions,
    build_report,
    confusion,
    curve_point,
    precision_coverage,
    reliability,
)

GOLDS = [Gold(("selinux",), {}), Gold(("selinux",), {}), Gold(("nfs-storage",), {}), Gold((), {})]
PREDS = [
    Predicted(("selinux",), {"selinux": 0.9, "nfs-storage": 0.1}, {}),
    Predicted(("nfs-storage",), {"selinux": 0.3, "nfs-storage": 0.6}, {}),
    Predicted((), {"nfs-storage": 0.35}, {}),
    Predicted((), {"selinux": 0.2}, {}),
]


def test_confusion_counts_gold_against_suggested() -> None:
    matrix = confusion(GOLDS, PREDS)
    assert matrix.labels == ("nfs-storage", "selinux", OUT_OF_SCOPE)
    assert matrix.counts == ((0, 0, 1), (1, 1, 0), (0, 0, 1))  # silence on out of scope is on the diagonal
    assert matrix.total == 4
    assert NOTHING not in matrix.labels


def test_curve_points() -> None:
    low = curve_point(GOLDS, PREDS, 0.0)
    assert (low.coverage, low.suggested) == (1.0, 4)
    assert low.precision == pytest.approx(2 / 4)  # selinux 0.9 and nfs 0.35 right; nfs 0.6 and oos wrong
    high = curve_point(GOLDS, PREDS, 0.5)
    assert high.coverage == pytest.approx(2 / 3)
    assert high.precision == pytest.approx(1 / 2)
    nothing = curve_point(GOLDS, PREDS, 0.95)
    assert (nothing.coverage, nothing.suggested, nothing.precision) == (0.0, 0, 1.0)
    curve = precision_coverage(GOLDS, PREDS, steps=10)
    assert len(curve) == 11
    assert [p.coverage for p in curve] == sorted((p.coverage for p in curve), reverse=True)


def test_reliability_bins_hold_mean_scores_and_precision() -> None:
    cells = reliability(GOLDS, PREDS, bins=10)
    assert len(cells) == 10
    filled = {(c.low, c.count, round(c.mean_score, 2), c.precision) for c in cells if c.count}
    assert filled == {(0.9, 1, 0.9, 1.0), (0.6, 1, 0.6, 0.0)}


def test_weekly_shares_and_the_whole_report() -> None:
    week = WeeklyDecisions("2024-W10", approved=3, edited=1, rejected=0)
    assert week.total == 4 and week.share("approved") == 0.75 and week.share("rejected") == 0.0
    assert WeeklyDecisions("2024-W11", 0, 0, 0).share("edited") == 0.0
    report = build_report("dev.jsonl", GOLDS, PREDS, 0.5, decisions=[week])
    assert report.chosen == curve_point(GOLDS, PREDS, 0.5)
    assert report.evaluation.items == 4
    assert report.decisions == (week,)
    assert report.gaps.clusters == ()
