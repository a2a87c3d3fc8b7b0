"""`triagebot ingest`, `work` and `queue`: JSON shapes, exit codes, and a killed ingest run again."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

import triagebot.cli.archive_cmds  # noqa: F401  (registers the commands)
from tests.store.dump import dump
from tests.store.factories import archive_records, record
from triagebot.app import Engine, train_and_save
from triagebot.cli import cli
from triagebot.core.models import InboundMessage
from triagebot.errors import ModelError
from triagebot.kbfiles import load_knowledge_base
from triagebot.modelstore import ModelMeta, load_model
from triagebot.store import make_engine
from triagebot.store.tables import MESSAGES

ROOT = Path(__file__).resolve().parents[2]
ACCESS_DENIED = (
    "Running cloudstack-setup-databases fails with ERROR 1045 (28000): "
    "Access denied for user 'root'@'localhost' (using password: YES)"
)
JA_QUESTION = "cloudstack-setup-databases を実行すると Access denied for user 'root'@'localhost' になります。"


def mbox(path: Path, records: Iterable[InboundMessage]) -> Path:
    """Write records as an mbox file (gzip when the name ends in .gz)."""
    out = io.BytesIO()
    for r in records:
        msg = EmailMessage()
        msg["From"] = r.author
        msg["Subject"] = r.subject
        msg["Message-ID"] = f"<{r.message_id}>"
        if r.sent_at is not None:
            msg["Date"] = format_datetime(r.sent_at)
        if r.in_reply_to:
            msg["In-Reply-To"] = f"<{r.in_reply_to}>"
        if r.references:
            msg["References"] = " ".join(f"<{ref}>" for ref in r.references)
        if r.source:
            msg["List-Id"] = f"<{r.source}>"
        msg.set_content(r.text)
        out.write(b"From sender@example.org Fri Mar  1 09:00:00 2024\n")
        BytesGenerator(out, mangle_from_=True).flatten(msg)
        out.write(b"\n")
    data = out.getvalue()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def small_archive() -> list[InboundMessage]:
    return [
        record("q1@x", "Install fails", ACCESS_DENIED, list_id="users.example"),
        record(
            "a1@x",
            "Re: Install fails",
            "Check the root password.",
            "Bob <bob@example.org>",
            in_reply_to="q1@x",
            list_id="users.example",
        ),
        record(
            "q2@x",
            "セットアップで失敗します",
            JA_QUESTION,
            "Taro <taro@example.jp>",
            list_id="users-ja.example",
        ),
    ]


@pytest.fixture
def invoke(tmp_path: Path) -> Callable[..., Result]:
    """Run the CLI in-process against a database of this test."""
    url = f"sqlite:///{tmp_path}/cli.sqlite3"

    def _invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", url, *args], catch_exceptions=False)

    return _invoke


@pytest.fixture
def with_engine(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> Engine:
    """Commands get the session's real engine instead of loading one from disk."""
    monkeypatch.setattr("triagebot.app.build_engine", lambda settings, **_: engine)
    return engine


def as_json(result: Result) -> Any:
    assert result.stdout.count("\n") == 1, result.stdout  # exactly one JSON document on one line
    return json.loads(result.stdout)


# -- ingest -----------------------------------------------------------------------------------------


def test_ingest_json_has_exactly_the_public_shape(invoke: Callable[..., Result], tmp_path: Path) -> None:
    path = mbox(tmp_path / "list.mbox", small_archive())
    first = invoke("ingest", str(path), "--no-triage", "--json")
    assert first.exit_code == 0, first.output
    assert as_json(first) == {"read": 3, "new": 3, "duplicates": 0, "skipped": 0, "errors": [], "notices": []}
    assert first.stderr == ""  # no progress bar when stderr is not a terminal
    again = invoke("ingest", str(path), "--no-triage", "--json")
    assert as_json(again) == {"read": 3, "new": 0, "duplicates": 3, "skipped": 0, "errors": [], "notices": []}


def test_ingest_reports_skipped_messages_with_exit_3(invoke: Callable[..., Result], tmp_path: Path) -> None:
    whole = gzip.compress(mbox(tmp_path / "plain.mbox", archive_records(60)).read_bytes())
    damaged = tmp_path / "damaged.mbox.gz"
    damaged.write_bytes(whole[: len(whole) // 2])
    result = invoke("ingest", str(damaged), "--no-triage", "--json")
    assert result.exit_code == 3, result.output
    summary = as_json(result)
    assert summary["skipped"] == len(summary["errors"]) >= 1
    assert summary["read"] == summary["new"] + summary["duplicates"] + summary["skipped"]
    assert (
        summary["errors"][0]["where"].endswith("damaged.mbox.gz") and "damaged" in summary["errors"][0]["why"]
    )
    human = invoke("ingest", str(damaged), "--no-triage")
    assert human.exit_code == 3 and "skipped" in human.stdout
    assert human.stderr.startswith("triagebot: skipped ")


@pytest.mark.parametrize(
    "args",
    [
        ("ingest",),
        ("ingest", "/no/such/archive.mbox"),
        ("ingest", "--format", "tarball", "README.md"),
        ("work", "--batch", "0"),
        ("queue", "--language", "fr"),
        ("queue", "show", "not-a-number"),
    ],
)
def test_usage_errors_exit_2(invoke: Callable[..., Result], args: tuple[str, ...]) -> None:
    assert invoke(*args).exit_code == 2


def test_database_errors_exit_1_with_one_line(tmp_path: Path) -> None:
    path = mbox(tmp_path / "list.mbox", small_archive())
    for args in (["ingest", str(path), "--no-triage"], ["queue"], ["queue", "show", "1"]):
        result = CliRunner().invoke(cli, ["--db", "nosuchdb://x/y", *args])
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith("triagebot: no database driver") and result.stderr.count("\n") == 1


# -- triage, work, queue -------------------------------------------------------------------------


def test_ingest_with_triage_then_queue(
    invoke: Callable[..., Result], tmp_path: Path, with_engine: Engine
) -> None:
    path = mbox(tmp_path / "list.mbox", small_archive())
    result = invoke("ingest", str(path))
    assert result.exit_code == 0, result.output
    assert "Read 3 messages: 3 new" in result.stdout and "Triaged 2 messages: 2 new drafts" in result.stdout

    unanswered = as_json(invoke("queue", "--json"))
    assert [e["answered"] for e in unanswered] == [False], "answered threads are hidden by default"
    answered = as_json(invoke("queue", "--answered", "yes", "--json"))
    assert [e["answered"] for e in answered] == [True]
    entries = as_json(invoke("queue", "--answered", "any", "--json"))
    assert isinstance(entries, list) and len(entries) == 2
    assert sorted([unanswered[0]["id"], answered[0]["id"]]) == [e["id"] for e in entries]
    for entry in entries:
        assert {"id", "subject", "language", "tips", "missing", "status"} <= set(entry)
        assert entry["status"] == "pending" and "version" in entry["missing"]
        assert entry["tips"][0]["id"] == "setup-databases" and 0 < entry["tips"][0]["score"] <= 1
    english, japanese = entries
    assert (english["language"], english["source"], english["answered"]) == ("en", "users.example", True)
    assert (japanese["language"], japanese["subject"]) == ("ja", "セットアップで失敗します")
    assert [e["id"] for e in as_json(invoke("queue", "--language", "ja", "--json"))] == [japanese["id"]]
    assert [
        e["id"] for e in as_json(invoke("queue", "--source", "users.example", "--answered", "any", "--json"))
    ] == [english["id"]]
    assert as_json(invoke("queue", "--missing", "version", "--status", "approved", "--json")) == []

    table = invoke("queue")
    assert table.exit_code == 0 and "setup-databases" in table.stdout and "セットアップ" in table.stdout
    assert "1 items of threads already answered are hidden; --answered any shows them." in table.stderr

    shown = invoke("queue", "show", str(japanese["id"]))
    assert shown.exit_code == 0
    for part in (
        "Question:",
        "Tips:",
        "setup-databases",
        "evidence:",
        "Missing details: version",
        "Draft:",
        "History:",
    ):
        assert part in shown.stdout, part
    detail = as_json(invoke("queue", "show", str(japanese["id"]), "--json"))
    assert detail["question"] == JA_QUESTION and detail["tips"][0]["evidence"]
    assert detail["history"][0]["to"] == "pending" and detail["draft"]


def test_work_triages_what_ingest_left(
    invoke: Callable[..., Result], tmp_path: Path, with_engine: Engine
) -> None:
    path = mbox(tmp_path / "list.mbox", small_archive())
    assert invoke("ingest", str(path), "--no-triage").exit_code == 0
    assert as_json(invoke("queue", "--json")) == []
    done = invoke("work", "--until-empty", "--worker-id", "w1", "--json")
    assert done.exit_code == 0, done.output
    assert as_json(done) == {
        "worker": "w1",
        "batches": 1,
        "triaged": 2,
        "lost": 0,
        "drafted": 2,
        "updated": 0,
    }
    assert len(as_json(invoke("queue", "--answered", "any", "--json"))) == 2
    idle = invoke("work", "--until-empty")
    assert idle.exit_code == 0 and "triaged 0 messages" in idle.stdout


def test_queue_messages_for_nothing_and_unknown_items(invoke: Callable[..., Result], tmp_path: Path) -> None:
    assert invoke("ingest", str(mbox(tmp_path / "empty.mbox", []))).exit_code == 0
    empty = invoke("queue")
    assert empty.exit_code == 0 and "No review items match." in empty.stdout
    missing = invoke("queue", "show", "999")
    assert missing.exit_code == 1 and missing.stderr == "triagebot: review item 999 not found\n"


# -- a killed ingest, run as a user runs it ---------------------------------------------------------


def _stored(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return int(c.execute(select(func.count()).select_from(MESSAGES)).scalar() or 0)
    except SQLAlchemyError:
        return 0  # the tables do not exist yet
    finally:
        engine.dispose()


def frozen_engine_files(tmp_path: Path, models_dir: Path) -> dict[str, str]:
    """A snapshot of the knowledge base and templates with a model trained on exactly that snapshot.

    Every run of a comparison must use the same model: if the shipped knowledge base changes while the
    tests run, a subprocess would otherwise retrain and draft differently.
    """
    kb_dir, templates, models = tmp_path / "knowledge", tmp_path / "templates", tmp_path / "models"
    shutil.copytree(ROOT / "knowledge", kb_dir)
    shutil.copytree(ROOT / "templates", templates)
    shutil.copytree(models_dir, models)
    kb = load_knowledge_base(kb_dir)
    try:
        load_model(models, kb.digest)
    except ModelError:
        train_and_save(kb, models)
    return {
        "TRIAGEBOT_MODELS": str(models),
        "TRIAGEBOT_KB": str(kb_dir),
        "TRIAGEBOT_TEMPLATES": str(templates),
    }


def children_of(pid: int) -> list[int]:
    """Pids of the running children of `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] not in {"Z", "X"}:
            found.append(int(stat.parent.name))
    return found


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    """The pids still running after up to `seconds` (killed then, so no test leaves them behind)."""

    def running(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in {"Z", "X"}
        except OSError:
            return False

    deadline = time.monotonic() + seconds
    while any(map(running, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in pids if running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


@pytest.mark.slow
def test_killed_ingest_command_rerun_equals_one_clean_run(
    tmp_path: Path, models_dir: Path, trained: tuple[object, ModelMeta]
) -> None:
    """Needs the real engine: the subprocesses load a trained model (the session's, when it still fits)."""
    archive = mbox(tmp_path / "big.mbox", archive_records(1500, seed=21))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_", "DISCORD_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update(frozen_engine_files(tmp_path, models_dir))
    program = [sys.executable, "-c", "from triagebot.cli import main; main()"]

    def ingest(url: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*program, "--db", url, "ingest", str(archive), "--batch-size", "20", "--json"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    killed_url, clean_url = f"sqlite:///{tmp_path}/killed.sqlite3", f"sqlite:///{tmp_path}/clean.sqlite3"
    proc = ingest(killed_url)
    deadline = time.monotonic() + 180
    try:
        while _stored(killed_url) < 20:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no batch committed in time"
            time.sleep(0.02)
        assert proc.poll() is None, "the ingest finished before the kill"
        children = children_of(proc.pid)
        assert children, "the ingest reads in a child process"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert wait_gone(children, 5.0) == [], "the reading child outlived the killed ingest"
    partial = _stored(killed_url)

    clean = ingest(clean_url)
    clean_out, clean_err = clean.communicate(timeout=300)
    rerun = ingest(killed_url)
    rerun_out, rerun_err = rerun.communicate(timeout=300)
    assert (clean.returncode, rerun.returncode) == (0, 0), (clean_err, rerun_err)
    full, again = json.loads(clean_out), json.loads(rerun_out)
    assert 20 <= partial < full["new"]
    assert again["new"] == full["new"] - partial and again["read"] == full["read"]
    assert dump(killed_url) == dump(clean_url)


def _interrupted_ingest(tmp_path: Path, presses: int, batch: int = 20) -> tuple[int, str, int, list[int]]:
    """Start an ingest, press Ctrl-C `presses` times (50 ms apart) during the batch after the first, as
    a terminal does (to the whole process group); its exit status, stderr, stored count and children."""
    archive = mbox(tmp_path / "big.mbox", archive_records(3000, seed=5))
    # eight copies under other Message-IDs: long enough that the interrupt always lands mid-ingest
    one = archive.read_bytes()
    archive.write_bytes(b"".join(one.replace(b"Message-ID: <", b"Message-ID: <c%d." % n) for n in range(8)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_", "DISCORD_"))}
    env["PYTHONPATH"] = str(ROOT)
    url = f"sqlite:///{tmp_path}/stopped.sqlite3"
    # Ctrl-C as a terminal delivers it, even when these tests run where SIGINT is ignored (a
    # background job of a non-interactive shell), which a child would inherit
    program = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from triagebot.cli import main; main()"
    )
    command = [sys.executable, "-c", program, "--db", url, "ingest"]
    proc = subprocess.Popen(
        [*command, str(archive), "--no-triage", "--batch-size", str(batch)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, which the presses go to
    )
    deadline = time.monotonic() + 120
    try:
        while _stored(url) == 0:  # the first batch is committed
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no batch committed in time"
            time.sleep(0.02)
        time.sleep(0.2)  # well into the next batch
        children = children_of(proc.pid)
        for _ in range(presses):
            os.killpg(proc.pid, signal.SIGINT)
            time.sleep(0.05)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err, _stored(url), children


def test_ctrl_c_during_ingest_stops_after_the_batch_and_says_what_was_stored(tmp_path: Path) -> None:
    status, err, stored, children = _interrupted_ingest(tmp_path, presses=1)
    assert status == 130, err
    assert "Traceback" not in err
    assert f"Interrupted. Stored before stopping: {stored:,} new messages" in err  # exactly what is stored
    assert "the batch in progress was stored first" in err
    assert "Run the same command again to resume" in err
    assert wait_gone(children, 5.0) == [], "the reading child outlived the stopped ingest"


def test_a_second_ctrl_c_interrupts_ingest_at_once(tmp_path: Path) -> None:
    # a batch of 10,000 takes far longer to gather and store than the 50 ms between the presses
    status, err, stored, children = _interrupted_ingest(tmp_path, presses=2, batch=10_000)
    assert status == 130, err
    assert "Traceback" not in err
    assert "Interrupted. Stored before stopping: " in err
    assert "the batch in progress was cut short" in err
    assert stored > 0
    assert "Run the same command again to resume" in err
    assert wait_gone(children, 5.0) == []


@pytest.mark.parametrize("args", [("queue",), ("queue", "--json"), ("queue", "show", "1")])
def test_read_only_commands_never_create_a_database(tmp_path: Path, args: tuple[str, ...]) -> None:
    target = tmp_path / "nowhere" / "deeper" / "triagebot.sqlite3"
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{target}", *args])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"triagebot: no database at {target}: nothing was ingested there yet "
        "(run `triagebot ingest` first, or name another with --db)\n"
    )
    assert not (tmp_path / "nowhere").exists()


def test_read_only_commands_refuse_an_empty_database_without_changing_it(tmp_path: Path) -> None:
    target = tmp_path / "empty.sqlite3"
    sqlite3.connect(target).close()
    before = target.read_bytes()
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{target}", "queue"])
    assert result.exit_code == 1
    assert "holds no triagebot data" in result.stderr and result.stderr.count("\n") == 1
    assert target.read_bytes() == before


def test_global_options_work_after_the_subcommand_too(tmp_path: Path) -> None:
    path = mbox(tmp_path / "list.mbox", small_archive())
    url = f"sqlite:///{tmp_path}/after.sqlite3"
    stored = CliRunner().invoke(cli, ["ingest", str(path), "--no-triage", "--db", url, "--json"])
    assert stored.exit_code == 0, stored.output
    assert as_json(stored)["new"] == 3
    listed = CliRunner().invoke(cli, ["queue", f"--db={url}", "--json"])
    assert listed.exit_code == 0 and as_json(listed) == []
    assert (tmp_path / "after.sqlite3").is_file()
