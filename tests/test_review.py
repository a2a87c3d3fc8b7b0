"""The review service with the real engine on SQLite: drafts, follow-ups, summaries and progress."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.factories import record
from triagebot.app import Engine
from triagebot.core.models import Detail, Language
from triagebot.errors import InputError
from triagebot.ingest.records import MailRecord, ReadProblem
from triagebot.review import IngestSummary, TriageEngine, approve, ingest, show, work
from triagebot.store import ReviewStatus, Store, TriageState, open_store

ACCESS_DENIED = (
    "Running cloudstack-setup-databases cloud:pw@localhost --deploy-as=root:secret fails with "
    "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)"
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/review.sqlite3")
    yield opened
    opened.close()


def test_the_real_engine_fits_the_protocol(engine: Engine) -> None:
    used: TriageEngine = engine  # mypy checks the shape; here we check it works
    assert used.model_version and used.triage_batch([]) == []


def test_question_and_follow_up_with_the_real_engine(store: Store, engine: Engine) -> None:
    ingest([record("q@x", "Install fails", ACCESS_DENIED)], store, engine)
    item = store.review_id_for("q@x")
    assert item is not None
    first = show(store, item)
    assert first.status is ReviewStatus.PENDING and first.language is Language.EN
    assert [t.tip_id for t in first.tips][:1] == ["setup-databases"] and first.tips[0].evidence
    assert Detail.VERSION in first.missing and first.model_version == engine.model_version

    summary = ingest(
        [
            record(
                "f@x",
                "Re: Install fails",
                "We use CloudStack 4.18.1.0 on Rocky Linux 8.8 with KVM.",
                in_reply_to="q@x",
            )
        ],
        store,
        engine,
    )
    second = show(store, item)
    assert (summary.triaged, summary.drafted, summary.updated) == (1, 0, 1)
    assert second.id == first.id and store.row_counts()["review_items"] == 1
    assert second.missing == () and "4.18.1.0" in second.question
    assert second.draft_text != first.draft_text


def test_japanese_question_gets_a_japanese_draft(store: Store, engine: Engine) -> None:
    text = (
        "cloudstack-setup-databases を実行すると " + ACCESS_DENIED.split("fails with ")[1] + " になります。"
    )
    ingest([record("ja@x", "セットアップで失敗します", text, "Taro <taro@example.jp>")], store, engine)
    view = show(store, store.review_id_for("ja@x") or -1)
    assert view.language is Language.JA and "setup-databases" in [t.tip_id for t in view.tips]
    assert any("\u3040" <= ch <= "\u30ff" for ch in view.draft_text)


def test_deferred_triage_by_a_worker_with_the_real_engine(store: Store, engine: Engine) -> None:
    ingest([record("q@x", "Install fails", ACCESS_DENIED)], store, None)
    assert store.message("q@x").triage_state is TriageState.UNTRIAGED  # type: ignore[union-attr]
    done = work(store, engine, "w1", until_empty=True)
    assert (done.triaged, done.drafted) == (1, 1)
    view = approve(store, store.review_id_for("q@x") or -1, actor="mod")
    assert view.final_text == view.draft_text and view.draft_text


def test_summary_counts_and_progress_without_an_engine(store: Store) -> None:
    seen: list[IngestSummary] = []
    items: list[MailRecord | ReadProblem] = [
        record("a@x", "Q1", "one"),
        ReadProblem("archive.mbox#2", "truncated message"),
        record("b@x", "Q2", "two"),
        record("a@x", "Q1", "one"),
        record("c@x", "Re: Q1", "answer", "Bob <bob@example.org>", in_reply_to="a@x"),
    ]
    summary = ingest(items, store, None, batch_size=2, progress=seen.append)
    assert (summary.read, summary.new, summary.duplicates, summary.skipped) == (5, 3, 1, 1)
    assert summary.read == summary.new + summary.duplicates + summary.skipped
    assert summary.errors == (("archive.mbox#2", "truncated message"),)
    assert summary.triaged == 0 and store.untriaged() == 2
    assert [s.new for s in seen] == [2, 3] and seen[-1] == summary


def test_bad_batch_sizes_are_refused(store: Store) -> None:
    with pytest.raises(InputError):
        ingest([], store, None, batch_size=0)
