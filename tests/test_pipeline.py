"""The ingest and work pipeline with the real engine on SQLite: drafts, follow-ups, summaries and progress."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from tests.store.dump import dump
from tests.store.factories import record
from triagebot.app import Engine
from triagebot.core.models import Action, Channel, Detail, InboundMessage, Language, TriageResult
from triagebot.errors import InputError
from triagebot.ingest.archive import read_paths
from triagebot.ingest.records import ReadProblem
from triagebot.pipeline import IngestSummary, ThreadGuess, TriageAhead, TriageEngine, ingest, work
from triagebot.review import approve, show
from triagebot.store import ReviewStatus, Store, TriageState, open_store

ROOT = Path(__file__).resolve().parent.parent

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
                minute=1,
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
    items: list[InboundMessage | ReadProblem] = [
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


class _Counting:
    """The real engine, counting the messages that reach it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[str] = []

    @property
    def model_version(self) -> str:
        return self.engine.model_version

    def triage(self, message: InboundMessage) -> TriageResult:
        return self.triage_batch([message])[0]

    def triage_batch(self, messages: Sequence[InboundMessage]) -> list[TriageResult]:
        self.seen.extend(m.message_id for m in messages)
        return self.engine.triage_batch(messages)


def _sample_records() -> list[InboundMessage]:
    """The sample archive, plus a question whose asker follows up with the details."""
    records = [r for r in read_paths([ROOT / "samples" / "archive"]) if isinstance(r, InboundMessage)]
    question = record("lonely@example.org", "setup-databases access denied", ACCESS_DENIED)
    details = record(
        "details@example.org",
        "Re: setup-databases access denied",
        "Forgot to say: CloudStack 4.18.1.0 on Rocky Linux 8.8, hypervisor KVM.",
        in_reply_to="lonely@example.org",
        minute=5,
    )
    return [*records, question, details]


def test_triage_ahead_stores_exactly_what_triage_in_place_stores(tmp_path: Path, engine: Engine) -> None:
    records = _sample_records()
    plain_url, ahead_url = f"sqlite:///{tmp_path}/plain.sqlite3", f"sqlite:///{tmp_path}/ahead.sqlite3"
    counting = _Counting(engine)
    ahead = TriageAhead(counting)
    ahead.take(ahead.prepare(records))
    prepared = list(counting.seen)
    for url, used in ((plain_url, engine), (ahead_url, ahead)):
        opened = open_store(url)
        try:
            ingest(records, opened, used)
        finally:
            opened.close()
    assert dump(ahead_url) == dump(plain_url)
    assert len(prepared) > 10 and "details@example.org" in prepared  # starters and a follow-up
    assert ahead.reused == len(prepared)  # every guess was right
    assert counting.seen == prepared, "nothing was left to triage in place"


def test_triage_ahead_prepares_starters_and_the_askers_follow_ups(engine: Engine) -> None:
    counting = _Counting(engine)
    ahead = TriageAhead(counting)
    bob = "Bob <bob@example.org>"
    records = [
        record("new@x", "Install fails", ACCESS_DENIED),
        record("re@x", "Re: Install fails", "me too, on 4.18", in_reply_to="new@x"),
        record("refs@x", "Install fails", "still", references=("new@x", "re@x")),
        record("re@x", "Re: Install fails", "me too, on 4.18", in_reply_to="new@x"),  # read twice
        record(
            "subject@x", "RE: [cloudstack-ja] インストール", "追加情報です"
        ),  # joins by subject: not guessed
        record("other@x", "DB setup", ACCESS_DENIED),
        record("answer@x", "Re: DB setup", "check the root password", bob, in_reply_to="other@x"),
        record("late@x", "Re: DB setup", "that worked", in_reply_to="answer@x"),  # after an answer
        record("notice@x", "Re: meeting", "see you", bob, in_reply_to="unseen@x"),  # parent unknown
    ]
    prepared = ahead.prepare([*records, ReadProblem("x#9", "broken")])
    assert counting.seen == ["new@x", "re@x", "refs@x", "other@x"]
    assert [(subject, text) for (_, subject, text), _ in prepared] == [
        ("Install fails", ACCESS_DENIED),
        ("Install fails", f"{ACCESS_DENIED}\n\nme too, on 4.18"),
        ("Install fails", f"{ACCESS_DENIED}\n\nme too, on 4.18\n\nstill"),
        ("DB setup", ACCESS_DENIED),
    ]
    ahead.take(prepared)
    first = InboundMessage(Channel.EMAIL, "users", "new@x", "Install fails", ACCESS_DENIED)
    other = InboundMessage(Channel.EMAIL, "users", "other@x", "Install fails", "something else")
    results = ahead.triage_batch([first, other])
    assert counting.seen[4:] == ["other@x"] and ahead.reused == 1
    assert results == engine.triage_batch([first, other])


def test_triage_ahead_follows_threads_through_batches_it_had_no_time_for(engine: Engine) -> None:
    counting = _Counting(engine)
    ahead = TriageAhead(counting)
    assert ahead.prepare([record("new@x", "Install fails", ACCESS_DENIED)], lambda: False) == []
    assert counting.seen == []
    prepared = ahead.prepare([record("re@x", "Re: Install fails", "me too", in_reply_to="new@x")])
    assert [text for (_, _, text), _ in prepared] == [f"{ACCESS_DENIED}\n\nme too"]


def test_thread_guess_holds_a_bounded_amount_of_text() -> None:
    guess = ThreadGuess(max_chars=100, max_ids=3)
    for i in range(3):
        assert guess.question(record(f"q{i}@x", f"Question {i}", "x" * 40)) is not None
    # q0 was let go (three threads of 50 characters do not fit in 100), so its follow-up is not guessed
    assert guess.question(record("f0@x", "Re: Question 0", "more", in_reply_to="q0@x")) is None
    assert guess.question(record("f2@x", "Re: Question 2", "more", in_reply_to="q2@x")) is not None
    # only the last three ids are remembered: q1's id is gone, so a reply to it finds no thread
    assert guess.question(record("f1@x", "Re: Question 1", "more", in_reply_to="q1@x")) is None


def test_triage_ahead_keeps_a_bounded_number_of_results(engine: Engine) -> None:
    counting = _Counting(engine)
    ahead = TriageAhead(counting, keep=2)
    records = [record(f"q{i}@x", f"Question {i}", f"{ACCESS_DENIED} ({i})") for i in range(3)]
    ahead.take(ahead.prepare(records))
    counting.seen.clear()
    messages = [InboundMessage(Channel.EMAIL, "users", r.message_id, r.subject, r.text) for r in records]
    ahead.triage_batch(messages)
    assert counting.seen == ["q0@x"] and ahead.reused == 2  # the oldest was let go


class NoticeAware:
    """The real engine, except that a message starting with "[VOTE]" is judged not to be a question."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.model_version = engine.model_version

    def triage(self, message: InboundMessage) -> TriageResult:
        return self.triage_batch([message])[0]

    def triage_batch(self, messages: Sequence[InboundMessage]) -> list[TriageResult]:
        results = self.engine.triage_batch(messages)
        return [
            replace(r, decision=replace(r.decision, action=Action.NOT_A_QUESTION, why="a vote"))
            if m.subject.startswith("[VOTE]")
            else r
            for m, r in zip(messages, results, strict=True)
        ]


def test_not_a_question_is_recorded_without_a_draft(store: Store, engine: Engine) -> None:
    summary = ingest(
        [
            record(
                "vote@x",
                "[VOTE] Release 4.20.0.0 RC1",
                "Please vote on the release candidate. SELinux notes inside.",
            ),
            record("q@x", "SELinux blocks the agent", "SELinux is set to enforcing"),
        ],
        store,
        NoticeAware(engine),
    )
    assert (summary.triaged, summary.drafted) == (2, 1)
    vote = store.message("vote@x")
    assert vote is not None and vote.triage_state is TriageState.TRIAGED
    assert store.review_id_for("vote@x") is None
    assert store.row_counts()["triage_results"] == 2
    assert [e.subject for e in store.queue()] == ["SELinux blocks the agent"]
