"""Read-only queries behind the moderators' pages: the filtered queue, a thread, dashboard figures.

Review actions never happen here (they go through `triagebot.review`); these functions only read and
hand out frozen views.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from triagebot.core.models import Action, Channel, Detail, Language, TipScore
from triagebot.store.repository import Store, queue_conditions
from triagebot.store.tables import (
    AuditRow,
    MessageRow,
    OutboxRow,
    ReviewItemRow,
    SourceRow,
    ThreadRow,
    TriageResultRow,
)
from triagebot.store.views import OutboxState, QueueFilter, ReviewStatus

HIGH_SCORE = 0.75
MID_SCORE = 0.5


class ScoreBand(StrEnum):
    """Bands of the best tip's score, for the queue filter."""

    HIGH = "high"  # ≥ 0.75
    MID = "mid"  # 0.5 ≤ score < 0.75
    LOW = "low"  # a tip below 0.5
    NONE = "none"  # no tip suggested


class QueueSort(StrEnum):
    """Orders the queue can be listed in."""

    OLDEST = "oldest"
    NEWEST = "newest"
    SCORE = "score"
    UPDATED = "updated"


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """The queue's filters, order and page; None matches everything."""

    source: str | None = None
    tip: str | None = None
    language: Language | None = None
    band: ScoreBand | None = None
    missing: Detail | None = None
    status: ReviewStatus | None = ReviewStatus.PENDING
    answered: bool | None = None
    sort: QueueSort = QueueSort.OLDEST
    page: int = 1
    page_size: int = 50


@dataclass(frozen=True, slots=True)
class QueueLine:
    """One row of the queue page."""

    id: int
    subject: str
    asker: str
    source: str
    language: Language
    channel: Channel
    action: Action
    tips: tuple[TipScore, ...]
    missing: tuple[Detail, ...]
    status: ReviewStatus
    answered: bool
    escalated: bool
    asked_at: datetime  # when the question was sent (when the draft was made if the message has no date)


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of the queue, the number of matches, and the count per status under the other filters."""

    lines: tuple[QueueLine, ...]
    total: int
    by_status: dict[ReviewStatus, int]
    page: int
    pages: int


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of a thread, as the draft page shows it."""

    pk: int
    message_id: str
    author: str
    sent_at: datetime | None
    subject: str
    text: str
    from_asker: bool
    is_question: bool


@dataclass(frozen=True, slots=True)
class DraftFacts:
    """What the draft page needs beyond the review view: details found, reason, flags, delivery."""

    details: dict[str, Any]
    reason: str | None
    escalated: bool
    relabelled: bool
    outbox_state: OutboxState | None


@dataclass(frozen=True, slots=True)
class OutboxLine:
    """One delivery for the outbox page."""

    id: int
    review_item_id: int
    channel: str
    destination: dict[str, Any]
    subject: str
    state: OutboxState
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The figures of the dashboard page."""

    weeks: tuple[str, ...]
    per_tip_weekly: tuple[tuple[str, tuple[int, ...]], ...]  # (tip or "", count per week)
    total: int
    missing_share: tuple[tuple[Detail, float], ...]
    outcomes: tuple[tuple[str, int, int, int], ...]  # (tip or "", approved, edited, rejected)
    median_review: timedelta | None
    abstentions: int
    deliveries: dict[OutboxState, int]


def _top_score() -> ColumnElement[float]:
    """The best tip's score (tips are stored best first); NULL when there is no tip."""
    score: ColumnElement[float] = ReviewItemRow.tips[(0, "score")].as_float()
    return score


def _where(query: QueueQuery, *, with_status: bool = True) -> list[ColumnElement[bool]]:
    shared = QueueFilter(
        tip=query.tip,
        language=query.language,
        source=query.source,
        missing=query.missing,
        status=query.status if with_status else None,
        answered=query.answered,
    )
    conditions = queue_conditions(shared)
    if query.band is not None:
        top = _top_score()
        if query.band is ScoreBand.HIGH:
            conditions.append(top >= HIGH_SCORE)
        elif query.band is ScoreBand.MID:
            conditions.append(top >= MID_SCORE)
            conditions.append(top < HIGH_SCORE)
        elif query.band is ScoreBand.LOW:
            conditions.append(top < MID_SCORE)
        else:
            conditions.append(ReviewItemRow.tip_keys == " ")
    return conditions


SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")


def _joined(stmt: SelectT) -> SelectT:
    return stmt.join(ThreadRow, ThreadRow.id == ReviewItemRow.thread_id).join(
        SourceRow, SourceRow.id == ThreadRow.source_id
    )


def queue_page(store: Store, query: QueueQuery) -> QueuePage:
    """One page of review items matching `query`, with totals (pages of 1 … n)."""
    order: list[Any]
    if query.sort is QueueSort.NEWEST:
        order = [ReviewItemRow.id.desc()]
    elif query.sort is QueueSort.SCORE:
        order = [func.coalesce(_top_score(), -1.0).desc(), ReviewItemRow.id]
    elif query.sort is QueueSort.UPDATED:
        order = [ReviewItemRow.updated_at.desc(), ReviewItemRow.id.desc()]
    else:
        order = [ReviewItemRow.id]
    # Join threads and sources only when a filter needs them: on 10,000 items the join alone costs more
    # than the rest of the page. The page's 50 ids are found first, then only their rows are joined.
    needs_join = bool(query.source) or query.answered is not None

    def filtered(stmt: SelectT, *, with_status: bool = True) -> SelectT:
        stmt = _joined(stmt) if needs_join else stmt
        return stmt.where(*_where(query, with_status=with_status))

    with store.reading() as session:
        by_status = {status: 0 for status in ReviewStatus}
        for status, count in session.execute(
            filtered(select(ReviewItemRow.status, func.count(ReviewItemRow.id)), with_status=False).group_by(
                ReviewItemRow.status
            )
        ):
            by_status[ReviewStatus(status)] = int(count)
        total = by_status[query.status] if query.status is not None else sum(by_status.values())
        pages = max(1, -(-total // query.page_size))
        page = min(max(1, query.page), pages)
        ids = list(
            session.scalars(
                filtered(select(ReviewItemRow.id))
                .order_by(*order)
                .offset((page - 1) * query.page_size)
                .limit(query.page_size)
            )
        )
        found = {
            row.id: row
            for row in session.execute(
                _joined(
                    select(
                        ReviewItemRow.id,
                        ThreadRow.subject,
                        ThreadRow.asker,
                        SourceRow.location,
                        ReviewItemRow.language,
                        ReviewItemRow.channel,
                        ReviewItemRow.action,
                        ReviewItemRow.tips,
                        ReviewItemRow.missing,
                        ReviewItemRow.status,
                        ThreadRow.answered,
                        ReviewItemRow.escalated,
                        ReviewItemRow.created_at,
                        ThreadRow.started_at,
                    )
                ).where(ReviewItemRow.id.in_(ids))
            )
        }
        lines = tuple(
            QueueLine(
                id=row.id,
                subject=row.subject,
                asker=row.asker,
                source=row.location,
                language=Language(row.language),
                channel=Channel(row.channel),
                action=Action(row.action),
                tips=_tips(row.tips),
                missing=tuple(Detail(m) for m in row.missing),
                status=ReviewStatus(row.status),
                answered=bool(row.answered),
                escalated=bool(row.escalated),
                asked_at=row.started_at or row.created_at,
            )
            for row in (found[i] for i in ids if i in found)
        )
    return QueuePage(lines=lines, total=total, by_status=by_status, page=page, pages=pages)


def _tips(data: Sequence[dict[str, Any]]) -> tuple[TipScore, ...]:
    return tuple(
        TipScore(tip_id=str(t["tip_id"]), score=float(t["score"]), evidence=tuple(t.get("evidence", ())))
        for t in data
    )


def sources(store: Store) -> tuple[str, ...]:
    """Every source location, for the queue's filter list."""
    with store.reading() as session:
        return tuple(session.scalars(select(SourceRow.location).order_by(SourceRow.location)))


def neighbours(store: Store, item_id: int) -> tuple[int | None, int | None]:
    """The pending items just before and after `item_id`, for moving on after an action."""
    with store.reading() as session:
        pending = ReviewItemRow.status == ReviewStatus.PENDING.value
        before = session.scalar(select(func.max(ReviewItemRow.id)).where(pending, ReviewItemRow.id < item_id))
        after = session.scalar(select(func.min(ReviewItemRow.id)).where(pending, ReviewItemRow.id > item_id))
        return before, after


def thread_messages(store: Store, thread_id: int) -> tuple[ThreadMessage, ...]:
    """Every message of a thread in arrival order: the question, the asker's follow-ups, human replies."""
    with store.reading() as session:
        return tuple(
            ThreadMessage(
                pk=row.id,
                message_id=row.message_id,
                author=row.author,
                sent_at=row.sent_at,
                subject=row.subject,
                text=row.text,
                from_asker=row.from_asker,
                is_question=row.is_question,
            )
            for row in session.scalars(
                select(MessageRow).where(MessageRow.thread_id == thread_id).order_by(MessageRow.id)
            )
        )


def draft_facts(store: Store, item_id: int) -> DraftFacts | None:
    """Details found, reject reason, escalation and relabel flags, and delivery state of one item."""
    with store.reading() as session:
        found = session.execute(
            select(ReviewItemRow, TriageResultRow.details, OutboxRow.state)
            .join(TriageResultRow, TriageResultRow.id == ReviewItemRow.triage_result_id)
            .outerjoin(OutboxRow, OutboxRow.review_item_id == ReviewItemRow.id)
            .where(ReviewItemRow.id == item_id)
        ).one_or_none()
        if found is None:
            return None
        item, details, state = found
        return DraftFacts(
            details=dict(details or {}),
            reason=item.reason,
            escalated=bool(item.escalated),
            relabelled=bool(item.relabelled),
            outbox_state=OutboxState(state) if state else None,
        )


def outbox_lines(
    store: Store, states: Sequence[OutboxState] | None = None, limit: int = 200
) -> tuple[OutboxLine, ...]:
    """Deliveries in `states` (default all), newest first."""
    stmt = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)
    if states:
        stmt = stmt.where(OutboxRow.state.in_([s.value for s in states]))
    with store.reading() as session:
        return tuple(
            OutboxLine(
                id=row.id,
                review_item_id=row.review_item_id,
                channel=row.channel,
                destination=dict(row.destination or {}),
                subject=row.subject,
                state=OutboxState(row.state),
                attempts=row.attempts,
                last_error=row.last_error,
                next_attempt_at=row.next_attempt_at,
                created_at=row.created_at,
                sent_at=row.sent_at,
            )
            for row in session.scalars(stmt)
        )


def outbox_counts(store: Store) -> dict[OutboxState, int]:
    """Deliveries per state."""
    counts = {state: 0 for state in OutboxState}
    with store.reading() as session:
        for state, count in session.execute(
            select(OutboxRow.state, func.count(OutboxRow.id)).group_by(OutboxRow.state)
        ):
            counts[OutboxState(state)] = int(count)
    return counts


_DECIDED = (ReviewStatus.APPROVED, ReviewStatus.EDITED, ReviewStatus.REJECTED, ReviewStatus.SENT)


def dashboard(store: Store, *, weeks: int = 12) -> Dashboard:
    """The dashboard's figures over every review item (weekly counts over the last `weeks` weeks).

    Precision per tip counts an item as approved when it was approved as drafted (`sent` after an
    approval counts as approved), edited when a moderator changed the text, rejected when rejected.
    Time to review is from the draft's creation to the first moderator decision in the audit log.
    """
    with store.reading() as session:
        items = session.execute(
            select(
                ReviewItemRow.id,
                ReviewItemRow.tips,
                ReviewItemRow.missing,
                ReviewItemRow.status,
                ReviewItemRow.action,
                ReviewItemRow.created_at,
                ReviewItemRow.final_text,
                ReviewItemRow.draft_text,
                ThreadRow.started_at,
            ).join(ThreadRow, ThreadRow.id == ReviewItemRow.thread_id)
        ).all()
        first_decision: dict[int, datetime] = {}
        for item_id, at in session.execute(
            select(AuditRow.review_item_id, func.min(AuditRow.at))
            .where(
                AuditRow.review_item_id.is_not(None),
                AuditRow.from_status == ReviewStatus.PENDING.value,
                AuditRow.to_status.in_([s.value for s in _DECIDED]),
            )
            .group_by(AuditRow.review_item_id)
        ):
            if item_id is not None:
                first_decision[int(item_id)] = at
    deliveries = outbox_counts(store)

    def top(tips: Sequence[dict[str, Any]]) -> str:
        return str(tips[0]["tip_id"]) if tips else ""

    per_week: dict[str, Counter[str]] = defaultdict(Counter)
    missing = Counter[Detail]()
    outcome: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    review_times: list[float] = []
    abstentions = 0
    for row in items:
        when = row.started_at or row.created_at
        year, week, _ = when.isocalendar()
        per_week[f"{year}-W{week:02d}"][top(row.tips)] += 1
        missing.update(Detail(m) for m in row.missing)
        if row.action == Action.ABSTAIN.value:
            abstentions += 1
        status = ReviewStatus(row.status)
        if status in _DECIDED:
            edited = row.final_text is not None and row.final_text != row.draft_text
            index = 2 if status is ReviewStatus.REJECTED else (1 if edited else 0)
            outcome[top(row.tips)][index] += 1
        decided_at = first_decision.get(row.id)
        if decided_at is not None:
            review_times.append((decided_at - row.created_at).total_seconds())
    week_keys = tuple(sorted(per_week)[-weeks:])
    tip_totals = Counter[str]()
    for key in week_keys:
        tip_totals.update(per_week[key])
    series = tuple(
        (tip, tuple(per_week[key][tip] for key in week_keys)) for tip, _ in tip_totals.most_common()
    )
    total = len(items)
    return Dashboard(
        weeks=week_keys,
        per_tip_weekly=series,
        total=total,
        missing_share=tuple((d, (missing[d] / total) if total else 0.0) for d in Detail),
        outcomes=tuple(
            (tip, counts[0], counts[1], counts[2])
            for tip, counts in sorted(outcome.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
        ),
        median_review=timedelta(seconds=statistics.median(review_times)) if review_times else None,
        abstentions=abstentions,
        deliveries=deliveries,
    )
