"""The ports a chat adapter implements for the shared chat service: posting replies, showing cards.

    ChatPoster.post(target, parts) -> post id        an approved reply, in the asker's thread
    ReviewBoard.show(view, post_id) -> post id       a draft card in the moderators' channel

Both raise `triagebot.errors.ChatDeliveryError`: temporary (rate limit, outage) or for good.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from triagebot.store import ReviewView


@dataclass(frozen=True, slots=True)
class ChatTarget:
    """Where a post goes: a channel (or conversation) id and the thread's root message id, if any."""

    conversation: str
    thread: str | None = None


class ChatPoster(Protocol):
    """Posts a reply's parts, in order, to one target; returns the id of the first message posted."""

    def post(self, target: ChatTarget, parts: Sequence[str]) -> str:
        """Post every part; raise ChatDeliveryError (with `posted` set) when one is refused."""
        ...


class ReviewBoard(Protocol):
    """Shows a review item to moderators, with buttons to decide on it."""

    def show(self, view: ReviewView, post_id: str | None) -> str:
        """Post the card (`post_id` None) or update the card `post_id`; return the card's id."""
        ...
