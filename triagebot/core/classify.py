"""Classification of questions onto ranked tips: a scikit-learn Pipeline plus exact symptom rules.

The model is character and word n-gram TF-IDF feeding a calibrated linear SVM over every tip plus an
explicit out-of-scope class, so "none of these" competes with the tips instead of being a low score.
Each tip gets its own calibrated probability and several tips can be suggested for one question; symptom
rules (regexes of exact error strings from the knowledge base) raise a tip's score to the rule's
confidence, independently for every tip they match.
Scores below the abstention threshold, chosen from an out-of-fold precision/coverage sweep at training
time, are not suggested. Every suggestion carries evidence: the rules and phrases that drove it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

from triagebot.core.kb import KnowledgeBase
from triagebot.core.models import Classification, Question, TipScore
from triagebot.core.question import classifier_text, make_question

OUT_OF_SCOPE = "__out_of_scope__"
TARGET_PRECISION = 0.88
MIN_ABSTENTION = 0.9
MAX_TIPS = 3
RELATIVE_CUT = 0.4  # a second or third tip must score at least this share of the first
RULE_TEXT_LIMIT = 300_000
FALLBACK_THRESHOLD = 0.5
_WORD = r"(?u)\b[A-Za-z_][A-Za-z0-9_.\-]+\b"
# words too common to explain anything to a moderator
_WEAK = frozenset(
    "a an and any are can could do does for from get got have help how i if in is it me my not of on or "
    "please should so that the then there this to what when where which why will with you your".split()
)


def build_pipeline(random_state: int = 0) -> Pipeline:
    """The classifier as a plain, unfitted scikit-learn Pipeline."""
    features = FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True, max_features=120_000
                ),
            ),
            (
                "words",
                TfidfVectorizer(
                    analyzer="word", token_pattern=_WORD, ngram_range=(1, 2), min_df=2, sublinear_tf=True
                ),
            ),
        ]
    )
    svm = LinearSVC(C=0.5, random_state=random_state)
    model = CalibratedClassifierCV(svm, method="sigmoid", cv=3)
    return Pipeline([("features", features), ("model", model)])


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """Out-of-fold quality at one threshold."""

    threshold: float
    coverage: float  # share of in-scope examples that get a suggestion
    precision: float  # share of suggestions whose top tip is right
    abstention: float  # share of out-of-scope examples left alone


@dataclass(frozen=True, slots=True)
class TrainedModel:
    """A fitted pipeline with what prediction and evidence need."""

    pipeline: Pipeline
    labels: tuple[str, ...]
    threshold: float
    sweep: tuple[SweepPoint, ...]
    feature_names: NDArray[np.str_]
    weights: NDArray[np.float32]  # (labels, features): mean linear weights, for evidence
    kb_digest: str


@dataclass(frozen=True, slots=True)
class Scored:
    """One question's combined scores, the rules that fired, and its feature row (for evidence)."""

    scores: dict[str, float]
    hits: dict[str, tuple[float, tuple[str, ...]]]
    row: object
    text: str


@dataclass(frozen=True, slots=True)
class _Rule:
    tip_id: str
    pattern: re.Pattern[str]
    label: str
    confidence: float


class SymptomRules:
    """Exact error strings and log lines from the knowledge base, compiled once."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._rules = tuple(
            _Rule(tip.id, re.compile(symptom.pattern), symptom.label, symptom.confidence)
            for tip in kb.tips
            for symptom in tip.symptoms
        )

    def match(self, text: str) -> dict[str, tuple[float, tuple[str, ...]]]:
        """Tip id → (highest confidence, labels of the rules that matched)."""
        text = text[:RULE_TEXT_LIMIT]
        found: dict[str, tuple[float, tuple[str, ...]]] = {}
        for rule in self._rules:
            if rule.pattern.search(text):
                confidence, labels = found.get(rule.tip_id, (0.0, ()))
                found[rule.tip_id] = (max(confidence, rule.confidence), (*labels, rule.label))
        return found


def training_set(kb: KnowledgeBase) -> tuple[list[str], list[tuple[str, ...]]]:
    """Texts and label sets: every tip's examples, then the out-of-scope examples (no labels)."""
    texts: list[str] = []
    labels: list[tuple[str, ...]] = []
    for tip in kb.tips:
        for example in tip.examples:
            texts.append(example)
            labels.append((tip.id,))
    for example in kb.out_of_scope:
        texts.append(example)
        labels.append(())
    return texts, labels


def train_model(kb: KnowledgeBase, *, random_state: int = 0, folds: int = 5) -> TrainedModel:
    """Fit the pipeline on the knowledge base and choose the abstention threshold.

    The threshold is the lowest one whose out-of-fold top-1 precision (rules included) reaches
    TARGET_PRECISION while leaving at least MIN_ABSTENTION of out-of-scope examples alone: coverage
    stays as high as that precision allows.
    """
    raw_texts, label_sets = training_set(kb)
    texts = [classifier_text(make_question("", text)) for text in raw_texts]
    classes = [labels[0] if labels else OUT_OF_SCOPE for labels in label_sets]
    y = MultiLabelBinarizer(classes=list(kb.tip_ids)).fit_transform(label_sets)
    rules = SymptomRules(kb)
    rule_hits = [rules.match(text) for text in raw_texts]

    oof = cross_val_predict(
        build_pipeline(random_state),
        texts,
        classes,
        cv=KFold(n_splits=folds, shuffle=True, random_state=random_state),
        method="predict_proba",
    )
    order = sorted(set(classes))
    tip_columns = [order.index(tip_id) for tip_id in kb.tip_ids]
    combined = _with_rules(np.asarray(oof, dtype=np.float64)[:, tip_columns], rule_hits, kb.tip_ids)
    sweep = _sweep(combined, y)
    threshold = next(
        (p.threshold for p in sweep if p.precision >= TARGET_PRECISION and p.abstention >= MIN_ABSTENTION),
        FALLBACK_THRESHOLD,
    )

    pipeline = build_pipeline(random_state).fit(texts, classes)
    return TrainedModel(
        pipeline=pipeline,
        labels=tuple(kb.tip_ids),
        threshold=threshold,
        sweep=tuple(sweep),
        feature_names=np.asarray(pipeline.named_steps["features"].get_feature_names_out()),
        weights=_mean_weights(pipeline, kb.tip_ids),
        kb_digest=kb.digest,
    )


def _mean_weights(pipeline: Pipeline, labels: Sequence[str]) -> NDArray[np.float32]:
    """Each tip's linear weights, averaged over the calibration folds: what evidence is read from."""
    model = pipeline.named_steps["model"]
    order = list(model.classes_)
    coefs = np.mean([c.estimator.coef_ for c in model.calibrated_classifiers_], axis=0)
    return np.asarray(coefs[[order.index(label) for label in labels]], dtype=np.float32)


def _with_rules(
    scores: NDArray[np.float64],
    hits: Sequence[dict[str, tuple[float, tuple[str, ...]]]],
    labels: Sequence[str],
) -> NDArray[np.float64]:
    combined = scores.copy()
    index = {label: i for i, label in enumerate(labels)}
    for row, found in enumerate(hits):
        for tip_id, (confidence, _) in found.items():
            col = index[tip_id]
            combined[row, col] = max(combined[row, col], confidence)
    return combined


def _sweep(scores: NDArray[np.float64], y: NDArray[np.int_]) -> list[SweepPoint]:
    in_scope = y.sum(axis=1) > 0
    top = scores.argmax(axis=1)
    top_score = scores.max(axis=1)
    top_right = y[np.arange(len(y)), top] == 1
    points = []
    for threshold in np.round(np.arange(0.10, 0.96, 0.01), 2):
        suggested = top_score >= threshold
        n_suggested = int(suggested.sum())
        points.append(
            SweepPoint(
                threshold=float(threshold),
                coverage=float((suggested & in_scope).sum() / max(int(in_scope.sum()), 1)),
                precision=float((suggested & top_right).sum() / n_suggested) if n_suggested else 1.0,
                abstention=float((~suggested & ~in_scope).sum() / max(int((~in_scope).sum()), 1)),
            )
        )
    return points


class Classifier:
    """Ranks tips for questions with a trained model and the symptom rules."""

    def __init__(self, model: TrainedModel, rules: SymptomRules, threshold: float | None = None) -> None:
        self.model = model
        self.rules = rules
        self.threshold = model.threshold if threshold is None else threshold
        self._features = model.pipeline.named_steps["features"]
        self._estimator = model.pipeline.named_steps["model"]
        order = list(self._estimator.classes_)
        self._columns = [order.index(label) for label in model.labels]

    def classify(self, question: Question) -> Classification:
        """Classify one question."""
        return self.classify_many([question])[0]

    def classify_many(self, questions: Sequence[Question]) -> list[Classification]:
        """Classify a batch (much faster per question than one at a time)."""
        return [self._rank(scored) for scored in self.score_many(questions)]

    def score_many(self, questions: Sequence[Question]) -> list[Scored]:
        """Every tip's combined score for each question, before the threshold is applied."""
        if not questions:
            return []
        texts = [classifier_text(q) for q in questions]
        matrix = self._features.transform(texts)
        probabilities = np.asarray(self._estimator.predict_proba(matrix), dtype=np.float64)[:, self._columns]
        scored = []
        for row, question in enumerate(questions):
            hits = self.rules.match(question.full_text)
            scores = {label: float(probabilities[row, i]) for i, label in enumerate(self.model.labels)}
            for tip_id, (confidence, _) in hits.items():
                scores[tip_id] = max(scores.get(tip_id, 0.0), confidence)
            scored.append(Scored(scores, hits, matrix[row], texts[row]))
        return scored

    def _rank(self, scored: Scored) -> Classification:
        ranked = sorted(scored.scores.items(), key=lambda item: (-item[1], item[0]))
        chosen: list[TipScore] = []
        best_below: TipScore | None = None
        for tip_id, score in ranked:
            good = score >= self.threshold and (not chosen or score >= RELATIVE_CUT * chosen[0].score)
            if good and len(chosen) < MAX_TIPS:
                chosen.append(TipScore(tip_id, round(score, 4), self._evidence(tip_id, scored)))
            else:
                if not good:
                    best_below = TipScore(tip_id, round(score, 4), self._evidence(tip_id, scored))
                break
        return Classification(tips=tuple(chosen), threshold=self.threshold, best_below=best_below)

    def _evidence(self, tip_id: str, scored: Scored) -> tuple[str, ...]:
        evidence = [f"error string: {label}" for label in scored.hits.get(tip_id, (0.0, ()))[1]]
        evidence.extend(f"phrase: {phrase}" for phrase in self._phrases(tip_id, scored.row, scored.text))
        return tuple(evidence)

    def _phrases(self, tip_id: str, row: object, text: str, limit: int = 4) -> list[str]:
        """The words of the question whose n-grams pushed hardest towards this tip."""
        label = self.model.labels.index(tip_id)
        indices = row.indices  # type: ignore[attr-defined]
        values = row.data  # type: ignore[attr-defined]
        if len(indices) == 0:
            return []
        contributions = values * self.model.weights[label, indices]
        order = np.argsort(-contributions)[: limit * 6]
        lowered = text.lower()
        phrases: list[str] = []
        for position in order:
            if contributions[position] <= 0 or len(phrases) >= limit:
                break
            phrase = _phrase_for(str(self.model.feature_names[indices[position]]), text, lowered)
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
    if any("\u3040" <= ch <= "\u9fff" for ch in gram):
        start, end = max(0, at - 2), min(len(text), end + 2)
        return text[start:end].strip()
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    word = text[start:end].strip(".,:;!?()[]{}\"'`")
    return word if len(word) <= 40 else gram
