"""Store fixtures: the private PostgreSQL server and a database per test on SQLite and on PostgreSQL.

The tests use the real engine of tests/conftest.py (trained once per session)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pg import PgServer, PgUnavailable, start_server
from triagebot.core.classify import TrainedModel
from triagebot.modelstore import ModelMeta
from triagebot.store import Store, open_store


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The private PostgreSQL server (or the one TRIAGEBOT_TEST_PG_URL names); fails loudly if absent."""
    try:
        server = start_server()
    except PgUnavailable as exc:
        pytest.fail(f"PostgreSQL is required and could not be started: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server: PgServer) -> str:
    """URL of one PostgreSQL database for the whole session."""
    return pg_server.fresh_database()


@pytest.fixture(params=["sqlite", "postgres"])
def make_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], str]:
    """Makes empty databases for one test, on SQLite and on PostgreSQL in turn."""
    if request.param == "sqlite":
        return lambda: f"sqlite:///{tmp_path_factory.mktemp('db')}/triagebot.sqlite3"
    server: PgServer = request.getfixturevalue("pg_server")
    return server.fresh_database


@pytest.fixture
def db_url(make_db_url: Callable[[], str]) -> str:
    """An empty database for one test, on SQLite and on PostgreSQL in turn."""
    return make_db_url()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """The store on the test's database, migrated to head."""
    opened = open_store(db_url)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def saved_models(models_dir: Path, trained: tuple[TrainedModel, ModelMeta]) -> Path:
    """The session's models directory once the real model is saved there: child processes load it."""
    return models_dir
