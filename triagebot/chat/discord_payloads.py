"""Discord gateway payloads → InboundMessage, and the rules for which messages are questions.

Discord sends a `MESSAGE_CREATE` for every message and a `THREAD_CREATE` when a thread (or a forum
post) starts. What counts:

- a new message in a configured text channel is a question; the bot answers in a thread started
  from it, and Discord gives that thread the message's id;
- a new post in a configured forum channel is a question: its starter message has the thread's id;
- a message in a thread under a configured channel is a follow-up in the thread named by its id;
- bots, webhooks, our own messages, system messages (joins, pins, thread notices), edits and
  messages elsewhere are ignored.

The gateway does not say where a thread lives, so the caller passes a `Place` it looked up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NotRequired, TypedDict

from triagebot.core.models import Channel, InboundMessage

DEFAULT_MESSAGE = 0  # Discord message types that carry what a person wrote
REPLY_MESSAGE = 19
USER_MESSAGE_TYPES = frozenset({DEFAULT_MESSAGE, REPLY_MESSAGE})
SUBJECT_LIMIT = 120


class AuthorPayload(TypedDict):
    """The `author` object of a message (a Discord user)."""

    id: str
    username: str
    global_name: NotRequired[str | None]
    bot: NotRequired[bool]
    system: NotRequired[bool]


class MessagePayload(TypedDict):
    """The fields of a `MESSAGE_CREATE` payload the bot reads."""

    id: str
    channel_id: str
    author: AuthorPayload
    content: str
    timestamp: str
    type: int
    guild_id: NotRequired[str]
    edited_timestamp: NotRequired[str | None]
    webhook_id: NotRequired[str]


class ThreadPayload(TypedDict):
    """The fields of a `THREAD_CREATE` payload the bot reads (a thread is a channel object)."""

    id: str
    parent_id: str
    name: str
    type: int
    guild_id: NotRequired[str]
    owner_id: NotRequired[str]
    newly_created: NotRequired[bool]


class PlaceKind(StrEnum):
    """What kind of channel a message was posted in."""

    TEXT = "text"  # a configured text channel: each new message is a question
    FORUM = "forum"  # a thread of a configured forum channel: the starter is a question
    THREAD = "thread"  # a thread started from a message in a configured text channel
    OTHER = "other"  # anywhere else: ignored


@dataclass(frozen=True, slots=True)
class Place:
    """Where a message was posted: its channel's kind, and the configured channel it belongs to.

    `home` is the text or forum channel the question belongs to (for a thread, its parent); it is
    the `source` of the stored message and where a reply's thread is opened.
    """

    kind: PlaceKind
    home: str
    name: str = ""  # the thread's title, for forum posts


@dataclass(frozen=True, slots=True)
class Scope:
    """Which channels the bot reads, and who the bot itself is."""

    text_channels: frozenset[str]
    forum_channels: frozenset[str]
    bot_user_id: str = ""

    def place(self, channel_id: str, parent_id: str | None, thread_name: str = "") -> Place:
        """The `Place` of a channel, given its parent (None for a channel that is not a thread)."""
        if parent_id is None:
            kind = PlaceKind.TEXT if channel_id in self.text_channels else PlaceKind.OTHER
            return Place(kind, channel_id)
        if parent_id in self.forum_channels:
            return Place(PlaceKind.FORUM, parent_id, thread_name)
        if parent_id in self.text_channels:
            return Place(PlaceKind.THREAD, parent_id, thread_name)
        return Place(PlaceKind.OTHER, parent_id)


def author_name(author: AuthorPayload) -> str:
    """The stable identity of an author: the user id (names change, ids do not)."""
    return author["id"]


def is_ignored(payload: MessagePayload, scope: Scope) -> bool:
    """Whether a message is never a question or follow-up: bots, webhooks, ourselves, system, edits."""
    author = payload["author"]
    return bool(
        author.get("bot")
        or author.get("system")
        or payload.get("webhook_id")
        or author["id"] == scope.bot_user_id
        or payload["type"] not in USER_MESSAGE_TYPES
        or payload.get("edited_timestamp")
    )


def subject_of(text: str, title: str) -> str:
    """A forum post's title, else the message's first non-empty line, cut to a readable length."""
    if title.strip():
        return title.strip()[:SUBJECT_LIMIT]
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:SUBJECT_LIMIT]


def message_to_inbound(payload: MessagePayload, place: Place, scope: Scope) -> InboundMessage | None:
    """Translate one `MESSAGE_CREATE` into an InboundMessage, or None when it is not for us.

    A message in a text channel and a forum post's starter (its id is the thread's) start a thread;
    any other message in a thread is a follow-up in it, keyed by the thread's id.
    """
    if place.kind is PlaceKind.OTHER or is_ignored(payload, scope):
        return None
    text = payload["content"].replace("\r\n", "\n")
    if not text.strip():
        return None  # an attachment or sticker alone: nothing to triage
    message_id = payload["id"]
    in_thread = place.kind in (PlaceKind.FORUM, PlaceKind.THREAD)
    starts = place.kind is PlaceKind.TEXT or (in_thread and message_id == payload["channel_id"])
    thread_key = message_id if starts else payload["channel_id"]
    return InboundMessage(
        channel=Channel.DISCORD,
        source=place.home,
        message_id=message_id,
        subject=subject_of(text, place.name) if starts else "",
        text=text,
        original=text,
        author=author_name(payload["author"]),
        sent_at=datetime.fromisoformat(payload["timestamp"]),
        thread_key=thread_key,
        where=f"discord:{payload['channel_id']}/{message_id}",
    )


def thread_place(thread: ThreadPayload, scope: Scope) -> Place:
    """The `Place` of messages in a thread announced by `THREAD_CREATE`."""
    return scope.place(thread["id"], thread["parent_id"], thread["name"])
