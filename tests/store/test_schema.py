"""Opening the store: migrations to head, tables that match the models, SQLite settings, clear errors."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from triagebot.errors import StoreError
from triagebot.store import Store, open_store
from triagebot.store.schema import current_revision, head_revision
from triagebot.store.tables import Base

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "sources",
    "threads",
    "messages",
    "triage_results",
    "review_items",
    "audit_log",
    "users",
    "outbox",
    "pending_parents",
    "chat_events",
    "chat_cards",
}


def test_open_store_migrates_to_head(store: Store) -> None:
    assert current_revision(store.engine) == head_revision() == "0007"
    assert set(inspect(store.engine).get_table_names()) >= TABLES


def test_migration_matches_the_models(store: Store) -> None:
    """A column added to tables.py without a migration (or the other way round) fails here."""
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_opening_twice_is_harmless(db_url: str) -> None:
    first = open_store(db_url)
    second = open_store(db_url)
    try:
        assert current_revision(second.engine) == head_revision()
        assert second.row_counts() == dict.fromkeys(second.row_counts(), 0)
    finally:
        first.close()
        second.close()


def test_sqlite_file_gets_its_directory_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "store.sqlite3"
    store = open_store(f"sqlite:///{path}")
    try:
        assert path.is_file()
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        store.close()
    # the journal mode is stored in the file itself
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_foreign_keys_are_enforced_on_sqlite(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/fk.sqlite3")
    try:
        with pytest.raises(StoreError), store.writing() as session:
            session.execute(
                Base.metadata.tables["messages"].insert(),
                [
                    {
                        "message_id": "x",
                        "thread_id": 999,
                        "source_id": 999,
                        "author": "",
                        "from_asker": True,
                        "subject": "",
                        "references": [],
                        "text": "",
                        "original": "",
                        "raw": b"",
                        "origin": "",
                        "is_question": True,
                        "triage_state": "untriaged",
                        "created_at": store.clock(),
                    }
                ],
            )
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("not a url", "not a database URL"),
        ("nosuchdb://x/y", "no database driver"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", "cannot prepare the database"),
    ],
)
def test_bad_urls_raise_store_error(url: str, fragment: str) -> None:
    with pytest.raises(StoreError, match=fragment):
        open_store(url)


def test_password_is_hidden_in_messages() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("postgresql+psycopg://bot:hunter2@127.0.0.1:1/none")
    assert "hunter2" not in str(caught.value)
    assert "***" in str(caught.value)


def test_processes_opening_a_new_database_at_once_do_not_collide(make_db_url: Callable[[], str]) -> None:
    """Several workers starting together on an empty database: one migrates, the others wait and see head."""
    url = make_db_url()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys; from triagebot.store import open_store; open_store(sys.argv[1]).close()"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    store = open_store(url)
    try:
        assert current_revision(store.engine) == head_revision()
    finally:
        store.close()


def test_threads_opening_a_new_database_at_once_do_not_collide(db_url: str) -> None:
    """Alembic keeps process-wide state: threads starting together must take turns, not crash."""
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def open_it() -> None:
        try:
            start.wait()
            open_store(db_url).close()
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == [] and not any(t.is_alive() for t in threads)


def test_a_database_at_0001_upgrades_with_its_messages(db_url: str) -> None:
    from sqlalchemy import text

    from triagebot.store import make_engine
    from triagebot.store.schema import upgrade

    engine = make_engine(db_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as c:
            c.execute(
                text("INSERT INTO sources (kind, location, created_at) VALUES ('email', 'users', :t)"),
                {"t": "2024-03-01T00:00:00+00:00"},
            )
            c.execute(
                text(
                    "INSERT INTO threads (source_id, root_message_id, subject, subject_key, asker, is_question, "
                    "answered, message_count, created_at, updated_at) VALUES (1, 'q@x', 's', 's', 'a', true, false, 1, :t, :t)"
                ),
                {"t": "2024-03-01T00:00:00+00:00"},
            )
            c.execute(
                text(
                    'INSERT INTO messages (message_id, thread_id, source_id, author, from_asker, subject, "references", '
                    "text, original, raw, origin, is_question, triage_state, created_at) VALUES "
                    "('q@x', 1, 1, 'a', true, 's', '[]', 't', 't', :raw, 'x', true, 'untriaged', :t)"
                ),
                {"t": "2024-03-01T00:00:00+00:00", "raw": b"raw"},
            )
    finally:
        engine.dispose()
    store = open_store(db_url)
    try:
        assert current_revision(store.engine) == head_revision()
        with store.engine.connect() as c:
            row = c.execute(text("SELECT message_id, thread_key, is_bot FROM messages")).one()
        assert (row.message_id, row.thread_key, bool(row.is_bot)) == ("q@x", None, False)
    finally:
        store.close()


def test_slack_ids_gain_their_channel_in_0007_and_lose_it_on_downgrade(db_url: str) -> None:
    """A Slack ts is unique only per channel: ids stored before 0007 name their channel after it."""
    from alembic import command
    from sqlalchemy import text

    from triagebot.store import make_engine
    from triagebot.store.schema import alembic_config, upgrade

    def stored() -> tuple[list[tuple[object, ...]], list[object], list[object]]:
        with engine.connect() as c:
            messages = [
                tuple(r) for r in c.execute(text("SELECT message_id, thread_key FROM messages ORDER BY id"))
            ]
            roots = c.execute(text("SELECT root_message_id FROM threads ORDER BY id")).scalars().all()
            waits = c.execute(text("SELECT wanted FROM pending_parents")).scalars().all()
        return messages, list(roots), list(waits)

    at = {"t": "2024-03-01T00:00:00+00:00", "raw": b"raw"}
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0006")
        with engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO sources (kind, location, created_at) VALUES "
                    "('slack', 'C01HELP', :t), ('email', 'users', :t)"
                ),
                at,
            )
            c.execute(
                text(
                    "INSERT INTO threads (source_id, root_message_id, subject, subject_key, asker, is_question, "
                    "answered, message_count, created_at, updated_at) VALUES "
                    "(1, '1709600400.000100', 's', 's', 'a', true, true, 2, :t, :t), "
                    "(2, 'q@x', 's', 's', 'a', true, false, 1, :t, :t)"
                ),
                at,
            )
            c.execute(
                text(
                    'INSERT INTO messages (message_id, thread_id, source_id, author, from_asker, subject, "references", '
                    "text, original, raw, origin, is_question, thread_key, triage_state, created_at) VALUES "
                    "('1709600400.000100', 1, 1, 'a', true, 's', '[]', 't', 't', :raw, 'x', true, NULL, 'untriaged', :t), "
                    "('1709601600.000100', 1, 1, 'b', false, '', '[]', 't', 't', :raw, 'x', false, "
                    "'1709600400.000100', 'untriaged', :t), "
                    "('q@x', 2, 2, 'a', true, 's', '[]', 't', 't', :raw, 'x', true, NULL, 'untriaged', :t)"
                ),
                at,
            )
            c.execute(
                text("INSERT INTO pending_parents (wanted, message_pk) VALUES ('1709500000.000100', 2)")
            )
        before = stored()
        upgrade(engine)
        assert stored() == (
            [
                ("C01HELP/1709600400.000100", None),
                ("C01HELP/1709601600.000100", "C01HELP/1709600400.000100"),
                ("q@x", None),
            ],
            ["C01HELP/1709600400.000100", "q@x"],
            ["C01HELP/1709500000.000100"],
        )
        with engine.connect() as connection:
            command.downgrade(alembic_config(connection), "0006")
            connection.commit()
        assert stored() == before
    finally:
        engine.dispose()
