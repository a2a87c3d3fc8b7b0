"""Agreement with the community's own answers: which tips a human answer applied, against the bot's.

A human answer applies a tip when it contains one of the tip's marks: a command of the tip (as
written), a file path or specific program name from its commands (`setenforce`, not `systemctl`), or
one of its symptom error strings. Marks
that two tips share (`systemctl restart cloudstack-management`) tell nothing apart and are dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from triagebot.core.kb import KnowledgeBase

_GENERIC = frozenset(
    [
        "sudo",
        "systemctl",
        "service",
        "chown",
        "chmod",
        "chgrp",
        "ls",
        "cat",
        "grep",
        "tail",
        "head",
        "less",
        "vi",
        "vim",
        "echo",
        "sed",
        "awk",
        "rpm",
        "yum",
        "dnf",
        "apt",
        "apt-get",
        "ln",
        "cp",
        "mv",
        "rm",
        "mkdir",
        "find",
        "ps",
        "tar",
        "cd",
        "export",
        "mount",
        "touch",
        "curl",
        "wget",
        "ping",
        "java",
        "python3",
    ]
)
_PATH = re.compile(r"^/[\w.\-/]{5,}$")
_PROGRAM = re.compile(r"^[a-z][\w.]*[-_][\w.\-]{3,}$")


@dataclass(frozen=True, slots=True)
class AnsweredThread:
    """A stored thread: what the bot suggested for its question and what others answered."""

    thread_id: int
    subject: str
    suggested: tuple[str, ...]  # the bot's tips, best first ([] when it abstained)
    answer: str  # every reply not written by the asker or a bot, joined


@dataclass(frozen=True, slots=True)
class TipAgreement:
    """Of the threads whose human answer applied `tip`, how many the bot also pointed to it."""

    tip: str
    applied: int  # threads whose answer applied the tip
    bot_top: int  # ... where the bot's first tip was it
    bot_any: int  # ... where it was among the bot's tips
    bot_suggested_elsewhere: int  # threads where the bot suggested the tip but the answer applied others

    @property
    def agreement(self) -> float:
        """Share of the threads applying the tip where the bot's first tip was it."""
        return round(self.bot_top / self.applied, 4) if self.applied else 0.0


@dataclass(frozen=True, slots=True)
class AgreementReport:
    """Per tip and overall agreement over the threads whose answer applied at least one tip."""

    threads: int  # answered threads looked at
    readable: int  # ... whose answer applied a tip
    agreed: int  # ... where the bot's first tip is one the answer applied
    abstained: int  # ... where the bot suggested nothing
    tips: tuple[TipAgreement, ...]

    @property
    def agreement(self) -> float:
        """Share of readable threads where the bot's first tip is one the human answer applied."""
        return round(self.agreed / self.readable, 4) if self.readable else 0.0


def tip_marks(kb: KnowledgeBase) -> dict[str, tuple[tuple[str, ...], tuple[re.Pattern[str], ...]]]:
    """Each tip's literal marks (lower case) and symptom regexes; marks shared by two tips dropped."""
    literal: dict[str, set[str]] = {}
    for tip in kb.tips:
        marks: set[str] = set()
        for command in tip.commands:
            marks.add(" ".join(command.lower().split()))
            for position, token in enumerate(command.split()):
                token = token.strip("'\"`,;()").lower()
                if token in _GENERIC or token.startswith("-"):
                    continue
                program = position == 0 and token.isalpha() and len(token) >= 5
                if program or _PATH.match(token) or _PROGRAM.match(token):
                    marks.add(token.rstrip("/"))
        literal[tip.id] = marks
    counts = Counter(mark for marks in literal.values() for mark in marks)
    return {
        tip.id: (
            tuple(sorted(m for m in literal[tip.id] if counts[m] == 1)),
            tuple(re.compile(s.pattern) for s in tip.symptoms),
        )
        for tip in kb.tips
    }


def applied_tips(
    answer: str, marks: dict[str, tuple[tuple[str, ...], tuple[re.Pattern[str], ...]]]
) -> tuple[str, ...]:
    """The tips whose marks the answer contains, in knowledge-base order."""
    folded = " ".join(answer.lower().split())
    return tuple(
        tip
        for tip, (literal, patterns) in marks.items()
        if any(mark in folded for mark in literal) or any(p.search(answer) for p in patterns)
    )


def agreement(kb: KnowledgeBase, threads: Iterable[AnsweredThread]) -> AgreementReport:
    """Compare the bot's suggestion with the tips each human answer applied."""
    marks = tip_marks(kb)
    seen = readable = agreed = abstained = 0
    applied_n: Counter[str] = Counter()
    top_n: Counter[str] = Counter()
    any_n: Counter[str] = Counter()
    elsewhere: Counter[str] = Counter()
    for thread in threads:
        seen += 1
        applied = applied_tips(thread.answer, marks)
        if not applied:
            continue
        readable += 1
        abstained += not thread.suggested
        agreed += bool(thread.suggested) and thread.suggested[0] in applied
        for tip in applied:
            applied_n[tip] += 1
            top_n[tip] += bool(thread.suggested) and thread.suggested[0] == tip
            any_n[tip] += tip in thread.suggested
        for tip in thread.suggested[:1]:
            elsewhere[tip] += tip not in applied
    tips = tuple(
        TipAgreement(tip, applied_n[tip], top_n[tip], any_n[tip], elsewhere[tip])
        for tip in _ordered(kb.tip_ids, applied_n, elsewhere)
    )
    return AgreementReport(seen, readable, agreed, abstained, tips)


def _ordered(tip_ids: Sequence[str], *counters: Counter[str]) -> list[str]:
    """Tips that occur in any counter, most applied first."""
    present = [t for t in tip_ids if any(c[t] for c in counters)]
    return sorted(present, key=lambda t: (-counters[0][t], t))
