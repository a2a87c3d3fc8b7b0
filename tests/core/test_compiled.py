"""The compiled model computes exactly what the fitted scikit-learn Pipeline computes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from triagebot.core.classify import OUT_OF_SCOPE, TrainedModel
from triagebot.core.kb import KnowledgeBase
from triagebot.core.question import classifier_text, make_question
from triagebot.core.training import train_pipeline

ROOT = Path(__file__).resolve().parents[2]


def _texts() -> list[str]:
    lines = (ROOT / "samples" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line) for line in lines if line.strip()]
    texts = [classifier_text(make_question(q["subject"], q["body"])) for q in questions]
    return [*texts, "", "  ", "SELinux", "ホスト名が解決できません", "x" * 5000, "a\tb\n\nc  d"]


@pytest.fixture(scope="module")
def fitted(kb: KnowledgeBase) -> tuple[Pipeline, TrainedModel]:
    """The pipeline and its compiled model, trained once for this module."""
    return train_pipeline(kb, folds=3)


def test_compiled_model_matches_the_pipeline(fitted: tuple[Pipeline, TrainedModel]) -> None:
    pipeline, model = fitted
    texts = _texts()
    expected = pipeline.predict_proba(texts)
    features = pipeline.named_steps["features"].transform(texts).toarray()
    compiled = model.compiled
    assert compiled.classes == tuple(pipeline.classes_)
    assert OUT_OF_SCOPE in compiled.classes
    for row, text in enumerate(texts):
        columns, values = compiled.features(text)
        dense = np.zeros(compiled.n_features)
        dense[columns] = values
        np.testing.assert_allclose(dense, features[row], atol=1e-12)
        np.testing.assert_allclose(compiled.probabilities(columns, values), expected[row], atol=1e-9)


def test_a_batch_scores_like_its_texts_one_by_one(fitted: tuple[Pipeline, TrainedModel]) -> None:
    """Texts scored together get what each gets alone, and what the pipeline gives."""
    pipeline, model = fitted
    texts = _texts()
    compiled = model.compiled
    rows = compiled.features_many(texts)
    assert rows.count == len(texts)
    batch = compiled.probabilities_many(rows)
    for index, text in enumerate(texts):
        columns, values = compiled.features(text)
        got_columns, got_values = rows.row(index)
        np.testing.assert_array_equal(got_columns, columns)
        np.testing.assert_allclose(got_values, values, atol=1e-15)
        np.testing.assert_allclose(batch[index], compiled.probabilities(columns, values), atol=1e-12)
    np.testing.assert_allclose(batch, pipeline.predict_proba(texts), atol=1e-9)
