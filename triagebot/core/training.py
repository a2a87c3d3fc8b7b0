"""Training: the classifier as a plain scikit-learn Pipeline, its threshold sweep, and its compiled form.

Only `triagebot train` (and tests) import this module; triage itself runs the compiled model.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
from numpy.typing import NDArray
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

from triagebot.core.classify import (
    _WORD,
    FALLBACK_THRESHOLD,
    OUT_OF_SCOPE,
    CompiledModel,
    FeatureBlock,
    SweepPoint,
    SymptomRules,
    TrainedModel,
)
from triagebot.core.kb import KnowledgeBase
from triagebot.core.learning import ReviewedExample
from triagebot.core.question import classifier_text, make_question, text_field

# Feature blocks: name → the field of the classifier text it reads (see `question.classifier_text`).
# `chars` and `words` read the whole text; `head` the subject and the start of the prose, so a terse
# title weighs as much as a long story; `logs` the log signatures, so an exception class counts
# apart from the same word in prose.
BLOCK_FIELDS = {"chars": "text", "words": "text", "head": "head", "logs": "logs"}
BLOCKS = tuple(BLOCK_FIELDS)
COST_WRONG = 2.0  # abstention is chosen for +1 per right top suggestion, −COST_WRONG per wrong one


def _lower_field(text: str, field: str) -> str:
    return text_field(text, field).lower()


def _vectorizer(name: str) -> TfidfVectorizer:
    preprocess = partial(_lower_field, field=BLOCK_FIELDS[name])
    if name == "chars":
        return TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 4),
            min_df=2,
            sublinear_tf=True,
            max_features=120_000,
            preprocessor=preprocess,
        )
    return TfidfVectorizer(
        analyzer="word",
        token_pattern=_WORD,
        ngram_range=(1, 2),
        min_df=2,
        sublinear_tf=True,
        preprocessor=preprocess,
    )


def build_pipeline(
    random_state: int = 0, *, blocks: Sequence[str] = BLOCKS, class_weight: str | None = "balanced"
) -> Pipeline:
    """The classifier as a plain, unfitted scikit-learn Pipeline over the named feature blocks.

    Classes are weighted by their inverse frequency (`balanced`) by default, so the large
    out-of-scope class and the tips with many examples do not crowd out the small tips.
    """
    features = FeatureUnion([(name, _vectorizer(name)) for name in blocks])
    svm = LinearSVC(C=0.5, random_state=random_state, class_weight=class_weight)
    model = CalibratedClassifierCV(svm, method="sigmoid", cv=3)
    return Pipeline([("features", features), ("model", model)])


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


def with_reviews(
    kb: KnowledgeBase, reviewed: Sequence[ReviewedExample], review_weight: float
) -> tuple[list[tuple[str, str]], list[tuple[str, ...]], list[float]]:
    """(subject, text) pairs, label sets and sample weights: the KB's examples, then the reviewed ones.

    A reviewed question confirmed for two tips is trained once for each (the label set's first tip is
    the one that copy is trained for) and keeps both labels, so the threshold sweep counts either tip
    on top as right.
    """
    texts, labels = training_set(kb)
    pairs = [("", text) for text in texts]
    weights = [1.0] * len(texts)
    for example in reviewed:
        label_sets: list[tuple[str, ...]] = [
            (label, *(other for other in example.labels if other != label)) for label in example.labels
        ] or [()]
        for label_set in label_sets:
            pairs.append((example.subject, example.text))
            labels.append(label_set)
            weights.append(review_weight)
    return pairs, labels, weights


def train_pipeline(
    kb: KnowledgeBase,
    *,
    reviewed: Sequence[ReviewedExample] = (),
    review_weight: float = 1.0,
    random_state: int = 0,
    folds: int = 5,
    blocks: Sequence[str] = BLOCKS,
    class_weight: str | None = "balanced",
    use_rules: bool = True,
) -> tuple[Pipeline, TrainedModel]:
    """Fit the pipeline on the knowledge base, choose the abstention threshold, and compile it.

    The threshold maximises the out-of-fold gain (rules included): +1 for a right top suggestion,
    −COST_WRONG for a wrong one (a suggestion on an out-of-scope example is wrong), 0 for silence.
    A moderator forgives silence more easily than a wrong draft. `blocks`, `class_weight` and
    `use_rules` exist for the ablation study (`triagebot eval --ablation`). `reviewed` examples
    (moderators' decisions) join the KB's, each weighing `review_weight` KB examples.
    """
    pairs, label_sets, weights = with_reviews(kb, reviewed, review_weight)
    texts = [classifier_text(make_question(subject, text)) for subject, text in pairs]
    raw_texts = [f"{subject}\n{text}" if subject else text for subject, text in pairs]
    classes = [labels[0] if labels else OUT_OF_SCOPE for labels in label_sets]
    y = MultiLabelBinarizer(classes=list(kb.tip_ids)).fit_transform(label_sets)
    sample_weight = np.asarray(weights, dtype=np.float64)
    rules = SymptomRules(kb)
    rule_hits = [rules.match(text) for text in raw_texts] if use_rules else [{} for _ in raw_texts]

    def pipeline() -> Pipeline:
        return build_pipeline(random_state, blocks=blocks, class_weight=class_weight)

    oof = cross_val_predict(
        pipeline(),
        texts,
        classes,
        cv=KFold(n_splits=folds, shuffle=True, random_state=random_state),
        method="predict_proba",
        params={"model__sample_weight": sample_weight},
    )
    order = sorted(set(classes))
    tip_columns = [order.index(tip_id) for tip_id in kb.tip_ids]
    combined = _with_rules(np.asarray(oof, dtype=np.float64)[:, tip_columns], rule_hits, kb.tip_ids)
    # The threshold is chosen on the KB's own examples: reviewed questions change what is learnt, not how
    # sure the bot must be before it speaks (they are few, and the sweep would overfit to them).
    kb_rows = len(pairs) - sum(max(len(example.labels), 1) for example in reviewed)
    sweep = _sweep(combined[:kb_rows], y[:kb_rows])
    threshold = max(sweep, key=lambda p: (p.gain, -p.threshold)).threshold if sweep else FALLBACK_THRESHOLD

    fitted = pipeline().fit(texts, classes, model__sample_weight=sample_weight)
    return fitted, TrainedModel(
        compiled=compile_pipeline(fitted),
        labels=tuple(kb.tip_ids),
        threshold=threshold,
        sweep=tuple(sweep),
        feature_names=tuple(str(name) for name in fitted.named_steps["features"].get_feature_names_out()),
        weights=_mean_weights(fitted, kb.tip_ids),
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
        right = int((suggested & top_right).sum())
        points.append(
            SweepPoint(
                threshold=float(threshold),
                coverage=float((suggested & in_scope).sum() / max(int(in_scope.sum()), 1)),
                precision=float((suggested & top_right).sum() / n_suggested) if n_suggested else 1.0,
                abstention=float((~suggested & ~in_scope).sum() / max(int((~in_scope).sum()), 1)),
                gain=float(right - COST_WRONG * (n_suggested - right)) / max(len(y), 1),
            )
        )
    return points


def compile_pipeline(pipeline: Pipeline) -> CompiledModel:
    """Read the fitted arithmetic out of the pipeline built by `build_pipeline`."""
    blocks = []
    offset = 0
    for name, vectorizer in pipeline.named_steps["features"].transformer_list:
        vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        blocks.append(
            FeatureBlock(
                analyzer=vectorizer.analyzer,
                ngram_range=tuple(vectorizer.ngram_range),
                token_pattern=vectorizer.token_pattern if vectorizer.analyzer == "word" else None,
                vocabulary=vocabulary,
                idf=np.asarray(vectorizer.idf_, dtype=np.float64),
                sublinear_tf=bool(vectorizer.sublinear_tf),
                offset=offset,
                field=BLOCK_FIELDS[name],
            )
        )
        offset += len(vocabulary)
    model = pipeline.named_steps["model"]
    folds = model.calibrated_classifiers_
    for fold in folds:
        if list(fold.estimator.classes_) != list(model.classes_) or fold.method != "sigmoid":
            raise ValueError("unexpected calibrated classifier layout")
    return CompiledModel(
        blocks=tuple(blocks),
        classes=tuple(str(c) for c in model.classes_),
        weights=np.hstack([f.estimator.coef_.T for f in folds]).astype(np.float64),
        intercepts=np.concatenate([f.estimator.intercept_ for f in folds]).astype(np.float64),
        sigmoid_a=np.concatenate([[c.a_ for c in f.calibrators] for f in folds]).astype(np.float64),
        sigmoid_b=np.concatenate([[c.b_ for c in f.calibrators] for f in folds]).astype(np.float64),
        folds=len(folds),
    )


def train_model(
    kb: KnowledgeBase,
    *,
    reviewed: Sequence[ReviewedExample] = (),
    review_weight: float = 1.0,
    random_state: int = 0,
    folds: int = 5,
    blocks: Sequence[str] = BLOCKS,
    class_weight: str | None = "balanced",
    use_rules: bool = True,
) -> TrainedModel:
    """Train and return what triage needs (see `train_pipeline` for the fitted Pipeline too)."""
    return train_pipeline(
        kb,
        reviewed=reviewed,
        review_weight=review_weight,
        random_state=random_state,
        folds=folds,
        blocks=blocks,
        class_weight=class_weight,
        use_rules=use_rules,
    )[1]
