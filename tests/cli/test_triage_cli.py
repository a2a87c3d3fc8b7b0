"""The triage, train, eval and kb commands, run as a user runs them: in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from triagebot.cli import cli
from triagebot.modelstore import ModelMeta

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def run(models_dir: Path, trained: tuple[object, ModelMeta], tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run `triagebot ARGS` with the session's trained model; returns the CompletedProcess."""

    def _run(
        *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_", "DISCORD_"))
        }
        environment.update(
            {
                "TRIAGEBOT_MODELS": str(models_dir),
                "TRIAGEBOT_KB": str(ROOT / "knowledge"),
                "TRIAGEBOT_TEMPLATES": str(ROOT / "templates"),
            }
        )
        environment.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "triagebot", *args],
            input=stdin,
            capture_output=True,
            cwd=tmp_path,
            env=environment,
            timeout=300,
            check=False,
        )

    return _run


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


def test_every_command_has_help_with_an_example() -> None:
    commands = _commands(cli)
    assert {("triage",), ("train",), ("eval",), ("kb", "validate")} <= set(commands)
    for path in commands:
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example" in result.output, f"{' '.join(path)} has no example in its help"


def test_json_output_has_the_public_shape(run) -> None:  # type: ignore[no-untyped-def]
    done = run(
        "triage",
        "--json",
        "CloudStack 4.19 on Ubuntu 22.04 with KVM: cloudstack-setup-databases says "
        "The host name of this computer does not resolve to an IP address.",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert set(result) == {"language", "action", "tips", "details", "missing", "reply"}
    assert result["language"] == "en"
    assert result["action"] == "suggest"
    assert result["tips"][0]["id"] == "fqdn-resolution"
    assert isinstance(result["tips"][0]["score"], float) and result["tips"][0]["evidence"]
    assert result["details"] == {
        "version": "4.19",
        "os": "Ubuntu 22.04",
        "hypervisor": "KVM",
        "specifics": True,
    }
    assert result["missing"] == []


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("[VOTE] Release Apache CloudStack 4.20.2.0 RC1", "Please vote on the candidate below."),
        ("【告知】CloudStack ユーザー会 勉強会のお知らせ", "次回の勉強会を開催します。"),
    ],
)
def test_json_marks_notices_as_not_a_question(run, subject: str, body: str) -> None:  # type: ignore[no-untyped-def]
    done = run("triage", "--json", "--subject", subject, body)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.decode())
    assert result["action"] == "not-a-question"
    assert result["tips"] == [] and result["reply"] == ""


def test_readable_summary_and_stdin(run) -> None:  # type: ignore[no-untyped-def]
    done = run(
        "triage",
        "--subject",
        "SELinux",
        "--channel",
        "slack",
        stdin="SELinux is set to enforcing と表示されます".encode(),
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "selinux" in out and "Missing:" in out and "--- reply (slack, ja) ---" in out


def test_jsonl_keeps_order_and_reports_bad_lines(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = [
        json.dumps(
            {"subject": "nfs", "body": "mount.nfs: access denied by server while mounting 10.0.0.2:/export"}
        ),
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"subject": "", "body": ""}),
        json.dumps({"subject": "SELinux", "body": "SELinux is set to enforcing", "extra": 1}),
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run("triage", "--jsonl", "in.jsonl")
    assert done.returncode == 3
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3, 4, 5]
    assert out[0]["tips"][0]["id"] == "nfs-storage"
    assert out[1]["error"].startswith("line 2: not valid JSON")
    assert out[2]["error"].startswith("line 3:")
    assert out[3]["error"] == "line 4: empty question"
    assert out[4]["tips"][0]["id"] == "selinux"
    assert "Traceback" not in done.stderr.decode()


GOOD = json.dumps({"subject": "SELinux", "body": "SELinux is set to enforcing"})

# Issue 11, items 1, 2 and 9: each of these once ended the batch, lost output, or gave no line.
UNUSABLE = [
    ("[" * 5000, "nested more than"),
    ("{" * 3000 + "}" * 3000, "nested more than"),
    ('{"a": ' * 2000 + "1" + "}" * 2000, "nested more than"),
    ("", "blank line"),
    ("   \t", "blank line"),
    ('{"mid": "p2"}', "no body"),
    ('{"subject": 5, "body": null}', "must be strings"),
    ('{"subject": "x", "body": ["a"]}', "must be strings"),
    ("42", "expected a JSON object"),
    ('"just a string"', "expected a JSON object"),
]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_jsonl_unusable_lines_get_their_own_error_and_the_rest_goes_on(
    run, tmp_path: Path, workers: str
) -> None:  # type: ignore[no-untyped-def]
    lines = []
    for bad, _ in UNUSABLE:
        lines.extend([GOOD, bad])
    lines.append(GOOD)
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run("triage", "--jsonl", "in.jsonl", "--workers", workers)
    stderr = done.stderr.decode()
    assert done.returncode == 3, stderr
    assert "Traceback" not in stderr
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [o["line"] for o in out] == list(range(1, len(lines) + 1))
    for index, (_, message) in enumerate(UNUSABLE):
        assert out[2 * index]["tips"][0]["id"] == "selinux"
        bad = out[2 * index + 1]
        assert message in bad["error"], bad
        assert bad["error"].startswith(f"line {2 * index + 2}:")
    assert out[-1]["tips"][0]["id"] == "selinux"
    assert f"{len(UNUSABLE)} line(s) could not be triaged" in stderr


def test_jsonl_lone_surrogates_are_replaced_not_a_crash(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Issue 11, item 2: a surrogate that reached evidence crashed the writer after 256 lines.
    line = '{"subject": "SELinux \\udc80", "body": "\\ud800SELinux\\udfff is set to enforcing \\ud83d"}'
    (tmp_path / "in.jsonl").write_text((line + "\n") * 600, encoding="utf-8")
    done = run("triage", "--jsonl", "in.jsonl", "--workers", "1")
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode("utf-8")  # strict: the output is valid UTF-8
    rows = [json.loads(row) for row in out.splitlines()]
    assert len(rows) == 600 and rows[599]["line"] == 600
    assert all(row["tips"][0]["id"] == "selinux" for row in rows)
    assert not any("\ud800" <= ch <= "\udfff" for ch in out)


def test_jsonl_overlong_line_is_an_error_without_losing_its_neighbours(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    huge = json.dumps({"subject": "x", "body": "a" * (10 * 1024 * 1024 + 10)})
    (tmp_path / "in.jsonl").write_text("\n".join([GOOD, huge, GOOD]) + "\n", encoding="utf-8")
    done = run("triage", "--jsonl", "in.jsonl", "--workers", "1")
    assert done.returncode == 3, done.stderr
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3]
    assert "longer than" in out[1]["error"]
    assert out[2]["tips"][0]["id"] == "selinux"


def test_jsonl_defuses_mentions_and_html_in_evidence(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Issue 11, item 9: evidence quoted the asker's @channel and <script> as they were.
    body = "@channel <script>alert(1)</script><img src=x> setenforce SELinux is set to enforcing <!here>"
    (tmp_path / "in.jsonl").write_text(
        json.dumps({"subject": "@here", "body": body}) + "\n", encoding="utf-8"
    )
    done = run("triage", "--jsonl", "in.jsonl", "--workers", "1")
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)
    evidence = [item for tip in row["tips"] for item in tip["evidence"]]
    assert any(item.startswith("phrase: ") for item in evidence)
    for text in [*evidence, row["reply"]]:
        for raw in ("@channel", "@here", "<!here>", "<script", "<img"):
            assert raw not in text


def test_jsonl_from_stdin(run) -> None:  # type: ignore[no-untyped-def]
    done = run("triage", "--jsonl", "-", stdin=b'{"subject": "x", "body": "help it does not work"}\n')
    assert done.returncode == 0
    assert json.loads(done.stdout)["tips"] == []


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (("triage", ""), None, 2, "the question is empty"),
        (("triage", "-f", "missing.txt"), None, 2, "missing.txt"),
        (("triage", "--channel", "irc", "x"), None, 2, "irc"),
        (("triage", "--jsonl", "nope.jsonl"), None, 2, "nope.jsonl"),
        (("triage",), b"", 2, "the question is empty"),
        (("triage", "--jsonl", "x.jsonl", "text"), None, 2, "cannot be combined"),
    ],
)
def test_bad_input_is_a_clear_message(run, args, stdin, code, message) -> None:  # type: ignore[no-untyped-def]
    done = run(*args, stdin=stdin)
    assert done.returncode == code, done.stderr
    assert message in done.stderr.decode()
    assert "Traceback" not in done.stderr.decode()


def test_binary_garbage_is_refused(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "garbage.bin").write_bytes(bytes(range(256)) * 64)
    done = run("triage", "-f", "garbage.bin")
    assert done.returncode == 2
    assert "binary" in done.stderr.decode() and "Traceback" not in done.stderr.decode()


JAPANESE_QUESTION = "SELinux is set to enforcing と表示されます。どうすればよいですか"


@pytest.mark.parametrize(
    ("codec", "named"),
    [("cp932", "cp932"), ("shift_jis", "cp932"), ("euc_jp", "euc_jis_2004"), ("iso2022_jp", "iso-2022-jp")],
)
def test_japanese_files_are_read_as_ingest_reads_them(run, tmp_path: Path, codec: str, named: str) -> None:  # type: ignore[no-untyped-def]
    # Issue 7: the CLI's own decoder read ISO-2022-JP as raw escapes, detected English, replied in English.
    (tmp_path / "q.txt").write_bytes(JAPANESE_QUESTION.encode(codec))
    done = run("triage", "--json", "-f", "q.txt")
    assert done.returncode == 0, done.stderr
    assert f"read as {named}" in done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["language"] == "ja"
    assert result["tips"][0]["id"] == "selinux"
    assert "\x1b" not in result["reply"] and "$B" not in json.dumps(result["tips"])
    assert any("\u3040" <= ch <= "\u30ff" for ch in result["reply"])  # the reply is in Japanese


def test_iso2022jp_on_stdin_is_read_too(run) -> None:  # type: ignore[no-untyped-def]
    done = run("triage", "--json", stdin=JAPANESE_QUESTION.encode("iso2022_jp"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["language"] == "ja"


def test_invalid_utf8_is_replaced_with_a_warning(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "q.txt").write_bytes(b"mount.nfs: access denied by server \xff\xfe\xfa while mounting")
    done = run("triage", "--json", "-f", "q.txt")
    assert done.returncode == 0, done.stderr
    assert "undecodable bytes were replaced" in done.stderr.decode() or "read as" in done.stderr.decode()


def test_two_megabyte_paste_is_triaged(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = "2024-01-01 00:00:00,000 DEBUG [c.c.a.t.Request] (AgentManager-Handler-1:null) Seq 1-1: noise\n"
    body = "The mount fails: mount.nfs: access denied by server while mounting 10.1.1.1:/export/secondary\n"
    (tmp_path / "big.txt").write_text(body + log * (2_000_000 // len(log)), encoding="utf-8")
    done = run("triage", "--json", "-f", "big.txt")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tips"][0]["id"] == "nfs-storage"


def test_kb_validate_passes_on_the_shipped_kb(run) -> None:  # type: ignore[no-untyped-def]
    done = run("kb", "validate")
    assert done.returncode == 0, done.stderr
    assert "knowledge base is valid" in done.stdout.decode()


def test_kb_validate_fails_naming_file_line_field(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", copy)
    tip = copy / "tips" / "selinux.yaml"
    tip.write_text(
        tip.read_text(encoding="utf-8").replace("\nsummary:", "\nsumary: x\nsummary:", 1), encoding="utf-8"
    )
    done = run("--kb", str(copy), "kb", "validate", "--no-self-test")
    assert done.returncode == 1
    err = done.stderr.decode()
    line = next(
        i
        for i, text in enumerate(tip.read_text(encoding="utf-8").splitlines(), 1)
        if text.startswith("sumary")
    )
    assert f"{tip}:{line} [sumary]: unknown field" in err
    assert "Traceback" not in err


def test_stale_model_is_retrained_not_used(run, tmp_path: Path, models_dir: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", copy)
    oos = copy / "out_of_scope.yaml"
    oos.write_text(
        oos.read_text(encoding="utf-8") + "  - a brand new out-of-scope line about billing\n",
        encoding="utf-8",
    )
    private_models = tmp_path / "models"
    shutil.copytree(models_dir, private_models)
    before = json.loads((private_models / "classifier.json").read_text())["kb_digest"]
    done = run(
        "--kb",
        str(copy),
        "triage",
        "--json",
        "SELinux is set to enforcing",
        env={"TRIAGEBOT_MODELS": str(private_models)},
    )
    assert done.returncode == 0, done.stderr
    assert "trained for knowledge base" in done.stderr.decode() and "training now" in done.stderr.decode()
    assert json.loads((private_models / "classifier.json").read_text())["kb_digest"] != before


def test_model_from_other_library_versions_is_not_used(run, tmp_path: Path, models_dir: Path) -> None:  # type: ignore[no-untyped-def]
    private_models = tmp_path / "models"
    shutil.copytree(models_dir, private_models)
    meta = json.loads((private_models / "classifier.json").read_text())
    meta["sklearn"] = "0.0.1"
    (private_models / "classifier.json").write_text(json.dumps(meta))
    done = run(
        "triage", "--json", "SELinux is set to enforcing", env={"TRIAGEBOT_MODELS": str(private_models)}
    )
    assert done.returncode == 0
    assert "saved with sklearn 0.0.1" in done.stderr.decode()
    assert json.loads((private_models / "classifier.json").read_text())["sklearn"] != "0.0.1"


def test_model_saved_by_an_older_triagebot_is_not_used(run, tmp_path: Path, models_dir: Path) -> None:  # type: ignore[no-untyped-def]
    private_models = tmp_path / "models"
    shutil.copytree(models_dir, private_models)
    meta = json.loads((private_models / "classifier.json").read_text())
    del meta["model_format"]  # as written before model formats were stamped
    (private_models / "classifier.json").write_text(json.dumps(meta))
    done = run(
        "triage", "--json", "SELinux is set to enforcing", env={"TRIAGEBOT_MODELS": str(private_models)}
    )
    assert done.returncode == 0
    assert "saved in format 0" in done.stderr.decode() and "training now" in done.stderr.decode()
    assert json.loads((private_models / "classifier.json").read_text())["model_format"] >= 1


def test_eval_reports_metrics(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    items = [
        {
            "subject": "",
            "body": "SELinux is set to enforcing. There are two options:",
            "labels": ["selinux"],
            "details": {"version": None, "os": None, "hypervisor": None, "specifics": True},
        },
        {
            "subject": "[ANNOUNCE]",
            "body": "Apache CloudStack 4.19.1.0 released",
            "labels": [],
            "details": {"version": "4.19.1.0", "os": None, "hypervisor": None, "specifics": False},
        },
    ]
    (tmp_path / "dev.jsonl").write_text("\n".join(json.dumps(i) for i in items) + "\n", encoding="utf-8")
    done = run("eval", "dev.jsonl", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["items"] == 2 and report["in_scope"] == 1
    assert report["top1"] == 1.0 and report["abstention"] == 1.0
    assert report["detail_presence"]["version"] == 1.0
    assert report["sweep"] and {"threshold", "top1", "precision", "abstention"} <= set(report["sweep"][0])


def test_eval_rejects_a_malformed_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "dev.jsonl").write_text('{"body": "x"}\n', encoding="utf-8")
    done = run("eval", "dev.jsonl")
    assert done.returncode == 2
    assert "dev.jsonl:1" in done.stderr.decode()
