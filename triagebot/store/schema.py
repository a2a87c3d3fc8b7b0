"""Bring a database to the current schema by running the Alembic migrations from code (no alembic.ini)."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
# Alembic's `context` and `op` are process-wide proxies, so two threads must never run an upgrade at once;
# other processes are kept apart by the database (see migrations/env.py).
_UPGRADING = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations, bound to `connection` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest migration shipped with this version of triagebot."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration; safe to call from several threads and processes at once."""
    with _UPGRADING, engine.connect() as connection:
        command.upgrade(alembic_config(connection), revision)
        if connection.in_transaction():
            connection.commit()


def ensure_current(engine: Engine, write_engine: Engine) -> None:
    """Upgrade only when the database is behind: the usual case, already at head, needs one query."""
    if current_revision(engine) != head_revision():
        upgrade(write_engine)
