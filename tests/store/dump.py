"""Every row of every store table, with surrogate ids replaced by natural keys and timestamps left out.

Two databases that went through the same history give equal dumps even when their ids differ (a
PostgreSQL sequence keeps the numbers a killed transaction used) and the clock moved on between runs.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from triagebot.store import make_engine
from triagebot.store.tables import AUDIT_LOG, MESSAGES, REVIEW_ITEMS, SOURCES, THREADS, TRIAGE_RESULTS

Threads = frozenset[tuple[frozenset[str], bool, str | None]]  # (Message-IDs, answered, pending tips)


def thread_view(url: str) -> Threads:
    """Every thread as its messages, its answered flag and the tips of its pending draft (if any).

    Thread ids, roots and row order are left out: they depend on arrival order, the threads do not.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            members: dict[int, set[str]] = {}
            for mid, tid in c.execute(select(MESSAGES.c.message_id, MESSAGES.c.thread_id)):
                members.setdefault(tid, set()).add(mid)
            drafts = {
                tid: keys
                for tid, keys in c.execute(
                    select(REVIEW_ITEMS.c.thread_id, REVIEW_ITEMS.c.tip_keys).where(
                        REVIEW_ITEMS.c.status == "pending"
                    )
                )
            }
            answered = {tid: flag for tid, flag in c.execute(select(THREADS.c.id, THREADS.c.answered))}
    finally:
        engine.dispose()
    if set(members) != set(answered):
        raise AssertionError("a thread without messages, or a message without a thread")
    return frozenset((frozenset(m), answered[tid], drafts.get(tid)) for tid, m in members.items())


def _j(value: Any) -> str:
    """JSON values compared as canonical text."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Rows per table in id order, ids and timestamps replaced or dropped (claimed_at, created_at, …)."""
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            sources = {r.id: (r.kind, r.location) for r in c.execute(select(SOURCES).order_by(SOURCES.c.id))}
            thread_rows = list(c.execute(select(THREADS).order_by(THREADS.c.id)))
            threads = {r.id: r.root_message_id for r in thread_rows}
            message_rows = list(c.execute(select(MESSAGES).order_by(MESSAGES.c.id)))
            messages = {r.id: r.message_id for r in message_rows}
            result_rows = list(c.execute(select(TRIAGE_RESULTS).order_by(TRIAGE_RESULTS.c.id)))
            results = {r.id: (messages[r.message_pk], r.model_version) for r in result_rows}
            item_rows = list(c.execute(select(REVIEW_ITEMS).order_by(REVIEW_ITEMS.c.id)))
            items = {r.id: threads[r.thread_id] for r in item_rows}
            audit_rows = list(c.execute(select(AUDIT_LOG).order_by(AUDIT_LOG.c.id)))
    finally:
        engine.dispose()
    return {
        "sources": list(sources.values()),
        "threads": [
            (
                sources[r.source_id],
                r.root_message_id,
                r.subject,
                r.subject_key,
                r.asker,
                r.is_question,
                r.answered,
                r.message_count,
                r.started_at,
                r.last_at,
            )
            for r in thread_rows
        ],
        "messages": [
            (
                r.message_id,
                threads[r.thread_id],
                sources[r.source_id],
                r.author,
                r.from_asker,
                r.subject,
                r.sent_at,
                r.in_reply_to,
                _j(r.references),
                r.text,
                r.original,
                bytes(r.raw),
                r.origin,
                r.is_question,
                r.triage_state,
                r.claimed_by,
            )
            for r in message_rows
        ],
        "triage_results": [
            (
                messages[r.message_pk],
                threads[r.thread_id],
                r.model_version,
                r.language,
                r.action,
                _j(r.tips),
                _j(r.details),
                _j(r.missing),
                r.reply,
                r.why,
            )
            for r in result_rows
        ],
        "review_items": [
            (
                threads[r.thread_id],
                r.status,
                r.draft_text,
                r.final_text,
                r.language,
                r.channel,
                r.action,
                _j(r.tips),
                _j(r.missing),
                r.tip_keys,
                r.missing_keys,
                results[r.triage_result_id],
                messages[r.based_on_pk],
            )
            for r in item_rows
        ],
        "audit_log": [
            (
                threads[r.thread_id],
                items.get(r.review_item_id) if r.review_item_id else None,
                r.from_status,
                r.to_status,
                r.actor,
                r.note,
            )
            for r in audit_rows
        ],
    }
