"""`triagebot queue approve|reject|relabel|escalate`, `deliver` and `outbox` against a real SMTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import triagebot.cli.review_cmds  # noqa: F401  (registers the commands)
from tests.mail.smtpd import Recorder, smtp_server
from tests.store.factories import record
from triagebot.app import Engine
from triagebot.cli import cli
from triagebot.pipeline import ingest
from triagebot.store import ReviewStatus, open_store


@pytest.fixture
def db(tmp_path: Path, engine: Engine) -> str:
    url = f"sqlite:///{tmp_path}/cli.sqlite3"
    store = open_store(url)
    ingest(
        [
            record("a@x", "SELinux question", "SELinux is enforcing", list_id="users"),
            record("b@x", "Access denied", "Access denied for root", list_id="users"),
        ],
        store,
        engine,
    )
    store.close()
    return url


def run(db: str, *args: str, config: Path | None = None, stdin: str | None = None) -> tuple[int, str]:
    options = ["--db", db] + (["--config", str(config)] if config else [])
    result = CliRunner().invoke(cli, [*options, *args], input=stdin)
    return result.exit_code, result.output


def test_approve_deliver_and_look_at_the_outbox(db: str, tmp_path: Path) -> None:
    with smtp_server() as (recorder, port):
        config = tmp_path / "triagebot.toml"
        config.write_text(
            f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nfrom_address = "t@example.org"\n'
            '[lists.users]\naddress = "users@lists.example.org"\n',
            encoding="utf-8",
        )
        code, out = run(
            db,
            "queue",
            "approve",
            "1",
            "--text-file",
            "-",
            "--as",
            "hana",
            config=config,
            stdin="直した返信\n",
        )
        assert code == 0 and "review item 1: approved; reply queued (now edited)" in out
        code, out = run(db, "deliver", config=config)
        assert code == 0 and out.strip() == "claimed 1, sent 1, retry later 0, failed 0, unknown 0"
        assert isinstance(recorder, Recorder)
        [arrived] = recorder.received
        assert (
            arrived.rcpt_tos == ["users@lists.example.org"]
            and arrived.message.get_content() == "直した返信\n"
        )
        code, out = run(db, "outbox", "--json", config=config)
        [row] = [json.loads(line) for line in out.splitlines()]
        assert row["state"] == "sent" and row["to"] == ["users@lists.example.org"] and row["attempts"] == 1
        code, out = run(db, "outbox", "--state", "unknown", config=config)
        assert code == 0 and "No outbox rows in that state." in out
    store = open_store(db)
    try:
        assert store.show(1).status is ReviewStatus.SENT
    finally:
        store.close()


def test_reject_escalate_and_errors(db: str) -> None:
    code, out = run(db, "queue", "reject", "2", "spam")
    assert code == 2 and "Invalid value" in out
    code, out = run(db, "queue", "escalate", "2", "--note", "needs a DBA")
    assert code == 0 and "marked as needing an expert (now pending)" in out
    code, out = run(db, "queue", "reject", "2", "duplicate", "same as #1")
    assert code == 0 and "rejected (duplicate)" in out
    code, out = run(db, "queue", "approve", "2")
    assert code == 1 and "review item 2 is rejected; approving needs: pending" in out
    code, out = run(db, "queue", "approve", "99")
    assert code == 1 and "review item 99 not found" in out and "Traceback" not in out
    code, out = run(db, "outbox", "resend", "7")
    assert code == 1 and "outbox entry 7 not found" in out


def test_deliver_without_smtp_settings_says_so(db: str) -> None:
    code, out = run(db, "deliver")
    assert code == 1 and "no SMTP host configured" in out
