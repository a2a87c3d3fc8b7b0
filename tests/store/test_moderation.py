"""Moderation on SQLite and PostgreSQL: checked transitions with audit rows, the queue and its filters."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.store.factories import record
from triagebot.app import Engine
from triagebot.core.models import Detail, Language
from triagebot.errors import InputError
from triagebot.pipeline import ingest
from triagebot.review import approve, edit, mark_sent, queue, reject, show
from triagebot.store import NotFoundError, QueueFilter, ReviewStateError, ReviewStatus, ReviewView, Store
from triagebot.store.moderation import outbox_for_item


@pytest.fixture
def items(store: Store, engine: Engine) -> dict[str, int]:
    """Three pending items, each question carrying an exact error string of its tip: English SELinux
    (users), Japanese setup-databases (users-ja), English KVM agent with every detail given (users)."""
    ingest(
        [
            record("en@x", "SELinux question", "SELinux is set to enforcing", list_id="users"),
            record(
                "ja@x",
                "セットアップで Access denied",
                "cloudstack-setup-databases で Access denied for user 'cloud'@'localhost' になります",
                "Taro <taro@example.jp>",
                list_id="users-ja",
            ),
            record(
                "kvm@x",
                "KVM host",
                "Adding the host fails: Could not add host at [http://10.1.1.5] with zone [1], pod [1] and"
                " cluster [1] due to: [ can't setup agent, due to ssh failure ]. We run CloudStack 4.19.1.1"
                " on Ubuntu 22.04 with KVM.",
                "Kim <kim@example.org>",
                list_id="users",
            ),
        ],
        store,
        engine,
    )
    found = {name: store.review_id_for(f"{name}@x") for name in ("en", "ja", "kvm")}
    assert all(v is not None for v in found.values())
    return {k: v for k, v in found.items() if v is not None}


def test_approve_keeps_the_draft_as_the_text_to_send(store: Store, items: dict[str, int]) -> None:
    view = approve(store, items["en"], actor="mod@example.org", note="looks right")
    assert view.status is ReviewStatus.APPROVED and view.final_text == view.draft_text
    last = view.history[-1]
    assert (last.from_status, last.to_status, last.actor, last.note) == (
        ReviewStatus.PENDING,
        ReviewStatus.APPROVED,
        "mod@example.org",
        "looks right",
    )


def test_edit_approves_the_new_text_and_then_nothing_more(store: Store, items: dict[str, int]) -> None:
    item = items["ja"]
    edited = edit(store, item, "修正した返信です。", actor="mod")
    assert edited.status is ReviewStatus.EDITED and edited.final_text == "修正した返信です。"
    assert edited.draft_text != edited.final_text
    queued = outbox_for_item(store, item)
    assert queued is not None and queued.body == "修正した返信です。"
    assert [(h.from_status, h.to_status) for h in edited.history if h.from_status is not None] == [
        (ReviewStatus.PENDING, ReviewStatus.EDITED)
    ]
    steps: list[Callable[[], ReviewView]] = [
        lambda: approve(store, item, actor="mod"),
        lambda: edit(store, item, "x", actor="mod"),
        lambda: reject(store, item, "other", "late", actor="mod"),
        lambda: mark_sent(store, item, actor="mod"),
    ]
    for step in steps:
        with pytest.raises(ReviewStateError, match=f"review item {item} "):
            step()
    assert len(show(store, item).history) == len(edited.history)  # refused steps leave no trace


def test_reject_records_the_reason_and_is_final(store: Store, items: dict[str, int]) -> None:
    view = reject(store, items["kvm"], "already-answered", "on the list", actor="mod")
    assert view.status is ReviewStatus.REJECTED and view.final_text is None
    assert view.history[-1].note == "already-answered: on the list"
    with pytest.raises(ReviewStateError, match="rejected; approving needs: pending"):
        approve(store, items["kvm"], actor="mod")


def test_sending_needs_an_approved_or_edited_item(store: Store, items: dict[str, int]) -> None:
    with pytest.raises(ReviewStateError, match="pending; marking as sent needs: approved, edited"):
        mark_sent(store, items["en"], actor="mailer")
    assert show(store, items["en"]).status is ReviewStatus.PENDING


def test_empty_edit_and_unknown_items_are_refused(store: Store, items: dict[str, int]) -> None:
    with pytest.raises(InputError):
        edit(store, items["en"], "   \n", actor="mod")
    with pytest.raises(NotFoundError, match="review item 9999 not found"):
        show(store, 9999)
    with pytest.raises(NotFoundError):
        approve(store, 9999, actor="mod")


def test_queue_filters(store: Store, items: dict[str, int]) -> None:
    def ids(**filters: object) -> list[int]:
        return [e.id for e in queue(store, QueueFilter(**filters))]  # type: ignore[arg-type]

    assert ids() == sorted(items.values())
    assert ids(language=Language.JA) == [items["ja"]]
    assert ids(source="users") == [items["en"], items["kvm"]]
    assert ids(tip="selinux") == [items["en"]]
    assert ids(tip="setup-databases") == [items["ja"]]
    assert ids(tip="kvm-agent") == [items["kvm"]]
    assert ids(tip="setup") == []  # whole tip ids only
    assert ids(missing=Detail.VERSION) == [items["en"], items["ja"]]
    assert ids(missing=Detail.SPECIFICS) == [items["en"]]
    approve(store, items["en"], actor="mod")
    assert ids(status=ReviewStatus.PENDING) == [items["ja"], items["kvm"]]
    assert ids(status=ReviewStatus.APPROVED, source="users") == [items["en"]]
    assert ids(limit=1, offset=1) == [items["ja"]]
    assert store.count(QueueFilter(source="users", limit=1)) == 2


def test_show_has_everything_a_moderator_needs(store: Store, items: dict[str, int], engine: Engine) -> None:
    view = show(store, items["ja"])
    entry = next(e for e in queue(store) if e.id == items["ja"])
    assert view.subject == entry.subject == "セットアップで Access denied"
    assert view.asker == entry.asker == "taro@example.jp"
    assert view.source == "users-ja" and view.language is Language.JA
    assert "Access denied" in view.question
    assert [t.tip_id for t in view.tips] == ["setup-databases"]
    assert view.tips[0].evidence[0] == "error string: Access denied for user 'cloud'@'localhost'"
    assert view.missing == (Detail.VERSION, Detail.OS, Detail.HYPERVISOR)
    assert (
        view.draft_text.startswith("ご質問ありがとうございます。")
        and "cloudstack-setup-databases" in view.draft_text
    )
    assert view.model_version == engine.model_version
    assert view.history[0].to_status is ReviewStatus.PENDING and view.history[0].actor == "ingest"
