"""`triagebot user`: accounts from the command line, with clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from triagebot.cli import cli
from triagebot.store import accounts, open_store
from triagebot.store.views import UserRole
from triagebot.web.security import verify_password


def _run(db: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", db, *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_add_with_password_from_stdin(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/cli.sqlite3"
    code, out, _ = _run(
        db, "user", "add", "hana", "--role", "admin", "--password-stdin", stdin="s3cret-pass\n"
    )
    assert code == 0 and "added hana (admin)" in out and "s3cret-pass" not in out
    store = open_store(db)
    try:
        user = accounts.find_user(store, "hana")
        assert user is not None and user.role is UserRole.ADMIN
        assert accounts.log_in(store, "hana", "s3cret-pass", verify_password).account is not None
        assert accounts.log_in(store, "hana", "wrong-pass", verify_password).account is None
        assert [r.action for r in accounts.audit_rows(store, accounts.AuditQuery(action="user-add"))] == [
            "user-add"
        ]
    finally:
        store.close()


def test_bad_input_is_one_line_and_loses_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/cli.sqlite3"
    assert _run(db, "user", "add", "taro", "--password-stdin", stdin="long-enough-1\n")[0] == 0
    code, _, err = _run(db, "user", "add", "taro", "--password-stdin", stdin="another-pass-2\n")
    assert code == 1 and err.strip() == "triagebot: a user named 'taro' already exists"
    code, _, err = _run(db, "user", "add", "jiro", "--password-stdin", stdin="short\n")
    assert code == 2 and "at least 8 characters" in err and "Traceback" not in err
    code, _, err = _run(db, "user", "add", "x y", "--password-stdin", stdin="long-enough-3\n")
    assert code == 1 and "without spaces" in err
    code, out, _ = _run(db, "user", "list")
    assert out.splitlines() == ["taro\tmoderator"]
    store = open_store(db)
    try:  # the first password still works
        assert accounts.log_in(store, "taro", "long-enough-1", verify_password).account is not None
    finally:
        store.close()


def test_generate_and_replace_for_the_demo_account(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/cli.sqlite3"
    code, out, _ = _run(db, "user", "add", "demo", "--generate", "--replace")
    assert code == 0 and out.startswith("added demo (moderator)")
    first = out.split("password: ")[1].strip()
    code, out, _ = _run(db, "user", "add", "demo", "--generate", "--replace")
    second = out.split("password: ")[1].strip()
    assert code == 0 and "password replaced" in out and second != first
    store = open_store(db)
    try:
        assert accounts.log_in(store, "demo", first, verify_password).account is None
        assert accounts.log_in(store, "demo", second, verify_password).account is not None
    finally:
        store.close()
