"""The chat service both chat adapters share: a question in a thread becomes a review item, moderators
decide on it from chat or from the web app, and the approved reply leaves through the outbox.

    InboundMessage ──receive──▶ ingest (store, thread, triage, draft) ──▶ review item (pending)
         │                                   ├── review mode ──▶ card in the moderators' channel
         │                                   └── auto mode, best tip ≥ threshold ──▶ approved ──▶ outbox
         └── the asker's follow-up in the thread ──▶ re-triaged, pending draft and card updated
    moderator (chat button or web page) ──approve | edit | reject | relabel──▶ same audit log
    outbox ──deliver──▶ ChatPoster.post(asker's thread)   (exactly once, retried on 429 / outages)

Every step goes through `triagebot.pipeline` and `triagebot.review`, the code mail uses, so a chat
question and a mail question are the same kind of review item. Adapters only translate: payload to
`InboundMessage`, button to a call here, `ReviewView` to a card, reply to a post.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from triagebot.chat.ports import ChatPoster, ReviewBoard
from triagebot.config import ChatSettings
from triagebot.core.models import Action, Channel, InboundMessage
from triagebot.errors import ChatDeliveryError
from triagebot.outbox import DeliverySummary, deliver_chat, whole
from triagebot.pipeline import TriageEngine, ingest
from triagebot.review import DraftRenderer, RejectReason, ReplyAddressing, approve, reject, relabel
from triagebot.store import ReviewStatus, ReviewView, Store
from triagebot.store.chat import (
    card_for,
    first_delivery,
    forget_delivery,
    pending_without_card,
    remember_card,
)

log = logging.getLogger(__name__)


class ChatEngine(TriageEngine, DraftRenderer, Protocol):
    """The triage engine with re-rendering for relabels (`triagebot.app.Engine` satisfies it)."""


class Outcome(StrEnum):
    """What receiving one chat message did."""

    DRAFTED = "drafted"  # a new question: a pending draft (and a card for moderators)
    UPDATED = "updated"  # the asker's follow-up: the pending draft was triaged again
    AUTO = "auto"  # auto mode: the draft was approved on its score and queued for posting
    STORED = "stored"  # kept for the thread (an answer, a late follow-up, not a question): no draft
    DUPLICATE = "duplicate"  # this event or message was handled before
    IGNORED = "ignored"  # a channel the bot does not read


@dataclass(frozen=True, slots=True)
class Received:
    """The outcome of one message and the review item it touched, if any."""

    outcome: Outcome
    item: ReviewView | None = None


class ChatService:
    """Questions in, cards to moderators, decisions audited, replies out, for one chat channel kind.

    `board` may be None (no moderators' channel: drafts wait in the web app). `split` cuts a reply
    into postable parts (Discord's 2,000-character limit). Actions from chat are audited as
    `<channel>:<user>`, automatic approvals as `auto:<channel>`.

    Example:
        >>> service = ChatService(store, engine, Channel.SLACK, settings.slack, poster=bot)  # doctest: +SKIP
        >>> service.receive(message, event_id="Ev123").outcome                               # doctest: +SKIP
        <Outcome.DRAFTED: 'drafted'>
    """

    def __init__(
        self,
        store: Store,
        engine: ChatEngine,
        channel: Channel,
        settings: ChatSettings,
        *,
        poster: ChatPoster,
        board: ReviewBoard | None = None,
        split: Callable[[str], Sequence[str]] = whole,
        addressing: ReplyAddressing | None = None,
    ) -> None:
        """Serve `channel` with these collaborators."""
        self.store = store
        self.engine = engine
        self.channel = channel
        self.settings = settings
        self.poster = poster
        self.board = board
        self.split = split
        self.addressing = addressing

    # -- inbound ----------------------------------------------------------------------------------

    def first_delivery(self, event_id: str) -> bool:
        """True the first time an event id is seen (buttons, commands); False for a redelivery."""
        return first_delivery(self.store, self.channel, event_id)

    def receive(self, message: InboundMessage, *, event_id: str | None = None) -> Received:
        """Store and triage one message; draft, update, auto-approve or show it to moderators.

        `event_id` (the platform's delivery id) makes a redelivery a no-op; the message id alone
        already keeps a message from being stored twice.
        """
        if self.settings.channel(message.source) is None:
            return Received(Outcome.IGNORED)
        if event_id is not None and not first_delivery(self.store, self.channel, event_id):
            return Received(Outcome.DUPLICATE)
        try:
            summary = ingest([message], self.store, self.engine)
        except BaseException:
            if event_id is not None:
                forget_delivery(self.store, self.channel, event_id)
            raise
        if summary.duplicates:
            return Received(Outcome.DUPLICATE)
        item_id = self.store.review_id_for(message.message_id)
        if item_id is None or not (summary.drafted or summary.updated):
            return Received(Outcome.STORED, self.store.show(item_id) if item_id is not None else None)
        view = self.store.show(item_id)
        if summary.drafted and self._auto_approves(view, message.source):
            best = view.tips[0].score
            view = approve(
                self.store,
                item_id,
                actor=f"auto:{self.channel.value}",
                note=f"auto mode: best tip scored {best:.2f}",
                addressing=self.addressing,
            )
            self.deliver()
            return Received(Outcome.AUTO, self.store.show(item_id))
        self.show(view)
        return Received(Outcome.DRAFTED if summary.drafted else Outcome.UPDATED, view)

    def _auto_approves(self, view: ReviewView, channel_id: str) -> bool:
        """Auto mode is on for the channel and the draft suggests a tip scoring at least its threshold."""
        settings = self.settings.channel(channel_id)
        if settings is None or settings.mode != "auto" or view.action is not Action.SUGGEST or not view.tips:
            return False
        return view.status is ReviewStatus.PENDING and view.tips[0].score >= settings.auto_threshold

    # -- moderators -------------------------------------------------------------------------------

    def show(self, view: ReviewView) -> None:
        """Post or update the item's card in the moderators' channel; a refusal is logged, retried later."""
        if self.board is None or self.settings.moderators_channel is None:
            return
        card = card_for(self.store, view.id, self.channel)
        try:
            post_id = self.board.show(view, card.post_id if card else None)
        except ChatDeliveryError as exc:
            log.warning("review item %s: card not shown to moderators (%s); trying again later", view.id, exc)
            return
        if card is None or card.post_id != post_id:
            remember_card(self.store, view.id, self.channel, self.settings.moderators_channel, post_id)

    def show_missing_cards(self) -> int:
        """Post the cards that could not be posted before (rate limits, outages); returns how many."""
        shown = 0
        for item_id in pending_without_card(self.store, self.channel):
            self.show(self.store.show(item_id))
            shown += card_for(self.store, item_id, self.channel) is not None
        return shown

    def approve(self, item_id: int, *, moderator: str, text: str | None = None) -> ReviewView:
        """Approve (or, with `text`, edit and approve) from chat, then post the reply and update the card."""
        approve(self.store, item_id, actor=self._actor(moderator), text=text, addressing=self.addressing)
        return self._decided(item_id, deliver=True)

    def reject(
        self, item_id: int, *, moderator: str, reason: RejectReason | str, text: str = ""
    ) -> ReviewView:
        """Reject from chat: nothing is posted; the card says who rejected it."""
        reject(self.store, item_id, reason, text, actor=self._actor(moderator))
        return self._decided(item_id)

    def relabel(self, item_id: int, tip_ids: Sequence[str], *, moderator: str) -> ReviewView:
        """Replace the draft's tips from chat; the item stays pending and its card shows the new draft."""
        relabel(self.store, item_id, tip_ids, actor=self._actor(moderator), renderer=self.engine)
        return self._decided(item_id)

    def _actor(self, moderator: str) -> str:
        """The audit log's actor for a moderator acting from this chat."""
        return f"{self.channel.value}:{moderator}"

    def _decided(self, item_id: int, *, deliver: bool = False) -> ReviewView:
        """After a decision: deliver if asked, then show the item as it now stands."""
        if deliver:
            self.deliver()
        view = self.store.show(item_id)
        self.show(view)
        return view

    # -- outbound ---------------------------------------------------------------------------------

    def deliver(self) -> DeliverySummary:
        """Post the due approved replies of this channel (see `triagebot.outbox.deliver_chat`)."""
        return deliver_chat(
            self.store,
            self.channel,
            self.poster,
            self.settings,
            worker=f"{self.channel.value}-deliver",
            split=self.split,
        )

    def tick(self) -> DeliverySummary:
        """One round of the runner's background loop: retry due replies and cards that were refused."""
        done = self.deliver()
        self.show_missing_cards()
        return done
