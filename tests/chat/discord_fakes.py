"""Fakes at the bot's boundary: discord.py objects as mocks with the spec of the real classes.

Every awaited send, edit and response goes through `Outgoing`, which records it, so a test can check
what the bot said and that no message it sent could ping anyone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord


@dataclass
class Outgoing:
    """Every call the bot made that puts text in Discord, in order: (what, args, kwargs)."""

    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    next_id: int = 5000

    def recorder(self, what: str, returns: Any = None) -> AsyncMock:
        """An AsyncMock that records its calls here and returns `returns` (default: a new message)."""

        async def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((what, args, kwargs))
            if returns is not None:
                return returns
            self.next_id += 1
            sent = MagicMock(spec=discord.Message)
            sent.id = self.next_id
            sent.content = args[0] if args else kwargs.get("content")
            sent.edit = self.recorder("message.edit", returns=sent)
            return sent

        return AsyncMock(side_effect=record)

    def of(self, what: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        """The calls of one kind."""
        return [(a, k) for w, a, k in self.calls if w == what]

    def texts(self) -> list[str]:
        """Every text sent, as content argument or keyword."""
        return [a[0] if a else k.get("content", "") for _, a, k in self.calls]


def author(user_id: str, name: str, *, bot: bool = False) -> MagicMock:
    """A Discord user."""
    user = MagicMock(spec=discord.Member)
    user.id = int(user_id)
    user.name = name
    user.global_name = None
    user.bot = bot
    user.system = False
    return user


def text_channel(channel_id: str, out: Outgoing) -> MagicMock:
    """A guild text channel whose sends are recorded."""
    channel = MagicMock(spec=discord.TextChannel)
    channel.id = int(channel_id)
    channel.send = out.recorder(f"send:{channel_id}")

    def partial(message_id: int) -> MagicMock:
        card = MagicMock(spec=discord.PartialMessage)
        card.id = message_id
        card.edit = out.recorder(f"edit:{message_id}", returns=card)
        return card

    channel.get_partial_message = partial
    return channel


def thread(
    thread_id: str, parent_id: str, out: Outgoing, *, name: str = "", history: Sequence[Any] = ()
) -> MagicMock:
    """A thread under `parent_id` whose sends are recorded and whose history holds `history`."""
    found = MagicMock(spec=discord.Thread)
    found.id = int(thread_id)
    found.parent_id = int(parent_id)
    found.name = name
    found.send = out.recorder(f"send:{thread_id}")
    found.history = lambda limit=100: _aiter(list(history))
    return found


async def _aiter(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


def message_from(payload: dict[str, Any], channel: Any) -> MagicMock:
    """A received discord.Message carrying a recorded payload's fields, in `channel`."""
    message = MagicMock(spec=discord.Message)
    message.id = int(payload["id"])
    message.channel = channel
    data = payload["author"]
    message.author = author(data["id"], data["username"], bot=bool(data.get("bot")))
    message.author.global_name = data.get("global_name")
    message.content = payload["content"]
    message.created_at = datetime.fromisoformat(payload["timestamp"])
    edited = payload.get("edited_timestamp")
    message.edited_at = datetime.fromisoformat(edited) if edited else None
    message.type = discord.MessageType(payload["type"])
    message.webhook_id = int(payload["webhook_id"]) if payload.get("webhook_id") else None
    message.guild = SimpleNamespace(id=int(payload["guild_id"])) if payload.get("guild_id") else None
    return message


MODERATOR_ROLE = "1280000000000000700"


def interaction(
    out: Outgoing,
    *,
    user: str = "hana",
    client: Any = None,
    user_id: str = "1280000000000000600",
    roles: tuple[str, ...] = (),
    manage_messages: bool = True,
) -> MagicMock:
    """A button press or modal submission by `user`; by default one who may moderate the channel.

    `roles` are the member's role ids; `manage_messages` their Manage Messages permission in the
    channel (Discord's own moderator permission). The interaction's responses are recorded.
    """
    pressed = MagicMock(spec=discord.Interaction)
    pressed.user = author(user_id, user)
    pressed.user.roles = [SimpleNamespace(id=int(r)) for r in roles]
    pressed.permissions = discord.Permissions(manage_messages=manage_messages)
    pressed.client = client
    pressed.response = SimpleNamespace(
        edit_message=out.recorder("response.edit_message"),
        send_message=out.recorder("response.send_message"),
        send_modal=out.recorder("response.send_modal"),
        defer=out.recorder("response.defer"),
    )
    pressed.followup = SimpleNamespace(send=out.recorder("followup.send"))
    return pressed


class Finder:
    """`get_channel` / `fetch_channel` over a fixed set of channels and threads."""

    def __init__(self, *channels: Any) -> None:
        self.channels = {c.id: c for c in channels}

    def add(self, channel: Any) -> Any:
        self.channels[channel.id] = channel
        return channel

    def get_channel(self, id: int, /) -> Any:
        return self.channels.get(id)

    async def fetch_channel(self, channel_id: int, /) -> Any:
        if channel_id not in self.channels:
            raise discord.NotFound(SimpleNamespace(status=404, reason="Not Found"), "Unknown Channel")
        return self.channels[channel_id]
