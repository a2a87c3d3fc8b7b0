"""Read a Discord channel export written by DiscordChatExporter (its JSON format) into InboundMessages.

One file holds one channel: ``guild``, ``channel`` (id, type, name, and for a thread ``categoryId``,
the channel it belongs to) and ``messages``, each with ``id``, ``type``, ``timestamp``, ``content``,
``author`` (``id``, ``name``, ``isBot``) and, for a reply, ``reference.messageId``.

Threads are kept as the live Discord adapter keeps them: a message in a text channel starts a
thread of its own (its id is the thread key) unless it replies to another message, which it then
joins; every message of a thread export (a thread or forum post, whose id is the id of the
message that started it) is keyed by the thread's id and counts under the channel it belongs to.
Authors are their user ids (names change, ids do not); mentions ``<@id>`` are written as
``@name``. Bot messages are kept, marked as bots. System messages (joins, pins, "thread created",
calls) are passed over, and an edited message is its final text, taken once.

A file that is not such an export is reported; so is each entry that is not a usable message,
and the rest is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from triagebot.core.models import Channel, InboundMessage
from triagebot.ingest.records import ReadProblem, json_type_name, shown_value

Item = InboundMessage | ReadProblem

SUBJECT_LIMIT = 120
# Message types people write; the others ("GuildMemberJoin", "ChannelPinnedMessage", "ThreadCreated",
# "Call", ...) are system messages.
_USER_TYPES = frozenset({"Default", "Reply"})
_SNOWFLAKE = re.compile(r"^\d{1,20}$")
_MENTION = re.compile(r"<@!?(\d{1,20})>")
_HEAD = re.compile(rb'"guild"\s*:\s*\{')
_CHANNEL = re.compile(rb'"channel"\s*:\s*\{')


def looks_like_export(head: bytes) -> bool:
    """Whether the first bytes of a JSON file read like a DiscordChatExporter export (guild, channel)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"{") and bool(_HEAD.search(text)) and bool(_CHANNEL.search(text))


class BadEntry(ValueError):
    """A message entry that cannot be used; the text says what is wrong."""


def read_export_json(data: bytes, where: str) -> Iterator[Item]:
    """Yield one record per message of a DiscordChatExporter JSON document; problems for the rest."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield ReadProblem(where, f"not valid JSON: {exc}")
        return
    channel = document.get("channel") if isinstance(document, Mapping) else None
    messages = document.get("messages") if isinstance(document, Mapping) else None
    if not isinstance(channel, Mapping) or not isinstance(channel.get("id"), str):
        yield ReadProblem(where, "not a Discord export: no 'channel' object with an 'id'")
        return
    if not isinstance(messages, list):
        yield ReadProblem(where, "not a Discord export: no 'messages' list")
        return
    seen: set[str] = set()
    for number, entry in enumerate(messages, start=1):
        place = f"{where}#{number}"
        try:
            record = message_to_inbound(entry, channel, where=place)
        except BadEntry as exc:
            yield ReadProblem(place, f"bad Discord message: {exc}; skipped")
            continue
        if record is None or record.message_id in seen:
            continue
        seen.add(record.message_id)
        yield record


def message_to_inbound(entry: Any, channel: Mapping[str, Any], *, where: str = "") -> InboundMessage | None:
    """Translate one exported message of `channel`; None for system messages and empty ones.

    Raises:
        BadEntry: the entry is not an object, or a field it needs has the wrong type.
    """
    if not isinstance(entry, Mapping):
        raise BadEntry(f"entry is {json_type_name(entry)}, not an object")
    message_id = entry.get("id")
    if not isinstance(message_id, str) or not _SNOWFLAKE.match(message_id):
        raise BadEntry(f"id is {shown_value(message_id)}, not a Discord id")
    kind = entry.get("type", "Default")
    if not isinstance(kind, str):
        raise BadEntry(f"type is {json_type_name(kind)}, not a string")
    if kind not in _USER_TYPES:
        return None
    content = entry.get("content")
    if not isinstance(content, str):
        raise BadEntry(f"content is {json_type_name(content)}, not a string")
    author = entry.get("author")
    if not isinstance(author, Mapping) or not isinstance(author.get("id"), str) or not author["id"]:
        raise BadEntry("author is missing or has no id")
    sent_at = _timestamp(entry.get("timestamp"))
    text = _with_names(content.replace("\r\n", "\n"), entry.get("mentions")).strip()
    if not text:
        return None  # an attachment, sticker or embed alone: nothing to read
    thread_id = channel["id"]
    in_thread = "thread" in str(channel.get("type", "")).lower()
    home = channel.get("categoryId") if in_thread else thread_id
    starts = not in_thread or message_id == thread_id
    title = channel.get("name") if in_thread and starts else None
    dumped = json.dumps(entry, ensure_ascii=False, sort_keys=True)
    return InboundMessage(
        channel=Channel.DISCORD,
        source=home if isinstance(home, str) and home else thread_id,
        message_id=message_id,
        subject=_subject(text, title if isinstance(title, str) else ""),
        text=text,
        original=text,
        author=author["id"],
        sent_at=sent_at,
        in_reply_to=_replied_to(entry, message_id) if kind == "Reply" else None,
        thread_key=thread_id if in_thread else message_id,
        is_bot=author.get("isBot") is True,
        raw=dumped.encode("utf-8", errors="backslashreplace"),
        where=where,
    )


def _timestamp(value: Any) -> datetime:
    """An ISO 8601 time as the exporter writes it (``2024-03-05T10:00:00.123+09:00``)."""
    if not isinstance(value, str):
        raise BadEntry(f"timestamp is {json_type_name(value)}, not a string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadEntry(f"timestamp {value[:40]!r} is not an ISO 8601 time") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _replied_to(entry: Mapping[str, Any], message_id: str) -> str | None:
    """The id of the message a reply answers, from ``reference.messageId``."""
    reference = entry.get("reference")
    if reference is None:
        return None
    if not isinstance(reference, Mapping):
        raise BadEntry(f"reference is {json_type_name(reference)}, not an object")
    parent = reference.get("messageId")
    if parent is None:
        return None
    if not isinstance(parent, str) or not _SNOWFLAKE.match(parent):
        raise BadEntry(f"reference.messageId is {shown_value(parent)}, not a Discord id")
    return parent if parent != message_id else None


def _with_names(content: str, mentions: Any) -> str:
    """Raw user mentions (``<@123>``) as ``@name``, from the message's ``mentions`` list."""
    names: dict[str, str] = {}
    if isinstance(mentions, list):
        for user in mentions:
            if isinstance(user, Mapping) and isinstance(user.get("id"), str):
                name = user.get("nickname") or user.get("name")
                if isinstance(name, str) and name:
                    names[user["id"]] = name
    return _MENTION.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), content)


def _subject(text: str, title: str) -> str:
    """A thread's title for the message that starts it, else the first non-empty line, cut."""
    if title.strip():
        return title.strip()[:SUBJECT_LIMIT]
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:SUBJECT_LIMIT]
