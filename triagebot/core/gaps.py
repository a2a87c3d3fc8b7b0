"""Coverage gaps: group the questions the bot could not answer into themes a new tip could cover.

The input is every question the bot abstained on or whose tip a moderator rejected as wrong. They are
clustered on character n-grams (which need no Japanese tokenizer) plus words, with average-linkage
agglomerative clustering cut at a cosine distance, so the number of themes is found, not given. Each
cluster is described by the words that set it apart from the other questions, its size per week and
three example subjects; the largest comes first, because it is the tip that would help most.

Example:
    >>> clusters = find_gaps([GapQuestion("1", "LDAP login fails", "...", "2024-W10"), ...])  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

DISTANCE = 0.9  # average cosine distance at which two groups stop merging
MIN_SIZE = 2  # a "theme" of one question is not a theme
TERMS = 6
EXAMPLES = 3
WORD_WEIGHT = 2.0
MAX_CHARS = 50_000  # character n-grams kept (the most frequent), which bounds memory on big sets
MAX_TEXT = 2000  # characters of a question's text that count: the start says what it is about

# English words and command or file names; runs of katakana; runs of two or more kanji.
_TERM = r"(?u)[a-z][a-z0-9_\-.]*[a-z0-9]|[ァ-ヶー]{2,}|[一-龥々]{2,}"
_COMMON = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "not",
        "but",
        "this",
        "that",
        "from",
        "have",
        "has",
        "are",
        "was",
        "were",
        "you",
        "your",
        "our",
        "can",
        "cannot",
        "does",
        "did",
        "when",
        "what",
        "how",
        "why",
        "any",
        "all",
        "after",
        "before",
        "into",
        "there",
        "here",
        "then",
        "than",
        "just",
        "also",
        "get",
        "got",
        "use",
        "using",
        "cloudstack",
        "apache",
        "please",
        "help",
        "thanks",
        "thank",
        "regards",
        "hello",
        "hi",
        "issue",
        "problem",
        "error",
        "question",
    ]
)


@dataclass(frozen=True, slots=True)
class GapQuestion:
    """One unanswered question: a key to find it again, its words, and the ISO week it was asked."""

    key: str
    subject: str
    text: str
    week: str  # "2024-W10"
    why: str = "abstained"  # or "rejected": a moderator said the suggested tip was wrong


@dataclass(frozen=True, slots=True)
class GapCluster:
    """One theme: its size, questions per week (oldest first), characteristic terms, example subjects."""

    rank: int
    size: int
    weeks: tuple[tuple[str, int], ...]
    terms: tuple[str, ...]
    examples: tuple[str, ...]
    keys: tuple[str, ...]
    rejected: int  # how many of them had a tip a moderator rejected (the others: the bot abstained)

    @property
    def trend(self) -> str:
        """ "rising", "falling" or "steady": the later half of its weeks against the earlier half."""
        counts = [count for _, count in self.weeks]
        if len(counts) < 2:
            return "steady"
        half = len(counts) // 2
        early, late = sum(counts[:half]) / half, sum(counts[half:]) / (len(counts) - half)
        if late > early * 1.5:
            return "rising"
        if late * 1.5 < early:
            return "falling"
        return "steady"

    def as_json(self) -> dict[str, object]:
        """The cluster as plain JSON values (`triagebot gaps --json`)."""
        return {
            "rank": self.rank,
            "size": self.size,
            "trend": self.trend,
            "weeks": dict(self.weeks),
            "terms": list(self.terms),
            "examples": list(self.examples),
            "rejected": self.rejected,
            "keys": list(self.keys),
        }


@dataclass(frozen=True, slots=True)
class GapReport:
    """Every cluster of at least `min_size` questions, largest first, and how many questions were read."""

    questions: int
    clusters: tuple[GapCluster, ...]
    unclustered: int  # questions in no cluster of at least the minimum size


def _document(question: GapQuestion) -> str:
    """What is compared: the subject counts twice (a title says what the question is about)."""
    return f"{question.subject}\n{question.subject}\n{question.text[:MAX_TEXT]}".lower()


def _vectors(documents: Sequence[str]) -> tuple[Any, NDArray[np.float64], list[str]]:
    """Unit vectors for clustering (sparse), the word TF-IDF matrix and its vocabulary (for naming).

    Words weigh twice as much as character n-grams: a theme is carried by a few shared words (a
    product name, a setting), while n-grams also catch inflections, Japanese and mistyped names.
    """
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
    from sklearn.preprocessing import normalize

    min_df = 2 if len(documents) >= 10 else 1
    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), min_df=min_df, sublinear_tf=True, max_features=MAX_CHARS
    )
    words = TfidfVectorizer(
        analyzer="word",
        token_pattern=_TERM,
        stop_words=sorted(_COMMON),
        min_df=min_df,
        sublinear_tf=True,
    )
    char_matrix = csr_matrix(chars.fit_transform(documents))
    try:
        word_matrix = csr_matrix(words.fit_transform(documents))
        vocabulary = list(words.get_feature_names_out())
    except ValueError:  # no word occurs often enough: cluster on characters, name clusters by nothing
        word_matrix, vocabulary = csr_matrix((len(documents), 0)), []
    combined = normalize(hstack([char_matrix, WORD_WEIGHT * word_matrix]).tocsr())
    # Naming skips function words ("to", "is"); clustering keeps them, they hardly weigh there.
    named = [term if term not in ENGLISH_STOP_WORDS else "" for term in vocabulary]
    return combined, np.asarray(word_matrix.toarray(), dtype=np.float64), named


def _labels(vectors: Any, distance: float) -> NDArray[np.int64]:
    """Cluster labels from average-linkage clustering on cosine distance, cut at `distance`."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    count = vectors.shape[0]
    if count < 2:
        return np.zeros(count, dtype=np.int64)
    similarity = np.asarray((vectors @ vectors.T).toarray(), dtype=np.float64)
    distances = np.clip(1.0 - similarity, 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    tree = linkage(squareform(distances, checks=False), method="average")
    return np.asarray(fcluster(tree, t=distance, criterion="distance"), dtype=np.int64)


def _terms(
    members: NDArray[np.int64], words: NDArray[np.float64], vocabulary: Sequence[str], count: int
) -> tuple[str, ...]:
    """The words whose weight inside the cluster most exceeds their weight in the other questions."""
    if not vocabulary:
        return ()
    inside = words[members].mean(axis=0)
    mask = np.ones(len(words), dtype=bool)
    mask[members] = False
    outside = words[mask].mean(axis=0) if mask.any() else np.zeros(words.shape[1])
    present = (words[members] > 0).mean(axis=0)
    score = (inside - outside) * present  # a word most of the cluster uses, not one question's
    order = np.argsort(-score, kind="stable")
    chosen = [vocabulary[i] for i in order if score[i] > 0 and vocabulary[i]]
    return tuple(chosen[:count])


def find_gaps(
    questions: Sequence[GapQuestion],
    *,
    distance: float = DISTANCE,
    min_size: int = MIN_SIZE,
    limit: int | None = None,
) -> GapReport:
    """Cluster unanswered questions into themes, largest first (ties: the most recent, then the terms).

    Args:
        questions: what the bot abstained on or moderators rejected as the wrong tip.
        distance: cosine distance at which clusters stop merging (lower: more, tighter themes).
        min_size: smallest cluster listed.
        limit: list at most this many clusters (None: all).
    """
    if not questions:
        return GapReport(0, (), 0)
    documents = [_document(q) for q in questions]
    vectors, words, vocabulary = _vectors(documents)
    labels = _labels(vectors, distance)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels.tolist()):
        groups.setdefault(int(label), []).append(index)
    drafts = []
    for indices in groups.values():
        if len(indices) < min_size:
            continue
        members = np.asarray(indices, dtype=np.int64)
        weeks = Counter(questions[i].week for i in indices)
        inside = vectors[members]
        centroid = np.asarray(inside.mean(axis=0)).ravel()
        nearest = members[np.argsort(-(inside @ centroid), kind="stable")]
        examples: list[str] = []
        for i in nearest.tolist():
            subject = questions[i].subject.strip() or questions[i].text.strip()[:80]
            if subject and subject not in examples:
                examples.append(subject)
            if len(examples) == EXAMPLES:
                break
        drafts.append(
            (
                indices,
                tuple(sorted(weeks.items())),
                _terms(members, words, vocabulary, TERMS),
                tuple(examples),
            )
        )
    drafts.sort(key=lambda d: (-len(d[0]), _negated(d[1][-1][0]), d[2]))
    if limit is not None:
        drafts = drafts[:limit]
    clusters = tuple(
        GapCluster(
            rank=rank,
            size=len(indices),
            weeks=weeks,
            terms=terms,
            examples=examples,
            keys=tuple(questions[i].key for i in indices),
            rejected=sum(1 for i in indices if questions[i].why == "rejected"),
        )
        for rank, (indices, weeks, terms, examples) in enumerate(drafts, 1)
    )
    clustered = sum(len(indices) for indices in groups.values() if len(indices) >= min_size)
    return GapReport(len(questions), clusters, len(questions) - clustered)


def _negated(week: str) -> tuple[int, ...]:
    """A sort key that puts later ISO weeks ("2024-W10") first."""
    return tuple(-int(part) for part in re.findall(r"\d+", week))
