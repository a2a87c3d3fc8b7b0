"""The bot's handlers, buttons, modals, thread poster and /triage, driven with fakes at our boundary."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from tests.chat.discord_fakes import (
    FakeModeration,
    Finder,
    Outgoing,
    author,
    interaction,
    message_from,
    text_channel,
    thread,
)
from tests.chat.discord_fixtures import BOT_USER, FORUM_CHANNEL, MODERATORS, SCOPE, TEXT_CHANNEL, payload
from triagebot.chat.discord_client import (
    CardBoard,
    DiscordDeliveryError,
    DiscordThreads,
    QuestionHandler,
    answer_triage,
    triage_command,
)
from triagebot.chat.discord_review import (
    EditModal,
    RejectModal,
    RelabelModal,
    ReviewAction,
    ReviewButton,
    ReviewCard,
    ReviewDesk,
)
from triagebot.core.models import Detail, InboundMessage, TipScore
from triagebot.core.render import split_message
from triagebot.store import ReviewStateError

QUESTION_ID = "1311000000000000101"
CARD = ReviewCard(
    item_id=7,
    status="pending",
    subject="管理サーバーが起動しません",
    asker="1280000000000000501",
    link=f"https://discord.com/channels/1/{TEXT_CHANNEL}/{QUESTION_ID}",
    tips=(TipScore("setup-databases", 0.81),),
    missing=(Detail.VERSION,),
    draft_text="CloudStack のバージョンを教えてください。 @everyone <@1280000000000000501>",
)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class FakeIntake:
    """Records what it receives and answers with the card it was given."""

    def __init__(self, card: ReviewCard | None = CARD) -> None:
        self.card = card
        self.received: list[InboundMessage] = []
        self.asked: list[str] = []

    def receive(self, message: InboundMessage) -> ReviewCard | None:
        self.received.append(message)
        return self.card

    def triage_text(self, text: str) -> str:
        self.asked.append(text)
        return "line\n" * 700  # 3,500 characters: two parts


def no_mentions(kwargs: dict[str, Any]) -> bool:
    mentions = kwargs.get("allowed_mentions")
    return mentions is not None and mentions.to_dict() == discord.AllowedMentions.none().to_dict()


def setup(
    card: ReviewCard | None = CARD,
) -> tuple[Outgoing, FakeIntake, QuestionHandler, ReviewDesk, FakeModeration]:
    out = Outgoing()
    moderation = FakeModeration(card or CARD)
    desk = ReviewDesk(moderation)
    finder = Finder(text_channel(MODERATORS, out), text_channel(TEXT_CHANNEL, out))
    intake = FakeIntake(card)
    handler = QuestionHandler(intake, SCOPE, CardBoard(finder, int(MODERATORS), desk))
    return out, intake, handler, desk, moderation


def custom_ids(view: discord.ui.View) -> list[str]:
    return [getattr(child, "custom_id", "") for child in view.children]


# -- questions → the moderators' channel ----------------------------------------------------------


def test_a_question_posts_its_draft_card_with_four_buttons_to_the_moderators_channel() -> None:
    out, intake, handler, _, _ = setup()
    channel = text_channel(TEXT_CHANNEL, Outgoing())
    shown = run(handler.on_message(message_from(payload("message_text_channel_ja"), channel)))
    assert shown == CARD
    assert [m.message_id for m in intake.received] == [QUESTION_ID]
    [(args, kwargs)] = out.of(f"send:{MODERATORS}")
    assert args[0].startswith("**Review #7** · pending\nQuestion: 管理サーバーが起動しません")
    assert "setup-databases (0.81)" in args[0] and "missing: version" in args[0]
    assert args[0].endswith(CARD.draft_text)
    assert custom_ids(kwargs["view"]) == [
        "triagebot:approve:7",
        "triagebot:edit:7",
        "triagebot:reject:7",
        "triagebot:relabel:7",
    ]
    assert no_mentions(kwargs)


@pytest.mark.parametrize(
    "name", ["message_from_bot", "message_webhook", "message_edited", "message_member_join"]
)
def test_bots_webhooks_edits_and_joins_reach_neither_the_store_nor_moderators(name: str) -> None:
    out, intake, handler, _, _ = setup()
    channel = text_channel(TEXT_CHANNEL, Outgoing())
    assert run(handler.on_message(message_from(payload(name), channel))) is None
    assert intake.received == [] and out.calls == []


def test_our_own_post_in_the_thread_is_not_a_follow_up() -> None:
    out, intake, handler, _, _ = setup()
    own = message_from(payload("message_own"), thread(QUESTION_ID, TEXT_CHANNEL, Outgoing()))
    assert own.author.id == int(BOT_USER)
    assert run(handler.on_message(own)) is None
    assert intake.received == []


def test_channels_not_configured_and_direct_messages_are_ignored() -> None:
    out, intake, handler, _, _ = setup()
    elsewhere = text_channel("1300000000000000099", Outgoing())
    run(handler.on_message(message_from(payload("message_other_channel"), elsewhere)))
    direct = MagicMock(spec=discord.DMChannel)
    direct.id = 555
    run(handler.on_message(message_from(payload("message_text_channel_ja"), direct)))
    assert intake.received == [] and out.calls == []


def test_a_forum_post_is_received_as_a_question_of_the_forum() -> None:
    out, intake, handler, _, _ = setup()
    post = thread(
        "1311000000000000202", FORUM_CHANNEL, Outgoing(), name="KVM host stays in Alert after adding it"
    )
    run(handler.on_message(message_from(payload("message_forum_starter"), post)))
    [inbound] = intake.received
    assert (inbound.source, inbound.subject) == (FORUM_CHANNEL, "KVM host stays in Alert after adding it")
    assert inbound.thread_key == inbound.message_id


def test_a_follow_up_edits_the_card_posted_for_the_question_instead_of_posting_another() -> None:
    out, intake, handler, _, _ = setup()
    run(
        handler.on_message(
            message_from(payload("message_text_channel_ja"), text_channel(TEXT_CHANNEL, Outgoing()))
        )
    )
    intake.card = replace(CARD, draft_text="Java 1.7 を使ってください。")
    follow_up = message_from(
        payload("message_thread_follow_up"), thread(QUESTION_ID, TEXT_CHANNEL, Outgoing())
    )
    run(handler.on_message(follow_up))
    assert [m.thread_key for m in intake.received] == [QUESTION_ID, QUESTION_ID]
    assert len(out.of(f"send:{MODERATORS}")) == 1
    [(_, kwargs)] = out.of("message.edit")
    assert kwargs["content"].endswith(intake.card.draft_text)
    assert no_mentions(kwargs)


def test_a_card_over_two_thousand_characters_is_split_with_the_buttons_under_the_last_part() -> None:
    long_card = replace(CARD, draft_text="手順を確認してください。\n" * 300)
    out, _, handler, _, _ = setup(long_card)
    run(
        handler.on_message(
            message_from(payload("message_text_channel_ja"), text_channel(TEXT_CHANNEL, Outgoing()))
        )
    )
    sent = out.of(f"send:{MODERATORS}")
    assert len(sent) >= 2
    assert all(len(args[0]) <= 2000 for args, _ in sent)
    assert "view" not in sent[0][1] and "view" in sent[-1][1]
    assert "".join(args[0] for args, _ in sent).count("手順を確認してください。") == 300


# -- buttons and modals ---------------------------------------------------------------------------


def press(desk: ReviewDesk, action: ReviewAction, out: Outgoing) -> Any:
    pressed = interaction(out)
    run(desk.press(action, 7, pressed))
    return pressed


def test_approve_records_the_moderator_shows_the_decision_and_wakes_the_outbox() -> None:
    out, moderation = Outgoing(), FakeModeration(CARD)
    woken: list[bool] = []
    desk = ReviewDesk(moderation, delivered=lambda: woken.append(True))
    press(desk, ReviewAction.APPROVE, out)
    assert moderation.steps == [("approve", 7, "discord:hana")]
    [(_, kwargs)] = out.of("response.edit_message")
    assert kwargs["content"].startswith("**Review #7** · approved")
    assert kwargs["view"] is None  # decided: no buttons left to press twice
    assert no_mentions(kwargs)
    assert woken == [True]


def test_edit_opens_a_modal_with_the_draft_and_its_submission_approves_the_new_text() -> None:
    out, moderation = Outgoing(), FakeModeration(CARD)
    desk = ReviewDesk(moderation)
    press(desk, ReviewAction.EDIT, out)
    [(args, _)] = out.of("response.send_modal")
    modal = args[0]
    assert isinstance(modal, EditModal) and modal.text.default == CARD.draft_text
    modal.text._value = "4.19 の場合は Java 11 を使ってください。"
    run(modal.on_submit(interaction(out)))
    assert moderation.steps == [("edit", 7, "4.19 の場合は Java 11 を使ってください。", "discord:hana")]
    [(_, kwargs)] = out.of("response.edit_message")
    assert kwargs["content"].endswith("4.19 の場合は Java 11 を使ってください。") and kwargs["view"] is None


@pytest.mark.parametrize(
    ("typed", "reason", "words"),
    [("duplicate of #5", "duplicate", "of #5"), ("the asker solved it", "other", "the asker solved it")],
)
def test_reject_takes_a_known_reason_code_or_the_moderators_own_words(
    typed: str, reason: str, words: str
) -> None:
    out, moderation = Outgoing(), FakeModeration(CARD)
    desk = ReviewDesk(moderation)
    press(desk, ReviewAction.REJECT, out)
    [(args, _)] = out.of("response.send_modal")
    modal = args[0]
    assert isinstance(modal, RejectModal)
    modal.reason._value = typed
    run(modal.on_submit(interaction(out)))
    assert moderation.steps == [("reject", 7, reason, words, "discord:hana")]


def test_relabel_drafts_again_with_the_listed_tips_and_keeps_the_buttons() -> None:
    out, moderation = Outgoing(), FakeModeration(CARD)
    desk = ReviewDesk(moderation)
    press(desk, ReviewAction.RELABEL, out)
    [(args, _)] = out.of("response.send_modal")
    modal = args[0]
    assert isinstance(modal, RelabelModal) and modal.tips.default == "setup-databases"
    modal.tips._value = "selinux, kvm-agent  systemvm-template"
    run(modal.on_submit(interaction(out)))
    assert moderation.steps == [("relabel", 7, ["selinux", "kvm-agent", "systemvm-template"], "discord:hana")]
    [(_, kwargs)] = out.of("response.edit_message")
    assert custom_ids(kwargs["view"])[0] == "triagebot:approve:7"  # still pending


def test_a_refused_step_is_told_only_to_the_moderator_who_pressed() -> None:
    out = Outgoing()
    moderation = FakeModeration(
        CARD, refuse=ReviewStateError("review item 7 is approved; approving needs: pending")
    )
    press(ReviewDesk(moderation), ReviewAction.APPROVE, out)
    [(args, kwargs)] = out.of("response.send_message")
    assert args[0] == "review item 7 is approved; approving needs: pending"
    assert kwargs["ephemeral"] is True and no_mentions(kwargs)
    assert out.of("response.edit_message") == []


def test_a_decided_item_opens_no_modal() -> None:
    out = Outgoing()
    press(ReviewDesk(FakeModeration(replace(CARD, status="rejected"))), ReviewAction.EDIT, out)
    assert out.of("response.send_modal") == []
    [(args, _)] = out.of("response.send_message")
    assert args[0] == "review #7 is rejected already"


def test_a_button_pressed_after_a_restart_is_rebuilt_from_its_custom_id_and_reaches_the_desk() -> None:
    out, moderation = Outgoing(), FakeModeration(CARD)
    desk = ReviewDesk(moderation)
    match = ReviewButton.__discord_ui_compiled_template__.fullmatch("triagebot:approve:7")
    assert match is not None
    pressed = interaction(out, client=SimpleNamespace(review_desk=desk))
    button = run(ReviewButton.from_custom_id(pressed, MagicMock(), match))
    assert (button.action, button.item_id) == (ReviewAction.APPROVE, 7)
    run(button.callback(pressed))
    assert moderation.steps == [("approve", 7, "discord:hana")]
    assert ReviewButton.__discord_ui_compiled_template__.fullmatch("triagebot:delete:7") is None


# -- delivery into the asker's thread -------------------------------------------------------------


def bot_message(content: str) -> Any:
    posted = MagicMock(spec=discord.Message)
    posted.author = author(BOT_USER, "triagebot", bot=True)
    posted.content = content
    return posted


LONG_REPLY = "\n".join(
    f"{n:04d} 手順を確認してください。まず management-server.log を見てください。" for n in range(80)
)
LONG_PARTS = split_message(LONG_REPLY, 2000)
DESTINATION = {"channel": TEXT_CHANNEL, "thread": QUESTION_ID}


def test_an_approved_reply_is_posted_in_the_existing_thread_split_with_mentions_suppressed() -> None:
    out = Outgoing()
    asker_thread = thread(QUESTION_ID, TEXT_CHANNEL, out)
    posted = run(DiscordThreads(Finder(asker_thread), int(BOT_USER)).post(DESTINATION, "Re: x", LONG_REPLY))
    sent = out.of(f"send:{QUESTION_ID}")
    assert len(LONG_PARTS) == 3 and [args[0] for args, _ in sent] == list(LONG_PARTS)
    assert all(len(args[0]) <= 2000 for args, _ in sent)
    assert "\n".join(args[0] for args, _ in sent) == LONG_REPLY  # cut on line boundaries, nothing lost
    assert all(no_mentions(kwargs) for _, kwargs in sent)
    assert posted.thread_id == QUESTION_ID and len(posted.message_ids) == 3


def test_a_question_without_a_thread_gets_one_opened_from_its_message() -> None:
    out = Outgoing()
    opened = thread(QUESTION_ID, TEXT_CHANNEL, out)
    question = MagicMock(spec=discord.Message)
    question.create_thread = AsyncMock(return_value=opened)
    channel = text_channel(TEXT_CHANNEL, out)
    channel.fetch_message = AsyncMock(return_value=question)
    run(
        DiscordThreads(Finder(channel), int(BOT_USER)).post(
            DESTINATION, "Re: 管理サーバーが起動しません", "短い返事"
        )
    )
    channel.fetch_message.assert_awaited_once_with(int(QUESTION_ID))
    question.create_thread.assert_awaited_once_with(name="管理サーバーが起動しません")
    [(args, kwargs)] = out.of(f"send:{QUESTION_ID}")
    assert args == ("短い返事",) and no_mentions(kwargs)


def rate_limited(retry_after: str) -> discord.HTTPException:
    response = SimpleNamespace(status=429, reason="Too Many Requests", headers={"Retry-After": retry_after})
    return discord.HTTPException(response, {"message": "You are being rate limited.", "code": 0})


def test_a_429_part_way_is_a_temporary_error_and_the_retry_posts_only_the_missing_part() -> None:
    out = Outgoing()
    asker_thread = thread(QUESTION_ID, TEXT_CHANNEL, out)
    first = out.recorder(f"send:{QUESTION_ID}")
    calls = {"n": 0}

    async def send_then_429(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise rate_limited("2.5")
        return await first(*args, **kwargs)

    asker_thread.send = AsyncMock(side_effect=send_then_429)
    threads = DiscordThreads(Finder(asker_thread), int(BOT_USER))
    with pytest.raises(DiscordDeliveryError) as refused:
        run(threads.post(DESTINATION, "Re: x", LONG_REPLY))
    assert refused.value.temporary and refused.value.retry_after == 2.5
    [(part_one, _)] = out.of(f"send:{QUESTION_ID}")
    asker_thread.history = lambda limit=100: _history([bot_message(part_one[0])])
    retried = run(threads.post(DESTINATION, "Re: x", LONG_REPLY))
    sent = [args[0] for args, _ in out.of(f"send:{QUESTION_ID}")]
    assert sent == list(LONG_PARTS)  # each part once over both attempts
    assert len(retried.message_ids) == 2


async def _history(items: list[Any]) -> Any:
    for item in items:
        yield item


@pytest.mark.parametrize(("status", "temporary"), [(500, True), (503, True), (403, False), (404, False)])
def test_server_errors_are_retried_and_refusals_are_not(status: int, temporary: bool) -> None:
    out = Outgoing()
    asker_thread = thread(QUESTION_ID, TEXT_CHANNEL, out)
    response = SimpleNamespace(status=status, reason="x", headers={})
    asker_thread.send = AsyncMock(side_effect=discord.HTTPException(response, "Missing Access"))
    with pytest.raises(DiscordDeliveryError) as refused:
        run(DiscordThreads(Finder(asker_thread), int(BOT_USER)).post(DESTINATION, "", "hi"))
    assert refused.value.temporary is temporary
    assert str(status) in str(refused.value)


def test_a_long_rate_limit_wait_from_discord_py_is_temporary_with_its_wait() -> None:
    asker_thread = thread(QUESTION_ID, TEXT_CHANNEL, Outgoing())
    asker_thread.send = AsyncMock(side_effect=discord.RateLimited(42.0))
    with pytest.raises(DiscordDeliveryError) as refused:
        run(DiscordThreads(Finder(asker_thread), int(BOT_USER)).post(DESTINATION, "", "hi"))
    assert refused.value.temporary and refused.value.retry_after == 42.0


# -- /triage --------------------------------------------------------------------------------------


def test_slash_triage_answers_only_the_asker_split_with_mentions_suppressed() -> None:
    out, intake = Outgoing(), FakeIntake()
    command = triage_command(intake)
    assert command.name == "triage"
    run(command.callback(interaction(out), text="KVM host is in Alert"))  # type: ignore[arg-type,call-arg]
    assert intake.asked == ["KVM host is in Alert"]
    [(_, deferred)] = out.of("response.defer")
    assert deferred["ephemeral"] is True
    sent = out.of("followup.send")
    assert len(sent) == 2 and all(len(a[0]) <= 2000 and k["ephemeral"] and no_mentions(k) for a, k in sent)


def test_slash_triage_says_so_when_nothing_fits() -> None:
    out, intake = Outgoing(), FakeIntake()
    intake.triage_text = lambda text: ""  # type: ignore[method-assign]
    run(answer_triage(interaction(out), "hello", intake))
    [(args, _)] = out.of("followup.send")
    assert args == ("No tip fits this question.",)


def test_no_message_the_bot_sends_in_any_flow_can_ping_anyone() -> None:
    """Question card, follow-up edit, approval, refusal, delivery and /triage: all with mentions off."""
    out, intake, handler, desk, _ = setup()
    run(handler.on_message(message_from(payload("message_text_channel_ja"), text_channel(TEXT_CHANNEL, out))))
    run(
        handler.on_message(
            message_from(payload("message_thread_follow_up"), thread(QUESTION_ID, TEXT_CHANNEL, out))
        )
    )
    run(desk.press(ReviewAction.APPROVE, 7, interaction(out)))
    run(
        ReviewDesk(FakeModeration(CARD, refuse=ReviewStateError("no"))).press(
            ReviewAction.APPROVE, 7, interaction(out)
        )
    )
    run(
        DiscordThreads(Finder(thread(QUESTION_ID, TEXT_CHANNEL, out)), int(BOT_USER)).post(
            DESTINATION, "", LONG_REPLY
        )
    )
    run(answer_triage(interaction(out), "hello", intake))
    speaking = [(w, k) for w, _, k in out.calls if w not in ("response.send_modal", "response.defer")]
    kinds = {w.split(":")[0] for w, _ in speaking}
    assert kinds == {
        "send",
        "message.edit",
        "response.edit_message",
        "response.send_message",
        "followup.send",
    }
    assert all(no_mentions(k) for _, k in speaking)
