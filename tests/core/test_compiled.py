"""The compiled model computes exactly what the fitted scikit-learn Pipeline computes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from triagebot.core.classify import OUT_OF_SCOPE
from triagebot.core.kb import KnowledgeBase
from triagebot.core.question import classifier_text, make_question
from triagebot.core.training import train_pipeline

ROOT = Path(__file__).resolve().parents[2]


def test_compiled_model_matches_the_pipeline(kb: KnowledgeBase) -> None:
    pipeline, model = train_pipeline(kb, folds=3)
    lines = (ROOT / "samples" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line) for line in lines if line.strip()]
    texts = [classifier_text(make_question(q["subject"], q["body"])) for q in questions]
    texts += ["", "  ", "SELinux", "ホスト名が解決できません", "x" * 5000, "a\tb\n\nc  d"]
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
