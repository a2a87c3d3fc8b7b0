"""The real engine for the store tests, and a thin wrapper that delegates to it.

`Watched` never makes up a result: every result comes from the real engine. It only records what it
was asked, waits on request (so concurrent workers interleave) and raises on request (so a failing
batch can be seen giving its claim back). `saved_engine` builds the real engine in a child process
from the model the session trained and saved once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from triagebot.app import Engine, engine_from, read_templates
from triagebot.core.models import InboundMessage, TriageResult
from triagebot.kbfiles import load_knowledge_base
from triagebot.modelstore import load_model

ROOT = Path(__file__).resolve().parents[2]


def saved_engine(models_dir: str | Path) -> Engine:
    """The real engine over the shipped knowledge base and templates, with the session's saved model."""
    kb = load_knowledge_base(ROOT / "knowledge")
    model, meta = load_model(Path(models_dir), kb.digest)
    return engine_from(kb, model, meta, read_templates(ROOT / "templates"))


class Watched:
    """Delegates to the real engine; records the messages, sleeps `delay` per batch, raises `fail`."""

    def __init__(self, engine: Engine, *, delay: float = 0.0, fail: Exception | None = None) -> None:
        self.engine = engine
        self.delay = delay
        self.fail = fail
        self.seen: list[InboundMessage] = []
        self._lock = threading.Lock()

    @property
    def model_version(self) -> str:
        """The real engine's model id."""
        return self.engine.model_version

    def triage(self, message: InboundMessage) -> TriageResult:
        """Triage one message with the real engine."""
        return self.triage_batch([message])[0]

    def triage_batch(self, messages: Sequence[InboundMessage]) -> list[TriageResult]:
        """Triage a batch with the real engine, after the delay; raises `fail` instead when set."""
        if self.delay:
            time.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        with self._lock:
            self.seen.extend(messages)
        return self.engine.triage_batch(messages)
