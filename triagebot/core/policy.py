"""Decide what a reply does from the classification and the detail report."""

from __future__ import annotations

from triagebot.core.models import Action, Classification, Decision, DetailReport

_NAMES = {
    "version": "CloudStack version",
    "os": "management-server OS",
    "hypervisor": "hypervisor",
    "specifics": "specifics",
}


def decide(classification: Classification, details: DetailReport) -> Decision:
    """Suggest when a tip reached the threshold, else ask for missing details, else stay silent."""
    missing = details.missing
    asking = ", ".join(_NAMES[d.value] for d in missing) or "nothing"
    if classification.tips:
        top = classification.tips[0]
        threshold = classification.threshold
        why = f"{top.tip_id} scored {top.score:.2f} (threshold {threshold:.2f}); asking for {asking}"
        return Decision(Action.SUGGEST, classification.tips, missing, why)
    below = classification.best_below
    best = f"best was {below.tip_id} at {below.score:.2f}" if below else "no candidate"
    why = f"no tip reached {classification.threshold:.2f} ({best}); asking for {asking}"
    return Decision(Action.ASK if missing else Action.ABSTAIN, (), missing, why)
