"""A Slack thread takes the same service and store path as mail: one model, one threader, one store."""

from __future__ import annotations

from datetime import timedelta

from tests.store.factories import T0, record
from triagebot.app import Engine
from triagebot.core.models import Channel, InboundMessage
from triagebot.pipeline import ingest
from triagebot.review import show
from triagebot.store import QueueFilter, Store, TriageState

QUESTION = "SELinux is enforcing on the KVM host and the cloudstack-agent cannot connect. Version 4.19, Rocky Linux 9"


def slack(
    ts: str, user: str, text: str, *, thread_ts: str | None = None, bot: bool = False, minute: int = 0
) -> InboundMessage:
    """A Slack message event as the Slack adapter translates it."""
    return InboundMessage(
        channel=Channel.SLACK,
        source="C024BE91L",
        message_id=ts,
        subject="",
        text=text,
        original=text,
        author=user,
        sent_at=T0 + timedelta(minutes=minute),
        thread_key=thread_ts,
        is_bot=bot,
        raw=b'{"type": "message"}',
        where=f"slack:C024BE91L/{ts}",
    )


def test_slack_and_mail_go_through_the_same_pipeline_and_store(store: Store, engine: Engine) -> None:
    messages = [
        slack("1700000000.000100", "U111", QUESTION),
        record("mail-q@x", "SELinux blocks the agent", QUESTION, list_id="users"),
        slack(
            "1700000000.000200", "U111", "the log says avc: denied", thread_ts="1700000000.000100", minute=1
        ),
        slack(
            "1700000000.000300",
            "B999",
            "CI run #42 passed",
            thread_ts="1700000000.000100",
            bot=True,
            minute=2,
        ),
        slack("1700000000.000400", "B999", "Release 4.20 is out", bot=True, minute=3),
    ]
    summary = ingest(messages, store, engine)
    assert (summary.new, summary.skipped) == (5, 0)

    thread = store.thread_of("1700000000.000200")
    assert thread is not None and thread.root_message_id == "1700000000.000100"
    assert thread.message_ids == ("1700000000.000100", "1700000000.000200", "1700000000.000300")
    assert (thread.source, thread.asker, thread.is_question, thread.answered) == (
        "C024BE91L",
        "u111",
        True,
        False,
    )
    follow_up = store.message("1700000000.000200")
    assert follow_up is not None and follow_up.triage_state is TriageState.TRIAGED
    bot_reply = store.message("1700000000.000300")
    assert bot_reply is not None and bot_reply.triage_state is TriageState.SKIPPED

    announcement = store.thread_of("1700000000.000400")
    assert announcement is not None and not announcement.is_question
    assert store.review_id_for("1700000000.000400") is None, "a bot's post gets no draft"

    item = store.review_id_for("1700000000.000100")
    mail_item = store.review_id_for("mail-q@x")
    assert item is not None and mail_item is not None
    view, mail_view = show(store, item), show(store, mail_item)
    assert (view.channel, view.source) == (Channel.SLACK, "C024BE91L")
    assert (mail_view.channel, mail_view.source) == (Channel.EMAIL, "users")
    assert "selinux" in [t.tip_id for t in view.tips] and "selinux" in [t.tip_id for t in mail_view.tips]
    assert "avc: denied" in view.question, "the asker's follow-up in the thread is triaged with the question"

    # an answer in the Slack thread by someone else marks it answered, as a mail reply does
    ingest(
        [slack("1700000000.000500", "U222", "setsebool -P …", thread_ts="1700000000.000100", minute=4)],
        store,
        engine,
    )
    thread = store.thread_of("1700000000.000100")
    assert thread is not None and thread.answered
    unanswered = store.queue(QueueFilter(answered=False))
    assert [e.id for e in unanswered] == [mail_item]
    assert [e.id for e in store.queue(QueueFilter(answered=True))] == [item]
