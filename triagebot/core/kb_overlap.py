"""Which tips' examples read like another tip's: a hint that a new tip duplicates or splits one."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from triagebot.core.classify import SymptomRules
from triagebot.core.kb import KnowledgeBase

MIN_SHARE = 0.2  # a tip is noted when at least this share of its examples is closest to one other tip


@dataclass(frozen=True, slots=True)
class Overlap:
    """`share` of `tip`'s examples have their nearest example (by TF-IDF cosine) in tip `close`."""

    tip: str
    close: str
    share: float
    count: int


def overlaps(kb: KnowledgeBase, *, min_share: float = MIN_SHARE) -> tuple[Overlap, ...]:
    """Tips whose examples overlap another tip's, most overlapping first.

    Each example's nearest other example is found over character n-grams (both languages); a tip is
    close to another when many of its examples land there.
    """
    texts = [example for tip in kb.tips for example in tip.examples]
    owners = [tip.id for tip in kb.tips for _ in tip.examples]
    if len(texts) < 2:
        return ()
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit_transform(
        [t.lower() for t in texts]
    )
    similarity = (vectors @ vectors.T).toarray()
    np.fill_diagonal(similarity, -1.0)
    nearest = similarity.argmax(axis=1)
    found: list[Overlap] = []
    for tip in kb.tips:
        rows = [i for i, owner in enumerate(owners) if owner == tip.id]
        others = Counter(owners[nearest[i]] for i in rows if owners[nearest[i]] != tip.id)
        for close, count in others.most_common():
            share = count / len(rows)
            if share >= min_share:
                found.append(Overlap(tip.id, close, round(share, 3), count))
    return tuple(sorted(found, key=lambda o: (-o.share, o.tip, o.close)))


@dataclass(frozen=True, slots=True)
class RuleConflict:
    """A symptom rule of `tip` that fires on `count` of the knowledge base's own out-of-scope examples.

    Triage raises a tip to its rule's confidence whatever the model says, so such a rule suggests the
    tip on exactly the posts the examples say to leave alone: narrow it (`unless`) or move the example.
    """

    tip: str
    label: str
    count: int
    first: int  # index in `kb.out_of_scope` of the first example it fires on


def rule_conflicts(kb: KnowledgeBase) -> tuple[RuleConflict, ...]:
    """Every symptom rule that fires on an out-of-scope example, in knowledge-base order."""
    rules = SymptomRules(kb)  # the rules exactly as triage runs them
    found: dict[tuple[str, str], list[int]] = {}
    for index, example in enumerate(kb.out_of_scope):
        for tip_id, (_, labels) in rules.match(example).items():
            for label in labels:
                found.setdefault((tip_id, label), []).append(index)
    order = {(t.id, s.label): i for i, (t, s) in enumerate((t, s) for t in kb.tips for s in t.symptoms)}
    return tuple(
        RuleConflict(tip, label, len(indices), indices[0])
        for (tip, label), indices in sorted(found.items(), key=lambda item: order.get(item[0], 0))
    )
