"""`triagebot ingest` on what once hung it or lost mail: it finishes, stores the rest, reports the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.ingest.test_archive_readers import message, write_mbox

ROOT = Path(__file__).resolve().parents[2]


def ingest(tmp_path: Path, *paths: Path) -> tuple[int, dict[str, object], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_", "DISCORD_"))}
    env["TRIAGEBOT_KB"] = str(ROOT / "knowledge")
    db = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "-m", "triagebot", "--db", db, "ingest", *map(str, paths), "--no-triage", "--json"],
        capture_output=True,
        cwd=tmp_path,
        env=env,
        timeout=240,  # a hang guard: the FIFO case used to block forever
        check=False,
    )
    return done.returncode, json.loads(done.stdout), done.stderr.decode()


def test_ingest_of_a_directory_with_a_fifo_and_a_self_link_commits_the_mail(tmp_path: Path) -> None:
    # Issue 11, items 3 and 4: the FIFO hung the ingest with nothing committed; the self-link looped.
    archive = tmp_path / "archive"
    archive.mkdir()
    write_mbox(archive / "a.mbox", [message(1, "SELinux is set to enforcing"), message(2, "second")])
    os.mkfifo(archive / "b.mbox")
    (archive / "c").symlink_to(archive)
    code, summary, stderr = ingest(tmp_path, archive, archive / "b.mbox")
    assert code == 3, stderr
    assert summary["new"] == 2 and summary["skipped"] == 3
    reasons = " | ".join(error["why"] for error in summary["errors"])  # type: ignore[attr-defined]
    assert reasons.count("FIFO") == 2 and "already read" in reasons
    assert "Traceback" not in stderr


def test_a_split_separator_and_a_cut_header_are_notices_not_skips(tmp_path: Path) -> None:
    # Both messages are stored; what was done to them is reported, and nothing counts as skipped.
    damaged = b"From x@examFrom user1@example.org Mon Jan  1 00:00:00 2023\n"
    long_subject = "Subject: " + "x" * 70_000 + "\n"
    first = b"From user1@example.org Mon Jan  1 00:00:00 2023\n" + (
        b"From: A <a@example.org>\nSubject: SELinux is enforcing\nMessage-ID: <n1@example.org>\n\nfirst\n\n"
    )
    second = (
        "From: B <b@example.org>\n" + long_subject + "Message-ID: <n2@example.org>\n\nsecond\n"
    ).encode()
    (tmp_path / "a.mbox").write_bytes(first + damaged + second)
    code, summary, stderr = ingest(tmp_path, tmp_path / "a.mbox")
    assert code == 0, stderr
    assert (summary["read"], summary["new"], summary["skipped"], summary["errors"]) == (2, 2, 0, [])
    reasons = [notice["why"] for notice in summary["notices"]]  # type: ignore[union-attr]
    assert len(reasons) == 2, reasons
    assert any("split there" in why for why in reasons) and any(
        "cut to fit the limits" in why for why in reasons
    )
