"""A tip's `applies` block: stated details outside its scope keep the tip from being offered."""

from __future__ import annotations

import dataclasses

from triagebot.app import Engine
from triagebot.core.applicability import Applicability
from triagebot.core.kb import KnowledgeBase, VersionRange
from triagebot.core.models import Channel, DetailReport, InboundMessage

HOST_ADD = (
    "Adding the host fails with: Unable to add the host: Cannot find the server resources at "
    "http://10.1.1.21\nCloudStack 4.19.1.0, management server on Rocky Linux 9, the host is {hypervisor}."
)


def _msg(body: str) -> InboundMessage:
    return InboundMessage(Channel.EMAIL, "test", "m", "host add fails", body)


def test_a_kvm_only_tip_is_left_out_when_the_post_names_another_hypervisor(kb: KnowledgeBase) -> None:
    scope = Applicability(kb)
    xen = scope.left_out(DetailReport(hypervisor="XenServer", hypervisor_kind="xenserver"))
    assert set(xen) == {"kvm-agent", "single-nic"}  # the two tips whose applies names kvm only
    assert xen["kvm-agent"] == "it is for KVM and the post names XenServer"
    assert scope.left_out(DetailReport(hypervisor="KVM", hypervisor_kind="kvm")) == {}
    assert scope.left_out(DetailReport()) == {}  # an unstated detail rules nothing out


def test_os_family_and_release_range_rule_tips_out(kb: KnowledgeBase) -> None:
    scope = Applicability(kb)
    assert "selinux" in scope.left_out(DetailReport(os="Fedora 39"))  # family "other"
    assert "selinux" not in scope.left_out(DetailReport(os="Rocky Linux 9"))
    assert "selinux" not in scope.left_out(DetailReport(os="Ubuntu 22.04"))
    tips = tuple(
        t.model_copy(update={"applies": t.applies.model_copy(update={"versions": VersionRange(min="4.18")})})
        if t.id == "java-version"
        else t
        for t in kb.tips
    )
    ranged = Applicability(dataclasses.replace(kb, tips=tips))
    assert ranged.left_out(DetailReport(version="4.17.2.0")) == {
        "java-version": "it is not for CloudStack 4.17.2.0"
    }
    assert ranged.left_out(DetailReport(version="4.18")) == {}
    assert ranged.left_out(DetailReport(version="4.20.0.0")) == {}


def test_triage_offers_the_agent_tip_on_kvm_and_not_on_xenserver(engine: Engine) -> None:
    kvm = engine.triage(_msg(HOST_ADD.format(hypervisor="KVM on Ubuntu 22.04")))
    assert [t.tip_id for t in kvm.classification.tips][:1] == ["kvm-agent"]
    assert kvm.classification.left_out == ()

    xen = engine.triage(_msg(HOST_ADD.format(hypervisor="XenServer 8.2")))
    assert "kvm-agent" not in [t.tip_id for t in xen.classification.tips]
    assert xen.classification.left_out[0].startswith("kvm-agent (it is for KVM and the post names XenServer")
    assert "left out kvm-agent" in xen.decision.why
    assert "cloudstack-agent" in kvm.reply.text
    assert "cloudstack-agent" not in xen.reply.text
