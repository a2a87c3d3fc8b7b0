"""The evaluator's worst-mistakes listing and reliability table."""

from __future__ import annotations

from triagebot.core.evaluate import Gold, Predicted, evaluate, mistakes, reliability


def _pred(tips: tuple[str, ...], **scores: float) -> Predicted:
    return Predicted(tips=tips, scores=scores, details={})


GOLDS = [
    Gold(("selinux",), {}, "a"),
    Gold(("nfs_storage",), {}, "b"),
    Gold((), {}, "c"),
    Gold(("selinux",), {}, "d"),
    Gold((), {}, "e"),
]
PREDS = [
    _pred(("selinux",), selinux=0.95),
    _pred(("selinux",), selinux=0.72, nfs_storage=0.5),
    _pred(("nfs_storage",), nfs_storage=0.81),
    _pred((), selinux=0.3),
    _pred((), selinux=0.1),
]


def test_mistakes_lists_confident_wrong_first_then_misses() -> None:
    listed = mistakes(GOLDS, PREDS)
    assert [(m.id, m.got, m.score) for m in listed] == [
        ("c", "nfs_storage", 0.81),
        ("b", "selinux", 0.72),
        ("d", "-", 0.3),
    ]
    assert listed[0].gold == ()


def test_reliability_counts_out_of_scope_suggestions_as_wrong() -> None:
    bins = {(round(b.low, 1), round(b.high, 1)): (b.count, b.precision) for b in reliability(GOLDS, PREDS)}
    assert bins[(0.9, 1.0)] == (1, 1.0)
    assert bins[(0.8, 0.9)] == (1, 0.0)
    assert bins[(0.7, 0.8)] == (1, 0.0)
    assert bins[(0.5, 0.6)] == (0, 0.0)


def test_report_carries_both() -> None:
    report = evaluate(GOLDS, PREDS, 0.5)
    assert report.top1 == round(1 / 3, 4)
    assert report.top_precision == round(1 / 3, 4)
    assert report.abstention == 0.5
    assert len(report.mistakes) == 3
    assert sum(b.count for b in report.reliability) == 3
