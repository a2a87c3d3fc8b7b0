"""The outbox deliverers: send each approved reply exactly once, retrying only what is safe.

Mail goes out through SMTP (`deliver`); chat replies through the channel's `ChatPoster`
(`deliver_chat`, below), with the same states and the same exactly-once rule.

    queued ──claim (committed)──▶ sending ──SMTP accepted──▶ sent
                                     ├── 4xx / connection error ──▶ retry (backoff) ──▶ … ──▶ failed
                                     ├── 5xx ──▶ failed (never retried)
                                     └── process died ──▶ (found later, still sending) ──▶ unknown

Exactly once: a row is marked `sending` and committed before the SMTP conversation starts, and `sent`
after the server accepted it. If the process dies in between, the row is found still `sending`; the
server may or may not have the message, so the row becomes `unknown` and is never sent again by
itself: a moderator checks the list and either confirms it (`sent`) or asks for a resend (`queued`).
The reply's Message-ID is fixed when it is approved, so even a resend carries the same id and
archives and mail clients can tell it is the same message. Retries happen only where the server said
no (4xx) or the connection failed before it accepted anything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Protocol

from triagebot.chat.ports import ChatPoster, ChatTarget
from triagebot.config import ChatSettings, Settings
from triagebot.core.models import Channel
from triagebot.errors import ChatDeliveryError, DeliveryError, TriagebotError
from triagebot.mail.message import Reply, build_message
from triagebot.mail.sender import SmtpDeliveryError, SmtpSender
from triagebot.store import Store
from triagebot.store.moderation import (
    OutboxEntry,
    claim_due,
    mark_abandoned,
    record_failure,
    record_sent,
)
from triagebot.store.views import OutboxState

log = logging.getLogger(__name__)

DEFAULT_BATCH = 50
MIN_STALE = timedelta(minutes=5)


class Sender(Protocol):
    """Sends one message and says how it went (`SmtpSender` satisfies it)."""

    def send(self, message: EmailMessage) -> str:
        """Send; return a short receipt; raise SmtpDeliveryError on failure."""
        ...


SenderFactory = Callable[[], AbstractContextManager[Sender]]


@dataclass(frozen=True, slots=True)
class DeliverySummary:
    """What one delivery run did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0  # rows found abandoned mid-attempt and set aside for a moderator

    def __add__(self, other: DeliverySummary) -> DeliverySummary:
        return DeliverySummary(
            self.claimed + other.claimed,
            self.sent + other.sent,
            self.retried + other.retried,
            self.failed + other.failed,
            self.unknown + other.unknown,
        )


def backoff(attempts: int, *, first: float, cap: float) -> timedelta:
    """Delay before the next attempt after `attempts` failed ones: first, 2×first, 4×first … up to cap."""
    return timedelta(seconds=min(cap, first * 2 ** max(0, attempts - 1)))


def stale_after(settings: Settings) -> timedelta:
    """How long a `sending` row may last before its deliverer is taken for dead (well above the timeouts)."""
    return max(MIN_STALE, timedelta(seconds=10 * settings.smtp.timeout))


def smtp_senders(settings: Settings) -> SenderFactory:
    """A factory of SMTP connections from the settings; the password only from the secrets section.

    Raises:
        DeliveryError: no SMTP host is configured.
    """
    if not settings.smtp.host:
        raise DeliveryError("no SMTP host configured: set [smtp] host to deliver replies")
    password = settings.secrets.smtp_password
    return lambda: SmtpSender(settings.smtp, password)


def reply_for(entry: OutboxEntry, settings: Settings, store: Store) -> EmailMessage:
    """The mail message for an outbox entry: the list's charset, our From, the stored threading headers."""
    list_settings = settings.list_settings(str(entry.destination.get("list", entry.source)))
    headers = entry.headers
    return build_message(
        Reply(
            from_address=settings.smtp.from_address,
            to=tuple(entry.destination.get("to", ())),
            cc=tuple(entry.destination.get("cc", ())),
            subject=entry.subject,
            body=entry.body,
            message_id=entry.message_id,
            in_reply_to=headers.get("in_reply_to"),
            references=tuple(headers.get("references", ())),
            date=store.clock(),
            charset=list_settings.charset,
        )
    )


def deliver(
    store: Store,
    settings: Settings,
    *,
    worker: str,
    senders: SenderFactory | None = None,
    limit: int = DEFAULT_BATCH,
    abandoned_after: timedelta | None = None,
    after_send: Callable[[OutboxEntry], None] | None = None,
) -> DeliverySummary:
    """Deliver the due outbox rows once: set abandoned attempts aside, claim, send, record each outcome.

    `senders` opens a connection (default: SMTP from the settings); `after_send` runs between the
    server's acceptance and recording `sent` (tests use it to die at exactly that point).

    Example:
        >>> deliver(store, settings, worker="deliver-1").sent  # doctest: +SKIP
        3
    """
    older_than = stale_after(settings) if abandoned_after is None else abandoned_after
    unknown = mark_abandoned(store, older_than=older_than, actor=worker)
    for outbox_id in unknown:
        log.warning("outbox %s: its deliverer stopped mid-attempt; left for a moderator (unknown)", outbox_id)
    open_sender = senders or smtp_senders(settings)  # before claiming: a bad setting must hold nothing
    token, entries = claim_due(store, worker, limit=limit, channels=(Channel.EMAIL,))
    summary = DeliverySummary(claimed=len(entries), unknown=len(unknown))
    if not entries:
        return summary
    counts = {"sent": 0, "retried": 0, "failed": 0, "unknown": len(unknown)}
    pending = list(entries)
    try:
        with open_sender() as sender:
            while pending:
                entry = pending[0]
                _attempt(store, settings, sender, entry, token, worker, counts, after_send)
                pending.pop(0)
    except SmtpDeliveryError as exc:
        # the connection (or login) failed: every row not yet attempted shares that outcome
        for entry in pending:
            _failed(store, settings, entry, token, worker, exc, counts)
    return DeliverySummary(
        claimed=summary.claimed,
        sent=counts["sent"],
        retried=counts["retried"],
        failed=counts["failed"],
        unknown=counts["unknown"],
    )


def _attempt(
    store: Store,
    settings: Settings,
    sender: Sender,
    entry: OutboxEntry,
    token: str,
    worker: str,
    counts: dict[str, int],
    after_send: Callable[[OutboxEntry], None] | None,
) -> None:
    """Send one claimed entry and record how it went."""
    try:
        message = reply_for(entry, settings, store)
    except ValueError as exc:
        error = f"cannot build the message: {exc}"
        record_failure(store, entry.id, token, actor=worker, error=error, retry_at=None)
        counts["failed"] += 1
        return
    try:
        receipt = sender.send(message)
    except SmtpDeliveryError as exc:
        if exc.code is None and exc.temporary and not exc.uncertain:
            raise  # the connection broke: the caller gives this and the rest the same outcome
        _failed(store, settings, entry, token, worker, exc, counts)
        return
    if after_send is not None:
        after_send(entry)
    record_sent(store, entry.id, token, actor=worker, receipt=receipt)
    counts["sent"] += 1
    to = ", ".join(entry.destination.get("to", ()))
    log.info("outbox %s: sent <%s> to %s", entry.id, entry.message_id, to)


def _failed(
    store: Store,
    settings: Settings,
    entry: OutboxEntry,
    token: str,
    worker: str,
    exc: SmtpDeliveryError,
    counts: dict[str, int],
) -> None:
    """Record a failed attempt: retry later if temporary and attempts remain, else failed for good."""
    smtp = settings.smtp
    retry_at = None
    if exc.temporary and entry.attempts < smtp.max_attempts:
        delay = backoff(entry.attempts, first=smtp.retry_seconds, cap=smtp.retry_cap_seconds)
        retry_at = store.clock() + delay
    state = record_failure(
        store, entry.id, token, actor=worker, error=str(exc), retry_at=retry_at, uncertain=exc.uncertain
    )
    if state is OutboxState.UNKNOWN:
        counts["unknown"] += 1
        log.error("outbox %s: outcome unknown, left for a moderator: %s", entry.id, exc)
    elif state is OutboxState.RETRY:
        counts["retried"] += 1
        log.warning("outbox %s: attempt %s failed, again at %s: %s", entry.id, entry.attempts, retry_at, exc)
    else:
        counts["failed"] += 1
        log.error("outbox %s: failed for good after %s attempts: %s", entry.id, entry.attempts, exc)


def watch(
    store: Store,
    settings: Settings,
    *,
    worker: str,
    interval: float,
    should_stop: Callable[[], bool],
    senders: SenderFactory | None = None,
    sleep: Callable[[float], object] = time.sleep,
    progress: Callable[[DeliverySummary], None] | None = None,
) -> DeliverySummary:
    """Run `deliver` every `interval` seconds until `should_stop()`; errors of one run are logged, not fatal.

    Example:
        >>> stop = threading.Event()                                              # doctest: +SKIP
        >>> watch(store, settings, worker="web", interval=30, should_stop=stop.is_set)  # doctest: +SKIP
    """
    total = DeliverySummary()
    while not should_stop():
        try:
            done = deliver(store, settings, worker=worker, senders=senders)
        except TriagebotError as exc:
            log.error("delivery run failed: %s", exc)
            done = DeliverySummary()
        total = total + done
        if progress is not None and done.claimed + done.unknown:
            progress(done)
        if not should_stop():
            sleep(interval)
    return total


# -- chat -------------------------------------------------------------------------------------------


def whole(body: str) -> tuple[str, ...]:
    """A reply posted as one message (channels without a length limit worth splitting for)."""
    return (body,)


def deliver_chat(
    store: Store,
    channel: Channel,
    poster: ChatPoster,
    retry: ChatSettings,
    *,
    worker: str,
    split: Callable[[str], Sequence[str]] = whole,
    limit: int = DEFAULT_BATCH,
    abandoned_after: timedelta = MIN_STALE,
) -> DeliverySummary:
    """Post the due chat replies of `channel` once each, in the asker's thread, and record each outcome.

    Same states as mail: a row is `sending` (committed) before the post, `sent` with the post's id
    after. A temporary refusal (429, an outage) is retried after the longer of the backoff and the
    platform's Retry-After, up to `retry.max_attempts`; a permanent one (`{"ok": false}` for a
    channel that is gone, say) fails for good. A reply refused after some of its parts went out is
    `unknown`: only a moderator may send it again.

    Example:
        >>> deliver_chat(store, Channel.SLACK, poster, settings.slack, worker="slack").sent  # doctest: +SKIP
        1
    """
    unknown = mark_abandoned(store, older_than=abandoned_after, actor=worker, channels=(channel,))
    for outbox_id in unknown:
        log.warning("outbox %s: its deliverer stopped mid-attempt; left for a moderator (unknown)", outbox_id)
    token, entries = claim_due(store, worker, limit=limit, channels=(channel,))
    counts = {"sent": 0, "retried": 0, "failed": 0, "unknown": len(unknown)}
    for entry in entries:
        target = ChatTarget(
            conversation=str(entry.destination.get("channel", entry.source)),
            thread=str(entry.destination["thread"]) if entry.destination.get("thread") else None,
        )
        try:
            post_id = poster.post(target, tuple(split(entry.body)))
        except ChatDeliveryError as exc:
            _chat_failed(store, entry, token, worker, exc, retry, counts)
            continue
        record_sent(store, entry.id, token, actor=worker, receipt=post_id)
        counts["sent"] += 1
        log.info("outbox %s: posted to %s %s as %s", entry.id, target, post_id)
    return DeliverySummary(claimed=len(entries), **counts)


def _chat_failed(
    store: Store,
    entry: OutboxEntry,
    token: str,
    worker: str,
    exc: ChatDeliveryError,
    retry: ChatSettings,
    counts: dict[str, int],
) -> None:
    """Record a refused post: retry later if temporary and attempts remain, else failed for good."""
    retry_at = None
    if exc.temporary and not exc.posted and entry.attempts < retry.max_attempts:
        delay = backoff(entry.attempts, first=retry.retry_seconds, cap=retry.retry_cap_seconds)
        if exc.retry_after is not None:
            delay = max(delay, timedelta(seconds=exc.retry_after))
        retry_at = store.clock() + delay
    state = record_failure(
        store, entry.id, token, actor=worker, error=str(exc), retry_at=retry_at, uncertain=exc.posted > 0
    )
    key = {OutboxState.UNKNOWN: "unknown", OutboxState.RETRY: "retried"}.get(state, "failed")
    counts[key] += 1
    log.warning("outbox %s: post refused (%s, attempt %s): %s", entry.id, state.value, entry.attempts, exc)
