"""The shared chat service on SQLite and PostgreSQL, with the real engine and fakes at the chat ports:
questions become review items, follow-ups update them, replies are posted once and retried."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.chat.conftest import Clock, FakeBoard, FakePoster
from tests.store.factories import record
from triagebot.app import Engine
from triagebot.chat.ports import ChatTarget
from triagebot.chat.service import ChatService, Outcome
from triagebot.config import ChatChannelSettings, ChatSettings
from triagebot.core.models import Channel, InboundMessage
from triagebot.errors import ChatDeliveryError
from triagebot.pipeline import ingest
from triagebot.review import ReplyAddressing, approve
from triagebot.store import ReviewStatus, Store
from triagebot.store.chat import card_for, first_delivery
from triagebot.store.moderation import outbox_for_item
from triagebot.store.tables import AuditRow
from triagebot.store.views import OutboxState

HELP = "C0HELP"
QUESTION = (
    "I installed the management server on Rocky Linux 8 with KVM but it does not start. "
    "The log says ERROR: /usr/bin/java does not exist"
)


def chat_message(ts: str, text: str, *, thread: str | None = None, author: str = "U0ASKER") -> InboundMessage:
    return InboundMessage(
        channel=Channel.SLACK,
        source=HELP,
        message_id=ts,
        subject="",
        text=text,
        original=text,
        author=author,
        thread_key=thread,
    )


def service_for(
    store: Store, engine: Engine, *, mode: str = "review", threshold: float = 0.85
) -> tuple[ChatService, FakePoster, FakeBoard]:
    settings = ChatSettings(
        channels={HELP: ChatChannelSettings(mode=mode, auto_threshold=threshold)},  # type: ignore[arg-type]
        moderators_channel="C0MODS",
        retry_seconds=5,
    )
    poster, board = FakePoster(), FakeBoard()
    return ChatService(store, engine, Channel.SLACK, settings, poster=poster, board=board), poster, board


def test_a_question_becomes_a_pending_draft_shown_to_moderators(store: Store, engine: Engine) -> None:
    service, poster, board = service_for(store, engine)
    received = service.receive(chat_message("1700000000.000100", QUESTION), event_id="Ev1")
    assert received.outcome is Outcome.DRAFTED
    assert received.item is not None and received.item.status is ReviewStatus.PENDING
    assert received.item.tips[0].tip_id == "java-version"
    assert [(post_id, view.id) for post_id, view in board.shown] == [(None, received.item.id)]
    card = card_for(store, received.item.id, Channel.SLACK)
    assert card is not None and (card.location, card.post_id) == ("C0MODS", "card-1")
    assert poster.posts == []  # review mode: nothing reaches the asker before a moderator approves


def test_redelivered_events_and_messages_are_handled_once(store: Store, engine: Engine) -> None:
    service, _, board = service_for(store, engine)
    first = chat_message("1700000000.000100", QUESTION)
    assert service.receive(first, event_id="Ev1").outcome is Outcome.DRAFTED
    assert service.receive(first, event_id="Ev1").outcome is Outcome.DUPLICATE
    assert service.receive(first, event_id="Ev1-retry").outcome is Outcome.DUPLICATE
    assert len(board.shown) == 1
    assert first_delivery(store, Channel.SLACK, "Ev2") is True
    assert first_delivery(store, Channel.SLACK, "Ev2") is False
    assert first_delivery(store, Channel.DISCORD, "Ev2") is True  # ids are per channel


def test_channels_not_configured_are_ignored(store: Store, engine: Engine) -> None:
    service, _, board = service_for(store, engine)
    elsewhere = InboundMessage(
        channel=Channel.SLACK, source="C0RANDOM", message_id="1.2", subject="", text=QUESTION
    )
    assert service.receive(elsewhere).outcome is Outcome.IGNORED
    assert store.message("1.2") is None and board.shown == []


def test_the_askers_follow_up_updates_the_draft_and_its_card(store: Store, engine: Engine) -> None:
    service, _, board = service_for(store, engine)
    item = service.receive(chat_message("1700000000.000100", QUESTION)).item
    assert item is not None and "version" in [d.value for d in item.missing]
    follow = service.receive(chat_message("1700000100.000200", "It is 4.19.1.0", thread="1700000000.000100"))
    assert follow.outcome is Outcome.UPDATED and follow.item is not None
    assert follow.item.id == item.id and "version" not in [d.value for d in follow.item.missing]
    assert follow.item.draft_text != item.draft_text and "Java 11" in follow.item.draft_text
    assert [post_id for post_id, _ in board.shown] == [None, "card-1"]  # the same card, updated


def test_someone_elses_reply_in_the_thread_changes_no_draft(store: Store, engine: Engine) -> None:
    service, _, board = service_for(store, engine)
    service.receive(chat_message("1700000000.000100", QUESTION))
    other = chat_message(
        "1700000100.000200", "Try 4.19 with Java 11", thread="1700000000.000100", author="U0HELPER"
    )
    assert service.receive(other).outcome is Outcome.STORED
    assert len(board.shown) == 1


def test_approval_posts_once_in_the_askers_thread_with_the_same_audit_log(
    store: Store, engine: Engine
) -> None:
    service, poster, board = service_for(store, engine)
    item = service.receive(chat_message("1700000000.000100", QUESTION)).item
    assert item is not None
    view = service.approve(item.id, moderator="U0MOD")
    assert view.status is ReviewStatus.SENT
    assert poster.posts == [(ChatTarget("C0HELP", "1700000000.000100"), (item.draft_text,))]
    assert service.deliver().claimed == 0 and len(poster.posts) == 1
    with store.engine.connect() as connection:
        actions = set(
            connection.execute(
                select(AuditRow.actor, AuditRow.action).where(AuditRow.review_item_id == item.id)
            )
        )
    assert {("slack:U0MOD", "approve"), ("slack-deliver", "deliver-sent")} <= {tuple(a) for a in actions}
    assert board.shown[-1][0] == "card-1" and board.shown[-1][1].status is ReviewStatus.SENT


def test_rate_limits_wait_for_retry_after_then_deliver_once(
    store: Store, engine: Engine, clock: Clock
) -> None:
    service, poster, _ = service_for(store, engine)
    item = service.receive(chat_message("1700000000.000100", QUESTION)).item
    assert item is not None
    poster.refuse = [ChatDeliveryError("ratelimited", temporary=True, retry_after=30)]
    assert service.approve(item.id, moderator="U0MOD").status is ReviewStatus.APPROVED
    entry = outbox_for_item(store, item.id)
    assert entry is not None and entry.state is OutboxState.RETRY and entry.last_error == "ratelimited"
    assert entry.next_attempt_at == clock.now + timedelta(seconds=30)  # Retry-After beats the 5 s backoff
    clock.now += timedelta(seconds=29)
    assert service.deliver().claimed == 0 and poster.posts == []
    clock.now += timedelta(seconds=1)
    assert service.deliver().sent == 1
    assert service.deliver().claimed == 0 and len(poster.posts) == 1
    assert store.show(item.id).status is ReviewStatus.SENT


def test_a_permanent_refusal_fails_for_good(store: Store, engine: Engine, clock: Clock) -> None:
    service, poster, _ = service_for(store, engine)
    item = service.receive(chat_message("1700000000.000100", QUESTION)).item
    assert item is not None
    poster.refuse = [ChatDeliveryError("channel_not_found", temporary=False)]
    service.approve(item.id, moderator="U0MOD")
    entry = outbox_for_item(store, item.id)
    assert entry is not None and entry.state is OutboxState.FAILED
    clock.now += timedelta(days=1)
    assert service.deliver().claimed == 0 and poster.posts == []


def test_a_reply_cut_off_half_way_is_left_for_a_moderator(store: Store, engine: Engine) -> None:
    service, poster, _ = service_for(store, engine)
    item = service.receive(chat_message("1700000000.000100", QUESTION)).item
    assert item is not None
    poster.refuse = [ChatDeliveryError("ratelimited", temporary=True, retry_after=1, posted=1)]
    service.approve(item.id, moderator="U0MOD")
    entry = outbox_for_item(store, item.id)
    assert entry is not None and entry.state is OutboxState.UNKNOWN


def test_auto_mode_posts_confident_drafts_and_reviews_the_rest(store: Store, engine: Engine) -> None:
    service, poster, board = service_for(store, engine, mode="auto", threshold=0.5)
    confident = service.receive(chat_message("1700000000.000100", QUESTION))
    assert confident.outcome is Outcome.AUTO and confident.item is not None
    assert confident.item.status is ReviewStatus.SENT and board.shown == []
    assert poster.posts == [(ChatTarget("C0HELP", "1700000000.000100"), (confident.item.draft_text,))]
    with store.engine.connect() as connection:
        actors = set(connection.scalars(select(AuditRow.actor).where(AuditRow.action == "approve")))
    assert actors == {"auto:slack"}
    strict, _, strict_board = service_for(store, engine, mode="auto", threshold=1.0)
    unsure = strict.receive(chat_message("1700000200.000300", QUESTION + " on CentOS"))
    assert unsure.outcome is Outcome.DRAFTED and len(strict_board.shown) == 1


def test_a_card_refused_by_the_platform_is_posted_on_the_next_round(store: Store, engine: Engine) -> None:
    service, _, board = service_for(store, engine)
    board.refuse = [ChatDeliveryError("ratelimited", temporary=True, retry_after=1)]
    item = service.receive(chat_message("1700000000.000100", QUESTION)).item
    assert item is not None and card_for(store, item.id, Channel.SLACK) is None
    service.tick()
    assert card_for(store, item.id, Channel.SLACK) is not None
    service.tick()
    assert len(board.shown) == 1


def test_the_chat_deliverer_leaves_mail_rows_alone(store: Store, engine: Engine) -> None:
    service, poster, _ = service_for(store, engine)
    ingest([record("q1@example.org", "management server does not start", QUESTION)], store, engine)
    item_id = store.review_id_for("q1@example.org")
    assert item_id is not None
    approve(store, item_id, actor="hana", addressing=ReplyAddressing(lists={}))
    assert service.deliver().claimed == 0 and poster.posts == []
    entry = outbox_for_item(store, item_id)
    assert entry is not None and entry.state is OutboxState.QUEUED and entry.channel is Channel.EMAIL


def test_an_answer_to_a_sent_question_for_details_reopens_the_item(store: Store, engine: Engine) -> None:
    service, poster, board = service_for(store, engine)
    item = service.receive(chat_message("1700000000.000100", QUESTION)).item
    assert item is not None and "version" in [d.value for d in item.missing]
    service.approve(item.id, moderator="U0MOD")
    answer = service.receive(chat_message("1700000100.000200", "It is 4.19.1.0", thread="1700000000.000100"))
    assert answer.outcome is Outcome.UPDATED and answer.item is not None
    assert answer.item.status is ReviewStatus.PENDING and "Java 11" in answer.item.draft_text
    service.approve(item.id, moderator="U0MOD")
    assert [text for _, (text,) in poster.posts] == [item.draft_text, answer.item.draft_text]
    entry = outbox_for_item(store, item.id)
    assert entry is not None and entry.state is OutboxState.SENT and entry.body == answer.item.draft_text
    late = service.receive(
        chat_message("1700000200.000300", "Thanks, on Rocky Linux 8", thread="1700000000.000100")
    )
    assert late.outcome is Outcome.STORED  # nothing more was asked that this answers
    assert store.show(item.id).status is ReviewStatus.SENT and len(poster.posts) == 2
