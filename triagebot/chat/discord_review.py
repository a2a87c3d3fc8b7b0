"""The moderators' side in Discord: one message per draft with Approve / Edit / Reject / Relabel buttons.

The buttons are `DynamicItem`s whose custom id names the action and the review item
(`triagebot:approve:12`), so they keep working after the bot restarts without remembering any view.
Edit, Reject and Relabel open a modal. Every decision goes through the same review service as the web
app (one store, one audit log); the reply itself leaves later through the outbox.

Every message the bot sends here passes `NO_MENTIONS`: a draft quoting `@everyone` pings nobody.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import discord

from triagebot.core.models import Detail, TipScore
from triagebot.core.render import DISCORD_LIMIT, split_message
from triagebot.errors import TriagebotError
from triagebot.review import RejectReason

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
MODAL_TEXT_LIMIT = 4000  # the longest text a Discord modal field holds
CUSTOM_ID = r"triagebot:(?P<action>approve|edit|reject|relabel):(?P<item>[0-9]+)"
REJECT_HINT = "wrong-tip, not-a-question, already-answered, duplicate, needs-human, or your own words"


class ReviewAction(StrEnum):
    """The four buttons under a draft."""

    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"
    RELABEL = "relabel"


BUTTON_STYLES = {
    ReviewAction.APPROVE: ("Approve", discord.ButtonStyle.success),
    ReviewAction.EDIT: ("Edit", discord.ButtonStyle.primary),
    ReviewAction.REJECT: ("Reject", discord.ButtonStyle.danger),
    ReviewAction.RELABEL: ("Relabel", discord.ButtonStyle.secondary),
}


@dataclass(frozen=True, slots=True)
class ReviewCard:
    """What moderators see of one review item in their channel."""

    item_id: int
    status: str
    subject: str
    asker: str
    link: str  # to the asker's message in Discord
    tips: tuple[TipScore, ...]
    missing: tuple[Detail, ...]
    draft_text: str
    final_text: str | None = None

    @property
    def pending(self) -> bool:
        """Whether the item still waits for a decision (only then are there buttons)."""
        return self.status == "pending"


class Moderation(Protocol):
    """The review service as the Discord moderators' channel uses it (synchronous: it talks to the store)."""

    def card(self, item_id: int) -> ReviewCard:
        """The item as moderators see it."""
        ...

    def approve(self, item_id: int, *, actor: str) -> ReviewCard:
        """Approve the draft as it is; its reply goes to the outbox."""
        ...

    def edit(self, item_id: int, text: str, *, actor: str) -> ReviewCard:
        """Approve the moderator's rewritten reply."""
        ...

    def reject(self, item_id: int, reason: str, text: str, *, actor: str) -> ReviewCard:
        """Send nothing, with a reason code and the moderator's words."""
        ...

    def relabel(self, item_id: int, tip_ids: Sequence[str], *, actor: str) -> ReviewCard:
        """Draft again with the tips the moderator chose; the item stays pending."""
        ...


def card_parts(card: ReviewCard) -> tuple[str, ...]:
    """The moderators' message for a card, in parts of at most 2,000 characters."""
    tips = ", ".join(f"{t.tip_id} ({t.score:.2f})" for t in card.tips) or "none"
    missing = ", ".join(d.value for d in card.missing) or "none"
    head = [
        f"**Review #{card.item_id}** · {card.status}",
        f"Question: {card.subject or '(no title)'} · asked by {card.asker} · {card.link}",
        f"Tips: {tips} · missing: {missing}",
        "",
    ]
    text = card.final_text if card.final_text is not None else card.draft_text
    body = text if text.strip() else "(no draft: nothing to send)"
    return split_message("\n".join(head) + body, DISCORD_LIMIT)


def actor_of(user: discord.abc.User) -> str:
    """The audit log's name for a Discord moderator."""
    return f"discord:{user.name}"


def reject_reason(words: str) -> tuple[str, str]:
    """A moderator's reject text as (reason code, words): a known code first, else `other` with the words."""
    first, _, rest = words.strip().partition(" ")
    codes = {r.value for r in RejectReason}
    if first in codes:
        return first, rest.strip()
    return RejectReason.OTHER.value, words.strip()


class ReviewDesk:
    """Runs moderators' decisions from the Discord channel against the review service."""

    def __init__(self, moderation: Moderation, *, delivered: Callable[[], object] | None = None) -> None:
        self.moderation = moderation
        self.delivered = delivered or (lambda: None)  # wakes the outbox after an approval

    def view(self, card: ReviewCard) -> discord.ui.View | None:
        """The buttons for a pending card (None once decided)."""
        if not card.pending:
            return None
        view = discord.ui.View(timeout=None)
        for action in ReviewAction:
            view.add_item(ReviewButton(action, card.item_id))
        return view

    async def press(self, action: ReviewAction, item_id: int, interaction: discord.Interaction[Any]) -> None:
        """Handle one button: approve at once, or open the modal for the other three."""
        if action is ReviewAction.APPROVE:
            actor = actor_of(interaction.user)
            await self._decide(interaction, self.moderation.approve, item_id, actor=actor)
            return
        try:
            card = await asyncio.to_thread(self.moderation.card, item_id)
        except TriagebotError as exc:
            await _tell(interaction, str(exc))
            return
        if not card.pending:
            await _tell(interaction, f"review #{item_id} is {card.status} already")
            return
        if action is ReviewAction.EDIT:
            if len(card.draft_text) > MODAL_TEXT_LIMIT:
                too_long = f"the draft is over {MODAL_TEXT_LIMIT} characters: edit it in the web app"
                await _tell(interaction, too_long)
                return
            await interaction.response.send_modal(EditModal(self, card))
        elif action is ReviewAction.REJECT:
            await interaction.response.send_modal(RejectModal(self, item_id))
        else:
            await interaction.response.send_modal(RelabelModal(self, card))

    async def _decide(
        self, interaction: discord.Interaction[Any], step: Callable[..., ReviewCard], *args: Any, actor: str
    ) -> None:
        """Run one review step off the event loop, then show the card's new state in place."""
        try:
            card = await asyncio.to_thread(step, *args, actor=actor)
        except TriagebotError as exc:
            await _tell(interaction, str(exc))
            return
        parts = card_parts(card)
        await interaction.response.edit_message(
            content=parts[0], view=self.view(card), allowed_mentions=NO_MENTIONS
        )
        log.info("review #%s: %s in Discord by %s", card.item_id, card.status, actor)
        if card.status in ("approved", "edited"):
            self.delivered()

    async def submit_edit(self, interaction: discord.Interaction[Any], item_id: int, text: str) -> None:
        """The edit modal was sent: approve the moderator's text."""
        await self._decide(interaction, self.moderation.edit, item_id, text, actor=actor_of(interaction.user))

    async def submit_reject(self, interaction: discord.Interaction[Any], item_id: int, words: str) -> None:
        """The reject modal was sent: reject with the reason it names."""
        reason, text = reject_reason(words)
        await self._decide(
            interaction, self.moderation.reject, item_id, reason, text, actor=actor_of(interaction.user)
        )

    async def submit_relabel(self, interaction: discord.Interaction[Any], item_id: int, tips: str) -> None:
        """The relabel modal was sent: draft again with the tips listed (comma or space separated)."""
        tip_ids = [t for t in re.split(r"[\s,]+", tips) if t]
        await self._decide(
            interaction, self.moderation.relabel, item_id, tip_ids, actor=actor_of(interaction.user)
        )


async def _tell(interaction: discord.Interaction[Any], text: str) -> None:
    """Answer only the moderator who pressed, without pinging anyone."""
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


@runtime_checkable
class HasReviewDesk(Protocol):
    """A client that carries the review desk (`TriageClient` does)."""

    review_desk: ReviewDesk


class ReviewButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=CUSTOM_ID):
    """One of the four buttons under a draft; its custom id carries the action and the item."""

    def __init__(self, action: ReviewAction, item_id: int) -> None:
        label, style = BUTTON_STYLES[action]
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=f"triagebot:{action.value}:{item_id}")
        )
        self.action = action
        self.item_id = item_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ReviewButton:
        """Rebuild the button from a press on any message, also one sent before a restart."""
        return cls(ReviewAction(match["action"]), int(match["item"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to the client's review desk."""
        client = interaction.client
        if not isinstance(client, HasReviewDesk):
            await _tell(interaction, "this bot does not review drafts")
            return
        await client.review_desk.press(self.action, self.item_id, interaction)


class EditModal(discord.ui.Modal, title="Edit and approve"):
    """The draft in a text box; sending it approves the moderator's text."""

    def __init__(self, desk: ReviewDesk, card: ReviewCard) -> None:
        super().__init__(timeout=None, custom_id=f"triagebot:edit-modal:{card.item_id}")
        self.desk = desk
        self.item_id = card.item_id
        self.text: discord.ui.TextInput[EditModal] = discord.ui.TextInput(
            label="Reply",
            style=discord.TextStyle.paragraph,
            default=card.draft_text,
            max_length=MODAL_TEXT_LIMIT,
        )
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        """Approve the text as edited."""
        await self.desk.submit_edit(interaction, self.item_id, self.text.value)


class RejectModal(discord.ui.Modal, title="Reject"):
    """Why nothing is sent: a reason code and, or only, the moderator's words."""

    def __init__(self, desk: ReviewDesk, item_id: int) -> None:
        super().__init__(timeout=None, custom_id=f"triagebot:reject-modal:{item_id}")
        self.desk = desk
        self.item_id = item_id
        self.reason: discord.ui.TextInput[RejectModal] = discord.ui.TextInput(
            label="Reason", placeholder=REJECT_HINT, max_length=2000
        )
        self.add_item(self.reason)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        """Reject with the reason given."""
        await self.desk.submit_reject(interaction, self.item_id, self.reason.value)


class RelabelModal(discord.ui.Modal, title="Relabel"):
    """The tip ids to draft with instead (empty: no tip fits)."""

    def __init__(self, desk: ReviewDesk, card: ReviewCard) -> None:
        super().__init__(timeout=None, custom_id=f"triagebot:relabel-modal:{card.item_id}")
        self.desk = desk
        self.item_id = card.item_id
        self.tips: discord.ui.TextInput[RelabelModal] = discord.ui.TextInput(
            label="Tip ids, comma separated",
            default=", ".join(t.tip_id for t in card.tips),
            required=False,
            max_length=1000,
        )
        self.add_item(self.tips)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        """Draft again with these tips."""
        await self.desk.submit_relabel(interaction, self.item_id, self.tips.value)
