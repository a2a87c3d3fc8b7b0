"""Ingest fixtures: the store tests' databases (SQLite and PostgreSQL in turn) for readers that go into the store."""

from __future__ import annotations

from tests.store.conftest import db_url, make_db_url, pg_server, store

__all__ = ["db_url", "make_db_url", "pg_server", "store"]
