"""`kb new` → fill → `kb validate` → `train` → `eval`, on a temporary copy of the knowledge base
(three of its tips, so training stays quick)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from triagebot.cli import cli

ROOT = Path(__file__).resolve().parents[2]
KEPT_TIPS = ("selinux", "setup-databases", "kvm-agent")
PROBLEMS = (
    "cloudstack-usage does not start",
    "the usage server writes nothing to cloud_usage",
    "usage records stay empty after a day",
    "cloudstack-usage.service failed with status 1",
    "usage.log shows Unable to get usage lock",
)
CONTEXTS = ("on 4.18.1 with Rocky 8", "after upgrading to 4.19", "on Ubuntu 22.04", "with KVM hosts", "")
JA = (
    "使用量サーバ cloudstack-usage が起動しません",
    "cloud_usage データベースに使用量レコードが入りません",
    "usage.log に Unable to get usage lock と出ます",
)


def usage_examples() -> list[str]:
    en = [f"{p} {c}".strip() for p in PROBLEMS for c in CONTEXTS[:4]]
    return en + [f"{j}。{c}".rstrip("。") for j in JA for c in ("4.18 です", "Ubuntu 22.04")]


def fill(path: Path) -> None:
    """Do what a maintainer does with the skeleton: replace every placeholder with content."""
    tip = yaml.safe_load(path.read_text(encoding="utf-8"))
    tip["title"] = {
        "en": "The usage server does not start or records nothing",
        "ja": "使用量サーバが動かない",
    }
    tip["summary"] = {
        "en": "cloudstack-usage needs its own database access and a running service.",
        "ja": "cloudstack-usage には専用のデータベース接続と稼働中のサービスが必要です。",
    }
    tip["fix"] = {
        "en": ["Check usage.log", "Restart cloudstack-usage"],
        "ja": ["usage.log を確認します", "cloudstack-usage を再起動します"],
    }
    tip["commands"] = ["systemctl restart cloudstack-usage", "tail -f /var/log/cloudstack/usage/usage.log"]
    tip["symptoms"] = [{"pattern": "Unable to get usage lock", "label": "Unable to get usage lock"}]
    tip["docs"] = [
        {"title": "Usage server", "url": "https://docs.cloudstack.apache.org/en/latest/adminguide/usage.html"}
    ]
    tip["examples"] = usage_examples()
    path.write_text(yaml.safe_dump(tip, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_new_tip_fails_until_filled_then_trains_and_evaluates(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge, ignore=shutil.ignore_patterns("tips"))
    (knowledge / "tips").mkdir()
    for tip_id in KEPT_TIPS:
        shutil.copy(ROOT / "knowledge" / "tips" / f"{tip_id}.yaml", knowledge / "tips")
    common = [
        "--kb",
        str(knowledge),
        "--models",
        str(tmp_path / "models"),
        "--templates",
        str(ROOT / "templates"),
    ]
    runner = CliRunner()

    made = runner.invoke(cli, [*common, "kb", "new", "usage-server"])
    assert made.exit_code == 0, made.output
    written = knowledge / "tips" / "usage-server.yaml"
    skeleton = yaml.safe_load(written.read_text(encoding="utf-8"))
    assert {"title", "summary", "fix", "commands", "symptoms", "docs", "applies", "examples"} <= set(skeleton)
    assert set(skeleton["title"]) == {"en", "ja"} and "#" in written.read_text(encoding="utf-8")

    again = runner.invoke(cli, [*common, "kb", "new", "usage-server"])
    assert again.exit_code == 2 and "exists already" in again.output

    unfilled = runner.invoke(cli, [*common, "kb", "validate", "--no-self-test"])
    assert unfilled.exit_code == 1
    assert "usage-server.yaml" in unfilled.output and "FILL-IN placeholder" in unfilled.output
    assert "Traceback" not in unfilled.output

    fill(written)
    valid = runner.invoke(cli, [*common, "kb", "validate"])
    assert valid.exit_code == 0, valid.output
    assert "self-test usage-server" in valid.output and "knowledge base is valid" in valid.output

    trained = runner.invoke(cli, [*common, "train", "--no-reviews", "--json"])
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.output.strip().splitlines()[-1])
    assert summary["tips"] == len(KEPT_TIPS) + 1 and summary["reviewed"] == 0

    labelled = tmp_path / "usage.jsonl"
    questions = [
        (
            "usage server broken",
            "cloudstack-usage won't start after reboot, usage.log says Unable to get usage lock",
        ),
        ("使用量", "使用量サーバ cloudstack-usage が起動しない。cloud_usage が空のままです"),
    ]
    labelled.write_text(
        "".join(
            json.dumps(
                {"subject": s, "body": b, "labels": ["usage-server"], "details": {}}, ensure_ascii=False
            )
            + "\n"
            for s, b in questions
        ),
        encoding="utf-8",
    )
    scored = runner.invoke(cli, [*common, "eval", str(labelled), "--json"])
    assert scored.exit_code == 0, scored.output
    report = json.loads(scored.output.strip().splitlines()[-1])
    assert report["top1"] == 1.0
    assert [t for t in report["per_tip"] if t["tip"] == "usage-server"][0]["recall"] == 1.0


def test_new_refuses_a_bad_id(tmp_path: Path) -> None:
    (tmp_path / "tips").mkdir()
    result = CliRunner().invoke(cli, ["--kb", str(tmp_path), "kb", "new", "Bad_Id"])
    assert result.exit_code == 2 and "not a tip id" in result.output
    assert not list((tmp_path / "tips").iterdir())
