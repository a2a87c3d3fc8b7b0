"""The queue queries behind the pages on SQLite and on PostgreSQL: filters, bands, sorts, counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.store.conftest import make_db_url, pg_server  # noqa: F401  (fixtures)
from tests.store.engine_stub import StubEngine
from tests.store.factories import record
from triagebot.core.models import Detail, Language
from triagebot.pipeline import ingest
from triagebot.review import reject
from triagebot.store import ReviewStatus, Store, browse, open_store


@pytest.fixture
def db(make_db_url: Callable[[], str]) -> Iterator[Store]:  # noqa: F811
    opened = open_store(make_db_url())
    yield opened
    opened.close()


def _fill(store: Store) -> dict[str, int]:
    ingest(
        [
            record("a@x", "Access denied", "setup says access denied for root", minute=0),  # db-access 0.9
            record("s@x", "SELinux", "SELinux blocks it on Rocky Linux 8 with 4.18", minute=1),  # 0.8
            record("k@x", "KVM host", "cloudstack-agent will not connect", minute=2),  # 0.7
            record("v@x", "SSVM", "ssvm は起動しません", "Taro <t@example.jp>", minute=3),  # 0.6, Japanese
            record("n@x", "Hello", "nothing to match here", minute=4),  # no tip
            record("r@x", "Re: Hello", "try again", "Helper <h@example.org>", in_reply_to="n@x", minute=5),
        ],
        store,
        StubEngine(),
    )
    ids = {key: store.review_id_for(f"{key}@x") for key in "askvn"}
    return {k: v for k, v in ids.items() if v is not None}


def _ids(store: Store, **filters: object) -> list[int]:
    return [line.id for line in browse.queue_page(store, browse.QueueQuery(**filters)).lines]  # type: ignore[arg-type]


def test_queue_filters_on_both_databases(db: Store) -> None:
    ids = _fill(db)
    assert len(ids) == 5
    assert _ids(db) == [ids[k] for k in "askvn"]
    assert _ids(db, band=browse.ScoreBand.HIGH) == [ids["a"], ids["s"]]
    assert _ids(db, band=browse.ScoreBand.MID) == [ids["k"], ids["v"]]
    assert _ids(db, band=browse.ScoreBand.NONE) == [ids["n"]]
    assert _ids(db, band=browse.ScoreBand.LOW) == []
    assert _ids(db, language=Language.JA) == [ids["v"]]
    assert _ids(db, answered=True) == [ids["n"]]
    assert _ids(db, tip="selinux") == [ids["s"]]
    assert ids["s"] not in _ids(db, missing=Detail.VERSION)
    assert _ids(db, sort=browse.QueueSort.SCORE) == [ids[k] for k in "askvn"]
    assert _ids(db, sort=browse.QueueSort.NEWEST) == [ids[k] for k in "nvksa"]
    assert _ids(db, page_size=2, page=3) == [ids["n"]]


def test_counts_per_status_follow_the_other_filters(db: Store) -> None:
    ids = _fill(db)
    reject(db, ids["a"], "duplicate", actor="mod")
    page = browse.queue_page(db, browse.QueueQuery(status=None))
    assert page.by_status[ReviewStatus.PENDING] == 4 and page.by_status[ReviewStatus.REJECTED] == 1
    assert page.total == 5
    english = browse.queue_page(db, browse.QueueQuery(language=Language.EN))
    assert english.by_status[ReviewStatus.PENDING] == 3 and english.total == 3
    assert browse.neighbours(db, ids["s"]) == (None, ids["k"])
