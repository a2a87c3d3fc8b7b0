"""Alembic environment: migrate the connection handed over in `config.attributes`, or open the URL.

On PostgreSQL a transaction-scoped advisory lock makes concurrent upgrades (two workers starting at
once) wait for each other instead of racing to create the same tables; on SQLite the store's write
connection starts its transaction with BEGIN IMMEDIATE, which serialises them the same way.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from triagebot.errors import StoreError
from triagebot.store.tables import Base

MIGRATION_LOCK = 72_656_421  # any constant shared by every triagebot process


def _migrate(connection: Connection) -> None:
    """Run the pending migrations on `connection` inside one transaction."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # SQLite's DDL is transactional, but Alembic assumes not and would commit after each migration,
        # letting another process run the next one in between: one transaction for the whole upgrade.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()


def _run_online() -> None:
    """Migrate the given connection, or one opened from `sqlalchemy.url`."""
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _migrate(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise StoreError("no connection and no sqlalchemy.url given to the migration environment")
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as opened:
        _migrate(opened)


def _run_offline() -> None:
    """Print the SQL for the pending migrations instead of running it."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
