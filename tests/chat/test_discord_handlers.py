"""The Discord bot on the shared chat service, with the real engine and store and fakes at the
Discord boundary: questions to cards, buttons and modals to review steps, replies into threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from tests.chat.conftest import Clock
from tests.chat.discord_fakes import (
    MODERATOR_ROLE,
    Finder,
    Outgoing,
    author,
    interaction,
    message_from,
    text_channel,
    thread,
)
from tests.chat.discord_fixtures import BOT_USER, FORUM_CHANNEL, MODERATORS, SCOPE, TEXT_CHANNEL, payload
from triagebot.app import Engine
from triagebot.chat.discord_client import (
    DiscordBoard,
    DiscordThreads,
    LoopBridge,
    QuestionHandler,
    answer_triage,
    split_reply,
    triage_command,
)
from triagebot.chat.discord_review import (
    NOT_A_MODERATOR,
    EditModal,
    RejectModal,
    RelabelModal,
    ReviewAction,
    ReviewButton,
    ReviewDesk,
    Reviewers,
    card_text,
)
from triagebot.chat.ports import ChatTarget
from triagebot.chat.service import ChatService
from triagebot.config import ChatChannelSettings, DiscordSettings
from triagebot.core.models import Channel
from triagebot.errors import ChatDeliveryError
from triagebot.store import ReviewStatus, Store
from triagebot.store.moderation import outbox_for_item
from triagebot.store.views import OutboxState

QUESTION_ID = "1311000000000000101"
FOLLOW_UP_ID = "1311000000000000303"
NO_VERSION = "バージョン（例: 4.19.1.0）"  # the draft's request for the version, in Japanese
JAVA_QUESTION = (
    "CentOS 7 に KVM で CloudStack をインストールしましたが、管理サーバーが起動しません。"
    "ログに ERROR: /usr/bin/java does not exist と出ます。"
)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def no_mentions(kwargs: dict[str, Any]) -> bool:
    mentions = kwargs.get("allowed_mentions")
    return mentions is not None and mentions.to_dict() == discord.AllowedMentions.none().to_dict()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The client's event loop, running in a thread of its own as discord.py's would."""
    running = asyncio.new_event_loop()
    worker = threading.Thread(target=running.run_forever, daemon=True)
    worker.start()
    yield running
    running.call_soon_threadsafe(running.stop)
    worker.join(timeout=5)
    running.close()


@dataclass
class Bot:
    """The bot's parts wired as the runner wires them, over fake Discord channels."""

    out: Outgoing
    finder: Finder
    service: ChatService
    handler: QuestionHandler
    desk: ReviewDesk
    channel: Any  # the asker's text channel

    def ask(self, name: str = "message_text_channel_ja", **changes: Any) -> None:
        run(self.handler.on_message(message_from({**payload(name), **changes}, self.channel)))

    def follow_up(self, text: str) -> None:
        asker_thread = self.finder.get_channel(int(QUESTION_ID)) or thread(
            QUESTION_ID, TEXT_CHANNEL, self.out
        )
        message = message_from({**payload("message_thread_follow_up"), "content": text}, asker_thread)
        run(self.handler.on_message(message))

    def cards(self) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return self.out.of(f"send:{MODERATORS}")

    def replies(self) -> list[str]:
        return [args[0] for args, _ in self.out.of(f"send:{QUESTION_ID}")]


def make_bot(store: Store, engine: Engine, loop: asyncio.AbstractEventLoop, *, mode: str = "review") -> Bot:
    out = Outgoing()
    bridge = LoopBridge(loop)
    channel = text_channel(TEXT_CHANNEL, out)
    finder = Finder(text_channel(MODERATORS, out), channel)

    async def open_thread(name: str) -> Any:
        return finder.add(thread(QUESTION_ID, TEXT_CHANNEL, out, name=name, history=()))

    question = MagicMock(spec=discord.Message)
    question.content = JAVA_QUESTION
    question.create_thread = AsyncMock(side_effect=open_thread)
    channel.fetch_message = AsyncMock(return_value=question)
    settings = DiscordSettings(
        channels={
            TEXT_CHANNEL: ChatChannelSettings(mode=mode, auto_threshold=0.85),
            FORUM_CHANNEL: ChatChannelSettings(),
        },
        forums=(FORUM_CHANNEL,),
        moderators_channel=MODERATORS,
    )
    service = ChatService(
        store,
        engine,
        Channel.DISCORD,
        settings,
        poster=DiscordThreads(finder, bridge, int(BOT_USER)),
        board=DiscordBoard(finder, bridge, int(MODERATORS)),
        split=split_reply,
    )
    return Bot(out, finder, service, QuestionHandler(service, SCOPE), ReviewDesk(service), channel)


@pytest.fixture
def bot(store: Store, engine: Engine, loop: asyncio.AbstractEventLoop) -> Bot:
    return make_bot(store, engine, loop)


def custom_ids(view: discord.ui.View) -> list[str]:
    return [getattr(child, "custom_id", "") for child in view.children]


def item_id(bot: Bot) -> int:
    found = bot.service.store.review_id_for(QUESTION_ID)
    assert found is not None
    return found


# -- questions → cards ----------------------------------------------------------------------------


def test_a_japanese_question_posts_a_card_asking_for_the_version_with_four_buttons(bot: Bot) -> None:
    bot.ask(content=JAVA_QUESTION)
    [(args, kwargs)] = bot.cards()
    item = item_id(bot)
    assert args[0].startswith(f"**Review #{item}** · pending\n")
    assert "java-version" in args[0] and "missing: version" in args[0]
    assert NO_VERSION in bot.service.store.show(item).draft_text
    assert len(args[0]) <= 2000
    assert custom_ids(kwargs["view"]) == [
        f"triagebot:{a}:{item}" for a in ("approve", "edit", "reject", "relabel")
    ]
    assert no_mentions(kwargs)
    assert bot.replies() == []  # review mode: nothing reaches the asker before a moderator approves


@pytest.mark.parametrize(
    "name", ["message_from_bot", "message_webhook", "message_edited", "message_member_join"]
)
def test_bots_webhooks_edits_and_joins_reach_neither_the_store_nor_moderators(bot: Bot, name: str) -> None:
    bot.ask(name)
    assert bot.out.calls == []
    assert bot.service.store.message(payload(name)["id"]) is None


def test_our_own_post_in_the_thread_is_not_taken_for_a_follow_up(bot: Bot) -> None:
    bot.ask(content=JAVA_QUESTION)
    own = message_from(payload("message_own"), thread(QUESTION_ID, TEXT_CHANNEL, Outgoing()))
    run(bot.handler.on_message(own))
    assert bot.service.store.message("1311000000000000408") is None
    assert len(bot.cards()) == 1
    assert [w for w, _, _ in bot.out.calls if w.startswith("edit:")] == []  # the card was not touched


def test_channels_not_configured_and_direct_messages_are_ignored(bot: Bot) -> None:
    run(
        bot.handler.on_message(
            message_from(payload("message_other_channel"), text_channel("1300000000000000099", Outgoing()))
        )
    )
    direct = MagicMock(spec=discord.DMChannel)
    direct.id = 555
    run(bot.handler.on_message(message_from(payload("message_text_channel_ja"), direct)))
    assert bot.out.calls == []


def test_a_forum_post_is_a_question_of_the_forum(bot: Bot) -> None:
    post = thread(
        "1311000000000000202", FORUM_CHANNEL, Outgoing(), name="KVM host stays in Alert after adding it"
    )
    run(bot.handler.on_message(message_from(payload("message_forum_starter"), post)))
    [(args, _)] = bot.cards()
    assert "Question: KVM host stays in Alert after adding it" in args[0]
    assert f"<#{FORUM_CHANNEL}>" in args[0]


def test_a_gateway_replay_after_a_reconnect_is_handled_once(bot: Bot) -> None:
    bot.ask(content=JAVA_QUESTION)
    bot.ask(content=JAVA_QUESTION)
    assert len(bot.cards()) == 1
    assert bot.service.store.row_counts()["review_items"] == 1


# -- the whole flow: ask, approve, follow up -------------------------------------------------------


def test_a_japanese_question_approved_in_discord_is_delivered_once_in_the_askers_thread(bot: Bot) -> None:
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    run(bot.desk.press(ReviewAction.APPROVE, item, interaction(bot.out)))
    draft = bot.service.store.show(item).draft_text
    assert bot.replies() == list(split_reply(draft))  # in the thread opened from the question
    assert len(bot.replies()) == 2 and all(len(r) <= 2000 for r in bot.replies())
    assert NO_VERSION in "\n".join(bot.replies())
    assert all(no_mentions(k) for _, k in bot.out.of(f"send:{QUESTION_ID}"))
    bot.channel.fetch_message.assert_awaited_once_with(int(QUESTION_ID))
    assert bot.service.store.show(item).status is ReviewStatus.SENT
    [(_, _, edited)] = [c for c in bot.out.calls if c[0].startswith("edit:")][-1:]
    assert "· sent" in edited["content"] and edited["view"] is None
    assert any(e.actor == "discord:1280000000000000600" for e in bot.service.store.show(item).history)
    bot.service.tick()
    assert len(bot.replies()) == 2  # delivered once: another round posts nothing


def test_the_askers_follow_up_updates_the_pending_draft_and_its_card(bot: Bot) -> None:
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    bot.follow_up("4.4.1 です")
    updated = bot.service.store.show(item)
    assert "Java 7 (1.7)" in updated.draft_text and "4.4.1" in updated.draft_text
    assert NO_VERSION not in updated.draft_text
    assert len(bot.cards()) == 1  # the card is edited, not posted again
    edits = [k for w, _, k in bot.out.calls if w.startswith("edit:")]
    assert edits and "missing: none" in edits[-1]["content"] and no_mentions(edits[-1])


def test_auto_mode_posts_a_confident_draft_without_review(
    store: Store, engine: Engine, loop: asyncio.AbstractEventLoop
) -> None:
    bot = make_bot(store, engine, loop, mode="auto")
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    assert bot.service.store.show(item).status is ReviewStatus.SENT
    assert bot.replies() == list(split_reply(bot.service.store.show(item).draft_text))
    assert bot.cards() == []


# -- buttons and modals ---------------------------------------------------------------------------


def modal_of(bot: Bot, action: ReviewAction, item: int) -> Any:
    run(bot.desk.press(action, item, interaction(bot.out)))
    [(args, _)] = bot.out.of("response.send_modal")
    return args[0]


def test_edit_opens_the_draft_and_approves_the_moderators_text(bot: Bot) -> None:
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    modal = modal_of(bot, ReviewAction.EDIT, item)
    assert isinstance(modal, EditModal) and modal.text.default == bot.service.store.show(item).draft_text
    modal.text._value = "4.4 系なら Java 7 を使ってください。 @everyone"
    run(modal.on_submit(interaction(bot.out)))
    assert bot.replies() == ["4.4 系なら Java 7 を使ってください。 @everyone"]
    assert all(no_mentions(k) for _, k in bot.out.of(f"send:{QUESTION_ID}"))
    assert bot.service.store.show(item).status is ReviewStatus.SENT


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("duplicate of #5", "duplicate: of #5"), ("the asker solved it", "other: the asker solved it")],
)
def test_reject_takes_a_reason_code_or_the_moderators_words_and_posts_nothing(
    bot: Bot, typed: str, stored: str
) -> None:
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    modal = modal_of(bot, ReviewAction.REJECT, item)
    assert isinstance(modal, RejectModal)
    modal.reason._value = typed
    run(modal.on_submit(interaction(bot.out)))
    view = bot.service.store.show(item)
    assert view.status is ReviewStatus.REJECTED and bot.replies() == []
    assert any(e.note == stored for e in view.history)


def test_relabel_drafts_again_and_keeps_the_buttons(bot: Bot) -> None:
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    modal = modal_of(bot, ReviewAction.RELABEL, item)
    assert isinstance(modal, RelabelModal) and modal.tips.default == "java-version"
    modal.tips._value = "selinux, java-version"
    run(modal.on_submit(interaction(bot.out)))
    view = bot.service.store.show(item)
    assert [t.tip_id for t in view.tips] == ["selinux", "java-version"]
    edits = [k for w, _, k in bot.out.calls if w.startswith("edit:")]
    assert custom_ids(edits[-1]["view"])[0] == f"triagebot:approve:{item}"


def test_a_refused_step_is_told_only_to_the_moderator_who_pressed(bot: Bot) -> None:
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    run(bot.desk.press(ReviewAction.APPROVE, item, interaction(bot.out)))
    run(bot.desk.press(ReviewAction.APPROVE, item, interaction(bot.out)))  # a second moderator, too late
    [(args, kwargs)] = bot.out.of("followup.send")
    assert args[0].startswith(f"Not done: review item {item} is ")
    assert kwargs["ephemeral"] is True and no_mentions(kwargs)
    assert len(bot.replies()) == 2  # still once


@pytest.mark.parametrize("action", list(ReviewAction))
def test_a_member_without_the_moderator_permission_decides_nothing(bot: Bot, action: ReviewAction) -> None:
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    run(bot.desk.press(action, item, interaction(bot.out, user="mallory", manage_messages=False)))
    [(args, kwargs)] = bot.out.of("response.send_message")
    assert args[0] == NOT_A_MODERATOR and kwargs["ephemeral"] is True and no_mentions(kwargs)
    assert bot.out.of("response.send_modal") == [] and bot.replies() == []
    assert bot.service.store.show(item).status is ReviewStatus.PENDING


def test_a_modal_sent_by_a_member_who_may_not_moderate_changes_nothing(bot: Bot) -> None:
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    outsider = interaction(bot.out, user="mallory", manage_messages=False)
    run(bot.desk.submit_edit(outsider, item, "my own text"))
    run(bot.desk.submit_reject(outsider, item, "duplicate"))
    run(bot.desk.submit_relabel(outsider, item, "selinux"))
    assert [a[0] for a, _ in bot.out.of("response.send_message")] == [NOT_A_MODERATOR] * 3
    assert bot.service.store.show(item).status is ReviewStatus.PENDING and bot.replies() == []


def test_listed_roles_and_users_decide_and_the_permission_alone_no_longer_does(bot: Bot) -> None:
    bot.desk.reviewers = Reviewers(
        users=frozenset({"1280000000000000601"}), roles=frozenset({MODERATOR_ROLE})
    )
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    channel_mod = interaction(bot.out, user="kenji", user_id="1280000000000000602", manage_messages=True)
    run(bot.desk.press(ReviewAction.REJECT, item, channel_mod))
    assert [a[0] for a, _ in bot.out.of("response.send_message")] == [NOT_A_MODERATOR]
    listed = interaction(bot.out, user="aiko", user_id="1280000000000000601", manage_messages=False)
    run(bot.desk.press(ReviewAction.EDIT, item, listed))
    role_holder = interaction(bot.out, user="hana", roles=(MODERATOR_ROLE,), manage_messages=False)
    run(bot.desk.press(ReviewAction.APPROVE, item, role_holder))
    assert len(bot.out.of("response.send_modal")) == 1
    assert bot.service.store.show(item).status is ReviewStatus.SENT


def test_a_decided_item_opens_no_modal(bot: Bot) -> None:
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    run(bot.desk.press(ReviewAction.APPROVE, item, interaction(bot.out)))
    run(bot.desk.press(ReviewAction.EDIT, item, interaction(bot.out)))
    assert bot.out.of("response.send_modal") == []
    [(args, kwargs)] = bot.out.of("response.send_message")
    assert args[0] == f"review #{item} is sent already" and kwargs["ephemeral"]


def test_a_button_pressed_after_a_restart_is_rebuilt_from_its_custom_id(bot: Bot) -> None:
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    template = ReviewButton.__discord_ui_compiled_template__
    match = template.fullmatch(f"triagebot:approve:{item}")
    assert match is not None and template.fullmatch(f"triagebot:delete:{item}") is None
    pressed = interaction(bot.out, client=SimpleNamespace(review_desk=bot.desk))
    button = run(ReviewButton.from_custom_id(pressed, MagicMock(), match))
    run(button.callback(pressed))
    assert bot.service.store.show(item).status is ReviewStatus.SENT


# -- delivery errors ------------------------------------------------------------------------------


def rate_limited(retry_after: str) -> discord.HTTPException:
    response = SimpleNamespace(status=429, reason="Too Many Requests", headers={"Retry-After": retry_after})
    return discord.HTTPException(response, {"message": "You are being rate limited.", "code": 0})


def test_a_429_part_way_is_retried_after_retry_after_and_each_part_is_posted_once(
    store: Store, engine: Engine, loop: asyncio.AbstractEventLoop, clock: Clock
) -> None:
    bot = make_bot(store, engine, loop)
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    asker_thread = bot.finder.add(thread(QUESTION_ID, TEXT_CHANNEL, bot.out))
    plain_send = asker_thread.send
    posted: list[Any] = []

    async def second_part_limited(*args: Any, **kwargs: Any) -> Any:
        if len(posted) == 1 and not getattr(second_part_limited, "refused", False):
            second_part_limited.refused = True  # type: ignore[attr-defined]
            raise rate_limited("30")
        message = await plain_send(*args, **kwargs)
        message.author = author(BOT_USER, "triagebot", bot=True)
        posted.append(message)
        return message

    asker_thread.send = AsyncMock(side_effect=second_part_limited)
    asker_thread.history = lambda limit=100: _aiter(list(posted))
    run(bot.desk.press(ReviewAction.APPROVE, item, interaction(bot.out)))
    entry = outbox_for_item(store, item)
    assert entry is not None
    assert entry.state is OutboxState.RETRY and "429" in (entry.last_error or "")
    assert len(bot.replies()) == 1
    bot.service.tick()
    assert len(bot.replies()) == 1  # Retry-After not over yet
    clock.now += timedelta(seconds=31)
    bot.service.tick()
    assert bot.replies() == list(split_reply(store.show(item).draft_text))  # the second part only, once
    entry = outbox_for_item(store, item)
    assert entry is not None
    assert entry.state is OutboxState.SENT


async def _aiter(items: list[Any]) -> Any:
    for item in items:
        yield item


@pytest.mark.parametrize(("status", "temporary"), [(500, True), (503, True), (403, False), (404, False)])
def test_server_errors_are_temporary_and_refusals_are_not(
    loop: asyncio.AbstractEventLoop, status: int, temporary: bool
) -> None:
    asker_thread = thread(QUESTION_ID, TEXT_CHANNEL, Outgoing())
    response = SimpleNamespace(status=status, reason="x", headers={})
    asker_thread.send = AsyncMock(side_effect=discord.HTTPException(response, "Missing Access"))
    poster = DiscordThreads(Finder(asker_thread), LoopBridge(loop), int(BOT_USER))
    with pytest.raises(ChatDeliveryError) as refused:
        poster.post(ChatTarget(TEXT_CHANNEL, QUESTION_ID), ("hi",))
    assert refused.value.temporary is temporary and str(status) in str(refused.value)


def test_a_long_rate_limit_from_discord_py_is_temporary_with_its_wait(
    loop: asyncio.AbstractEventLoop,
) -> None:
    asker_thread = thread(QUESTION_ID, TEXT_CHANNEL, Outgoing())
    asker_thread.send = AsyncMock(side_effect=discord.RateLimited(42.0))
    poster = DiscordThreads(Finder(asker_thread), LoopBridge(loop), int(BOT_USER))
    with pytest.raises(ChatDeliveryError) as refused:
        poster.post(ChatTarget(TEXT_CHANNEL, QUESTION_ID), ("hi",))
    assert refused.value.temporary and refused.value.retry_after == 42.0


def test_the_bridge_refuses_to_wait_for_its_own_loop() -> None:
    async def inside() -> None:
        bridge = LoopBridge(asyncio.get_running_loop())
        with pytest.raises(RuntimeError, match="must be awaited"):
            bridge.run(asyncio.sleep(0))

    run(inside())


# -- cards and /triage ----------------------------------------------------------------------------


def test_a_card_stays_one_message_with_a_long_draft_cut_and_said_so(bot: Bot) -> None:
    bot.ask(content=JAVA_QUESTION)
    view = bot.service.store.show(item_id(bot))
    long_view = type(view)(
        **{**{f: getattr(view, f) for f in view.__dataclass_fields__}, "draft_text": "手順\n" * 1500}
    )
    text = card_text(long_view)
    assert len(text) <= 2000 and text.endswith("(cut here: the whole draft is in the web app)")


def test_slash_triage_answers_only_the_asker_in_parts_with_mentions_suppressed(engine: Engine) -> None:
    out = Outgoing()
    command = triage_command(engine)
    assert command.name == "triage"
    run(command.callback(interaction(out), text=JAVA_QUESTION))  # type: ignore[arg-type,call-arg]
    [(_, deferred)] = out.of("response.defer")
    assert deferred["ephemeral"] is True
    sent = out.of("followup.send")
    assert len(sent) == 2 and NO_VERSION in sent[-1][0][0]
    assert all(len(a[0]) <= 2000 and k["ephemeral"] and no_mentions(k) for a, k in sent)


def test_slash_triage_says_so_when_nothing_fits(engine: Engine) -> None:
    out = Outgoing()
    run(answer_triage(interaction(out), "今日はいい天気ですね。", engine))
    sent = [a[0] for a, _ in out.of("followup.send")]
    assert len(sent) == 1 and sent[0]


def test_no_message_the_bot_sends_in_any_flow_can_ping_anyone(bot: Bot, engine: Engine) -> None:
    """Card, card edits, replies, refusals and /triage: every one with mentions off."""
    bot.ask(content=JAVA_QUESTION)
    item = item_id(bot)
    bot.follow_up("4.4.1 です")
    run(bot.desk.press(ReviewAction.APPROVE, item, interaction(bot.out)))
    run(bot.desk.press(ReviewAction.APPROVE, item, interaction(bot.out)))
    run(bot.desk.press(ReviewAction.EDIT, item, interaction(bot.out)))
    run(answer_triage(interaction(bot.out), JAVA_QUESTION, engine))
    speaking = [(w, k) for w, _, k in bot.out.calls if w not in ("response.send_modal", "response.defer")]
    kinds = {w.split(":")[0] for w, _ in speaking}
    assert kinds == {"send", "edit", "response.send_message", "followup.send"}
    assert all(no_mentions(k) for _, k in speaking)
