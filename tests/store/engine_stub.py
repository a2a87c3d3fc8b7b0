"""STAND-IN ENGINE for the store tests, deterministic and fast; not the real classifier.

It exists so the store and service tests did not have to wait for `triagebot.app.build_engine`; the
`engine` fixture in tests/store/conftest.py returns it and is meant to give way to the session fixture
in tests/conftest.py that builds the real engine. Keyword rules, nothing learned.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence

from tests.store.factories import make_result
from triagebot.core.models import InboundMessage, TriageResult

_TIPS = [
    (re.compile(r"access denied", re.I), "db-access", 0.9),
    (re.compile(r"selinux", re.I), "selinux", 0.8),
    (re.compile(r"cloudstack-agent|kvm ホスト|kvm host", re.I), "kvm-agent", 0.7),
    (re.compile(r"ssvm|system ?vm", re.I), "systemvm", 0.6),
]
_VERSION = re.compile(r"\b4\.\d+(?:\.\d+){0,2}\b")
_OS = re.compile(r"\b(rocky linux \d+(?:\.\d+)?|ubuntu \d+\.\d+|centos \d+|alma ?linux \d+)", re.I)
_HYPERVISOR = re.compile(r"\b(kvm|xenserver|vmware)\b", re.I)
_SPECIFICS = re.compile(r"error|exception|log|ログ|denied", re.I)


class StubEngine:
    """Tips by keyword, details by regex, a reply that reflects the text; counts what it was asked."""

    model_version = "stub-1"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.seen: list[InboundMessage] = []
        self._lock = threading.Lock()

    def triage(self, message: InboundMessage) -> TriageResult:
        """Triage one message."""
        return self.triage_batch([message])[0]

    def triage_batch(self, messages: Sequence[InboundMessage]) -> list[TriageResult]:
        """Triage a batch; sleeps `delay` seconds per batch so concurrent workers interleave."""
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.seen.extend(messages)
        return [self._one(m) for m in messages]

    def _one(self, message: InboundMessage) -> TriageResult:
        text = f"{message.subject}\n{message.text}"
        tips = [(tip, score) for pattern, tip, score in _TIPS if pattern.search(text)]
        found: dict[str, str] = {}
        if m := _VERSION.search(text):
            found["version"] = m.group(0)
        if m := _OS.search(text):
            found["os"] = m.group(0)
        if m := _HYPERVISOR.search(text):
            found["hypervisor"] = m.group(0)
        if _SPECIFICS.search(text):
            found["specifics"] = "yes"
        return make_result(message, tips=tips, found=found, model_version=self.model_version)
