"""Insert many rows and read back what was inserted, in one short statement per batch on PostgreSQL.

SQLAlchemy's INSERT … RETURNING for many rows writes one VALUES list per page of rows. On PostgreSQL
that statement is so long that the driver cannot cache it and parses it again for every page, which
cost most of what storing a batch did. There the rows go instead as one array per column:
`INSERT … SELECT * FROM unnest(CAST(:c0 AS type[]), …)`, a statement of fixed length whatever
the number of rows. Values go through each column's own bind processing first (UTC timestamps, JSON),
exactly as SQLAlchemy would send them. SQLite keeps SQLAlchemy's own statement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Table, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


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
    if dialect.name != "postgresql":  # SQLite, the only other database the store runs on
        stmt = sqlite.insert(table)
        if skip_conflicts_on:
            stmt = stmt.on_conflict_do_nothing(index_elements=[skip_conflicts_on])
        result = session.execute(stmt.returning(*(table.c[name] for name in returning)), list(rows))
        return [tuple(row) for row in result]
    names = tuple(rows[0])
    sql, processors = _unnest_statement(table, names, tuple(returning), skip_conflicts_on, dialect)
    params = {
        f"c{i}": [process(row[name]) if process else row[name] for row in rows]
        for i, (name, process) in enumerate(zip(names, processors, strict=True))
    }
    return [tuple(row) for row in session.execute(text(sql), params)]


@lru_cache(maxsize=64)
def _unnest_statement(
    table: Table, names: tuple[str, ...], returning: tuple[str, ...], conflict: str | None, dialect: Dialect
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """The statement text and each column's bind processor, built once per table and column set."""
    preparer = dialect.identifier_preparer
    columns: list[Column[Any]] = [table.c[name] for name in names]
    arrays = ", ".join(f"CAST(:c{i} AS {c.type.compile(dialect=dialect)}[])" for i, c in enumerate(columns))
    quoted = ", ".join(preparer.quote(name) for name in names)
    sql = f"INSERT INTO {preparer.format_table(table)} ({quoted}) SELECT * FROM unnest({arrays})"
    if conflict:
        sql += f" ON CONFLICT ({preparer.quote(conflict)}) DO NOTHING"
    sql += " RETURNING " + ", ".join(preparer.quote(name) for name in returning)
    return sql, tuple(column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns)
