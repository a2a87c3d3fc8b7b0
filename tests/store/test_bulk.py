"""Bulk INSERT … RETURNING: the same rows stored and the same ids returned on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triagebot.store import Store, bulk
from triagebot.store.bulk import insert_returning
from triagebot.store.tables import MESSAGES, SOURCES, THREADS

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOKYO = timezone(timedelta(hours=9))


def _thread(root: str, source_id: int, started: datetime | None) -> dict[str, object]:
    return {
        "source_id": source_id,
        "root_message_id": root,
        "subject": f"subject of {root}",
        "subject_key": root,
        "asker": "asker@example.org",
        "is_question": True,
        "answered": False,
        "message_count": 1,
        "started_at": started,
        "last_at": started,
        "created_at": NOW,
        "updated_at": NOW,
    }


def _message(message_id: str, thread_id: int, source_id: int, sent: datetime | None) -> dict[str, object]:
    return {
        "message_id": message_id,
        "thread_id": thread_id,
        "source_id": source_id,
        "author": "Tarō <taro@example.jp>",
        "from_asker": True,
        "subject": "SELinux が enforcing です",
        "sent_at": sent,
        "in_reply_to": None,
        "references": ["a@example.org", "b@example.org"],
        "text": "本文\nline two",
        "original": "",
        "raw": b"\x00\x1b$B raw bytes \xff",
        "origin": "archive.mbox:1",
        "is_question": True,
        "thread_key": None,
        "is_bot": False,
        "triage_state": "untriaged",
        "claimed_by": None,
        "claimed_at": None,
        "created_at": NOW,
    }


def test_rows_go_in_with_their_types_and_conflicts_are_skipped(store: Store) -> None:
    with Session(store.write_engine) as session, session.begin():
        (source_id,) = session.execute(
            SOURCES.insert().values(kind="mbox", location="x", created_at=NOW).returning(SOURCES.c.id)
        ).one()
        threads = insert_returning(
            session,
            THREADS,
            [
                _thread("t1", source_id, datetime(2026, 3, 1, 21, 0, tzinfo=TOKYO)),
                _thread("t2", source_id, None),
            ],
            ("id", "root_message_id"),
        )
        thread_ids = {root: tid for tid, root in threads}
        assert set(thread_ids) == {"t1", "t2"}
        first = insert_returning(
            session,
            MESSAGES,
            [
                _message("m1", thread_ids["t1"], source_id, datetime(2026, 3, 1, 12, 0)),  # naive: UTC
                _message("m2", thread_ids["t2"], source_id, None),
            ],
            ("id", "message_id"),
            skip_conflicts_on="message_id",
        )
        again = insert_returning(
            session,
            MESSAGES,
            [
                _message("m2", thread_ids["t2"], source_id, None),  # already stored: skipped
                _message("m3", thread_ids["t2"], source_id, datetime(2026, 3, 2, 9, 0, tzinfo=TOKYO)),
            ],
            ("id", "message_id"),
            skip_conflicts_on="message_id",
        )
        assert insert_returning(session, MESSAGES, [], ("id",)) == []
    assert sorted(mid for _, mid in first) == ["m1", "m2"]
    assert [mid for _, mid in again] == ["m3"]
    ids = {mid: pk for pk, mid in [*first, *again]}
    with Session(store.engine) as session:
        stored = {row.message_id: row for row in session.execute(select(MESSAGES))}
        started = dict(session.execute(select(THREADS.c.root_message_id, THREADS.c.started_at)).all())
    assert {mid: row.id for mid, row in stored.items()} == ids
    m1, m3 = stored["m1"], stored["m3"]
    assert m1.sent_at == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert m3.sent_at == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    assert stored["m2"].sent_at is None
    assert m1.references == ["a@example.org", "b@example.org"]
    assert bytes(m1.raw) == b"\x00\x1b$B raw bytes \xff"
    assert (m1.author, m1.subject, m1.text) == (
        "Tarō <taro@example.jp>",
        "SELinux が enforcing です",
        "本文\nline two",
    )
    assert m1.in_reply_to is None and m1.is_bot is False and m1.from_asker is True
    assert started["t1"] == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert started["t2"] is None


def test_sqlite_splits_rows_into_pages_the_variable_limit_allows(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []

    def thirty(connection: object) -> int:  # 12 columns a thread row: two rows a page
        calls.append(connection)
        return 30

    monkeypatch.setattr(bulk, "_variable_limit", thirty)
    with Session(store.write_engine) as session, session.begin():
        (source_id,) = session.execute(
            SOURCES.insert().values(kind="mbox", location="x", created_at=NOW).returning(SOURCES.c.id)
        ).one()
        rows = [_thread(f"t{i}", source_id, NOW) for i in range(5)]
        returned = insert_returning(session, THREADS, rows, ("root_message_id",))
    assert sorted(root for (root,) in returned) == [f"t{i}" for i in range(5)]
    assert len(calls) == (1 if store.dialect == "sqlite" else 0)
    with Session(store.engine) as session:
        assert session.execute(select(func.count()).select_from(THREADS)).scalar_one() == 5
