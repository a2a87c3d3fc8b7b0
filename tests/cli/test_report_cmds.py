"""`triagebot gaps` and `triagebot report` on a database filled by the real engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

import triagebot.cli.report_cmds  # noqa: F401  (registers the commands)
from tests.store.factories import record
from triagebot import review
from triagebot.app import Engine
from triagebot.cli import cli
from triagebot.core.models import Action
from triagebot.pipeline import ingest
from triagebot.store import Store, open_store

ROOT = Path(__file__).resolve().parent.parent.parent
PLANTED = ROOT / "tests" / "fixtures" / "gaps" / "planted.jsonl"
DAY = 24 * 60
ANSWERED = [  # questions a tip answers, decided by moderators in three different weeks
    ("SELinux blocks the install", "SELinux is set to enforcing when I run cloudstack-setup-management"),
    ("Access denied", "cloudstack-setup-databases says Access denied for user 'root'@'localhost'"),
    ("Agent does not start", "The KVM host cannot be added, cloudstack-agent does not start"),
]


def seed(url: str, engine: Engine) -> dict[str, str]:
    """The planted gap set (every one left without a fitting tip) plus three decided drafts.

    Returns review item id → theme for the planted questions.
    """
    rows = [json.loads(line) for line in PLANTED.read_text(encoding="utf-8").splitlines()]
    store = open_store(url)
    messages = [
        record(f"gap{i}@x", row["subject"], row["body"], f"Asker {i} <a{i}@example.org>", minute=i * DAY // 4)
        for i, row in enumerate(rows)
    ]
    messages += [
        record(f"ok{i}@x", subject, body, f"Other {i} <o{i}@example.org>", minute=i * 7 * DAY)
        for i, (subject, body) in enumerate(ANSWERED)
    ]
    ingest(messages, store, engine)
    themes = {}
    for i, row in enumerate(rows):
        item = store.review_id_for(f"gap{i}@x")
        assert item is not None
        themes[str(item)] = row["theme"]
        if store.show(item).action is Action.SUGGEST:  # the bot guessed: a moderator says it is wrong
            review.reject(store, item, "wrong-tip", "no tip covers this", actor="hana")
    store.close()
    for week, (key, decide) in enumerate(
        [("ok0@x", "approve"), ("ok1@x", "edit"), ("ok2@x", "reject")], start=1
    ):
        dated = open_store(url, clock=lambda week=week: datetime(2024, 3, 4 + 7 * week, 10, tzinfo=UTC))
        _decide(dated, key, decide)
        dated.close()
    return themes


def _decide(store: Store, key: str, decide: str) -> None:
    item = store.review_id_for(key)
    assert item is not None
    if decide == "reject":
        review.reject(store, item, "needs-human", "", actor="hana")
    else:
        review.approve(
            store, item, actor="hana", text="edited reply" if decide == "edit" else None, send_anyway=True
        )


@pytest.fixture
def db(tmp_path: Path, engine: Engine) -> tuple[str, dict[str, str]]:
    url = f"sqlite:///{tmp_path}/report.sqlite3"
    return url, seed(url, engine)


def run(db: str, models: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", db, "--models", str(models), *args])
    return result.exit_code, result.stdout, result.stderr


def test_gaps_puts_the_planted_theme_first(db: tuple[str, dict[str, str]], models_dir: Path) -> None:
    url, themes = db
    code, out, _ = run(url, models_dir, "gaps", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["questions"] == len(themes)  # every planted question, none of the answered ones
    first = payload["clusters"][0]
    ldap = {key for key, theme in themes.items() if theme == "ldap"}
    assert ldap <= set(first["keys"])
    assert first["rank"] == 1 and "ldap" in first["terms"]
    assert len(first["examples"]) == 3
    assert sum(first["weeks"].values()) == first["size"]
    assert all(not ldap & set(c["keys"]) for c in payload["clusters"][1:])


def test_gaps_text_and_limit(db: tuple[str, dict[str, str]], models_dir: Path) -> None:
    url, _ = db
    code, out, _ = run(url, models_dir, "gaps", "--limit", "2")
    assert code == 0
    assert out.count("\n#") == 2
    assert "#1  2" in out and "terms: ldap" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("gaps", "--limit", "0"), "--limit must be at least 1"),
        (("gaps", "--distance", "0"), "--distance must be above 0"),
        (("gaps", "--min-size", "0"), "--min-size must be at least 1"),
    ],
)
def test_bad_options_are_usage_errors(
    db: tuple[str, dict[str, str]], models_dir: Path, args: tuple[str, ...], message: str
) -> None:
    code, _, err = run(db[0], models_dir, *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_gaps_on_a_missing_database_says_so(tmp_path: Path, models_dir: Path) -> None:
    code, _, err = run(f"sqlite:///{tmp_path}/none.sqlite3", models_dir, "gaps")
    assert code == 1
    assert "no database at" in err and "Traceback" not in err
    assert not (tmp_path / "none.sqlite3").exists()


def test_report_writes_one_self_contained_file(
    db: tuple[str, dict[str, str]], models_dir: Path, tmp_path: Path
) -> None:
    out_file = tmp_path / "report.html"
    code, out, err = run(
        db[0], models_dir, "report", "-o", str(out_file), "--data", str(ROOT / "dev" / "dev.jsonl")
    )
    assert code == 0, err
    assert "3 weeks of decisions" in out
    html = out_file.read_text(encoding="utf-8")
    for section in (
        "chart-f1",
        "chart-confusion",
        "chart-curve",
        "chart-reliability",
        "chart-decisions",
        "chart-gaps",
    ):
        assert f'id="{section}"><svg' in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and "<script" not in html and "<link" not in html
    assert "fqdn-resolution" in html  # a tip row of the per-tip table


def test_report_needs_a_labelled_file(tmp_path: Path, models_dir: Path) -> None:
    code, _, err = run(
        f"sqlite:///{tmp_path}/x.sqlite3", models_dir, "report", "--data", str(tmp_path / "nope.jsonl")
    )
    assert code == 2
    assert "no such labelled file" in err


def test_report_escapes_what_the_store_holds(tmp_path: Path, models_dir: Path, engine: Engine) -> None:
    url = f"sqlite:///{tmp_path}/x.sqlite3"
    store = open_store(url)
    ingest(
        [
            record(
                f"h{i}@x",
                f"<script>alert({i})</script> VPC tier cannot ping",
                "VPC tier routing fails <b>now</b>",
                minute=i,
            )
            for i in range(3)
        ],
        store,
        engine,
    )
    store.close()
    out_file = tmp_path / "r.html"
    code, _, err = run(
        url, models_dir, "report", "-o", str(out_file), "--data", str(ROOT / "dev" / "dev.jsonl")
    )
    assert code == 0, err
    html = out_file.read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(" in html
