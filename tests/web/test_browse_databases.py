"""The queue queries behind the pages on SQLite and on PostgreSQL: filters, bands, sorts, counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.store.conftest import make_db_url, pg_server  # noqa: F401  (fixtures)
from tests.store.factories import record
from triagebot.app import Engine
from triagebot.core.models import Detail, Language
from triagebot.pipeline import ingest
from triagebot.review import reject, show
from triagebot.store import ReviewStatus, Store, browse, open_store


@pytest.fixture
def db(make_db_url: Callable[[], str]) -> Iterator[Store]:  # noqa: F811
    opened = open_store(make_db_url())
    yield opened
    opened.close()


def _fill(store: Store, engine: Engine) -> dict[str, int]:
    ingest(
        [
            record(
                "a@x",
                "cloudstack-setup-databases fails",
                "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)",
                minute=0,
            ),
            record("s@x", "SELinux", "SELinux is set to enforcing on Rocky Linux 8 with 4.18", minute=1),
            record("k@x", "KVM host", "cloudstack-agent will not connect", minute=2),
            record("v@x", "SSVM", "ssvm は起動しません", "Taro <t@example.jp>", minute=3),  # Japanese
            record("n@x", "Hello", "what colour should the dashboard be", minute=4),  # no tip
            record("r@x", "Re: Hello", "try again", "Helper <h@example.org>", in_reply_to="n@x", minute=5),
        ],
        store,
        engine,
    )
    ids = {key: store.review_id_for(f"{key}@x") for key in "askvn"}
    return {k: v for k, v in ids.items() if v is not None}


def _top(store: Store, item_id: int) -> float | None:
    """The best tip's score as the real engine stored it (None when it suggested none)."""
    tips = show(store, item_id).tips
    return max(t.score for t in tips) if tips else None


def _band(score: float | None) -> browse.ScoreBand:
    if score is None:
        return browse.ScoreBand.NONE
    if score >= browse.HIGH_SCORE:
        return browse.ScoreBand.HIGH
    return browse.ScoreBand.MID if score >= browse.MID_SCORE else browse.ScoreBand.LOW


def _ids(store: Store, **filters: object) -> list[int]:
    return [line.id for line in browse.queue_page(store, browse.QueueQuery(**filters)).lines]  # type: ignore[arg-type]


def test_queue_filters_on_both_databases(db: Store, engine: Engine) -> None:
    ids = _fill(db, engine)
    assert len(ids) == 5
    assert _ids(db) == [ids[k] for k in "askvn"]
    top = {k: _top(db, ids[k]) for k in "askvn"}
    bands = {k: _band(score) for k, score in top.items()}
    # the exact error strings make the real engine sure; the off-topic question gets no tip
    assert bands["a"] is browse.ScoreBand.HIGH and bands["s"] is browse.ScoreBand.HIGH, top
    assert bands["n"] is browse.ScoreBand.NONE, top
    for band in browse.ScoreBand:
        assert _ids(db, band=band) == [ids[k] for k in "askvn" if bands[k] is band], (band, top)
    assert _ids(db, language=Language.JA) == [ids["v"]]
    assert _ids(db, answered=True) == [ids["n"]]
    assert _ids(db, tip="selinux") == [ids["s"]]
    assert ids["s"] not in _ids(db, missing=Detail.VERSION)
    by_score = sorted("askvn", key=lambda k: (-(top[k] if top[k] is not None else -1.0), ids[k]))
    assert _ids(db, sort=browse.QueueSort.SCORE) == [ids[k] for k in by_score]
    assert _ids(db, sort=browse.QueueSort.NEWEST) == [ids[k] for k in "nvksa"]
    assert _ids(db, page_size=2, page=3) == [ids["n"]]


def test_counts_per_status_follow_the_other_filters(db: Store, engine: Engine) -> None:
    ids = _fill(db, engine)
    reject(db, ids["a"], "duplicate", actor="mod")
    page = browse.queue_page(db, browse.QueueQuery(status=None))
    assert page.by_status[ReviewStatus.PENDING] == 4 and page.by_status[ReviewStatus.REJECTED] == 1
    assert page.total == 5
    english = browse.queue_page(db, browse.QueueQuery(language=Language.EN))
    assert english.by_status[ReviewStatus.PENDING] == 3 and english.total == 3
    assert browse.neighbours(db, ids["s"]) == (None, ids["k"])
