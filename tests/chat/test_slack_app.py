"""The real Bolt app over real HTTP (uvicorn on 127.0.0.1) against a mock Slack Web API that records
every call: signed events and button clicks in, the exact Web API calls out, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from slack_sdk import WebClient

from tests.chat.conftest import Clock
from tests.chat.slack_mock import BOT_ID, BOT_USER, MockSlack, mock_slack, signed
from triagebot.app import Engine, build_slack
from triagebot.chat.service import ChatService
from triagebot.chat.slack import APPROVE, EDIT, card_blocks, http_app
from triagebot.config import load_settings
from triagebot.core.models import slack_message_id
from triagebot.store import ReviewStatus, Store
from triagebot.store.moderation import outbox_for_item
from triagebot.store.views import OutboxState

SECRET = "test-signing-secret"
HELP, MODS, OTHER = "C0HELP", "C0MODS", "C0OTHER"
QUESTION_TS = "1700000000.000100"
QUESTION_ID = slack_message_id(HELP, QUESTION_TS)
QUESTION = (
    "I installed the management server on Rocky Linux 8 with KVM but it does not start. "
    "The log says ERROR: /usr/bin/java does not exist"
)


@dataclass
class Running:
    base: str
    mock: MockSlack
    service: ChatService
    store: Store

    def send(
        self, body: str, *, secret: str = SECRET, at: float | None = None, form: bool = False
    ) -> httpx.Response:
        headers = signed(secret, body, at=at)
        headers["content-type"] = "application/x-www-form-urlencoded" if form else "application/json"
        return httpx.post(f"{self.base}/slack/events", content=body.encode(), headers=headers, timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def running(store: Store, engine: Engine, request: pytest.FixtureRequest) -> Iterator[Running]:
    """The Bolt app served over HTTP against the mock Web API; `request.param`: more [slack] settings."""
    slack = {"transport": "http", "moderators_channel": MODS, "channels": {HELP: {}, OTHER: {}}}
    with mock_slack() as mock:
        settings = load_settings(
            None,
            {"TRIAGEBOT_SLACK_SIGNING_SECRET": SECRET, "TRIAGEBOT_SLACK_API_URL": mock.url + "/"},
            overrides={"slack": {**slack, **getattr(request, "param", {})}},
        )
        client = WebClient(token="xoxb-test", base_url=mock.url + "/", retry_handlers=[])
        service, app = build_slack(settings, store, engine, client=client, process_before_response=True)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(http_app(app), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            yield Running(f"http://127.0.0.1:{port}", mock, service, store)
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def message_event(
    text: str = QUESTION, *, ts: str = QUESTION_TS, event_id: str = "Ev01", **extra: Any
) -> str:
    event = {"type": "message", "channel": HELP, "user": "U0ASKER", "text": text, "ts": ts, **extra}
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "event_id": event_id,
            "event_time": int(float(ts)),
            "authorizations": [{"user_id": BOT_USER, "is_bot": True}],
            "event": event,
        }
    )


def click(action_id: str, item_id: int, *, user: str = "U0MOD", card_ts: str = "") -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0TEAM"},
        "user": {"id": user},
        "api_app_id": "A0APP",
        "channel": {"id": MODS},
        "container": {"type": "message", "channel_id": MODS, "message_ts": card_ts},
        "message": {"ts": card_ts},
        "trigger_id": "1337.42.abcd",
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [
            {"action_id": action_id, "block_id": f"review-{item_id}", "value": str(item_id), "type": "button"}
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def test_a_signed_message_event_posts_the_exact_card_to_moderators(running: Running) -> None:
    response = running.send(message_event())
    assert response.status_code == 200
    item_id = running.store.review_id_for(QUESTION_ID)
    assert item_id is not None
    posts = running.mock.called("chat.postMessage")
    view = running.store.show(item_id)
    assert posts == [
        {"channel": MODS, "text": f"Review item {item_id}: pending", "blocks": card_blocks(view)}
    ]
    actions = posts[0]["blocks"][-1]
    assert [b["action_id"] for b in actions["elements"]] == [
        "triage_approve",
        "triage_edit",
        "triage_reject",
        "triage_relabel",
    ]
    assert "java-version" in json.dumps(posts[0]["blocks"])


def test_a_signed_approval_posts_the_exact_reply_in_the_askers_thread_once(running: Running) -> None:
    running.send(message_event())
    item_id = running.store.review_id_for(QUESTION_ID)
    assert item_id is not None
    draft = running.store.show(item_id).draft_text
    response = running.send(click(APPROVE, item_id), form=True)
    assert response.status_code == 200
    replies = [p for p in running.mock.called("chat.postMessage") if p["channel"] == HELP]
    assert replies == [
        {"channel": HELP, "thread_ts": QUESTION_TS, "text": draft, "unfurl_links": False, "link_names": False}
    ]
    assert running.store.show(item_id).status is ReviewStatus.SENT
    updates = running.mock.called("chat.update")
    assert updates and updates[-1]["channel"] == MODS and "sent" in json.dumps(updates[-1]["blocks"])
    running.send(click(APPROVE, item_id), form=True)  # a second click changes nothing
    assert len([p for p in running.mock.called("chat.postMessage") if p["channel"] == HELP]) == 1
    ephemeral = running.mock.called("chat.postEphemeral")
    assert ephemeral and ephemeral[-1]["user"] == "U0MOD" and "Not done" in ephemeral[-1]["text"]


@pytest.mark.parametrize("running", [{"moderators": ["U0MOD"]}], indirect=True)
def test_with_moderators_listed_nobody_else_decides(running: Running) -> None:
    running.send(message_event())
    item_id = running.store.review_id_for(QUESTION_ID)
    assert item_id is not None
    for action in (APPROVE, EDIT):
        assert running.send(click(action, item_id, user="U0GUEST"), form=True).status_code == 200
    assert running.store.show(item_id).status is ReviewStatus.PENDING
    assert running.mock.called("views.open") == []
    assert [p["channel"] for p in running.mock.called("chat.postMessage")] == [MODS]  # the card only
    told = running.mock.called("chat.postEphemeral")
    assert [(t["user"], t["text"]) for t in told] == [
        ("U0GUEST", "Not done: only the configured moderators decide drafts")
    ] * 2
    running.send(click(APPROVE, item_id), form=True)
    assert running.store.show(item_id).status is ReviewStatus.SENT


def test_bad_and_stale_signatures_are_refused(running: Running) -> None:
    assert running.send(message_event(), secret="wrong").status_code == 401
    assert running.send(message_event(), at=time.time() - 6 * 60).status_code == 401
    assert running.store.message(QUESTION_ID) is None
    assert running.mock.called("chat.postMessage") == []


@pytest.mark.parametrize(
    "extra",
    [
        {"bot_id": BOT_ID},
        {"bot_id": "B0OTHER", "subtype": "bot_message"},
        {"subtype": "message_changed"},
        {"subtype": "channel_join"},
    ],
)
def test_bots_edits_and_joins_are_ignored(running: Running, extra: dict[str, Any]) -> None:
    assert running.send(message_event(**extra)).status_code == 200
    assert running.store.message(QUESTION_ID) is None
    assert running.mock.called("chat.postMessage") == []


def test_the_same_ts_in_two_channels_is_two_questions(running: Running) -> None:
    """A Slack ts is unique only within its channel: the second channel's message is not a duplicate."""
    other = "Secondary storage will not mount, the NFS export on 10.1.1.5 gives permission denied"
    assert running.send(message_event()).status_code == 200
    assert running.send(message_event(other, event_id="Ev09", channel=OTHER)).status_code == 200
    first = running.store.review_id_for(slack_message_id(HELP, QUESTION_TS))
    second = running.store.review_id_for(slack_message_id(OTHER, QUESTION_TS))
    assert first is not None and second is not None and first != second
    stored = running.store.message(slack_message_id(OTHER, QUESTION_TS))
    assert stored is not None and stored.subject == other
    assert [c["channel"] for c in running.mock.called("chat.postMessage")] == [MODS, MODS]


def test_a_redelivered_event_is_handled_once(running: Running) -> None:
    running.send(message_event())
    running.send(message_event())  # Slack retries with the same event id
    assert len(running.mock.called("chat.postMessage")) == 1


def test_the_askers_thread_follow_up_updates_the_same_card(running: Running) -> None:
    running.send(message_event())
    running.send(
        message_event("It is 4.19.1.0", ts="1700000100.000200", event_id="Ev02", thread_ts=QUESTION_TS)
    )
    item_id = running.store.review_id_for(QUESTION_ID)
    assert item_id is not None
    card_ts = running.mock.called("chat.postMessage")[0]
    updates = running.mock.called("chat.update")
    assert len(running.mock.called("chat.postMessage")) == 1 and card_ts["channel"] == MODS
    assert len(updates) == 1 and "Java 11" in json.dumps(updates[0]["blocks"], ensure_ascii=False)


@pytest.mark.parametrize(
    "refusal",
    [
        (200, {"ok": False, "error": "internal_error"}, {}),
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "20"}),
    ],
    ids=["ok-false", "429"],
)
def test_refused_posts_stay_undelivered_and_are_delivered_once_later(
    running: Running, clock: Clock, refusal: tuple[int, dict[str, Any], dict[str, str]]
) -> None:
    running.send(message_event())
    item_id = running.store.review_id_for(QUESTION_ID)
    assert item_id is not None
    running.mock.replies["chat.postMessage"] = [refusal]
    running.send(click(APPROVE, item_id), form=True)
    entry = outbox_for_item(running.store, item_id)
    assert entry is not None and entry.state is OutboxState.RETRY
    assert running.store.show(item_id).status is ReviewStatus.APPROVED
    assert [p for p in running.mock.called("chat.postMessage") if p["channel"] == HELP] == []
    clock.now += timedelta(seconds=21)
    assert running.service.tick().sent == 1
    assert running.service.tick().claimed == 0
    replies = [p for p in running.mock.called("chat.postMessage") if p["channel"] == HELP]
    assert len(replies) == 1 and replies[0]["thread_ts"] == QUESTION_TS
    assert running.store.show(item_id).status is ReviewStatus.SENT


def test_a_permanent_refusal_is_failed_and_shown(running: Running, clock: Clock) -> None:
    running.send(message_event())
    item_id = running.store.review_id_for(QUESTION_ID)
    assert item_id is not None
    running.mock.replies["chat.postMessage"] = [(200, {"ok": False, "error": "channel_not_found"}, {})]
    running.send(click(APPROVE, item_id), form=True)
    entry = outbox_for_item(running.store, item_id)
    assert (
        entry is not None
        and entry.state is OutboxState.FAILED
        and "channel_not_found" in (entry.last_error or "")
    )
    clock.now += timedelta(hours=1)
    assert running.service.tick().claimed == 0


def test_edit_opens_a_modal_and_saving_posts_the_edited_text(running: Running) -> None:
    running.send(message_event())
    item_id = running.store.review_id_for(QUESTION_ID)
    assert item_id is not None
    running.send(click("triage_edit", item_id), form=True)
    opened = running.mock.called("views.open")
    assert len(opened) == 1 and opened[0]["trigger_id"] == "1337.42.abcd"
    assert opened[0]["view"]["callback_id"] == "triage_edit" and opened[0]["view"]["private_metadata"] == str(
        item_id
    )
    submission = {
        "type": "view_submission",
        "team": {"id": "T0TEAM"},
        "user": {"id": "U0MOD"},
        "api_app_id": "A0APP",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "triage_edit",
            "private_metadata": str(item_id),
            "state": {
                "values": {
                    "reply": {"text": {"type": "plain_text_input", "value": "Check `java -version` first."}}
                }
            },
        },
    }
    assert running.send(urlencode({"payload": json.dumps(submission)}), form=True).status_code == 200
    replies = [p for p in running.mock.called("chat.postMessage") if p["channel"] == HELP]
    assert [r["text"] for r in replies] == ["Check `java -version` first."]
    assert running.store.show(item_id).status is ReviewStatus.SENT


def test_the_slash_command_answers_ephemerally_and_stores_nothing(running: Running) -> None:
    body = urlencode(
        {
            "command": "/triage",
            "text": QUESTION,
            "user_id": "U0ASKER",
            "channel_id": HELP,
            "team_id": "T0TEAM",
            "trigger_id": "1.2.3",
            "response_url": "http://127.0.0.1:9/x",
        }
    )
    response = running.send(body, form=True)
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral" and "Java" in answer["text"]
    assert running.store.row_counts()["messages"] == 0 and running.mock.called("chat.postMessage") == []
