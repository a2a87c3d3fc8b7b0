"""Global options are accepted after the command too, and the new path flags reach the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from triagebot.cli import cli, hoist_global_options


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["ingest", "a.mbox", "--db", "U"], ["--db", "U", "ingest", "a.mbox"]),
        (["queue", "show", "3", "--kb=k", "--json"], ["--kb=k", "queue", "show", "3", "--json"]),
        (["--db", "queue", "queue", "--models", "m"], ["--db", "queue", "--models", "m", "queue"]),
        (["triage", "--", "--db", "x"], ["triage", "--", "--db", "x"]),
        (["triage", "--templates", "t", "text"], ["--templates", "t", "triage", "text"]),
        (["--help"], ["--help"]),
    ],
)
def test_global_options_after_the_command_move_in_front(given: list[str], expected: list[str]) -> None:
    assert hoist_global_options(given, {"ingest", "queue", "triage"}) == expected


def test_templates_and_models_flags_are_used(tmp_path: Path) -> None:
    empty = tmp_path / "no-templates"
    empty.mkdir()
    result = CliRunner().invoke(
        cli, ["triage", "SELinux is enforcing", "--templates", str(tmp_path / "absent")]
    )
    assert result.exit_code == 1
    assert result.stderr == f"triagebot: template directory not found: {tmp_path / 'absent'}\n"
    trained = CliRunner().invoke(cli, ["--models", str(tmp_path / "models"), "train", "--json"])
    assert trained.exit_code == 0, trained.output
    assert sorted(p.name for p in (tmp_path / "models").iterdir())


def test_a_library_logging_the_interrupt_adds_no_traceback() -> None:
    """Ctrl-C can land while a library (SQLAlchemy's pool, say) logs what it caught: only that record goes."""
    import logging
    import sys

    from triagebot.cli import drop_interrupt_tracebacks

    def record_of(exc: BaseException) -> logging.LogRecord:
        try:
            raise exc
        except BaseException:
            return logging.LogRecord(
                "sqlalchemy.pool", logging.ERROR, "x", 1, "reset failed", None, sys.exc_info()
            )

    assert drop_interrupt_tracebacks(record_of(KeyboardInterrupt())) is False
    assert drop_interrupt_tracebacks(record_of(ValueError("a real problem"))) is True
    plain = logging.LogRecord("triagebot.pipeline", logging.WARNING, "x", 1, "retrying", None, None)
    assert drop_interrupt_tracebacks(plain) is True
