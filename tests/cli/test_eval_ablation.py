"""`triagebot eval --ablation`: each variant ranks as triage does, less the one part it leaves out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from triagebot.cli import CliContext, eval_cmds
from triagebot.config import load_settings
from triagebot.core.classify import TrainedModel
from triagebot.core.evaluate import Gold
from triagebot.core.models import Channel, InboundMessage
from triagebot.modelstore import ModelMeta

ROOT = Path(__file__).resolve().parents[2]

# A Ceph pool that CloudStack cannot reach: the nfs-storage rule's error string, and its `unless`
CEPH = (
    "RBD pool add error",
    "Ceph RBD primary storage: Failed to create storage pool as it is not accessible to hosts. ceph -s is "
    "HEALTH_OK, the rbd pool exists and the cephx key works from the hosts.",
)
# A XenServer host that fails to join, written in the KVM agent's words: applicability rules it out
XEN = (
    "cloudstack-agent fails on host",
    "CloudStack 4.19.1 on Rocky Linux 8, the hosts run XenServer 8.2. Adding the host fails and "
    "cloudstack-agent will not start: systemctl status cloudstack-agent shows failed, agent.log says "
    "Unable to start agent, libvirtd is not running.",
)


def _rows(monkeypatch: pytest.MonkeyPatch, trained: tuple[TrainedModel, ModelMeta], variants: Any) -> dict:
    monkeypatch.setattr(eval_cmds, "ABLATION", variants)
    monkeypatch.setattr("triagebot.core.training.train_model", lambda kb, **options: trained[0])
    settings = load_settings(None, {"TRIAGEBOT_KB": str(ROOT / "knowledge")})
    messages = [
        InboundMessage(Channel.EMAIL, "eval", str(n), subject, body)
        for n, (subject, body) in enumerate((CEPH, XEN))
    ]
    golds = [Gold((), {}, "ceph"), Gold((), {}, "xen")]
    rows = eval_cmds.ablation_rows(CliContext(settings=settings), messages, golds)
    return {row["variant"]: row for row in rows}


def test_applicability_and_rule_exceptions_each_keep_a_wrong_tip_away(
    monkeypatch: pytest.MonkeyPatch, trained: tuple[TrainedModel, ModelMeta]
) -> None:
    rows = _rows(
        monkeypatch,
        trained,
        (
            ("all", {}, "both", ""),
            ("no applicability", {}, "both", "applicability"),
            ("no unless", {}, "both", "unless"),
        ),
    )
    assert rows["all"]["abstention"] == 1.0
    assert rows["no applicability"]["abstention"] == 0.5  # the XenServer post gets the KVM agent tip
    assert rows["no unless"]["abstention"] == 0.5  # the Ceph post gets the NFS tip from the rule
