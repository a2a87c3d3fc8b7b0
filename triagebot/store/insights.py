"""Read-only queries for the maintainers' views: unanswered questions and moderators' decisions per week.

These feed `triagebot gaps`, `triagebot report` and the web app's gap and quality pages; nothing here
changes the store.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import or_, select

from triagebot.core.gaps import GapQuestion
from triagebot.core.models import Action
from triagebot.core.quality import WeeklyDecisions
from triagebot.store.repository import Store
from triagebot.store.tables import AuditRow, MessageRow, ReviewItemRow, ThreadRow
from triagebot.store.views import ReviewStatus

NO_TIP = (Action.ABSTAIN.value, Action.ASK.value)  # the bot named no tip (it may have asked for details)
WRONG_TIP = "wrong-tip"  # the reject reason code a moderator gives when the suggested tip does not fit


def iso_week(when: datetime) -> str:
    """The ISO week of a time, as "2024-W09" (sorts in time order)."""
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def gap_questions(store: Store) -> list[GapQuestion]:
    """Every question thread the bot named no tip for, or whose tip a moderator rejected as wrong.

    The text is the thread's first message (what the asker asked); the week is when the thread started.
    Questions rejected for other reasons (not a question, a duplicate, already answered) are left out.
    """
    wrong_tip = (ReviewItemRow.status == ReviewStatus.REJECTED.value) & ReviewItemRow.reason.like(
        f"{WRONG_TIP}%"
    )
    with store.reading() as session:
        rows = session.execute(
            select(
                ReviewItemRow.id,
                ReviewItemRow.action,
                ReviewItemRow.status,
                ReviewItemRow.created_at,
                ThreadRow.subject,
                ThreadRow.started_at,
                MessageRow.text,
            )
            .join(ThreadRow, ThreadRow.id == ReviewItemRow.thread_id)
            .join(MessageRow, MessageRow.message_id == ThreadRow.root_message_id)
            .where(or_(ReviewItemRow.action.in_(NO_TIP), wrong_tip))
            .order_by(ReviewItemRow.id)
        ).all()
    return [
        GapQuestion(
            key=str(row.id),
            subject=row.subject,
            text=row.text,
            week=iso_week(row.started_at or row.created_at),
            why="rejected" if row.status == ReviewStatus.REJECTED.value else "abstained",
        )
        for row in rows
    ]


def decisions_by_week(store: Store) -> tuple[WeeklyDecisions, ...]:
    """Moderators' first decision on each draft (approve, edit, reject), counted per week of the decision.

    Read from the audit log, so a draft decided once counts once however it changed later.
    """
    decided = (ReviewStatus.APPROVED.value, ReviewStatus.EDITED.value, ReviewStatus.REJECTED.value)
    with store.reading() as session:
        rows = session.execute(
            select(AuditRow.review_item_id, AuditRow.to_status, AuditRow.at)
            .where(
                AuditRow.review_item_id.is_not(None),
                AuditRow.from_status == ReviewStatus.PENDING.value,
                AuditRow.to_status.in_(decided),
            )
            .order_by(AuditRow.at, AuditRow.id)
        ).all()
    seen: set[int] = set()
    weeks: dict[str, Counter[str]] = defaultdict(Counter)
    for item_id, status, at in rows:
        if item_id is None or item_id in seen:
            continue
        seen.add(item_id)
        weeks[iso_week(at)][str(status)] += 1
    return tuple(
        WeeklyDecisions(
            week,
            counts[ReviewStatus.APPROVED.value],
            counts[ReviewStatus.EDITED.value],
            counts[ReviewStatus.REJECTED.value],
        )
        for week, counts in sorted(weeks.items())
    )
