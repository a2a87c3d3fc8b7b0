"""Ingest through the store, on SQLite and PostgreSQL: counting, idempotency, threading, drafts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.store.doubles import Watched
from tests.store.dump import dump
from tests.store.factories import TOPICS, archive_records, record
from triagebot.app import Engine
from triagebot.core.models import Detail, InboundMessage
from triagebot.ingest.records import ReadProblem
from triagebot.pipeline import IngestSummary, ingest, work
from triagebot.review import approve, show
from triagebot.store import Placer, QueueFilter, ReviewStatus, Store, TriageState, open_store

ALICE = "Alice <alice@example.org>"
BOB = "Bob <bob@example.org>"


def run(
    store: Store, engine: Engine | Watched | None, *records: InboundMessage | ReadProblem, **options: object
) -> IngestSummary:
    return ingest(list(records), store, engine, **options)  # type: ignore[arg-type]


def item_of(store: Store, message_id: str) -> int:
    found = store.review_id_for(message_id)
    assert found is not None, f"no review item for the thread of {message_id}"
    return found


def notes(store: Store, item_id: int) -> list[str]:
    return [h.note for h in show(store, item_id).history]


# -- counting and idempotency ---------------------------------------------------------------------


def test_counts_add_up_and_problems_are_reported(store: Store, engine: Engine) -> None:
    summary = run(
        store,
        engine,
        record("q1@x", "SELinux question", "SELinux is set to enforcing"),
        ReadProblem("bad.mbox#2", "cannot decode the headers"),
        record("q1@x", "SELinux question", "SELinux is set to enforcing"),  # the same message twice
        record("", "no id", "text"),
        record("q2@x", "KVM host", "cloudstack-agent does not start"),
    )
    assert (summary.read, summary.new, summary.duplicates, summary.skipped) == (5, 2, 1, 2)
    assert summary.errors == (("bad.mbox#2", "cannot decode the headers"), ("test.mbox#", "no Message-ID"))
    assert summary.triaged == 2 and summary.drafted == 2
    assert store.row_counts()["messages"] == 2


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def test_reingest_adds_nothing(store: Store, engine: Engine) -> None:
    archive = list(archive_records(400))
    first = ingest(archive, store, engine, batch_size=64)
    before = dump(_url(store))
    again = ingest(archive, store, engine, batch_size=64)
    assert first.new > 300 and first.drafted > 50
    expected = dict(TOPICS)
    entries = store.queue(QueueFilter(limit=None))
    assert len(entries) == first.drafted
    # real results: a draft leads with its topic's tip (a second cause may follow) or names none at all
    # (a follow-up can make the engine hold back)
    assert all(e.tips[0].tip_id == expected[e.subject] for e in entries if e.tips)
    assert sum(bool(e.tips) for e in entries) > 0.9 * len(entries)
    assert (again.new, again.duplicates, again.triaged, again.drafted) == (0, again.read, 0, 0)
    assert dump(_url(store)) == before


def test_results_do_not_depend_on_batch_size(make_db_url: Callable[[], str], engine: Engine) -> None:
    archive = list(archive_records(300, seed=11))
    dumps = []
    for size in (1, 500):
        opened = open_store(make_db_url())
        ingest(archive, opened, engine, batch_size=size)
        dumps.append(dump(_url(opened)))
        opened.close()
    small, large = dumps
    for table in ("sources", "threads", "messages", "triage_results", "review_items"):
        assert large[table] == small[table], table
    # Within one batch, notes about skipped follow-ups are written after the drafts; only their order moves.
    assert sorted(large["audit_log"], key=repr) == sorted(small["audit_log"], key=repr)


# -- threading --------------------------------------------------------------------------------------


def test_in_reply_to_then_references_last_to_first(store: Store, engine: Engine) -> None:
    run(
        store,
        engine,
        record("a@x", "Install fails", "cloudstack-setup-databases: Access denied", ALICE),
        record("b@x", "Another question", "SELinux is set to enforcing", "Carol <carol@example.org>"),
        # In-Reply-To unknown; References name b then a: the LAST known one (a) wins
        record(
            "c@x",
            "Re: Install fails",
            "check the password",
            BOB,
            in_reply_to="gone@x",
            references=("b@x", "a@x"),
        ),
        record("d@x", "Re: Install fails", "which version?", BOB, in_reply_to="c@x"),
    )
    thread = store.thread_of("a@x")
    assert thread is not None
    assert thread.message_ids == ("a@x", "c@x", "d@x")
    assert thread.answered and thread.is_question
    assert store.thread_of("b@x").message_ids == ("b@x",)  # type: ignore[union-attr]


def test_subject_fallback_takes_the_most_recent_thread_of_the_same_source(
    store: Store, engine: Engine
) -> None:
    run(
        store,
        engine,
        record("old@x", "KVM host cannot be added", "first time", ALICE, list_id="users"),
        record(
            "new@x",
            "KVM host cannot be added",
            "second time",
            "Dan <dan@example.org>",
            list_id="users",
            minute=1,
        ),
        record(
            "ja@x",
            "KVM host cannot be added",
            "other list",
            "Eve <eve@example.org>",
            list_id="users-ja",
            minute=2,
        ),
        record("re@x", "Re: [users] KVM host cannot be added", "try this", BOB, list_id="users", minute=3),
        record(
            "plain@x",
            "KVM host cannot be added",
            "not a reply: a new question",
            BOB,
            list_id="users",
            minute=4,
        ),
    )
    assert store.thread_of("re@x").root_message_id == "new@x"  # type: ignore[union-attr]
    assert store.thread_of("ja@x").message_ids == ("ja@x",)  # type: ignore[union-attr]
    plain = store.thread_of("plain@x")
    assert plain is not None and plain.root_message_id == "plain@x" and plain.is_question


def test_orphan_reply_is_kept_but_not_triaged(store: Store, engine: Engine) -> None:
    summary = run(store, engine, record("o@x", "Re: lost thread", "me too", BOB, in_reply_to="never-seen@x"))
    thread = store.thread_of("o@x")
    assert thread is not None and not thread.is_question
    assert store.message("o@x").triage_state is TriageState.SKIPPED  # type: ignore[union-attr]
    assert summary.new == 1 and summary.triaged == 0 and store.row_counts()["review_items"] == 0


def test_threads_continue_across_runs_and_batches(store: Store, engine: Engine) -> None:
    run(store, engine, record("s@x", "SSVM does not start", "System VM stays in Starting", ALICE))
    run(
        store,
        engine,
        record("r1@x", "Re: SSVM does not start", "check NFS", BOB, in_reply_to="s@x"),
        record(
            "r2@x", "Re: SSVM does not start", "thanks", ALICE, in_reply_to="r1@x", references=("s@x", "r1@x")
        ),
        record("r3@x", "Re: SSVM does not start", "also the log", BOB, references=("s@x",)),
        batch_size=1,
    )
    assert store.thread_of("r3@x").message_ids == ("s@x", "r1@x", "r2@x", "r3@x")  # type: ignore[union-attr]


def test_a_run_sees_what_another_run_placed_between_its_batches(store: Store) -> None:
    """A run remembers its threads from batch to batch only while nobody else has placed a message."""
    from sqlalchemy import text

    first, other = Placer(), Placer()
    question = record("q@x", "SSVM does not start", "System VM stays in Starting", ALICE)
    answer = record(
        "a@x", "Re: SSVM does not start", "check the NFS export", BOB, in_reply_to="q@x", minute=1
    )
    again = record("f@x", "Re: SSVM does not start", "it still fails", ALICE, in_reply_to="q@x", minute=2)
    for placer, message in ((first, question), (other, answer), (first, again)):
        with store.batch() as batch:
            batch.place(placer, [message])
    thread = store.thread_of("f@x")
    assert thread is not None and thread.message_ids == ("q@x", "a@x", "f@x")
    assert thread.answered, "Bob's answer, placed by the other run, still counts"
    with store.engine.connect() as c:
        assert c.execute(text("SELECT message_count FROM threads")).scalar_one() == 3


def test_a_rolled_back_batch_leaves_nothing_remembered(store: Store) -> None:
    placer = Placer()
    question = record("q@x", "SSVM does not start", "System VM stays in Starting", ALICE)
    with pytest.raises(RuntimeError), store.batch() as batch:
        batch.place(placer, [question])
        raise RuntimeError("the transaction fails after placing")
    follow_up = record("f@x", "Re: SSVM does not start", "more", ALICE, in_reply_to="q@x", minute=1)
    with store.batch() as batch:
        batch.place(placer, [follow_up])
    with store.batch() as batch:
        batch.place(placer, [question])
    thread = store.thread_of("f@x")
    assert thread is not None and thread.root_message_id == "q@x", "the late question adopts it"
    assert sorted(thread.message_ids) == ["f@x", "q@x"]


# -- drafts, follow-ups, answered threads ------------------------------------------------------------


def test_follow_up_from_the_asker_updates_the_pending_draft_in_place(store: Store, engine: Engine) -> None:
    watched = Watched(engine)
    run(
        store, watched, record("q@x", "Install fails", "cloudstack-setup-databases says Access denied", ALICE)
    )
    item = item_of(store, "q@x")
    before = show(store, item)
    assert Detail.VERSION in before.missing
    summary = run(
        store,
        watched,
        record(
            "f@x",
            "Re: Install fails",
            "We use CloudStack 4.18.1.0 on Rocky Linux 8.8 with KVM",
            ALICE,
            in_reply_to="q@x",
            minute=1,
        ),
    )
    after = show(store, item)
    assert (summary.triaged, summary.drafted, summary.updated) == (1, 0, 1)
    assert store.row_counts()["review_items"] == 1
    assert after.id == before.id and after.status is ReviewStatus.PENDING
    assert after.draft_text != before.draft_text
    assert after.missing == ()  # version, os, hypervisor from the follow-up; specifics from the starter
    assert "Access denied" in after.question and "4.18.1.0" in after.question
    combined = watched.seen[-1]
    assert (
        combined.subject == "Install fails"
        and "Access denied" in combined.text
        and "4.18.1.0" in combined.text
    )
    assert [n.split(" <")[0] for n in notes(store, item)] == [
        "drafted from",
        "draft updated after the asker's follow-up",
    ]


def test_answered_thread_gets_no_new_draft(store: Store, engine: Engine) -> None:
    run(
        store,
        engine,
        record("q@x", "Install fails", "Access denied for user root", ALICE),
        record("a@x", "Re: Install fails", "reset the MySQL root password", BOB, in_reply_to="q@x", minute=1),
        record(
            "f@x",
            "Re: Install fails",
            "Thanks, it works now. CloudStack 4.19",
            ALICE,
            in_reply_to="a@x",
            minute=2,
        ),
    )
    item = show(store, item_of(store, "q@x"))
    assert item.answered
    assert "4.19" not in item.question and Detail.VERSION in item.missing
    assert store.message("f@x").triage_state is TriageState.SKIPPED  # type: ignore[union-attr]
    assert store.row_counts()["triage_results"] == 1
    assert any("came after the thread was answered" in h.note for h in item.history)


def test_follow_up_after_review_leaves_the_item_alone(store: Store, engine: Engine) -> None:
    run(store, engine, record("q@x", "SELinux", "SELinux is set to enforcing", ALICE))
    item = item_of(store, "q@x")
    approved = approve(store, item, actor="mod")
    run(
        store,
        engine,
        record("f@x", "Re: SELinux", "CloudStack 4.20 on Ubuntu 22.04", ALICE, in_reply_to="q@x", minute=1),
    )
    after = show(store, item)
    assert after.status is ReviewStatus.APPROVED and after.draft_text == approved.draft_text
    assert "came after review" in after.history[-1].note
    assert store.row_counts()["triage_results"] == 2


def test_no_triage_then_work_gives_the_same_drafts_as_inline_triage(
    make_db_url: Callable[[], str], engine: Engine
) -> None:
    archive = list(archive_records(250, seed=5))

    def drafts(opened: Store) -> list[tuple[object, ...]]:
        entries = opened.queue(QueueFilter(limit=None))
        return sorted(
            (
                (e.subject, e.asker, e.status, e.tips, e.missing, show(opened, e.id).draft_text)
                for e in entries
            ),
            key=repr,  # real tips (TipScore) have no order of their own
        )

    deferred = open_store(make_db_url())
    ingest(archive, deferred, None, batch_size=40)
    assert deferred.untriaged() > 0 and deferred.row_counts()["review_items"] == 0
    done = work(deferred, engine, "w1", batch=7, until_empty=True)
    assert deferred.untriaged() == 0 and done.triaged > 0
    late = drafts(deferred)
    deferred.close()

    inline = open_store(make_db_url())
    ingest(archive, inline, engine, batch_size=40)
    now = drafts(inline)
    inline.close()
    assert late == now and len(now) > 20


def test_text_every_database_accepts(store: Store, engine: Engine) -> None:
    nul = record(
        "nul@x", "Install\x00 fails", "log line with a NUL\x00 byte and a lone \udc80 surrogate", ALICE
    )
    summary = run(store, engine, nul)
    assert summary.new == 1
    view = show(store, item_of(store, "nul@x"))
    assert "\x00" not in view.question and "NUL byte" in view.question


def test_subject_fallback_does_not_reach_across_years(store: Store, engine: Engine) -> None:
    """A generic subject recurs: a reply-looking message long after the last one starts over."""
    late = record("late@x", "Re: Install fails", "same trouble here", BOB, minute=60 * 24 * 400)
    close = record("close@x", "Re: Install fails", "try this", "Dan <dan@example.org>", minute=60 * 24 * 20)
    run(store, engine, record("q@x", "Install fails", "it fails", ALICE), close, late)
    assert store.thread_of("close@x").root_message_id == "q@x"  # type: ignore[union-attr]
    orphan = store.thread_of("late@x")
    assert orphan is not None and orphan.root_message_id == "late@x" and not orphan.is_question
