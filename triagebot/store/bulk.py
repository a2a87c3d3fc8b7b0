"""Insert many rows and read back what was inserted, with as little work per row as the driver allows.

SQLAlchemy's INSERT … RETURNING for many rows writes one VALUES list per page of rows and runs every
value through its parameter machinery. On PostgreSQL that statement is so long that the driver cannot
cache it and parses it again for every page, which cost most of what storing a batch did. There the
rows go instead as one array per column: `INSERT … SELECT * FROM unnest(CAST(:c0 AS type[]), …)`, a
statement of fixed length whatever the number of rows. On SQLite the multi-row VALUES statement is
written here and handed to the driver as it is. Either way each value goes through its column's own
bind processing first (UTC timestamps, JSON, booleans), exactly as SQLAlchemy would send it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Table, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

_Processor = Callable[[Any], Any]
SQLITE_OLDEST_LIMIT = 999  # `?` per statement in SQLite before 3.32 (later: 32,766, or as compiled)


def insert_returning(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    returning: Sequence[str],
    *,
    skip_conflicts_on: str | None = None,
) -> list[tuple[Any, ...]]:
    """Insert `rows` (all with the same keys) into `table`; the `returning` columns of each row inserted.

    With `skip_conflicts_on` a row whose value in that unique column is already stored is skipped
    (ON CONFLICT DO NOTHING) and returns nothing. Rows come back in no particular order.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect
    names = tuple(rows[0])
    processors = _processors(table, names, dialect)
    if dialect.name != "postgresql":  # SQLite, the only other database the store runs on
        returned = tuple(returning)
        return _values_insert(session, table, rows, names, processors, returned, skip_conflicts_on, dialect)
    sql = _unnest_statement(table, names, tuple(returning), skip_conflicts_on, dialect)
    params = {
        f"c{i}": [process(row[name]) if process else row[name] for row in rows]
        for i, (name, process) in enumerate(zip(names, processors, strict=True))
    }
    return [tuple(row) for row in session.execute(text(sql), params)]


def _values_insert(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    names: tuple[str, ...],
    processors: tuple[_Processor | None, ...],
    returning: tuple[str, ...],
    conflict: str | None,
    dialect: Dialect,
) -> list[tuple[Any, ...]]:
    """SQLite: one multi-row VALUES statement per page of rows, sent to the driver as it is."""
    into, tail = _clauses(table, names, returning, conflict, dialect)
    group = "(" + ", ".join("?" * len(names)) + ")"
    connection = session.connection()
    page = max(1, _variable_limit(connection.connection.dbapi_connection) // len(names))
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), page):
        part = rows[start : start + page]
        values = [
            process(row[name]) if process else row[name]
            for row in part
            for name, process in zip(names, processors, strict=True)
        ]
        sql = f"{into} VALUES {', '.join([group] * len(part))}{tail}"
        found.extend(tuple(row) for row in connection.exec_driver_sql(sql, tuple(values)))
    return found


def _variable_limit(dbapi_connection: Any) -> int:
    """How many `?` one SQLite statement may hold on this connection."""
    try:
        return int(dbapi_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except (AttributeError, sqlite3.Error):  # a driver without getlimit: SQLite's oldest default
        return SQLITE_OLDEST_LIMIT


@lru_cache(maxsize=64)
def _processors(table: Table, names: tuple[str, ...], dialect: Dialect) -> tuple[_Processor | None, ...]:
    """Each column's bind processing for this database (UTC timestamps, JSON, booleans)."""
    return tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)


@lru_cache(maxsize=64)
def _clauses(
    table: Table, names: tuple[str, ...], returning: tuple[str, ...], conflict: str | None, dialect: Dialect
) -> tuple[str, str]:
    """`INSERT INTO table (columns)` and what follows the rows: ON CONFLICT (if any) and RETURNING."""
    preparer = dialect.identifier_preparer
    quoted = ", ".join(preparer.quote(name) for name in names)
    tail = f" ON CONFLICT ({preparer.quote(conflict)}) DO NOTHING" if conflict else ""
    tail += " RETURNING " + ", ".join(preparer.quote(name) for name in returning)
    return f"INSERT INTO {preparer.format_table(table)} ({quoted})", tail


@lru_cache(maxsize=64)
def _unnest_statement(
    table: Table, names: tuple[str, ...], returning: tuple[str, ...], conflict: str | None, dialect: Dialect
) -> str:
    """The PostgreSQL statement: the rows as one typed array per column."""
    into, tail = _clauses(table, names, returning, conflict, dialect)
    columns: list[Column[Any]] = [table.c[name] for name in names]
    arrays = ", ".join(f"CAST(:c{i} AS {c.type.compile(dialect=dialect)}[])" for i, c in enumerate(columns))
    return f"{into} SELECT * FROM unnest({arrays}){tail}"
