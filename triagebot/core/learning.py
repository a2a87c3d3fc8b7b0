"""Moderators' decisions as labelled examples: what each decision says about the right tips.

A decision comes from a real asker's question, so it is worth more than a written example; the
training step (`core.training`) adds these examples to the knowledge base's with a weight.

    approved as drafted (with tips)  → the drafted tips
    relabelled (then approved or not) → the tips the moderator chose ([] = no tip fits)
    rejected: wrong tip               → no tip fits (a moderator relabels when another one does)
    rejected: not a question          → no tip fits
    any other rejection               → says nothing about tips; not used
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    """Which kind of moderator decision an example comes from."""

    APPROVED = "approved"
    RELABELLED = "relabelled"
    WRONG_TIP = "wrong-tip"
    NOT_A_QUESTION = "not-a-question"


@dataclass(frozen=True, slots=True)
class ModeratorDecision:
    """One review item's state as the store holds it: status, tips now, tips first suggested, reason."""

    item_id: int
    subject: str
    text: str
    status: str  # a ReviewStatus value
    relabelled: bool
    tips: tuple[str, ...]  # the item's tips now (the moderator's choice after a relabel)
    suggested: tuple[str, ...]  # the tips triage suggested
    reason: str | None  # "wrong-tip: …" for a rejection


@dataclass(frozen=True, slots=True)
class ReviewedExample:
    """A question with the tips a moderator confirmed for it (`()`: no tip fits)."""

    item_id: int
    subject: str
    text: str
    labels: tuple[str, ...]
    verdict: Verdict
    suggested: tuple[str, ...]


_APPROVED = frozenset({"approved", "edited", "sent"})


def verdict_of(decision: ModeratorDecision) -> tuple[Verdict, tuple[str, ...]] | None:
    """The verdict and confirmed labels of one decision, or None when it says nothing about tips."""
    if decision.status == "rejected":
        code = (decision.reason or "").split(":", 1)[0].strip()
        if code == Verdict.WRONG_TIP.value:
            return Verdict.WRONG_TIP, ()
        if code == Verdict.NOT_A_QUESTION.value:
            return Verdict.NOT_A_QUESTION, ()
        return None
    if decision.relabelled:
        return Verdict.RELABELLED, decision.tips
    if decision.status in _APPROVED and decision.tips:
        return Verdict.APPROVED, decision.tips
    return None


def reviewed_examples(
    decisions: Iterable[ModeratorDecision], tip_ids: Iterable[str]
) -> tuple[ReviewedExample, ...]:
    """The labelled examples the decisions give, keeping only tips the knowledge base still has.

    A decision whose tips were all removed from the knowledge base since is dropped rather than
    read as "no tip fits".
    """
    known = set(tip_ids)
    examples: list[ReviewedExample] = []
    for decision in decisions:
        found = verdict_of(decision)
        if found is None or not decision.text.strip():
            continue
        verdict, labels = found
        kept = tuple(label for label in labels if label in known)
        if labels and not kept:
            continue
        examples.append(
            ReviewedExample(
                decision.item_id, decision.subject, decision.text, kept, verdict, decision.suggested
            )
        )
    return tuple(examples)
