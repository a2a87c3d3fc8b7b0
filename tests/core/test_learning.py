"""Moderators' decisions read as labelled examples."""

from __future__ import annotations

import pytest

from triagebot.core.learning import ModeratorDecision, Verdict, reviewed_examples, verdict_of

TIPS = ("selinux", "setup-databases", "kvm-agent")


def decision(status: str, tips: tuple[str, ...] = ("selinux",), **changes: object) -> ModeratorDecision:
    fields: dict[str, object] = {
        "item_id": 1,
        "subject": "setup fails",
        "text": "cloudstack-setup-management fails",
        "status": status,
        "relabelled": False,
        "tips": tips,
        "suggested": ("selinux",),
        "reason": None,
    }
    fields.update(changes)
    return ModeratorDecision(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (decision("approved"), (Verdict.APPROVED, ("selinux",))),
        (decision("sent"), (Verdict.APPROVED, ("selinux",))),
        (decision("edited", ("selinux", "kvm-agent")), (Verdict.APPROVED, ("selinux", "kvm-agent"))),
        (decision("pending", ("kvm-agent",), relabelled=True), (Verdict.RELABELLED, ("kvm-agent",))),
        (decision("approved", (), relabelled=True), (Verdict.RELABELLED, ())),
        (decision("rejected", reason="wrong-tip: about VPCs"), (Verdict.WRONG_TIP, ())),
        (decision("rejected", reason="not-a-question"), (Verdict.NOT_A_QUESTION, ())),
        (decision("rejected", relabelled=True, reason="not-a-question"), (Verdict.NOT_A_QUESTION, ())),
    ],
)
def test_each_decision_gives_its_labels(
    made: ModeratorDecision, expected: tuple[Verdict, tuple[str, ...]]
) -> None:
    assert verdict_of(made) == expected


@pytest.mark.parametrize(
    "made",
    [
        decision("pending"),  # not decided
        decision("approved", ()),  # an approved request for details names no tip
        decision("rejected", reason="duplicate"),
        decision("rejected", reason="other: asked twice"),
    ],
)
def test_decisions_that_say_nothing_about_tips_are_left_out(made: ModeratorDecision) -> None:
    assert verdict_of(made) is None
    assert reviewed_examples([made], TIPS) == ()


def test_tips_gone_from_the_knowledge_base_are_dropped_not_read_as_no_tip() -> None:
    kept = decision("approved", ("selinux", "retired-tip"), item_id=2)
    gone = decision("approved", ("retired-tip",), item_id=3)
    examples = reviewed_examples([kept, gone], TIPS)
    assert [(e.item_id, e.labels) for e in examples] == [(2, ("selinux",))]
