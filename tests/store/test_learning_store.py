"""Reading moderators' decisions back from the store, after they were made through the review service."""

from __future__ import annotations

from pathlib import Path

from tests.store.factories import record
from triagebot.app import Engine, load_reviewed
from triagebot.config import load_settings
from triagebot.core.learning import Verdict, reviewed_examples
from triagebot.pipeline import ingest
from triagebot.review import RejectReason, ReplyAddressing, approve, reject, relabel
from triagebot.store import open_store
from triagebot.store.learning import moderator_decisions

ADDRESSING = ReplyAddressing(lists={}, domain="example.org")


def test_decisions_come_back_with_question_text_and_both_tip_lists(tmp_path: Path, engine: Engine) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with open_store(url) as store:
        ingest(
            [
                record(
                    "a@x",
                    "SELinux blocks setup",
                    "SELinux is enforcing and cloudstack-setup-management fails",
                ),
                record(
                    "b@x", "Agent down", "cloudstack-agent does not start on my KVM host", "Bo <bo@x.org>"
                ),
                record("c@x", "Lunch", "Who wants to get lunch on Friday?", "Cy <cy@x.org>"),
                record(
                    "d@x", "Untouched", "cloudstack-setup-databases fails with Access denied", "Di <di@x.org>"
                ),
            ],
            store,
            engine,
        )
        ids = {name: store.review_id_for(f"{name}@x") for name in "abcd"}
        assert None not in (ids["a"], ids["b"], ids["c"])
        approve(store, ids["a"], actor="mod", addressing=ADDRESSING)  # type: ignore[arg-type]
        relabel(store, ids["b"], ["java-version"], actor="mod", renderer=engine)  # type: ignore[arg-type]
        reject(store, ids["c"], RejectReason.NOT_A_QUESTION, actor="mod")  # type: ignore[arg-type]
        now_b = tuple(t.tip_id for t in store.show(ids["b"]).tips)  # type: ignore[arg-type]
        decisions = {d.item_id: d for d in moderator_decisions(store)}
    assert set(decisions) == {ids["a"], ids["b"], ids["c"]}  # the untouched pending item is not one
    b = decisions[ids["b"]]  # type: ignore[index]
    assert b.relabelled and b.tips == ("java-version",) and now_b == ("java-version",)
    assert "kvm-agent" in b.suggested and "KVM host" in b.text and b.subject == "Agent down"
    examples = {e.item_id: e for e in reviewed_examples(decisions.values(), engine.kb.tip_ids)}
    assert examples[ids["a"]].verdict is Verdict.APPROVED and examples[ids["a"]].labels  # type: ignore[index]
    assert examples[ids["b"]].labels == ("java-version",)  # type: ignore[index]
    assert examples[ids["c"]].verdict is Verdict.NOT_A_QUESTION and examples[ids["c"]].labels == ()  # type: ignore[index]

    on = load_settings(None, {}, overrides={"database": {"url": url}})
    assert len(load_reviewed(on, engine.kb)) == 3
    off = load_settings(None, {"TRIAGEBOT_DATABASE_URL": url}, overrides={"train": {"reviews": False}})
    assert load_reviewed(off, engine.kb) == ()
    missing = load_settings(
        None, {}, overrides={"database": {"url": f"sqlite:///{tmp_path / 'none.sqlite3'}"}}
    )
    assert load_reviewed(missing, engine.kb) == () and not (tmp_path / "none.sqlite3").exists()
