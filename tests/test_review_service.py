"""The review service on SQLite and PostgreSQL with the real engine: approve (as is or edited), reject
with reason codes, relabel with a re-rendered draft, escalate; audit rows; the outbox row of an
approval; two moderators approving at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from tests.store.conftest import make_db_url, pg_server  # noqa: F401 - the shared database fixtures
from tests.store.factories import record
from triagebot.app import Engine
from triagebot.core.models import DetailReport
from triagebot.errors import InputError
from triagebot.pipeline import ingest
from triagebot.review import (
    RejectReason,
    ReplyAddressing,
    approve,
    escalate,
    reject,
    relabel,
)
from triagebot.store import QueueFilter, ReviewStateError, ReviewStatus, Store, open_store
from triagebot.store.moderation import item_facts, outbox_entries, outbox_for_item
from triagebot.store.tables import AuditRow
from triagebot.store.views import OutboxState

ADDRESSING = ReplyAddressing(lists={}, domain="example.org")


@pytest.fixture
def store(make_db_url: Callable[[], str]) -> Iterator[Store]:  # noqa: F811 - the imported fixture
    opened = open_store(make_db_url())
    yield opened
    opened.close()


@pytest.fixture
def items(store: Store, engine: Engine) -> dict[str, int]:
    """A SELinux question, a Japanese DB question, and a question someone else already answered."""
    ingest(
        [
            record(
                "se@x",
                "Management server setup fails",
                "SELinux is enforcing and cloudstack-setup-management fails on CloudStack 4.19.1.0, Rocky Linux 8",
                "Alice <alice@example.org>",
                list_id="users",
            ),
            record(
                "ja@x",
                "cloudstack-setup-databases で Access denied",
                "cloudstack-setup-databases を実行すると Access denied for user 'root'@'localhost' になります",
                "Taro <taro@example.jp>",
                list_id="users-ja",
            ),
            record(
                "ans@x",
                "Agent does not start",
                "cloudstack-agent does not start on my KVM host",
                "Bo <bo@example.org>",
            ),
            record(
                "reply@x",
                "Re: Agent does not start",
                "Check /var/log/cloudstack/agent/agent.log, it usually says why.",
                "Helper <helper@example.org>",
                in_reply_to="ans@x",
                references=("ans@x",),
                minute=30,
            ),
        ],
        store,
        engine,
    )
    found = {name: store.review_id_for(f"{name}@x") for name in ("se", "ja", "ans")}
    assert all(v is not None for v in found.values()), found
    return {k: v for k, v in found.items() if v is not None}


def audit(store: Store, item: int) -> list[AuditRow]:
    """The item's audit rows written by moderators (not the ingest's)."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(AuditRow)
            .where(AuditRow.review_item_id == item, AuditRow.action != "")
            .order_by(AuditRow.id)
        ).all()
    return list(rows)  # type: ignore[arg-type]


def test_approve_queues_the_draft_once_with_an_audit_row(store: Store, items: dict[str, int]) -> None:
    item = items["se"]
    draft = store.show(item).draft_text
    view = approve(store, item, actor="hana", addressing=ADDRESSING)
    assert view.status is ReviewStatus.APPROVED and view.final_text == draft
    entry = outbox_for_item(store, item)
    assert entry is not None and entry.state is OutboxState.QUEUED
    assert entry.body == draft and entry.subject == "Re: Management server setup fails"
    assert entry.destination == {
        "to": ["alice@example.org"],
        "cc": [],
        "list": "users",
    }  # no list address set
    assert entry.headers == {"in_reply_to": "se@x", "references": ["se@x"]}
    assert entry.message_id.endswith(".triagebot@example.org") and entry.attempts == 0
    [row] = audit(store, item)
    assert (row.actor, row.action, row.from_status, row.to_status) == (
        "hana",
        "approve",
        "pending",
        "approved",
    )
    assert row.before == {"status": "pending", "text": draft}
    assert row.after is not None and row.after["queued"] is True and row.after["text"] == draft
    with pytest.raises(ReviewStateError, match="approved; approving needs: pending"):
        approve(store, item, actor="kenji", addressing=ADDRESSING)
    assert len(outbox_entries(store)) == 1 and len(audit(store, item)) == 1


def test_edit_then_approve_sends_the_edited_text(store: Store, items: dict[str, int]) -> None:
    item = items["ja"]
    draft = store.show(item).draft_text
    text = "root のパスワードを確認してから、もう一度 cloudstack-setup-databases を実行してください。\r\n"
    view = approve(store, item, actor="hana", text=text, addressing=ADDRESSING)
    assert view.status is ReviewStatus.EDITED and view.final_text == text.replace("\r\n", "\n")
    entry = outbox_for_item(store, item)
    assert entry is not None and entry.body == view.final_text
    [row] = audit(store, item)
    assert row.action == "edit-approve" and row.before == {"status": "pending", "text": draft}
    assert row.after is not None and row.after["text"] == view.final_text
    # approving with the draft's own text is a plain approval, not an edit
    other = items["se"]
    same = approve(store, other, actor="hana", text=store.show(other).draft_text, addressing=ADDRESSING)
    assert same.status is ReviewStatus.APPROVED
    with pytest.raises(InputError, match="empty"):
        approve(store, items["ans"], actor="hana", text="  \n ", addressing=ADDRESSING)


def test_an_answered_thread_is_not_sent_unless_asked(store: Store, items: dict[str, int]) -> None:
    item = items["ans"]
    assert store.show(item).answered
    view = approve(store, item, actor="hana", addressing=ADDRESSING)
    assert view.status is ReviewStatus.APPROVED and outbox_for_item(store, item) is None
    [row] = audit(store, item)
    assert row.after is not None and row.after["queued"] is False and "already answered" in row.note
    # approved but never queued: it can still be rejected
    assert reject(store, item, RejectReason.ALREADY_ANSWERED, actor="hana").status is ReviewStatus.REJECTED


def test_send_anyway_queues_an_answered_thread(store: Store, items: dict[str, int]) -> None:
    item = items["ans"]
    approve(store, item, actor="hana", send_anyway=True, addressing=ADDRESSING)
    entry = outbox_for_item(store, item)
    assert entry is not None and entry.headers["in_reply_to"] == "ans@x"
    assert audit(store, item)[0].after == {
        "status": "approved",
        "text": entry.body,
        "queued": True,
        "send_anyway": True,
    }
    with pytest.raises(ReviewStateError):
        reject(store, item, "other", "changed my mind", actor="hana")  # it is in the outbox now


def test_reject_keeps_the_reason_code_and_text(store: Store, items: dict[str, int]) -> None:
    item = items["se"]
    view = reject(store, item, "wrong-tip", "  it is\nabout the firewall  ", actor="kenji")
    assert view.status is ReviewStatus.REJECTED and view.final_text is None
    assert item_facts(store, item).reason == "wrong-tip: it is about the firewall"
    [row] = audit(store, item)
    assert row.action == "reject" and row.after == {
        "status": "rejected",
        "reason": "wrong-tip",
        "text": "it is about the firewall",
    }
    assert {r.value for r in RejectReason} == {
        "wrong-tip",
        "not-a-question",
        "already-answered",
        "duplicate",
        "needs-human",
        "other",
    }


def test_bad_reject_reasons_change_nothing(store: Store, items: dict[str, int]) -> None:
    item = items["ja"]
    with pytest.raises(InputError, match="unknown reject reason 'spam'"):
        reject(store, item, "spam", actor="kenji")
    with pytest.raises(InputError, match="say why"):
        reject(store, item, RejectReason.OTHER, "   ", actor="kenji")
    assert store.show(item).status is ReviewStatus.PENDING and audit(store, item) == []


def test_escalate_flags_and_keeps_it_pending(store: Store, items: dict[str, int]) -> None:
    item = items["ja"]
    view = escalate(store, item, actor="hana", note="MySQL 8 auth plugin?")
    assert view.status is ReviewStatus.PENDING and item_facts(store, item).escalated
    [row] = audit(store, item)
    assert (row.action, row.before, row.after, row.note) == (
        "escalate",
        {"escalated": False},
        {"escalated": True},
        "MySQL 8 auth plugin?",
    )
    with pytest.raises(ReviewStateError, match="already"):
        escalate(store, item, actor="kenji")
    # an expert can still approve it
    assert approve(store, item, actor="expert", addressing=ADDRESSING).status is ReviewStatus.APPROVED


def test_relabel_renders_the_draft_from_the_new_tips(
    store: Store, items: dict[str, int], engine: Engine
) -> None:
    item = items["se"]
    before = store.show(item)
    facts = item_facts(store, item)
    assert "firewall-ports" not in [t.tip_id for t in before.tips]
    view = relabel(store, item, ["firewall-ports"], actor="kenji", renderer=engine)
    assert view.status is ReviewStatus.PENDING
    assert [t.tip_id for t in view.tips] == ["firewall-ports"]
    assert view.tips[0].evidence == ("chosen by a moderator",)
    assert view.draft_text != before.draft_text
    _, expected = engine.rerender(view.tips, facts.details, facts.language, facts.channel)
    assert view.draft_text == expected.text
    assert facts.details.version == "4.19.1.0"  # the stored details were used, not thrown away
    _, without = engine.rerender(view.tips, DetailReport(), facts.language, facts.channel)
    assert view.draft_text != without.text  # … and they matter: fewer details to ask for
    after = item_facts(store, item)
    assert after.relabelled
    assert [e.id for e in store.queue(QueueFilter(tip="firewall-ports"))] == [item]
    for old in before.tips:
        assert item not in [e.id for e in store.queue(QueueFilter(tip=old.tip_id))]
    [row] = audit(store, item)
    assert row.action == "relabel" and row.after == {
        "tips": ["firewall-ports"],
        "draft_text": view.draft_text,
    }
    assert row.before == {"tips": [t.tip_id for t in before.tips], "draft_text": before.draft_text}
    # the relabelled draft is what gets approved and queued
    approve(store, item, actor="kenji", addressing=ADDRESSING)
    entry = outbox_for_item(store, item)
    assert entry is not None and entry.body == view.draft_text


def test_relabel_to_no_tip_asks_for_details_and_unknown_tips_are_refused(
    store: Store, items: dict[str, int], engine: Engine
) -> None:
    item = items["ja"]
    before = store.show(item)
    with pytest.raises(InputError, match="no such tip: not-a-tip"):
        relabel(store, item, ["selinux", "not-a-tip"], actor="kenji", renderer=engine)
    assert store.show(item).draft_text == before.draft_text and audit(store, item) == []
    view = relabel(store, item, [], actor="kenji", renderer=engine)
    assert view.tips == () and view.action.value == "ask-for-details"
    assert view.draft_text != before.draft_text


def test_two_moderators_approving_at_once_queue_one_reply(store: Store, items: dict[str, int]) -> None:
    item = items["se"]
    start = threading.Barrier(2)
    results: list[str] = []

    def moderator(name: str) -> None:
        start.wait()
        try:
            approve(store, item, actor=name, addressing=ADDRESSING)
            results.append("approved")
        except ReviewStateError:
            results.append("refused")

    threads = [threading.Thread(target=moderator, args=(n,)) for n in ("hana", "kenji")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["approved", "refused"]
    assert len(outbox_entries(store)) == 1
    assert len(audit(store, item)) == 1
