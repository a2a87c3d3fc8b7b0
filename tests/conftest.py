"""Shared fixtures: a clean environment, the real knowledge base, and a model trained once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from triagebot.app import Engine, engine_from, read_templates
from triagebot.core.classify import TrainedModel
from triagebot.core.kb import KnowledgeBase
from triagebot.core.training import train_model
from triagebot.kbfiles import load_knowledge_base
from triagebot.modelstore import ModelMeta, save_model

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
TEMPLATES = ROOT / "templates"
SCRUBBED = ("SLACK_", "DISCORD_", "TRIAGEBOT_")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No token or setting from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith(SCRUBBED) and name != "TRIAGEBOT_TEST_PG_URL":
            monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The shipped knowledge base."""
    return load_knowledge_base(KNOWLEDGE)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory of the session's own, so tests never touch models/."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def trained(kb: KnowledgeBase, models_dir: Path) -> tuple[TrainedModel, ModelMeta]:
    """The real classifier, trained once on the shipped knowledge base and saved."""
    model = train_model(kb)
    meta = save_model(model, models_dir, trained_at="2026-01-01T00:00:00+00:00", examples=0)
    return model, meta


@pytest.fixture(scope="session")
def engine(kb: KnowledgeBase, trained: tuple[TrainedModel, ModelMeta]) -> Engine:
    """The real triage engine over the shipped knowledge base and templates."""
    model, meta = trained
    return engine_from(kb, model, meta, read_templates(TEMPLATES))
