"""Migration 0003 on a database that already has data: up, down and up again keeps the old rows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from tests.store.factories import record
from triagebot.app import Engine
from triagebot.pipeline import ingest
from triagebot.store import open_store
from triagebot.store.schema import current_revision, upgrade


def test_upgrade_from_0002b_keeps_rows_and_downgrade_undoes_it(db_url: str, engine: Engine) -> None:
    from alembic import command

    from triagebot.store.schema import alembic_config

    store = open_store(db_url, migrate=False)
    try:
        upgrade(store.write_engine, "0002b")
        assert current_revision(store.engine) == "0002b"
        assert "outbox" not in inspect(store.engine).get_table_names()
        upgrade(store.write_engine, "head")
        ingest([record("q@x", "SELinux", "SELinux is enforcing")], store, engine)
        with store.write_engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO audit_log (actor, note, at, action) VALUES ('admin', 'no thread', :at, 'login')"
                ),
                {"at": datetime(2026, 1, 1, tzinfo=UTC)},
            )
        with store.write_engine.connect() as connection:
            command.downgrade(alembic_config(connection), "0002b")
            connection.commit()
        assert current_revision(store.engine) == "0002b"
        tables = inspect(store.engine).get_table_names()
        assert "outbox" not in tables and "users" not in tables
        assert "action" not in {c["name"] for c in inspect(store.engine).get_columns("audit_log")}
        upgrade(store.write_engine, "head")
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM review_items")).scalar() == 1
            assert connection.execute(text("SELECT escalated, relabelled FROM review_items")).one() == (
                False,
                False,
            )
            # the ingest's audit rows survived; the thread-less one could not stay under 0002b's NOT NULL
            assert (
                connection.execute(text("SELECT count(*) FROM audit_log WHERE thread_id IS NULL")).scalar()
                == 0
            )
            assert connection.execute(text("SELECT count(*) FROM audit_log")).scalar() >= 1
    finally:
        store.close()
