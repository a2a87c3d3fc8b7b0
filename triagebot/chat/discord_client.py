"""The live Discord bot: a thin `discord.Client` over plain handlers that tests drive with fakes.

    MESSAGE_CREATE ──payload_of + place_of──▶ message_to_inbound ──Intake.receive──▶ ReviewCard
        └──▶ the moderators' channel: the card with its buttons (posted once, edited on follow-ups)
    outbox row ──DiscordThreads.post──▶ the reply in the asker's thread, split at 2,000 characters

Every message the bot sends passes `NO_MENTIONS`, and the client's default is the same, so no user
text quoted in a draft can ping anyone. The store, the engine and the review service are synchronous;
they run in a worker thread (`asyncio.to_thread`) so the gateway's event loop never blocks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import discord
from discord import app_commands

from triagebot.chat.discord_payloads import (
    AuthorPayload,
    MessagePayload,
    Place,
    Scope,
    message_to_inbound,
)
from triagebot.chat.discord_review import NO_MENTIONS, ReviewButton, ReviewCard, ReviewDesk, card_parts
from triagebot.core.models import InboundMessage
from triagebot.core.render import DISCORD_LIMIT, split_message
from triagebot.errors import DeliveryError

log = logging.getLogger(__name__)

THREAD_NAME_LIMIT = 100  # Discord's longest thread name
HISTORY_LOOKBACK = 100  # messages read back to find reply parts posted by an earlier attempt
DEFAULT_THREAD_NAME = "Reply"
RATE_LIMIT_WAIT = 30.0  # seconds discord.py may wait out a rate limit itself before giving up


class Intake(Protocol):
    """The service that stores, threads and triages what arrives (synchronous: it talks to the store)."""

    def receive(self, message: InboundMessage) -> ReviewCard | None:
        """Store and triage one message; the card of a new or updated pending draft, else None."""
        ...

    def triage_text(self, text: str) -> str:
        """The draft for a text, stored nowhere (the `/triage` command)."""
        ...


class DiscordDeliveryError(DeliveryError):
    """Discord refused or failed a post; `temporary` ones (429, 5xx, network) are retried later."""

    def __init__(self, message: str, *, temporary: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.retry_after = retry_after


def payload_of(message: discord.Message) -> MessagePayload:
    """The gateway payload fields of a received message, rebuilt from discord.py's object."""
    author: AuthorPayload = {
        "id": str(message.author.id),
        "username": message.author.name,
        "global_name": message.author.global_name,
        "bot": message.author.bot,
        "system": message.author.system,
    }
    payload: MessagePayload = {
        "id": str(message.id),
        "channel_id": str(message.channel.id),
        "author": author,
        "content": message.content,
        "timestamp": message.created_at.isoformat(),
        "type": message.type.value,
        "edited_timestamp": message.edited_at.isoformat() if message.edited_at else None,
    }
    if message.webhook_id is not None:
        payload["webhook_id"] = str(message.webhook_id)
    if message.guild is not None:
        payload["guild_id"] = str(message.guild.id)
    return payload


def place_of(channel: Any, scope: Scope) -> Place:
    """The `Place` of the channel a message came from (a thread names its parent; a DM is elsewhere)."""
    if isinstance(channel, discord.Thread):
        return scope.place(str(channel.id), str(channel.parent_id), channel.name)
    return scope.place(str(channel.id), None)


class ChannelFinder(Protocol):
    """What the bot needs of `discord.Client` to find channels (tests give a fake)."""

    def get_channel(self, id: int, /) -> Any:
        """A cached channel or thread, else None."""
        ...

    async def fetch_channel(self, channel_id: int, /) -> Any:
        """A channel or thread from the API; raises discord.NotFound."""
        ...


class CardBoard:
    """The moderators' channel: one message per review item, edited when the draft changes."""

    def __init__(self, channels: ChannelFinder, channel_id: int, desk: ReviewDesk) -> None:
        self.channels = channels
        self.channel_id = channel_id
        self.desk = desk
        self._posted: dict[int, Any] = {}  # review item → its card message, while the bot runs

    async def show(self, card: ReviewCard) -> None:
        """Post the card with its buttons, or edit the one posted earlier for the same item."""
        parts = card_parts(card)
        earlier = self._posted.get(card.item_id)
        if earlier is not None and len(parts) == 1:
            await earlier.edit(content=parts[0], view=self.desk.view(card), allowed_mentions=NO_MENTIONS)
            return
        channel = await _channel(self.channels, self.channel_id)
        last = None
        for i, part in enumerate(parts):
            view = self.desk.view(card) if i == len(parts) - 1 else None
            if view is None:
                last = await channel.send(part, allowed_mentions=NO_MENTIONS)
            else:
                last = await channel.send(part, view=view, allowed_mentions=NO_MENTIONS)
        if len(parts) == 1:
            self._posted[card.item_id] = last


async def _channel(channels: ChannelFinder, channel_id: int) -> Any:
    """A channel from the cache, else from the API."""
    found = channels.get_channel(channel_id)
    return found if found is not None else await channels.fetch_channel(channel_id)


class QuestionHandler:
    """`on_message`: translate, hand to the intake service, show the resulting card to moderators."""

    def __init__(self, intake: Intake, scope: Scope, board: CardBoard) -> None:
        self.intake = intake
        self.scope = scope
        self.board = board

    async def on_message(self, message: discord.Message) -> ReviewCard | None:
        """Handle one gateway message; the card shown, or None when the message was not for us."""
        inbound = message_to_inbound(payload_of(message), place_of(message.channel, self.scope), self.scope)
        if inbound is None:
            return None
        card = await asyncio.to_thread(self.intake.receive, inbound)
        if card is not None:
            await self.board.show(card)
        return card


async def answer_triage(interaction: discord.Interaction[Any], text: str, intake: Intake) -> None:
    """`/triage <text>`: the draft, shown only to whoever asked, stored nowhere."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    reply = await asyncio.to_thread(intake.triage_text, text)
    parts = split_message(reply, DISCORD_LIMIT) if reply.strip() else ("No tip fits this question.",)
    for part in parts:
        await interaction.followup.send(part, ephemeral=True, allowed_mentions=NO_MENTIONS)


@dataclass(frozen=True, slots=True)
class Posted:
    """What a delivery posted: the thread and the ids of the parts sent now (not those found there)."""

    thread_id: str
    message_ids: tuple[str, ...]

    @property
    def receipt(self) -> str:
        """A short line for the outbox row."""
        return f"discord thread {self.thread_id}: " + (", ".join(self.message_ids) or "already there")


class DiscordThreads:
    """Posts approved replies in the asker's thread, opening it from the question when there is none.

    A reply in several parts is posted part by part; a retry after a failure part-way (a 429, say)
    first reads the thread back and skips parts the bot already posted, so none appears twice.
    """

    def __init__(self, channels: ChannelFinder, bot_user_id: int) -> None:
        self.channels = channels
        self.bot_user_id = bot_user_id

    async def post(self, destination: Mapping[str, Any], subject: str, body: str) -> Posted:
        """Post `body` in the thread named by `destination` (`channel`, `thread`).

        Raises:
            DiscordDeliveryError: temporary for 429, 5xx and network errors; permanent otherwise.
        """
        try:
            return await self._post(destination, subject, body)
        except discord.RateLimited as exc:
            raise DiscordDeliveryError(
                f"rate limited by Discord for {exc.retry_after:.1f}s",
                temporary=True,
                retry_after=exc.retry_after,
            ) from None
        except discord.HTTPException as exc:
            raise _delivery_error(exc) from None
        except (TimeoutError, OSError) as exc:
            raise DiscordDeliveryError(f"cannot reach Discord: {exc}", temporary=True) from None

    async def _post(self, destination: Mapping[str, Any], subject: str, body: str) -> Posted:
        thread = await self._thread(str(destination["channel"]), str(destination["thread"]), subject)
        parts = split_message(body, DISCORD_LIMIT)
        there = await self._ours(thread)
        sent = []
        for part in parts:
            if part in there:
                continue
            message = await thread.send(part, allowed_mentions=NO_MENTIONS)
            sent.append(str(message.id))
        return Posted(str(thread.id), tuple(sent))

    async def _thread(self, channel_id: str, thread_id: str, subject: str) -> Any:
        """The question's thread; for a question in a text channel, opened from its message if need be."""
        try:
            return await _channel(self.channels, int(thread_id))
        except discord.NotFound:
            pass
        parent = await _channel(self.channels, int(channel_id))
        question = await parent.fetch_message(int(thread_id))
        name = thread_name(subject)
        return await question.create_thread(name=name)

    async def _ours(self, thread: Any) -> set[str]:
        """The texts of the bot's own recent messages in the thread."""
        found = set()
        async for message in thread.history(limit=HISTORY_LOOKBACK):
            if message.author.id == self.bot_user_id:
                found.add(message.content)
        return found


def thread_name(subject: str) -> str:
    """A thread title from the question's subject (without a reply prefix), within Discord's limit."""
    name = subject.removeprefix("Re: ").strip()
    return (name or DEFAULT_THREAD_NAME)[:THREAD_NAME_LIMIT]


def _delivery_error(exc: discord.HTTPException) -> DiscordDeliveryError:
    """A Discord HTTP error as a delivery error: 429 and 5xx are worth retrying, the rest are not."""
    if exc.status == 429:
        retry_after = _retry_after(exc)
        return DiscordDeliveryError(
            f"rate limited by Discord (429), retry after {retry_after}s",
            temporary=True,
            retry_after=retry_after,
        )
    temporary = exc.status >= 500
    return DiscordDeliveryError(f"Discord said {exc.status}: {exc.text or exc}", temporary=temporary)


def _retry_after(exc: discord.HTTPException) -> float | None:
    """The Retry-After of a 429, from its header or its JSON body."""
    header = exc.response.headers.get("Retry-After") if exc.response is not None else None
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None


def intents() -> discord.Intents:
    """Guilds, guild messages and message content (a privileged intent to switch on in the portal)."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    return wanted


class TriageClient(discord.Client):
    """The bot's gateway client: registers the buttons and `/triage`, and forwards messages."""

    def __init__(
        self, *, intake: Intake, scope: Scope, moderators_channel: int, review_desk: ReviewDesk
    ) -> None:
        # long rate-limit waits come back to us as RateLimited: the outbox retries them later
        super().__init__(
            intents=intents(), allowed_mentions=NO_MENTIONS, max_ratelimit_timeout=RATE_LIMIT_WAIT
        )
        self.review_desk = review_desk
        self.scope = scope
        self.intake = intake
        self.board = CardBoard(self, moderators_channel, review_desk)
        self.handler = QuestionHandler(intake, scope, self.board)
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(triage_command(intake))

    async def setup_hook(self) -> None:
        """Buttons on any card, also those posted before a restart; the slash command registered."""
        self.add_dynamic_items(ReviewButton)
        await self.tree.sync()

    async def on_ready(self) -> None:
        """Learn our own id so our posts are never taken for questions."""
        if self.user is not None:
            self.scope = Scope(self.scope.text_channels, self.scope.forum_channels, str(self.user.id))
            self.handler.scope = self.scope
            log.info("connected to Discord as %s", self.user.name)

    async def on_message(self, message: discord.Message) -> None:
        """Every gateway message goes to the handler; its errors are logged, never fatal."""
        try:
            await self.handler.on_message(message)
        except Exception:
            log.exception("message %s could not be handled", message.id)


def triage_command(intake: Intake) -> app_commands.Command[Any, Any, None]:
    """The `/triage <text>` application command, answered only to whoever asked."""

    @app_commands.command(
        name="triage", description="Draft the bot's answer to a question, shown only to you"
    )
    @app_commands.describe(text="The question, as an asker would write it")
    async def triage(interaction: discord.Interaction[Any], text: str) -> None:
        await answer_triage(interaction, text, intake)

    return triage
