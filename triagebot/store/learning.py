"""Read moderators' decisions out of the review store, for learning from them (`core.learning`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from triagebot.core.agreement import AnsweredThread
from triagebot.core.learning import ModeratorDecision
from triagebot.errors import StoreError
from triagebot.store.repository import Store
from triagebot.store.tables import MessageRow, ReviewItemRow, ThreadRow, TriageResultRow

_DECIDED = ("approved", "edited", "sent", "rejected")


def _tip_ids(tips: list[dict[str, object]] | None) -> tuple[str, ...]:
    return tuple(str(t["tip_id"]) for t in tips or () if "tip_id" in t)


def moderator_decisions(store: Store) -> tuple[ModeratorDecision, ...]:
    """Every decided or relabelled review item with its question text, oldest first.

    Raises:
        StoreError: the database cannot be read.
    """
    stmt = (
        select(
            ReviewItemRow.id,
            ThreadRow.subject,
            MessageRow.text,
            ReviewItemRow.status,
            ReviewItemRow.relabelled,
            ReviewItemRow.tips,
            TriageResultRow.tips,
            ReviewItemRow.reason,
        )
        .join(ThreadRow, ThreadRow.id == ReviewItemRow.thread_id)
        .join(MessageRow, MessageRow.id == ReviewItemRow.based_on_pk)
        .join(TriageResultRow, TriageResultRow.id == ReviewItemRow.triage_result_id)
        .where(ReviewItemRow.status.in_(_DECIDED) | ReviewItemRow.relabelled)
        .order_by(ReviewItemRow.id)
    )
    try:
        with Session(store.engine) as session:
            rows = session.execute(stmt).all()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read moderators' decisions from {store.display_url}: {exc}") from None
    return tuple(
        ModeratorDecision(
            item_id=item_id,
            subject=subject,
            text=text,
            status=status,
            relabelled=bool(relabelled),
            tips=_tip_ids(tips),
            suggested=_tip_ids(suggested),
            reason=reason,
        )
        for item_id, subject, text, status, relabelled, tips, suggested, reason in rows
    )


def answered_threads(store: Store) -> tuple[AnsweredThread, ...]:
    """Every triaged thread that someone other than the asker (and not a bot) answered, oldest first.

    The bot's suggestion is that of its first triage (before any moderator relabel).

    Raises:
        StoreError: the database cannot be read.
    """
    items = (
        select(ReviewItemRow.thread_id, ThreadRow.subject, TriageResultRow.tips)
        .join(ThreadRow, ThreadRow.id == ReviewItemRow.thread_id)
        .join(TriageResultRow, TriageResultRow.id == ReviewItemRow.triage_result_id)
        .where(ThreadRow.answered)
        .order_by(ReviewItemRow.thread_id)
    )
    replies = (
        select(MessageRow.thread_id, MessageRow.text)
        .join(ThreadRow, ThreadRow.id == MessageRow.thread_id)
        .where(ThreadRow.answered, ~MessageRow.from_asker, ~MessageRow.is_bot)
        .order_by(MessageRow.id)
    )
    try:
        with Session(store.engine) as session:
            rows = session.execute(items).all()
            answers: dict[int, list[str]] = {}
            for thread_id, text in session.execute(replies):
                answers.setdefault(thread_id, []).append(text)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read answered threads from {store.display_url}: {exc}") from None
    return tuple(
        AnsweredThread(thread_id, subject, _tip_ids(tips), "\n\n".join(answers[thread_id]))
        for thread_id, subject, tips in rows
        if thread_id in answers
    )
