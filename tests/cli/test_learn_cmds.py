"""`triagebot learn` and `eval --archive`: clear messages instead of tracebacks for what cannot be done."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from triagebot.cli import cli
from triagebot.store import open_store


def test_learn_needs_report_and_decisions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    open_store(url).close()  # an empty, current database
    runner = CliRunner()
    bare = runner.invoke(cli, ["--db", url, "learn"])
    assert bare.exit_code == 2 and "learn --report" in bare.output
    empty = runner.invoke(cli, ["--db", url, "learn", "--report"])
    assert empty.exit_code == 1 and "no moderator decisions" in empty.output
    assert "Traceback" not in empty.output


def test_eval_archive_takes_no_file_and_a_missing_database_is_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    both = runner.invoke(cli, ["eval", "--archive", str(tmp_path / "x.jsonl")])
    assert both.exit_code == 2 and "no FILE" in both.output
    neither = runner.invoke(cli, ["eval"])
    assert neither.exit_code == 2 and "--archive" in neither.output
    missing = runner.invoke(cli, ["--db", f"sqlite:///{tmp_path / 'none.sqlite3'}", "eval", "--archive"])
    assert missing.exit_code == 1 and missing.output.count("\n") == 1
    assert not (tmp_path / "none.sqlite3").exists()


def test_eval_archive_on_an_empty_database_reports_nothing_readable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    open_store(url).close()
    result = CliRunner().invoke(cli, ["--db", url, "eval", "--archive"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("0 answered threads; 0 answers apply a tip")
