"""Chat fixtures: a hand-moved clock, a store on SQLite and PostgreSQL, fakes at our ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

import pytest

from tests.store.conftest import make_db_url, pg_server  # noqa: F401 - the shared database fixtures
from triagebot.chat.ports import ChatTarget
from triagebot.errors import ChatDeliveryError
from triagebot.store import ReviewView, Store, open_store

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class FakePoster:
    """Records posts; `refuse` holds the errors to raise, one per call, before posting works again."""

    def __init__(self) -> None:
        self.posts: list[tuple[ChatTarget, tuple[str, ...]]] = []
        self.refuse: list[ChatDeliveryError] = []

    def post(self, target: ChatTarget, parts: Sequence[str]) -> str:
        if self.refuse:
            raise self.refuse.pop(0)
        self.posts.append((target, tuple(parts)))
        return f"post-{len(self.posts)}"


class FakeBoard:
    """Records the cards shown: (post id it was asked to update, the view)."""

    def __init__(self) -> None:
        self.shown: list[tuple[str | None, ReviewView]] = []
        self.refuse: list[ChatDeliveryError] = []

    def show(self, view: ReviewView, post_id: str | None) -> str:
        if self.refuse:
            raise self.refuse.pop(0)
        self.shown.append((post_id, view))
        return post_id or f"card-{len(self.shown)}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(make_db_url: Callable[[], str], clock: Clock) -> Iterator[Store]:  # noqa: F811 - imported fixture
    opened = open_store(make_db_url(), clock=clock)
    yield opened
    opened.close()
