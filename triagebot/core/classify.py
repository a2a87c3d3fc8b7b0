"""Classification of questions onto ranked tips: a trained linear model plus exact symptom rules.

The model is character and word n-gram TF-IDF feeding a calibrated linear SVM over every tip plus an
explicit out-of-scope class, so "none of these" competes with the tips instead of being a low score.
Each tip gets its own calibrated probability and several tips can be suggested for one question; symptom
rules (regexes of exact error strings from the knowledge base) raise a tip's score to the rule's
confidence, independently for every tip they match.
Scores below the abstention threshold, chosen from an out-of-fold precision/coverage sweep at training
time, are not suggested. Every suggestion carries evidence: the rules and phrases that drove it.

The model is trained as a plain scikit-learn Pipeline (`triagebot.core.training`); what runs here is its
fitted arithmetic (vocabularies, IDF weights, SVM weights, sigmoid calibrators) replayed with NumPy, so
triage neither imports scikit-learn nor pays its per-call input validation. A test checks both give the
same probabilities.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from triagebot.core.kb import KnowledgeBase
from triagebot.core.language import has_japanese
from triagebot.core.models import Classification, Question, TipScore
from triagebot.core.question import classifier_text, text_field
from triagebot.core.safety import defuse_user_text

OUT_OF_SCOPE = "__out_of_scope__"
MAX_TIPS = 3
RELATIVE_CUT = 0.3  # a second or third tip must score at least this share of the first
SECOND_SHARE = 0.5  # ... and at least this share of the threshold: the first tip clears the bar alone
MODES = ("both", "model", "rules")  # what scores a question; "model" and "rules" are for the ablation
RULE_TEXT_LIMIT = 300_000
FALLBACK_THRESHOLD = 0.5
_WORD = r"(?u)\b[A-Za-z_][A-Za-z0-9_.\-]+\b"
# words too common to explain anything to a moderator
_WEAK = frozenset(
    {
        "a",
        "an",
        "and",
        "any",
        "are",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "get",
        "got",
        "have",
        "help",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "me",
        "my",
        "not",
        "of",
        "on",
        "or",
        "please",
        "should",
        "so",
        "that",
        "the",
        "then",
        "there",
        "this",
        "to",
        "what",
        "when",
        "where",
        "which",
        "why",
        "will",
        "with",
        "you",
        "your",
    }
)


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """Out-of-fold quality at one threshold."""

    threshold: float
    coverage: float  # share of in-scope examples that get a suggestion
    precision: float  # share of suggestions whose top tip is right
    abstention: float  # share of out-of-scope examples left alone
    gain: float = 0.0  # (+1 per right top suggestion, −2 per wrong one) per example


_WHITE_SPACES = re.compile(r"\s\s+")
WORD_CACHE_SIZE = 200_000


@dataclass(frozen=True, slots=True)
class FeatureBlock:
    """One fitted TF-IDF vectorizer: how it splits text, its vocabulary and IDF weights."""

    analyzer: str  # "char_wb" or "word"
    ngram_range: tuple[int, int]
    token_pattern: str | None
    vocabulary: dict[str, int]
    idf: NDArray[np.float64]
    sublinear_tf: bool
    offset: int  # first column of this block in the joined feature space
    field: str = "text"  # which field of the classifier text this block reads (`text_field`)

    def grams(self, text: str) -> list[str]:
        """The n-grams the fitted vectorizer would count (lower-cased, as scikit-learn does)."""
        text = text.lower()
        low, high = self.ngram_range
        grams: list[str] = []
        if self.analyzer == "char_wb":
            for word in _WHITE_SPACES.sub(" ", text).split():
                padded = f" {word} "
                size = len(padded)
                for n in range(low, high + 1):
                    if size <= n:
                        grams.append(padded)
                        break
                    grams += [padded[i : i + n] for i in range(size - n + 1)]
            return grams
        tokens = re.findall(self.token_pattern or r"(?u)\b\w\w+\b", text)
        for n in range(low, high + 1):
            # n-grams as n shifted copies zipped together (the shorter copies end it)
            grams += map(" ".join, zip(*(tokens[i:] for i in range(n)), strict=False)) if n > 1 else tokens
        return grams


@dataclass(frozen=True, slots=True)
class CompiledModel:
    """The fitted pipeline as arrays: features, per-fold SVM weights and sigmoid calibrators."""

    blocks: tuple[FeatureBlock, ...]
    classes: tuple[str, ...]
    weights: NDArray[np.float64]  # (features, folds * classes)
    intercepts: NDArray[np.float64]  # (folds * classes,)
    sigmoid_a: NDArray[np.float64]
    sigmoid_b: NDArray[np.float64]
    folds: int

    @property
    def n_features(self) -> int:
        """Width of the joined feature space."""
        return self.blocks[-1].offset + len(self.blocks[-1].vocabulary)

    def features(
        self, text: str, word_cache: dict[str, tuple[int, ...]] | None = None
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Column indices and TF-IDF values of one text (each block L2-normalised, as fitted)."""
        return self.features_many([text], word_cache).row(0)

    def features_many(
        self, texts: Sequence[str], word_cache: dict[str, tuple[int, ...]] | None = None
    ) -> FeatureRows:
        """The TF-IDF rows of many texts (each block of each row L2-normalised, as fitted).

        Character n-grams never cross a word, so each word's columns can be remembered in
        `word_cache` (words recur constantly); the result is the same with or without it.
        """
        cache = {} if word_cache is None else word_cache
        if len(cache) > WORD_CACHE_SIZE:
            cache.clear()
        parts = [_block_entries(block, texts, cache) for block in self.blocks]
        owners = np.concatenate([owner for owner, _, _ in parts])
        order = np.argsort(owners, kind="stable")  # row by row, blocks in order within a row
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.bincount(owners, minlength=len(texts)), out=indptr[1:])
        columns = np.concatenate([c for _, c, _ in parts])[order]
        values = np.concatenate([v for _, _, v in parts])[order]
        return FeatureRows(indptr, columns, values)

    def probabilities(self, columns: NDArray[np.int64], values: NDArray[np.float64]) -> NDArray[np.float64]:
        """Calibrated class probabilities of one feature row, averaged over the calibration folds."""
        decision = values @ self.weights[columns] + self.intercepts
        result: NDArray[np.float64] = self._calibrate(decision[np.newaxis, :])[0]
        return result

    def probabilities_many(self, rows: FeatureRows) -> NDArray[np.float64]:
        """Calibrated class probabilities, one row per text (texts × classes)."""
        decision = np.tile(self.intercepts, (rows.count, 1))
        indptr, columns, values = rows.indptr, rows.columns, rows.values
        for index in range(rows.count):
            start, stop = indptr[index], indptr[index + 1]
            if stop > start:  # one small matrix-vector product per text beats any batched gather here
                decision[index] += values[start:stop] @ self.weights[columns[start:stop]]
        return self._calibrate(decision)

    def _calibrate(self, decision: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sigmoid-calibrate SVM decisions (rows × folds·classes), normalise each fold, average the folds."""
        calibrated = 1.0 / (1.0 + np.exp(self.sigmoid_a * decision + self.sigmoid_b))
        per_fold = calibrated.reshape(len(decision), self.folds, len(self.classes))
        totals = per_fold.sum(axis=2, keepdims=True)
        uniform = np.full_like(per_fold, 1 / len(self.classes))
        normalised = np.divide(per_fold, totals, out=uniform, where=totals != 0)
        result: NDArray[np.float64] = normalised.mean(axis=1)
        return result


@dataclass(frozen=True, slots=True)
class FeatureRows:
    """Sparse feature rows of a batch of texts, row by row: row i is `columns[indptr[i]:indptr[i+1]]`."""

    indptr: NDArray[np.int64]
    columns: NDArray[np.int64]  # in the joined feature space
    values: NDArray[np.float64]

    @property
    def count(self) -> int:
        """Number of rows."""
        return len(self.indptr) - 1

    def row(self, index: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Column indices and values of one text."""
        start, stop = self.indptr[index], self.indptr[index + 1]
        return self.columns[start:stop], self.values[start:stop]


def _block_entries(
    block: FeatureBlock, texts: Sequence[str], cache: dict[str, tuple[int, ...]]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """One block's entries for `texts`: owning row, column (joined space) and L2-normalised TF-IDF value."""
    vocabulary = block.vocabulary
    columns: list[int] = []
    counts: list[int] = []
    lengths: list[int] = []
    for whole in texts:
        text = text_field(whole, block.field)
        counted: dict[int, int]
        if block.analyzer == "char_wb":
            found: list[int] = []
            for word in text.lower().split():
                columns_of = cache.get(word)
                if columns_of is None:
                    grams = block.grams(word)
                    columns_of = cache[word] = tuple(
                        c for c in (vocabulary.get(g) for g in grams) if c is not None
                    )
                found.extend(columns_of)
            counted = Counter(found)
        else:
            counted = {}
            for gram, count in Counter(block.grams(text)).items():
                column = vocabulary.get(gram)
                if column is not None:
                    counted[column] = count
        columns.extend(counted)
        counts.extend(counted.values())
        lengths.append(len(counted))
    index = np.array(columns, dtype=np.int64)
    tf = np.array(counts, dtype=np.float64)
    if block.sublinear_tf:
        tf = np.log(tf) + 1.0
    values = tf * block.idf[index]
    sizes = np.array(lengths, dtype=np.int64)
    if len(values):
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))[sizes > 0]
        values /= np.repeat(np.sqrt(np.add.reduceat(values * values, starts)), sizes[sizes > 0])
    owners = np.repeat(np.arange(len(texts), dtype=np.int64), sizes)
    return owners, index + block.offset, values


@dataclass(frozen=True, slots=True)
class TrainedModel:
    """What triage needs of a trained model: the compiled scorer, threshold, and evidence weights."""

    compiled: CompiledModel
    labels: tuple[str, ...]
    threshold: float
    sweep: tuple[SweepPoint, ...]
    feature_names: tuple[str, ...]
    weights: NDArray[np.float32]  # (labels, features): mean linear weights, for evidence
    kb_digest: str


@dataclass(frozen=True, slots=True)
class Scored:
    """One question's combined scores, the rules that fired, and its feature row (for evidence)."""

    scores: dict[str, float]
    hits: dict[str, tuple[float, tuple[str, ...]]]
    features: FeatureRows  # the batch's rows; this question's is number `index`
    index: int
    text: str

    @property
    def row(self) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Feature columns and values of this question."""
        return self.features.row(self.index)


@dataclass(frozen=True, slots=True)
class _Rule:
    tip_id: str
    pattern: re.Pattern[str]
    label: str
    confidence: float
    # per alternative, the lower-case literals a match of it contains; () when some alternative has none
    needs: tuple[tuple[str, ...], ...]
    unless: re.Pattern[str] | None = None  # a text matching this too does not count (`Symptom.unless`)


def literal_alternatives(pattern: str) -> tuple[tuple[str, ...], ...]:
    """The literal runs a match must contain, lower-cased and longest first, per top-level alternative.

    A text the regex matches contains (ignoring case) every run of at least one alternative, so a
    text holding none of them can skip the regex. A regex without top-level `|` is one alternative.
    Runs inside groups, classes or repeats are not used, nor runs shorter than four characters;
    () means some alternative has no safe run, so there is no pre-check.
    """
    parsed = _parse(pattern)
    if parsed is None:
        return ()
    if len(parsed) == 1 and str(parsed[0][0]) == "BRANCH":
        alternatives = tuple(_literal_runs(branch) for branch in parsed[0][1][1])
    else:
        alternatives = (_literal_runs(parsed),)
    return alternatives if all(alternatives) else ()


def _parse(pattern: str) -> Any:
    try:
        return re._parser.parse(pattern)  # type: ignore[attr-defined]
    except (re.error, AttributeError):
        return None


def _literal_runs(parsed: Any) -> tuple[str, ...]:
    runs: list[str] = []
    run: list[str] = []
    for op, argument in [*parsed, (None, None)]:  # the sentinel ends the last run
        if str(op) == "LITERAL":
            run.append(chr(argument))
            continue
        literal = "".join(run).lower()
        if len(literal) >= 4 and literal.upper().lower() == literal:
            runs.append(literal)
        run = []
    return tuple(sorted(set(runs), key=lambda r: (-len(r), r)))


class SymptomRules:
    """Exact error strings and log lines from the knowledge base, compiled once.

    Each rule's regex runs only on texts holding all the literals one of its alternatives requires
    (`literal_alternatives`). Rules are filed under the longest literal of each alternative, so each
    text is searched once per distinct literal rather than once per rule, and only the few rules
    filed under a found literal go on. With `exceptions=False` a rule's `unless` is ignored (for the
    ablation study).
    """

    def __init__(self, kb: KnowledgeBase, *, exceptions: bool = True) -> None:
        self._rules = tuple(
            _Rule(
                tip.id,
                re.compile(symptom.pattern),
                symptom.label,
                symptom.confidence,
                literal_alternatives(symptom.pattern),
                re.compile(symptom.unless) if symptom.unless and exceptions else None,
            )
            for tip in kb.tips
            for symptom in tip.symptoms
        )
        self._unguarded = frozenset(index for index, rule in enumerate(self._rules) if not rule.needs)
        by_literal: dict[str, set[int]] = {}
        for index, rule in enumerate(self._rules):
            for needs in rule.needs:
                by_literal.setdefault(needs[0], set()).add(index)
        self._by_literal = {literal: frozenset(indices) for literal, indices in by_literal.items()}

    def match(self, text: str) -> dict[str, tuple[float, tuple[str, ...]]]:
        """Tip id → (highest confidence, labels of the rules that matched)."""
        text = text[:RULE_TEXT_LIMIT]
        lowered = text.lower()
        candidates = set(self._unguarded)
        for literal, indices in self._by_literal.items():
            if literal in lowered:
                candidates |= indices
        found: dict[str, tuple[float, tuple[str, ...]]] = {}
        for index in sorted(candidates):  # in knowledge-base order, as the labels are listed
            rule = self._rules[index]
            if rule.needs and not any(all(n in lowered for n in needs) for needs in rule.needs):
                continue
            if not rule.pattern.search(text):
                continue
            if rule.unless is not None and rule.unless.search(text):
                continue
            confidence, labels = found.get(rule.tip_id, (0.0, ()))
            found[rule.tip_id] = (max(confidence, rule.confidence), (*labels, rule.label))
        return found


class Classifier:
    """Ranks tips for questions with a trained model and the symptom rules."""

    def __init__(
        self, model: TrainedModel, rules: SymptomRules, threshold: float | None = None, mode: str = "both"
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.model = model
        self.rules = rules
        self.mode = mode
        self.threshold = model.threshold if threshold is None else threshold
        self._columns = [model.compiled.classes.index(label) for label in model.labels]
        self._word_cache: dict[str, tuple[int, ...]] = {}

    def classify(self, question: Question) -> Classification:
        """Classify one question."""
        return self.classify_many([question])[0]

    def classify_many(self, questions: Sequence[Question]) -> list[Classification]:
        """Classify a batch (much faster per question than one at a time)."""
        return [self.rank(scored) for scored in self.score_many(questions)]

    def score_many(self, questions: Sequence[Question]) -> list[Scored]:
        """Every tip's combined score for each question, before the threshold is applied."""
        if not questions:
            return []
        texts = [classifier_text(q) for q in questions]
        compiled = self.model.compiled
        rows = compiled.features_many(texts, self._word_cache)
        probabilities = compiled.probabilities_many(rows)[:, self._columns].tolist()
        scored = []
        if self.mode == "rules":
            probabilities = [[0.0] * len(self.model.labels) for _ in questions]
        for index, (question, text) in enumerate(zip(questions, texts, strict=True)):
            hits = self.rules.match(question.full_text) if self.mode != "model" else {}
            scores = dict(zip(self.model.labels, probabilities[index], strict=True))
            for tip_id, (confidence, _) in hits.items():
                scores[tip_id] = max(scores.get(tip_id, 0.0), confidence)
            scored.append(Scored(scores, hits, rows, index, text))
        return scored

    def rank(self, scored: Scored, left_out: Mapping[str, str] | None = None) -> Classification:
        """Up to MAX_TIPS tips that clear the bars, best first; tips in `left_out` (tip id → why,
        see `triagebot.core.applicability`) are never offered, and the close ones are named."""
        ranked = sorted(scored.scores.items(), key=lambda item: (-item[1], item[0]))
        chosen: list[TipScore] = []
        best_below: TipScore | None = None
        dropped: list[str] = []
        if left_out:
            floor = SECOND_SHARE * self.threshold
            dropped = [f"{t} ({left_out[t]})" for t, score in ranked if t in left_out and score >= floor]
            ranked = [item for item in ranked if item[0] not in left_out]
        for tip_id, score in ranked:
            if chosen:
                good = score >= SECOND_SHARE * self.threshold and score >= RELATIVE_CUT * chosen[0].score
            else:
                good = score >= self.threshold
            if good and len(chosen) < MAX_TIPS:
                chosen.append(TipScore(tip_id, round(score, 4), self._evidence(tip_id, scored)))
            else:
                if not good:  # rules only: phrases are worked out for suggestions
                    rules = scored.hits.get(tip_id, (0.0, ()))[1]
                    best_below = TipScore(tip_id, round(score, 4), tuple(f"error string: {r}" for r in rules))
                break
        return Classification(tuple(chosen), self.threshold, best_below, tuple(dropped))

    def _evidence(self, tip_id: str, scored: Scored) -> tuple[str, ...]:
        evidence = [f"error string: {label}" for label in scored.hits.get(tip_id, (0.0, ()))[1]]
        phrases = self._phrases(tip_id, scored.row, scored.text)
        evidence.extend(f"phrase: {defuse_user_text(phrase)}" for phrase in phrases)  # the asker's words
        return tuple(evidence)

    def _phrases(
        self, tip_id: str, row: tuple[NDArray[np.int64], NDArray[np.float64]], text: str, limit: int = 4
    ) -> list[str]:
        """The words of the question whose n-grams pushed hardest towards this tip."""
        label = self.model.labels.index(tip_id)
        indices, values = row
        if len(indices) == 0:
            return []
        contributions = values * self.model.weights[label, indices]
        keep = min(limit * 3, len(contributions))
        top = np.argpartition(-contributions, keep - 1)[:keep]
        order = top[np.argsort(-contributions[top])]
        names = self.model.feature_names
        lowered = text.lower()
        phrases: list[str] = []
        for column, contribution in zip(indices[order].tolist(), contributions[order].tolist(), strict=True):
            if contribution <= 0 or len(phrases) >= limit:
                break
            phrase = _phrase_for(names[column], text, lowered)
            weak = not phrase or phrase.lower() in _WEAK or len(phrase) < 3
            if not weak and not any(phrase in p or p in phrase for p in phrases):
                phrases.append(phrase)
        return phrases


def _phrase_for(feature: str, text: str, lowered: str) -> str:
    """Map a feature name (`chars__ sel`, `words__setenforce`) back to the words it came from."""
    kind, _, gram = feature.partition("__")
    gram = gram.strip()
    if len(gram) < 2:
        return ""
    at = lowered.find(gram)
    if at < 0:
        return gram if kind == "words" else ""
    if kind == "words":
        return text[at : at + len(gram)]
    start, end = at, at + len(gram)
    if has_japanese(gram):
        start, end = max(0, at - 2), min(len(text), end + 2)
        return text[start:end].strip()
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    word = text[start:end].strip(".,:;!?()[]{}\"'`")
    return word if len(word) <= 40 else gram
