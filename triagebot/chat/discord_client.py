"""The live Discord bot: a thin `discord.Client` over plain handlers that tests drive with fakes.

    MESSAGE_CREATE ──payload_of + place_of──▶ message_to_inbound ──ChatService.receive──▶ review item
        └── the service shows it through `DiscordBoard`: a card with buttons in the moderators' channel
    approved reply ──outbox──▶ `DiscordThreads.post`: the asker's thread, in parts of 2,000 characters

The chat service, the store and the engine are synchronous; they run in a worker thread
(`asyncio.to_thread`), and the board and poster hand their Discord calls back to the client's event
loop (`LoopBridge`). Every message the bot sends passes `NO_MENTIONS`, which is also the client's
default, so no user text quoted in a draft or a card can ping anyone.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, Protocol, TypeVar

import discord
from discord import app_commands

from triagebot.chat.discord_payloads import AuthorPayload, MessagePayload, Place, Scope, message_to_inbound
from triagebot.chat.discord_review import NO_MENTIONS, ReviewButton, ReviewDesk, card_text, review_buttons
from triagebot.chat.ports import ChatTarget
from triagebot.core.models import Channel, InboundMessage, TriageResult
from triagebot.core.render import DISCORD_LIMIT, split_message
from triagebot.errors import ChatDeliveryError, TriagebotError
from triagebot.store import ReviewView

log = logging.getLogger(__name__)

THREAD_NAME_LIMIT = 100  # Discord's longest thread name
HISTORY_LOOKBACK = 100  # messages read back to find reply parts posted by an earlier attempt
DEFAULT_THREAD_NAME = "Reply"
RATE_LIMIT_WAIT = 30.0  # seconds discord.py may wait out a rate limit itself before giving up
CALL_TIMEOUT = 120.0  # longest a worker thread waits for one Discord call on the event loop
NOTHING_FITS = "No tip fits this question, and nothing is missing to ask."
_T = TypeVar("_T")


class Intake(Protocol):
    """What the bot hands messages to (`triagebot.chat.service.ChatService` satisfies it)."""

    def receive(self, message: InboundMessage, *, event_id: str | None = None) -> object:
        """Store and triage one message; the service shows cards and posts replies itself."""
        ...

    def tick(self) -> object:
        """Retry due replies and cards that could not be posted before."""
        ...


class Triage(Protocol):
    """The engine as `/triage` uses it."""

    def triage(self, message: InboundMessage, channel: Channel | None = None) -> TriageResult:
        """Triage one message, storing nothing."""
        ...


def split_reply(body: str) -> tuple[str, ...]:
    """A reply in Discord-sized parts, cut on line boundaries."""
    return split_message(body, DISCORD_LIMIT)


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
    if isinstance(channel, discord.DMChannel | discord.GroupChannel):
        return scope.place(str(channel.id), str(channel.id))  # never a configured parent
    return scope.place(str(channel.id), None)


class ChannelFinder(Protocol):
    """What the bot needs of `discord.Client` to find channels (tests give a fake)."""

    def get_channel(self, id: int, /) -> Any:
        """A cached channel or thread, else None."""
        ...

    async def fetch_channel(self, channel_id: int, /) -> Any:
        """A channel or thread from the API; raises discord.NotFound."""
        ...


async def _channel(channels: ChannelFinder, channel_id: int) -> Any:
    """A channel from the cache, else from the API."""
    found = channels.get_channel(channel_id)
    return found if found is not None else await channels.fetch_channel(channel_id)


class LoopBridge:
    """Runs a coroutine on the client's event loop from a worker thread and waits for its result."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """The coroutine's result; its exceptions are raised here.

        Raises:
            RuntimeError: called on the loop's own thread (it would wait for itself).
        """
        loop = self.loop
        if loop is None:
            coro.close()
            raise RuntimeError("the Discord client is not running")
        if loop.is_running() and getattr(loop, "_thread_id", None) == threading.get_ident():
            coro.close()
            raise RuntimeError("Discord calls from the event loop's own thread must be awaited")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=CALL_TIMEOUT)


def delivery_error(exc: BaseException) -> ChatDeliveryError:
    """A Discord failure as our delivery error: rate limits, 5xx and network errors are temporary."""
    if isinstance(exc, discord.RateLimited):
        wait = exc.retry_after
        return ChatDeliveryError(
            f"Discord rate limit: retry in {wait:.1f}s", temporary=True, retry_after=wait
        )
    if isinstance(exc, discord.HTTPException):
        if exc.status == 429:
            header_wait = _retry_after(exc)
            said = "Discord said 429 (rate limited)"
            return ChatDeliveryError(said, temporary=True, retry_after=header_wait)
        return ChatDeliveryError(f"Discord said {exc.status}: {exc.text or exc}", temporary=exc.status >= 500)
    return ChatDeliveryError(f"Discord could not be reached: {exc}", temporary=True)


def _retry_after(exc: discord.HTTPException) -> float | None:
    """The Retry-After header of a 429, in seconds."""
    headers = getattr(exc.response, "headers", None) or {}
    try:
        return float(headers["Retry-After"]) if "Retry-After" in headers else None
    except ValueError:
        return None


def thread_name(question: str) -> str:
    """A thread title from the question's first line, within Discord's limit."""
    first = next((line.strip() for line in question.splitlines() if line.strip()), "")
    return (first or DEFAULT_THREAD_NAME)[:THREAD_NAME_LIMIT]


class DiscordThreads:
    """Posts approved replies in the asker's thread (`ChatPoster`), opening it from the question if need be.

    A reply in several parts is posted part by part. Before posting, the thread is read back and any
    part the bot already posted there is skipped, so a retry after a refusal part-way (a 429 on the
    second part, say) completes the reply without repeating a part; the error thus reports nothing
    posted and the outbox may retry it.
    """

    def __init__(self, channels: ChannelFinder, bridge: LoopBridge, bot_user_id: int) -> None:
        self.channels = channels
        self.bridge = bridge
        self.bot_user_id = bot_user_id

    def post(self, target: ChatTarget, parts: Sequence[str]) -> str:
        """Post every part in the thread; the receipt names the thread and the first part posted now."""
        return self.bridge.run(self.post_async(target, parts))

    async def post_async(self, target: ChatTarget, parts: Sequence[str]) -> str:
        """`post`, on the event loop."""
        try:
            thread = await self._thread(target)
            there = await self._ours(thread)
            sent = []
            for part in parts:
                if part not in there:
                    message = await thread.send(part, allowed_mentions=NO_MENTIONS)
                    sent.append(str(message.id))
        except (discord.DiscordException, OSError, TimeoutError) as exc:
            raise delivery_error(exc) from None
        return f"{thread.id}/{sent[0]}" if sent else f"{thread.id}/already-posted"

    async def _thread(self, target: ChatTarget) -> Any:
        """The question's thread (its id is the question's); opened from the question if there is none."""
        thread_id = int(target.thread or target.conversation)
        try:
            return await _channel(self.channels, thread_id)
        except discord.NotFound:
            pass
        parent = await _channel(self.channels, int(target.conversation))
        question = await parent.fetch_message(thread_id)
        return await question.create_thread(name=thread_name(question.content))

    async def _ours(self, thread: Any) -> set[str]:
        """The texts of the bot's own recent messages in the thread."""
        found = set()
        async for message in thread.history(limit=HISTORY_LOOKBACK):
            if message.author.id == self.bot_user_id:
                found.add(message.content)
        return found


class DiscordBoard:
    """The moderators' channel (`ReviewBoard`): one message per review item, edited as it changes."""

    def __init__(self, channels: ChannelFinder, bridge: LoopBridge, channel_id: int) -> None:
        self.channels = channels
        self.bridge = bridge
        self.channel_id = channel_id

    def show(self, view: ReviewView, post_id: str | None) -> str:
        """Post the card with its buttons, or edit the card `post_id`; returns the card's message id."""
        return self.bridge.run(self.show_async(view, post_id))

    async def show_async(self, view: ReviewView, post_id: str | None) -> str:
        """`show`, on the event loop."""
        content, buttons = card_text(view), review_buttons(view)
        try:
            channel = await _channel(self.channels, self.channel_id)
            if post_id is not None:
                card = channel.get_partial_message(int(post_id))
                await card.edit(content=content, view=buttons, allowed_mentions=NO_MENTIONS)
                return post_id
            if buttons is None:
                posted = await channel.send(content, allowed_mentions=NO_MENTIONS)
            else:
                posted = await channel.send(content, view=buttons, allowed_mentions=NO_MENTIONS)
        except (discord.DiscordException, OSError, TimeoutError) as exc:
            raise delivery_error(exc) from None
        return str(posted.id)


class QuestionHandler:
    """`on_message`: translate once, hand the message to the chat service off the event loop."""

    def __init__(self, intake: Intake, scope: Scope) -> None:
        self.intake = intake
        self.scope = scope

    async def on_message(self, message: discord.Message) -> InboundMessage | None:
        """Handle one gateway message; the message handed on, or None when it was not for us.

        Discord replays missed events after a reconnect; the service keeps a message it has seen
        from being stored or drafted twice (the snowflake is the event's id).
        """
        inbound = message_to_inbound(payload_of(message), place_of(message.channel, self.scope), self.scope)
        if inbound is None:
            return None
        await asyncio.to_thread(self.intake.receive, inbound, event_id=f"message/{inbound.message_id}")
        return inbound


async def answer_triage(interaction: discord.Interaction[Any], text: str, engine: Triage) -> None:
    """`/triage <text>`: the draft, shown only to whoever asked, stored nowhere."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    probe = InboundMessage(channel=Channel.DISCORD, source="", message_id="command", subject="", text=text)
    result = await asyncio.to_thread(engine.triage, probe, Channel.DISCORD)
    parts = (result.reply.parts or (result.reply.text,)) if result.reply.text.strip() else (NOTHING_FITS,)
    for part in parts:
        await interaction.followup.send(part, ephemeral=True, allowed_mentions=NO_MENTIONS)


def triage_command(engine: Triage) -> app_commands.Command[Any, Any, None]:
    """The `/triage <text>` application command, answered only to whoever asked."""

    @app_commands.command(name="triage", description="Draft the bot's answer, shown only to you")
    @app_commands.describe(text="The question, as an asker would write it")
    async def triage(interaction: discord.Interaction[Any], text: str) -> None:
        await answer_triage(interaction, text, engine)

    return triage


def intents() -> discord.Intents:
    """Guilds, guild messages and message content (a privileged intent to switch on in the portal)."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    return wanted


class TriageClient(discord.Client):
    """The bot's gateway client: buttons, `/triage`, messages to the service, and the delivery loop."""

    def __init__(
        self,
        *,
        intake: Intake,
        engine: Triage,
        scope: Scope,
        review_desk: ReviewDesk,
        bridge: LoopBridge,
        tick_seconds: float,
        poster: DiscordThreads | None = None,
    ) -> None:
        # long rate-limit waits come back to us as RateLimited: the outbox retries them later
        super().__init__(
            intents=intents(), allowed_mentions=NO_MENTIONS, max_ratelimit_timeout=RATE_LIMIT_WAIT
        )
        self.review_desk = review_desk
        self.intake = intake
        self.bridge = bridge
        self.tick_seconds = tick_seconds
        self.poster = poster
        self.handler = QuestionHandler(intake, scope)
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(triage_command(engine))
        self._ticker: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        """Buttons on any card (also those posted before a restart), `/triage`, the delivery loop."""
        self.bridge.loop = asyncio.get_running_loop()
        self.add_dynamic_items(ReviewButton)
        await self.tree.sync()
        self._ticker = asyncio.create_task(self._tick_forever())

    async def on_ready(self) -> None:
        """Learn our own id so our posts are never taken for questions."""
        if self.user is not None:
            scope = self.handler.scope
            self.handler.scope = Scope(scope.text_channels, scope.forum_channels, str(self.user.id))
            if self.poster is not None:
                self.poster.bot_user_id = self.user.id  # to find our own earlier parts in a thread
            log.info("connected to Discord as %s", self.user.name)

    async def on_message(self, message: discord.Message) -> None:
        """Every gateway message goes to the handler; its errors are logged, never fatal."""
        try:
            await self.handler.on_message(message)
        except TriagebotError as exc:
            log.error("message %s not handled: %s", message.id, exc)

    async def _tick_forever(self) -> None:
        """Deliver approved replies (also those approved in the web app) and retry refused ones."""
        while not self.is_closed():
            try:
                await asyncio.to_thread(self.intake.tick)
            except TriagebotError as exc:
                log.error("delivery round failed: %s", exc)
            await asyncio.sleep(self.tick_seconds)
