"""Coverage gaps: a planted unanswered theme comes out as one cluster, ranked first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triagebot.core.gaps import GapCluster, GapQuestion, find_gaps

PLANTED = Path(__file__).resolve().parent.parent / "fixtures" / "gaps" / "planted.jsonl"


def planted() -> tuple[list[GapQuestion], dict[str, str]]:
    """The planted set (20 LDAP questions in English and Japanese among 36 others), key → theme."""
    questions, themes = [], {}
    for number, line in enumerate(PLANTED.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        key = f"q{number}"
        questions.append(GapQuestion(key, row["subject"], row["body"], f"2024-W{10 + number % 4:02d}"))
        themes[key] = row["theme"]
    return questions, themes


def test_the_planted_theme_is_one_cluster_ranked_first() -> None:
    questions, themes = planted()
    ldap = {key for key, theme in themes.items() if theme == "ldap"}
    assert len(ldap) == 20
    report = find_gaps(questions)
    first = report.clusters[0]
    assert ldap <= set(first.keys)
    assert len(first.keys) <= len(ldap) + 2  # the theme, not the whole set
    assert all(not ldap & set(c.keys) for c in report.clusters[1:])
    assert first.terms[0] == "ldap"
    assert all("LDAP" in subject or "Directory" in subject for subject in first.examples)
    assert len(first.examples) == 3
    assert [c.rank for c in report.clusters] == list(range(1, len(report.clusters) + 1))
    assert [c.size for c in report.clusters] == sorted((c.size for c in report.clusters), reverse=True)


def test_the_planted_theme_survives_shuffling() -> None:
    questions, themes = planted()
    ldap = {key for key, theme in themes.items() if theme == "ldap"}
    shuffled = questions[1::2] + questions[::2]
    assert ldap <= set(find_gaps(shuffled).clusters[0].keys)


def test_weeks_count_the_questions_and_sizes_add_up() -> None:
    questions, _ = planted()
    report = find_gaps(questions)
    for cluster in report.clusters:
        assert sum(count for _, count in cluster.weeks) == cluster.size == len(cluster.keys)
        assert [week for week, _ in cluster.weeks] == sorted(week for week, _ in cluster.weeks)
    assert report.questions == len(questions)
    assert report.unclustered == len(questions) - sum(c.size for c in report.clusters)


def test_limit_and_min_size() -> None:
    questions, _ = planted()
    everything = find_gaps(questions, min_size=1)
    assert sum(c.size for c in everything.clusters) == len(questions)
    assert everything.unclustered == 0
    limited = find_gaps(questions, limit=2)
    assert len(limited.clusters) == 2
    assert limited.clusters[0].keys == find_gaps(questions).clusters[0].keys


def test_rejected_questions_are_counted() -> None:
    questions = [
        GapQuestion("a", "LDAP login fails", "ldap bind fails for every user", "2024-W01", why="rejected"),
        GapQuestion("b", "LDAP login fails again", "ldap bind fails for users", "2024-W02"),
        GapQuestion("c", "GPU passthrough", "nvidia card for a VM", "2024-W02"),
    ]
    report = find_gaps(questions)
    assert report.clusters[0].keys == ("a", "b")
    assert report.clusters[0].rejected == 1
    assert report.unclustered == 1


def test_nothing_in_nothing_out() -> None:
    assert find_gaps([]).clusters == ()
    single = find_gaps([GapQuestion("a", "x", "y", "2024-W01")], min_size=1)
    assert single.clusters[0].keys == ("a",)


@pytest.mark.parametrize(
    ("counts", "trend"),
    [((1, 1, 5, 6), "rising"), ((6, 5, 1, 1), "falling"), ((3, 3, 3, 3), "steady"), ((4,), "steady")],
)
def test_trend(counts: tuple[int, ...], trend: str) -> None:
    weeks = tuple((f"2024-W{i:02d}", c) for i, c in enumerate(counts, 1))
    cluster = GapCluster(1, sum(counts), weeks, (), (), (), 0)
    assert cluster.trend == trend
    assert cluster.as_json()["trend"] == trend
