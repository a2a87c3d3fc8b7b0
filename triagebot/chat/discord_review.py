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

from triagebot.core.render import DISCORD_LIMIT
from triagebot.errors import TriagebotError
from triagebot.review import RejectReason
from triagebot.store import ReviewStatus, ReviewView, Store

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
MODAL_TEXT_LIMIT = 4000  # the longest text a Discord modal field holds
CUSTOM_ID = r"triagebot:(?P<action>approve|edit|reject|relabel):(?P<item>[0-9]+)"
CUT_NOTE = "\n… (cut here: the whole draft is in the web app)"
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


class Moderation(Protocol):
    """The chat service as the moderators' channel uses it (`triagebot.chat.service.ChatService`).

    Its steps are synchronous (they talk to the store and post through the board and poster), so
    the desk runs them in a worker thread. After each step the service updates the card itself.
    """

    store: Store

    def approve(self, item_id: int, *, moderator: str, text: str | None = None) -> ReviewView:
        """Approve (with `text`: edit and approve); the reply goes out through the outbox."""
        ...

    def reject(
        self, item_id: int, *, moderator: str, reason: RejectReason | str, text: str = ""
    ) -> ReviewView:
        """Send nothing, with a reason code and the moderator's words."""
        ...

    def relabel(self, item_id: int, tip_ids: Sequence[str], *, moderator: str) -> ReviewView:
        """Draft again with the tips the moderator chose; the item stays pending."""
        ...


def card_text(view: ReviewView, *, link: str = "") -> str:
    """The moderators' message for a review item: one message, the draft cut to fit if need be."""
    tips = ", ".join(f"{t.tip_id} ({t.score:.2f})" for t in view.tips) or "none"
    missing = ", ".join(d.value for d in view.missing) or "none"
    where = link or f"<#{view.source}>"  # a channel link: it names the channel, it pings nobody
    head = "\n".join(
        [
            f"**Review #{view.id}** · {view.status.value}",
            f"Question: {view.subject or '(no title)'} · asked by {view.asker} in {where}",
            f"Tips: {tips} · missing: {missing}",
            "",
        ]
    )
    text = view.final_text if view.final_text is not None else view.draft_text
    body = text if text.strip() else "(no draft: nothing to send)"
    room = DISCORD_LIMIT - len(head)
    if len(body) > room:
        body = body[: room - len(CUT_NOTE)].rstrip() + CUT_NOTE
    return head + body


def review_buttons(item: ReviewView) -> discord.ui.View | None:
    """The four buttons for a pending item (None once decided: nothing left to press twice)."""
    if item.status is not ReviewStatus.PENDING:
        return None
    view = discord.ui.View(timeout=None)
    for action in ReviewAction:
        view.add_item(ReviewButton(action, item.id))
    return view


def actor_of(user: discord.abc.User) -> str:
    """The moderator's name in the audit log (the service prefixes the channel): the Discord user id."""
    return str(user.id)


def reject_reason(words: str) -> tuple[str, str]:
    """A moderator's reject text as (reason code, words): a known code first, else `other` with the words."""
    first, _, rest = words.strip().partition(" ")
    codes = {r.value for r in RejectReason}
    if first in codes:
        return first, rest.strip()
    return RejectReason.OTHER.value, words.strip()


@dataclass(frozen=True, slots=True)
class Reviewers:
    """Who may decide drafts from Discord: listed users, members of listed roles.

    With neither list set, whoever holds Discord's own moderator permission (Manage Messages) in the
    moderators' channel: seeing the channel is not enough, since a guild's members often can.
    """

    users: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()

    def admit(self, interaction: discord.Interaction[Any]) -> bool:
        """True when the one who pressed or submitted may decide."""
        user = interaction.user
        if str(user.id) in self.users:
            return True
        if self.roles:
            return any(str(role.id) in self.roles for role in getattr(user, "roles", ()))
        if self.users:
            return False
        return bool(interaction.permissions.manage_messages)


NOT_A_MODERATOR = "Not done: only moderators decide drafts here."


class ReviewDesk:
    """Runs moderators' decisions from the Discord channel against the chat service."""

    def __init__(self, moderation: Moderation, reviewers: Reviewers | None = None) -> None:
        self.moderation = moderation
        self.reviewers = reviewers or Reviewers()

    async def _refused(self, interaction: discord.Interaction[Any]) -> bool:
        """Tell someone who may not decide so, only them; True when refused."""
        if self.reviewers.admit(interaction):
            return False
        log.warning("review press by %s refused: not a moderator", interaction.user.id)
        await _tell(interaction, NOT_A_MODERATOR)
        return True

    async def press(self, action: ReviewAction, item_id: int, interaction: discord.Interaction[Any]) -> None:
        """Handle one button: approve at once, or open the modal for the other three."""
        if await self._refused(interaction):
            return
        if action is ReviewAction.APPROVE:
            await interaction.response.defer()  # the service posts the reply and updates the card
            await self._run(
                interaction, self.moderation.approve, item_id, moderator=actor_of(interaction.user)
            )
            return
        try:
            item = await asyncio.to_thread(self.moderation.store.show, item_id)
        except TriagebotError as exc:
            await _tell(interaction, str(exc))
            return
        if item.status is not ReviewStatus.PENDING:
            await _tell(interaction, f"review #{item_id} is {item.status.value} already")
            return
        if action is ReviewAction.EDIT:
            if len(item.draft_text) > MODAL_TEXT_LIMIT:
                too_long = f"the draft is over {MODAL_TEXT_LIMIT} characters: edit it in the web app"
                await _tell(interaction, too_long)
                return
            await interaction.response.send_modal(EditModal(self, item))
        elif action is ReviewAction.REJECT:
            await interaction.response.send_modal(RejectModal(self, item_id))
        else:
            await interaction.response.send_modal(RelabelModal(self, item))

    async def _run(
        self,
        interaction: discord.Interaction[Any],
        step: Callable[..., ReviewView],
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """Run one review step off the event loop; a refusal is told to the moderator alone."""
        try:
            item = await asyncio.to_thread(step, *args, **kwargs)
        except TriagebotError as exc:
            await interaction.followup.send(f"Not done: {exc}", ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        log.info("review #%s: %s from Discord", item.id, item.status.value)

    async def submit_edit(self, interaction: discord.Interaction[Any], item_id: int, text: str) -> None:
        """The edit modal was sent: approve the moderator's text."""
        if await self._refused(interaction):
            return
        await interaction.response.defer()
        moderator = actor_of(interaction.user)
        await self._run(interaction, self.moderation.approve, item_id, moderator=moderator, text=text)

    async def submit_reject(self, interaction: discord.Interaction[Any], item_id: int, words: str) -> None:
        """The reject modal was sent: reject with the reason it names."""
        if await self._refused(interaction):
            return
        await interaction.response.defer()
        reason, text = reject_reason(words)
        moderator = actor_of(interaction.user)
        await self._run(
            interaction, self.moderation.reject, item_id, moderator=moderator, reason=reason, text=text
        )

    async def submit_relabel(self, interaction: discord.Interaction[Any], item_id: int, tips: str) -> None:
        """The relabel modal was sent: draft again with the tips listed (comma or space separated)."""
        if await self._refused(interaction):
            return
        await interaction.response.defer()
        tip_ids = [t for t in re.split(r"[\s,]+", tips) if t]
        moderator = actor_of(interaction.user)
        await self._run(interaction, self.moderation.relabel, item_id, tip_ids, moderator=moderator)


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

    def __init__(self, desk: ReviewDesk, item: ReviewView) -> None:
        super().__init__(timeout=None, custom_id=f"triagebot:edit-modal:{item.id}")
        self.desk = desk
        self.item_id = item.id
        self.text: discord.ui.TextInput[EditModal] = discord.ui.TextInput(
            label="Reply",
            style=discord.TextStyle.paragraph,
            default=item.draft_text,
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

    def __init__(self, desk: ReviewDesk, item: ReviewView) -> None:
        super().__init__(timeout=None, custom_id=f"triagebot:relabel-modal:{item.id}")
        self.desk = desk
        self.item_id = item.id
        self.tips: discord.ui.TextInput[RelabelModal] = discord.ui.TextInput(
            label="Tip ids, comma separated",
            default=", ".join(t.tip_id for t in item.tips),
            required=False,
            max_length=1000,
        )
        self.add_item(self.tips)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        """Draft again with these tips."""
        await self.desk.submit_relabel(interaction, self.item_id, self.tips.value)
