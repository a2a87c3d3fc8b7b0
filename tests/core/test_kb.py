"""Knowledge-base validation: every problem names file, line and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from triagebot.core.kb import KnowledgeBase, parse_knowledge_base
from triagebot.errors import KnowledgeBaseError, Problem
from triagebot.kbfiles import load_knowledge_base, read_knowledge_files

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_IDS = {
    "fqdn-resolution",
    "selinux",
    "single-nic",
    "default-gateway",
    "java-version",
    "setup-databases",
    "setup-management",
    "clean-reinstall",
    "mysql-config",
    "systemvm-template",
    "firewall-ports",
    "nfs-storage",
    "management-log",
    "catalina-permissions",
    "kvm-agent",
}


@pytest.fixture()
def files() -> dict[str, str]:
    return read_knowledge_files(ROOT / "knowledge")


def _problems(files: dict[str, str]) -> tuple[Problem, ...]:
    with pytest.raises(KnowledgeBaseError) as caught:
        parse_knowledge_base(files)
    return caught.value.problems


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_shipped_knowledge_base_is_valid_and_complete(kb: KnowledgeBase) -> None:
    assert set(kb.tip_ids) == PUBLIC_IDS
    assert all(len(t.examples) >= 25 for t in kb.tips)
    assert len(kb.out_of_scope) >= 120
    for tip in kb.tips:
        assert tip.title.en and tip.title.ja and len(tip.fix.en) == len(tip.fix.ja)
        assert tip.docs, f"{tip.id} needs a link to the docs"


def test_bad_yaml_names_file_and_line(files: dict[str, str]) -> None:
    files["tips/selinux.yaml"] = files["tips/selinux.yaml"] + "\nexamples: [unclosed\n"
    (problem,) = [p for p in _problems(files) if p.file == "tips/selinux.yaml"]
    assert "not valid YAML" in problem.message
    assert problem.line is not None and problem.line >= files["tips/selinux.yaml"].count("\n") - 1


def test_unknown_field_names_file_line_and_field(files: dict[str, str]) -> None:
    files["tips/nfs-storage.yaml"] = files["tips/nfs-storage.yaml"].replace(
        "\nsummary:", "\nsumary: oops\nsummary:", 1
    )
    (problem,) = _problems(files)
    assert (problem.file, problem.field, problem.message) == (
        "tips/nfs-storage.yaml",
        "sumary",
        "unknown field",
    )
    assert problem.line == _line(files["tips/nfs-storage.yaml"], "sumary:")


def test_duplicate_id_is_reported(files: dict[str, str]) -> None:
    files["tips/zz-copy.yaml"] = files["tips/selinux.yaml"]
    problems = _problems(files)
    dup = next(p for p in problems if "duplicate id" in p.message)
    assert dup.file == "tips/zz-copy.yaml" and dup.field == "id"
    assert dup.line == _line(files["tips/zz-copy.yaml"], "id:")


def _dump(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def test_bad_regex_names_the_symptom(files: dict[str, str]) -> None:
    data = yaml.safe_load(files["tips/kvm-agent.yaml"])
    data["symptoms"][1]["pattern"] = "Unable to add (the host"
    files["tips/kvm-agent.yaml"] = text = _dump(data)
    (problem,) = _problems(files)
    assert problem.field == "symptoms.1.pattern"
    assert "regex does not compile" in problem.message
    assert problem.line == _line(text, "pattern: Unable to add (the host")


def test_bad_unless_regex_names_the_symptom(files: dict[str, str]) -> None:
    data = yaml.safe_load(files["tips/nfs-storage.yaml"])
    index = next(i for i, s in enumerate(data["symptoms"]) if s.get("unless"))
    data["symptoms"][index]["unless"] = "(?i)rbd|(ceph"
    files["tips/nfs-storage.yaml"] = text = _dump(data)
    (problem,) = _problems(files)
    assert problem.field == f"symptoms.{index}.unless"
    assert "regex does not compile" in problem.message
    assert problem.line == _line(text, "unless: (?i)rbd|(ceph")


def test_missing_translation_is_named(files: dict[str, str]) -> None:
    text = files["tips/java-version.yaml"]
    lines = text.splitlines()
    title = _line(text, "title:")
    ja = next(i for i in range(title, len(lines)) if lines[i].lstrip().startswith("ja:"))
    del lines[ja]
    files["tips/java-version.yaml"] = "\n".join(lines) + "\n"
    (problem,) = _problems(files)
    assert (problem.field, problem.message) == ("title.ja", "required field is missing")
    assert problem.line == title


def test_unequal_fix_steps_are_a_translation_problem(files: dict[str, str]) -> None:
    data = yaml.safe_load(files["tips/selinux.yaml"])
    data["fix"]["ja"].append("余分な手順です。")
    files["tips/selinux.yaml"] = _dump(data)
    (problem,) = _problems(files)
    assert (problem.file, problem.field) == ("tips/selinux.yaml", "fix.ja")
    assert "translation" in problem.message


def test_unknown_hypervisor_in_catalog_is_reported(files: dict[str, str]) -> None:
    files["catalog/releases.yaml"] = files["catalog/releases.yaml"].replace("kvm:", "kvmm:", 1)
    problems = _problems(files)
    assert any(p.file == "catalog/releases.yaml" and p.field.endswith("kvmm") for p in problems)


def test_every_problem_is_collected_not_just_the_first(files: dict[str, str]) -> None:
    files["tips/selinux.yaml"] += "\nbogus: 1\n"
    files["tips/nfs-storage.yaml"] += "\nbogus: 1\n"
    assert {p.file for p in _problems(files)} == {"tips/selinux.yaml", "tips/nfs-storage.yaml"}


def test_loader_prefixes_the_directory(tmp_path: Path) -> None:
    copy = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", copy)
    (copy / "tips" / "selinux.yaml").write_text("id: [", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(copy)
    assert str(caught.value).startswith(str(copy / "tips" / "selinux.yaml") + ":")
    assert "not valid YAML" in str(caught.value)


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="knowledge directory not found"):
        load_knowledge_base(tmp_path / "nope")


def test_out_of_scope_themes_add_examples_and_report_their_problems(files: dict[str, str]) -> None:
    base = parse_knowledge_base(files)
    files["out_of_scope/vpc.yaml"] = "examples:\n  - How do I add an ACL rule to a VPC tier?\n"
    kb = parse_knowledge_base(files)
    assert kb.out_of_scope == (*base.out_of_scope, "How do I add an ACL rule to a VPC tier?")
    assert kb.digest != base.digest
    files["out_of_scope/broken.yaml"] = "examples:\n  - fine\n  - [nested]\n"
    problems = _problems(files)
    assert any(p.file == "out_of_scope/broken.yaml" and p.line == 3 for p in problems), problems
