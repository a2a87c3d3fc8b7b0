"""A symptom rule's `unless`, and the `kb validate` note for rules that fire on out-of-scope examples."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from click.testing import CliRunner

from triagebot.cli import cli
from triagebot.core.classify import SymptomRules
from triagebot.core.kb import KnowledgeBase
from triagebot.core.kb_overlap import rule_conflicts

NFS_ADD = "Adding primary storage fails: Failed to add data store: Storage pool nfs://10.0.0.5/export/primary"
RBD_ADD = (
    "Adding RBD primary storage (ceph pool cloudstack) fails: Failed to add data store: it is not usable"
)
UNNARROWED = (
    "Our XenServer 8.2 host: Unable to add the host: Cannot find the server resources at http://10.1.1.5"
)


def test_a_rule_does_not_count_where_its_unless_matches(kb: KnowledgeBase) -> None:
    rules = SymptomRules(kb)
    assert "nfs-storage" in rules.match(NFS_ADD)
    assert "nfs-storage" not in rules.match(RBD_ADD)  # the same error, for a Ceph RBD pool
    assert "kvm-agent" not in rules.match(UNNARROWED)
    assert "kvm-agent" in rules.match(UNNARROWED.replace("XenServer 8.2", "Rocky 9 KVM"))


def test_the_shipped_rules_fire_on_no_out_of_scope_example(kb: KnowledgeBase) -> None:
    assert rule_conflicts(kb) == ()


def test_a_rule_firing_on_an_out_of_scope_example_is_noted(kb: KnowledgeBase) -> None:
    extended = dataclasses.replace(
        kb, out_of_scope=(*kb.out_of_scope, "SELinux is set to enforcing. There are two options:")
    )
    (conflict,) = rule_conflicts(extended)
    assert (conflict.tip, conflict.count, conflict.first) == ("selinux", 1, len(kb.out_of_scope))
    assert conflict.label.startswith("SELinux is set to enforcing")


def test_kb_validate_names_the_example_a_rule_fires_on(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    root = Path(__file__).resolve().parents[2] / "knowledge"
    for path in root.rglob("*.yaml"):
        target = knowledge / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    theme = knowledge / "out_of_scope" / "zz-test.yaml"
    theme.write_text(
        "examples:\n"
        "  - a first question\n"
        "  - 'rbd pool add: Failed to add data store'\n"  # nfs-storage's unless covers it
        "  - 'host add: Unable to add the host: Cannot find the server resources'\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--kb", str(knowledge), "kb", "validate", "--no-self-test"])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if "out-of-scope example" in line]
    assert len(notes) == 1, result.output
    assert notes[0].startswith("note: tips/kvm-agent.yaml: the rule 'Unable to add the host")
    assert "fires on 1 out-of-scope example(s), first at out_of_scope/zz-test.yaml:4;" in notes[0]
