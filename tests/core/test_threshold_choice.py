"""Choosing the abstention threshold from out-of-fold scores: the best gain, or a lower tie within noise."""

from __future__ import annotations

import numpy as np

from triagebot.core.training import THRESHOLDS, choose_threshold

# two tips; an out-of-scope example has no label at all
TIP_A = [1, 0]
NONE = [0, 0]


def _scores(top: list[float], right: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose top tip is A with the given score; `right` says whether A is the example's label."""
    scores = np.array([[s, s / 10] for s in top])
    y = np.array([TIP_A if r else NONE for r in right])
    return scores, y


def test_a_clear_best_threshold_is_kept() -> None:
    # 200 right suggestions scored 0.8, 200 wrong ones scored 0.3: anything in (0.3, 0.8] is best
    scores, y = _scores([0.8] * 200 + [0.3] * 200, [True] * 200 + [False] * 200)
    assert choose_threshold(scores, y) == 0.31  # the lowest best one; lower lets 200 wrong ones in


def test_a_lower_threshold_within_noise_is_preferred() -> None:
    # from 0.46 up: 400 right; from 0.11 to 0.45 one more right and one more wrong, a loss of 1 point
    # in 802 examples (less than one standard error): the lower threshold answers more askers
    top = [0.9] * 400 + [0.45, 0.45] + [0.1] * 400
    right = [True] * 400 + [True, False] + [False] * 400
    scores, y = _scores(top, right)
    gains = {t: _gain(scores, y, t) for t in (0.41, 0.46)}
    assert gains[0.46] > gains[0.41]  # the plain maximum would be 0.46
    assert choose_threshold(scores, y) == 0.11


def test_a_lower_threshold_clearly_worse_is_not_taken() -> None:
    # below 0.41 come 60 wrong suggestions and 10 right ones: clearly worse, not a tie
    top = [0.9] * 300 + [0.4] * 70 + [0.05] * 100
    right = [True] * 300 + [True] * 10 + [False] * 60 + [False] * 100
    scores, y = _scores(top, right)
    assert choose_threshold(scores, y) == 0.41


def test_the_threshold_is_one_of_the_swept_values() -> None:
    rng = np.random.default_rng(7)
    scores = rng.random((300, 2))
    y = np.array([TIP_A if rng.random() < 0.5 else NONE for _ in range(300)])
    assert choose_threshold(scores, y) in set(THRESHOLDS.tolist())


def _gain(scores: np.ndarray, y: np.ndarray, threshold: float) -> float:
    suggested = scores.max(axis=1) >= threshold
    right = y[np.arange(len(y)), scores.argmax(axis=1)] == 1
    return float((suggested & right).sum() - 2 * (suggested & ~right).sum()) / len(y)
