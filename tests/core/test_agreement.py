"""Which tips a human answer applied, and agreement with the bot, on threads written here."""

from __future__ import annotations

from triagebot.core.agreement import AnsweredThread, agreement, applied_tips, tip_marks
from triagebot.core.kb import KnowledgeBase


def thread(n: int, suggested: tuple[str, ...], answer: str) -> AnsweredThread:
    return AnsweredThread(n, f"question {n}", suggested, answer)


def test_an_answer_naming_a_tips_command_or_error_applies_that_tip(kb: KnowledgeBase) -> None:
    marks = tip_marks(kb)
    assert applied_tips("Run `setenforce 0` and try again.", marks) == ("selinux",)
    assert applied_tips("set SELINUX=permissive in /etc/selinux/config", marks) == ("selinux",)
    assert applied_tips("setenforce 0, then cloudstack-setup-management", marks) == (
        "selinux",
        "setup-management",
    )
    assert "catalina-permissions" in applied_tips(
        "Looks like catalina.out: Permission denied, fix the owners with\nchown cloud:cloud "
        "/var/log/cloudstack/management/catalina.out",
        marks,
    )
    assert applied_tips("Thanks, that worked for me too!", marks) == ()


def test_marks_two_tips_share_tell_nothing_apart(kb: KnowledgeBase) -> None:
    marks = tip_marks(kb)
    shared = [
        tip for tip, (literal, _) in marks.items() if "systemctl restart cloudstack-management" in literal
    ]
    assert shared == []
    assert applied_tips("then systemctl restart cloudstack-management", marks) == ()


def test_agreement_counts_per_tip_and_overall(kb: KnowledgeBase) -> None:
    threads = [
        thread(1, ("selinux",), "setenforce 0 fixed it"),
        thread(2, ("kvm-agent",), "set SELINUX=permissive in /etc/selinux/config and run setenforce 0"),
        thread(3, (), "setenforce 0"),
        thread(4, ("selinux",), "no idea, sorry"),
    ]
    report = agreement(kb, threads)
    assert (report.threads, report.readable, report.agreed, report.abstained) == (4, 3, 1, 1)
    assert report.agreement == round(1 / 3, 4)
    rows = {t.tip: t for t in report.tips}
    assert (rows["selinux"].applied, rows["selinux"].bot_top, rows["selinux"].bot_any) == (3, 1, 1)
    assert rows["kvm-agent"].applied == 0 and rows["kvm-agent"].bot_suggested_elsewhere == 1
