"""The pages and actions over HTTP with the real review service and engine, checked in the database."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from tests.web.conftest import Seeded, client_for, log_in
from triagebot.app import Engine
from triagebot.store import ReviewStatus, Store, accounts, browse
from triagebot.store.views import OutboxState
from triagebot.web.i18n import MESSAGES
from triagebot.web.security import CSRF_FIELD
from triagebot.web.service import ReviewService


@pytest.fixture
def client(store: Store, engine: Engine, seeded: Seeded) -> TestClient:
    return client_for(store, ReviewService(store, engine), engine)


def _ids_on(html: str) -> set[int]:
    import re

    return {int(m) for m in re.findall(r'<tr class="row" data-id="(\d+)"', html)}


def _audit(store: Store, item_id: int) -> list[accounts.AuditRecord]:
    return list(accounts.audit_rows(store, accounts.AuditQuery(review_item_id=item_id, limit=None)))


def test_every_interface_string_exists_in_both_languages() -> None:
    for key, (english, japanese) in MESSAGES.items():
        assert english.strip() and japanese.strip(), key
        assert english != japanese or key.startswith("lang."), key


def test_queue_filters_and_counts(client: TestClient, seeded: Seeded) -> None:
    log_in(client)
    everything = client.get("/").text
    assert _ids_on(everything) == {seeded.en, seeded.ja, seeded.hostile, seeded.answered}
    assert 'data-status="pending">pending <b>4</b>' in everything
    assert _ids_on(client.get("/?language=ja").text) == {seeded.ja}
    assert _ids_on(client.get("/?language=en").text) == {seeded.en, seeded.hostile, seeded.answered}
    assert _ids_on(client.get("/?answered=yes").text) == {seeded.answered}
    assert seeded.answered not in _ids_on(client.get("/?answered=no").text)
    assert _ids_on(client.get("/?tip=setup-databases").text) >= {seeded.en}
    assert seeded.ja not in _ids_on(client.get("/?tip=setup-databases").text)
    assert _ids_on(client.get("/?status=rejected").text) == set()
    high = _ids_on(client.get("/?band=high").text)
    none = _ids_on(client.get("/?band=none").text)
    assert high.isdisjoint(none) and high | none <= {seeded.en, seeded.ja, seeded.hostile, seeded.answered}


def test_queue_sorts_and_pages(store: Store, engine: Engine, seeded: Seeded) -> None:
    from tests.web.conftest import SECRET, tips_of
    from triagebot.config import WebSettings
    from triagebot.web import create_app

    app = create_app(
        store,
        ReviewService(store, engine),
        settings=WebSettings(page_size=5),
        secret=SECRET,
        tips=tips_of(engine),
    )
    client = TestClient(app, follow_redirects=False)
    log_in(client)
    page = browse.queue_page(store, browse.QueueQuery(page_size=2, sort=browse.QueueSort.NEWEST))
    assert (
        page.total == 4
        and page.pages == 2
        and [line.id for line in page.lines] == [seeded.answered, seeded.hostile]
    )
    second = browse.queue_page(store, browse.QueueQuery(page_size=2, page=2, sort=browse.QueueSort.NEWEST))
    assert [line.id for line in second.lines] == [seeded.ja, seeded.en]
    by_score = browse.queue_page(store, browse.QueueQuery(sort=browse.QueueSort.SCORE))
    scores = [line.tips[0].score if line.tips else -1.0 for line in by_score.lines]
    assert scores == sorted(scores, reverse=True)
    html = client.get("/?sort=newest").text
    assert html.index(f'data-id="{seeded.answered}"') < html.index(f'data-id="{seeded.en}"')


def test_the_draft_page_shows_the_thread_and_a_human_answer(client: TestClient, seeded: Seeded) -> None:
    log_in(client)
    html = client.get(f"/items/{seeded.answered}").text
    assert 'id="answered"' in html and "Check that the agent is running." in html
    assert "human-reply" in html and 'name="send_anyway"' in html
    assert '<details class="quoted"><summary>quoted text (1 lines)</summary>' in html
    plain = client.get(f"/items/{seeded.en}").text
    assert 'id="answered"' not in plain and "setup-databases" in plain and "Access denied" in plain
    japanese = client.get(f"/items/{seeded.ja}", headers={"accept-language": "ja"}).text
    assert "返信の下書き" in japanese or "送信する返信" in japanese
    assert "管理サーバーが起動しません" in japanese


def test_edit_then_approve_queues_one_reply(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = log_in(client)
    response = client.post(
        f"/items/{seeded.en}/approve",
        data={CSRF_FIELD: token, "reply": "Please check the root password.\r\n"},
    )
    assert response.status_code == 303
    view = store.show(seeded.en)
    assert view.status is ReviewStatus.EDITED and view.final_text == "Please check the root password.\n"
    facts = browse.draft_facts(store, seeded.en)
    assert facts is not None and facts.outbox_state is OutboxState.QUEUED
    rows = _audit(store, seeded.en)
    assert rows[0].actor == "mod" and rows[0].action == "edit-approve"
    assert rows[0].after is not None and rows[0].after["text"] == "Please check the root password.\n"
    # a second approval is refused with a clear message, and nothing more is queued
    again = client.post(f"/items/{seeded.en}/approve", data={CSRF_FIELD: token})
    assert again.status_code == 409 and "pending" in again.text
    assert len(browse.outbox_lines(store)) == 1


def test_an_answered_thread_is_not_sent_unless_asked(
    client: TestClient, store: Store, seeded: Seeded
) -> None:
    token = log_in(client)
    response = client.post(f"/items/{seeded.answered}/approve", data={CSRF_FIELD: token})
    assert response.status_code == 303
    assert "not queued" in client.get(response.headers["location"]).text
    facts = browse.draft_facts(store, seeded.answered)
    assert store.show(seeded.answered).status is ReviewStatus.APPROVED
    assert facts is not None and facts.outbox_state is None


def test_send_anyway_queues_an_answered_thread(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = log_in(client)
    client.post(f"/items/{seeded.answered}/approve", data={CSRF_FIELD: token, "send_anyway": "1"})
    facts = browse.draft_facts(store, seeded.answered)
    assert facts is not None and facts.outbox_state is OutboxState.QUEUED


def test_reject_with_a_reason(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = log_in(client)
    response = client.post(
        f"/items/{seeded.hostile}/reject",
        data={CSRF_FIELD: token, "reason": "not-a-question", "text": "spam"},
    )
    assert response.status_code == 303
    facts = browse.draft_facts(store, seeded.hostile)
    assert store.show(seeded.hostile).status is ReviewStatus.REJECTED
    assert facts is not None and facts.reason == "not-a-question: spam"
    assert _audit(store, seeded.hostile)[0].action == "reject"
    bad = client.post(f"/items/{seeded.en}/reject", data={CSRF_FIELD: token, "reason": "because"})
    assert bad.status_code == 400 and store.show(seeded.en).status is ReviewStatus.PENDING


def test_relabel_renders_the_draft_again(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = log_in(client)
    before = store.show(seeded.en)
    response = client.post(f"/items/{seeded.en}/relabel", data={CSRF_FIELD: token, "tips": ["selinux"]})
    assert response.status_code == 303 and response.headers["location"] == f"/items/{seeded.en}"
    after = store.show(seeded.en)
    assert [t.tip_id for t in after.tips] == ["selinux"] and after.draft_text != before.draft_text
    assert after.status is ReviewStatus.PENDING
    rows = _audit(store, seeded.en)
    assert rows[0].action == "relabel" and rows[0].after is not None and rows[0].after["tips"] == ["selinux"]
    unknown = client.post(f"/items/{seeded.en}/relabel", data={CSRF_FIELD: token, "tips": ["no-such-tip"]})
    assert unknown.status_code == 400


def test_escalate(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = log_in(client)
    client.post(f"/items/{seeded.ja}/escalate", data={CSRF_FIELD: token, "note": "kernel question"})
    facts = browse.draft_facts(store, seeded.ja)
    assert facts is not None and facts.escalated
    assert 'id="escalated"' in client.get(f"/items/{seeded.ja}").text
    assert _audit(store, seeded.ja)[0].action == "escalate"


def test_audit_log_filter_and_jsonl_export(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = log_in(client)
    client.post(f"/items/{seeded.hostile}/reject", data={CSRF_FIELD: token, "reason": "duplicate"})
    log_in(client, "admin")
    page = client.get("/admin/audit?action=reject").text
    assert "reject" in page and f"/items/{seeded.hostile}" in page
    export = client.get("/admin/audit.jsonl?action=reject")
    assert export.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert len(lines) == 1 and lines[0]["actor"] == "mod" and lines[0]["review_item_id"] == seeded.hostile
    assert lines[0]["before"]["status"] == "pending" and lines[0]["after"]["status"] == "rejected"
    everything = [json.loads(line) for line in client.get("/admin/audit.jsonl").text.splitlines()]
    assert {"login", "reject", "user-add"} <= {row["action"] for row in everything}


def test_dashboard_draws_the_figures(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = log_in(client)
    client.post(f"/items/{seeded.en}/approve", data={CSRF_FIELD: token})
    client.post(f"/items/{seeded.hostile}/reject", data={CSRF_FIELD: token, "reason": "duplicate"})
    html = client.get("/dashboard").text
    assert html.count("<svg") == 4 and 'id="chart-decisions"><svg' in html and 'id="total">4<' in html
    figures = browse.dashboard(store)
    assert figures.total == 4 and figures.median_review is not None
    assert sum(a + e + r for _, a, e, r in figures.outcomes) == 2
    assert dict((d.value, share) for d, share in figures.missing_share)["version"] > 0


def test_outbox_page_lists_problems_and_resends(client: TestClient, store: Store, seeded: Seeded) -> None:
    from sqlalchemy import update

    from triagebot.store.tables import OutboxRow

    token = log_in(client)
    client.post(f"/items/{seeded.en}/approve", data={CSRF_FIELD: token})
    line = browse.outbox_lines(store)[0]
    with store.engine.begin() as connection:
        connection.execute(
            update(OutboxRow)
            .where(OutboxRow.id == line.id)
            .values(state="failed", last_error="550 no such user")
        )
    html = client.get("/outbox").text
    assert "550 no such user" in html and f"/outbox/{line.id}/resend" in html
    assert client.post(f"/outbox/{line.id}/resend", data={CSRF_FIELD: token}).status_code == 303
    assert browse.outbox_lines(store)[0].state is OutboxState.QUEUED
