"""End to end through a harness that pushes Slack events into the real Bolt app and pops the replies
out of the mock Slack Web API: a Japanese question without a version, the draft asking for it, the
approval, the asker's answer, and the new draft naming the Java the release needs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

from tests.chat.slack_mock import BOT_USER, MockSlack, mock_slack, signed
from triagebot.app import Engine, build_slack
from triagebot.chat.slack import APPROVE
from triagebot.config import load_settings
from triagebot.core.models import slack_message_id
from triagebot.store import ReviewStatus, Store, open_store

SECRET = "harness-secret"
HELP, MODS = "C0HELP", "C0MODS"


class SlackHarness:
    """Push an event or a click in; pop what the bot posted to a channel out."""

    def __init__(self, app: App, mock: MockSlack) -> None:
        self.app, self.mock, self.seq = app, mock, 0

    def _dispatch(self, body: str, content_type: str) -> int:
        headers = {**signed(SECRET, body, at=time.time()), "content-type": content_type}
        return self.app.dispatch(BoltRequest(body=body, headers=headers)).status

    def say(self, text: str, *, ts: str, thread_ts: str | None = None, user: str = "U0ASKER") -> None:
        self.seq += 1
        event: dict[str, Any] = {"type": "message", "channel": HELP, "user": user, "text": text, "ts": ts}
        if thread_ts:
            event["thread_ts"] = thread_ts
        body = {
            "type": "event_callback",
            "event_id": f"EvH{self.seq}",
            "authorizations": [{"user_id": BOT_USER}],
            "event": event,
        }
        assert self._dispatch(json.dumps(body), "application/json") == 200

    def click(self, action_id: str, item_id: int, *, user: str = "U0MOD") -> None:
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "channel": {"id": MODS},
            "trigger_id": "1.2.3",
            "actions": [{"action_id": action_id, "value": str(item_id), "type": "button"}],
        }
        assert (
            self._dispatch(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
            == 200
        )

    def posted(self, channel: str) -> list[dict[str, Any]]:
        return [p for p in self.mock.called("chat.postMessage") if p["channel"] == channel]

    def card_texts(self) -> list[str]:
        cards = self.posted(MODS) + [u for u in self.mock.called("chat.update") if u["channel"] == MODS]
        return [json.dumps(c["blocks"], ensure_ascii=False) for c in cards]


@pytest.fixture
def harness(tmp_path: Path, engine: Engine) -> Iterator[tuple[SlackHarness, Store]]:
    store = open_store(f"sqlite:///{tmp_path}/harness.sqlite3")
    with mock_slack() as mock:
        settings = load_settings(
            None,
            {"TRIAGEBOT_SLACK_SIGNING_SECRET": SECRET},
            overrides={"slack": {"transport": "http", "moderators_channel": MODS, "channels": {HELP: {}}}},
        )
        client = WebClient(token="xoxb-test", base_url=mock.url + "/", retry_handlers=[])
        _, app = build_slack(settings, store, engine, client=client, process_before_response=True)
        yield SlackHarness(app, mock), store
    store.close()


def test_japanese_question_version_asked_approved_then_the_answer_names_java_7(
    harness: tuple[SlackHarness, Store],
) -> None:
    bot, store = harness
    question_ts = "1700000000.000100"
    bot.say(
        "CloudStack の管理サーバが起動しません。ログに ERROR: /usr/bin/java does not exist と出ます。"
        "OS は CentOS 6、ハイパーバイザは KVM です。",
        ts=question_ts,
    )
    item_id = store.review_id_for(slack_message_id(HELP, question_ts))
    assert item_id is not None
    draft = store.show(item_id)
    assert draft.language.value == "ja" and [t.tip_id for t in draft.tips][:1] == ["java-version"]
    assert "CloudStack のバージョン" in draft.draft_text  # asks for the version, in Japanese
    assert "Java 7 (1.7) が必要" not in draft.draft_text

    bot.click(APPROVE, item_id)
    first = bot.posted(HELP)
    assert [(p["thread_ts"], p["text"]) for p in first] == [(question_ts, draft.draft_text)]
    assert store.show(item_id).status is ReviewStatus.SENT
    bot.click(APPROVE, item_id)  # a second click posts nothing more
    assert len(bot.posted(HELP)) == 1

    bot.say("4.4.1 です", ts="1700000300.000200", thread_ts=question_ts)
    again = store.show(item_id)
    assert again.status is ReviewStatus.PENDING and again.draft_text != draft.draft_text
    assert "CloudStack 4.4.1 には Java 7 (1.7) が必要です" in again.draft_text
    assert "version" not in [d.value for d in again.missing]
    assert "Java 7 (1.7) が必要" in bot.card_texts()[-1]  # the moderators see the new draft
    assert len(bot.posted(HELP)) == 1  # nothing more reaches the asker before a moderator approves

    bot.click(APPROVE, item_id)
    replies = bot.posted(HELP)
    assert [(p["thread_ts"], p["text"]) for p in replies] == [
        (question_ts, draft.draft_text),
        (question_ts, again.draft_text),
    ]
    assert store.show(item_id).status is ReviewStatus.SENT
