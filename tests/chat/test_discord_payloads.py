"""Recorded gateway payloads → InboundMessage or None."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.chat.discord_fixtures import FORUM_CHANNEL, SCOPE, TEXT_CHANNEL, payload
from triagebot.chat.discord_payloads import Place, PlaceKind, message_to_inbound, thread_place
from triagebot.core.models import Channel

IN_TEXT = Place(PlaceKind.TEXT, TEXT_CHANNEL)
IN_THREAD = Place(PlaceKind.THREAD, TEXT_CHANNEL, "管理サーバーが起動しません")


def test_a_message_in_a_text_channel_starts_a_thread_of_its_own() -> None:
    inbound = message_to_inbound(payload("message_text_channel_ja"), IN_TEXT, SCOPE)
    assert inbound is not None
    assert inbound.channel is Channel.DISCORD
    assert inbound.source == TEXT_CHANNEL
    assert inbound.message_id == "1311000000000000101"
    assert inbound.thread_key == "1311000000000000101"
    assert inbound.subject == "CloudStack をインストールしたのですが、管理サーバーが起動しません。"
    assert inbound.text.endswith("ログに Cannot connect to database と出ています。")
    assert inbound.author == "1280000000000000501"
    assert inbound.sent_at == datetime(2026, 11, 20, 1, 2, 3, 456000, tzinfo=UTC)
    assert not inbound.is_bot


def test_a_forum_post_is_a_question_titled_by_its_thread() -> None:
    place = thread_place(payload("thread_create_forum"), SCOPE)
    assert place == Place(PlaceKind.FORUM, FORUM_CHANNEL, "KVM host stays in Alert after adding it")
    inbound = message_to_inbound(payload("message_forum_starter"), place, SCOPE)
    assert inbound is not None
    assert inbound.source == FORUM_CHANNEL
    assert inbound.subject == "KVM host stays in Alert after adding it"
    assert inbound.thread_key == inbound.message_id == "1311000000000000202"


def test_a_message_in_a_thread_is_a_follow_up_keyed_by_the_thread() -> None:
    inbound = message_to_inbound(payload("message_thread_follow_up"), IN_THREAD, SCOPE)
    assert inbound is not None
    assert inbound.message_id == "1311000000000000303"
    assert inbound.thread_key == "1311000000000000101"  # the question's id, which is the thread's
    assert inbound.subject == ""  # only a thread's starter carries the title
    assert inbound.text == "4.4.1 です"


@pytest.mark.parametrize(
    ("name", "place"),
    [
        ("message_from_bot", IN_TEXT),
        ("message_webhook", IN_TEXT),
        ("message_edited", IN_TEXT),
        ("message_member_join", IN_TEXT),
        ("message_own", IN_THREAD),
        ("message_other_channel", Place(PlaceKind.OTHER, "1300000000000000099")),
    ],
)
def test_messages_that_are_not_for_us_are_ignored(name: str, place: Place) -> None:
    assert message_to_inbound(payload(name), place, SCOPE) is None


def test_the_same_message_is_taken_once_it_is_in_a_watched_channel() -> None:
    """The ignore rules, not the fixture, decide: the other-channel message counts in a watched one."""
    assert message_to_inbound(payload("message_other_channel"), IN_TEXT, SCOPE) is not None


@pytest.mark.parametrize(
    ("channel_id", "parent_id", "kind", "home"),
    [
        (TEXT_CHANNEL, None, PlaceKind.TEXT, TEXT_CHANNEL),
        ("1300000000000000099", None, PlaceKind.OTHER, "1300000000000000099"),
        ("42", TEXT_CHANNEL, PlaceKind.THREAD, TEXT_CHANNEL),
        ("43", FORUM_CHANNEL, PlaceKind.FORUM, FORUM_CHANNEL),
        ("44", "1300000000000000099", PlaceKind.OTHER, "1300000000000000099"),
        (FORUM_CHANNEL, None, PlaceKind.OTHER, FORUM_CHANNEL),  # a forum itself holds no messages
    ],
)
def test_scope_places_channels_and_threads(
    channel_id: str, parent_id: str | None, kind: PlaceKind, home: str
) -> None:
    place = SCOPE.place(channel_id, parent_id)
    assert (place.kind, place.home) == (kind, home)


def test_an_attachment_without_text_is_not_a_question() -> None:
    empty = {**payload("message_text_channel_ja"), "content": "  "}
    assert message_to_inbound(empty, IN_TEXT, SCOPE) is None
