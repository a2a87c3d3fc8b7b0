"""What chat adapters keep in the store: the event ids already handled and the moderators' cards.

Chat platforms deliver an event again after a reconnect or a slow acknowledgement; `first_delivery`
claims an event id under a unique key, so only one delivery of it is ever handled, even by two bot
processes at once. A card is the message that shows a review item in the moderators' channel; its id
is kept so a follow-up or a decision updates that message instead of posting another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from triagebot.core.models import Channel
from triagebot.store.repository import Store
from triagebot.store.tables import ChatCardRow, ChatEventRow, ReviewItemRow
from triagebot.store.views import ReviewStatus

MAX_EVENT_ID = 200


@dataclass(frozen=True, slots=True)
class ChatCard:
    """Where a review item is shown to moderators: the channel id and the card message's id."""

    review_item_id: int
    channel: Channel
    location: str
    post_id: str
    updated_at: datetime


def first_delivery(store: Store, channel: Channel, event_id: str) -> bool:
    """Claim `event_id`; True the first time it is seen on `channel`, False for every redelivery."""
    insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(ChatEventRow)
        .values(channel=channel.value, event_id=event_id[:MAX_EVENT_ID], received_at=store.clock())
        .on_conflict_do_nothing(index_elements=["channel", "event_id"])
        .returning(ChatEventRow.id)
    )
    with store.writing() as session:
        return session.scalar(stmt) is not None


def forget_delivery(store: Store, channel: Channel, event_id: str) -> None:
    """Release a claimed event id whose handling failed, so the platform's redelivery is handled."""
    with store.writing() as session:
        session.execute(
            delete(ChatEventRow).where(
                ChatEventRow.channel == channel.value, ChatEventRow.event_id == event_id[:MAX_EVENT_ID]
            )
        )


def card_for(store: Store, review_item_id: int, channel: Channel) -> ChatCard | None:
    """The card showing a review item on `channel`, if one was posted."""
    with store.reading() as session:
        row = session.scalars(
            select(ChatCardRow).where(
                ChatCardRow.review_item_id == review_item_id, ChatCardRow.channel == channel.value
            )
        ).one_or_none()
        if row is None:
            return None
        return ChatCard(row.review_item_id, Channel(row.channel), row.location, row.post_id, row.updated_at)


def item_for_card(store: Store, channel: Channel, location: str, post_id: str) -> int | None:
    """The review item a card message shows, if it is one of ours."""
    with store.reading() as session:
        return session.scalar(
            select(ChatCardRow.review_item_id).where(
                ChatCardRow.channel == channel.value,
                ChatCardRow.location == location,
                ChatCardRow.post_id == post_id,
            )
        )


def remember_card(store: Store, review_item_id: int, channel: Channel, location: str, post_id: str) -> None:
    """Record (or move) the card of a review item on `channel`."""
    now = store.clock()
    with store.writing() as session:
        row = session.scalars(
            select(ChatCardRow)
            .where(ChatCardRow.review_item_id == review_item_id, ChatCardRow.channel == channel.value)
            .with_for_update()
        ).one_or_none()
        if row is None:
            session.add(
                ChatCardRow(
                    review_item_id=review_item_id,
                    channel=channel.value,
                    location=location,
                    post_id=post_id,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            row.location, row.post_id, row.updated_at = location, post_id, now


def pending_without_card(store: Store, channel: Channel, *, limit: int = 50) -> tuple[int, ...]:
    """Pending review items of `channel` that moderators have no card for yet (a post that failed)."""
    shown = select(ChatCardRow.review_item_id).where(ChatCardRow.channel == channel.value)
    with store.reading() as session:
        return tuple(
            session.scalars(
                select(ReviewItemRow.id)
                .where(
                    ReviewItemRow.channel == channel.value,
                    ReviewItemRow.status == ReviewStatus.PENDING.value,
                    ReviewItemRow.id.not_in(shown),
                )
                .order_by(ReviewItemRow.id)
                .limit(limit)
            )
        )
