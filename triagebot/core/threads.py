"""The threading rules: which thread a message joins, what it is there, and what waits for triage.

One threader for every channel. The store looks things up (stored messages by id, the latest thread
of a subject) and records what these functions decide; nothing here reads a database.

Which thread (`parent_ids`, `may_join_by_subject`):

1. the thread of the message named by `thread_key` (Slack thread_ts, Discord thread), when stored;
2. otherwise the thread of the message named in In-Reply-To, when stored;
3. otherwise the thread of the last stored message named in References (read from last to first);
4. otherwise, when the subject reads as a reply ("Re: …", "AW: …", "返信: …"), the most recent thread of
   the same source whose normalised subject is the same, if its last message is at most
   `SUBJECT_WINDOW` apart from this one (generic subjects such as "Re: install problem" recur);
5. otherwise a new thread (`starts_question`): a question, unless the message is a reply whose parent
   we never saw (an archive that starts mid-conversation) or comes from a bot.

What it is there (`role_in`): in a question thread, a message by the asker is a follow-up that waits
for triage (the thread is re-triaged with the combined text), unless someone else already answered:
then it is skipped with a note. A message by anyone else (a person, not a bot) marks the thread
answered. Subject keys compare after NFKC and case folding, in English and Japanese.

Arrival order does not matter (`adopt`): a reply stored before its parent starts an orphan thread that
waits for the parent's id; when the parent arrives, the orphan thread joins the parent's thread, whose
asker stays, and "answered" is recomputed from all its messages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from enum import StrEnum
from functools import lru_cache

from triagebot.core.models import Channel, InboundMessage

# After NFKC and case-folding, so "Ｒｅ：", "RE:" and "re :" all look like "re:".
_REPLY_WORDS = r"re|aw|sv|vs|antw|返信|回复|答复"
_FORWARD_WORDS = r"fwd|fw|wg|転送|转发"
_COUNTER = r"(?:\[\d+\]|\^\d+|\(\d+\))?"
_REPLY_PREFIX = re.compile(rf"^(?:{_REPLY_WORDS}){_COUNTER}\s*:\s*")
_ANY_PREFIX = re.compile(rf"^(?:{_REPLY_WORDS}|{_FORWARD_WORDS}){_COUNTER}\s*:\s*")
_LIST_TAGS = re.compile(r"^(?:\[[^\[\]]{1,80}\]\s*)+")
_SPACE = re.compile(r"\s+")

SUBJECT_WINDOW = timedelta(days=30)  # subject-only threading joins messages at most this far apart
# Placing one message reads its subject and author several times, and both recur across a thread:
# the pure functions below remember their last answers.
KEY_CACHE = 8_192


def _fold(subject: str) -> str:
    """NFKC, case-fold and fold whitespace, so width and case variants compare equal."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", subject).casefold()).strip()


@lru_cache(maxsize=KEY_CACHE)
def normalize_subject(subject: str) -> str:
    """Return the thread key of a subject: reply/forward prefixes and list tags gone, folded.

    Example:
        >>> normalize_subject("Re: [cloudstack-ja] 返信: Fwd: KVM ホストを追加できない")
        'kvm ホストを追加できない'
    """
    text = _fold(subject)
    while True:
        stripped = _ANY_PREFIX.sub("", _LIST_TAGS.sub("", text, count=1), count=1)
        if stripped == text:
            return text
        text = stripped


@lru_cache(maxsize=KEY_CACHE)
def is_reply_subject(subject: str) -> bool:
    """True if the subject, after any list tags, starts with a reply prefix (Re:, AW:, 返信:, Re[2]:).

    Forward prefixes alone do not count: a forward usually starts a new conversation on the list.
    """
    text = _fold(subject)
    while True:
        text = _LIST_TAGS.sub("", text, count=1)
        if _REPLY_PREFIX.match(text):
            return True
        stripped = _ANY_PREFIX.sub("", text, count=1)
        if stripped == text:
            return False
        text = stripped


@lru_cache(maxsize=KEY_CACHE)
def author_key(author: str) -> str:
    """The identity an author is recognised by: a mail address in lower case, else the whole string."""
    _, address = parseaddr(author)
    key = address if "@" in address else author
    return key.strip().lower()[:320]


def join_asker_messages(texts: Iterable[str]) -> str:
    """The text a question thread is triaged with: the asker's messages in thread order, joined."""
    return "\n\n".join(texts)


def parent_ids(message: InboundMessage) -> tuple[str, ...]:
    """The ids that may name the message's parent, strongest first (rules 1 to 3)."""
    ids = [message.thread_key] if message.thread_key and message.thread_key != message.message_id else []
    if message.in_reply_to:
        ids.append(message.in_reply_to)
    ids.extend(reversed(message.references))
    return tuple(ids)


def is_reply(message: InboundMessage) -> bool:
    """True when the message says it answers something: a parent id or a reply subject."""
    return bool(parent_ids(message)) or is_reply_subject(message.subject)


def may_join_by_subject(message: InboundMessage, thread_last_at: datetime | None) -> bool:
    """Rule 4's time limit: the thread's last message is at most `SUBJECT_WINDOW` from this one."""
    sent = message.sent_at
    return thread_last_at is None or sent is None or abs(thread_last_at - sent) <= SUBJECT_WINDOW


def adopts_by_subject(question: InboundMessage, orphan_subject: str, orphan_started: datetime | None) -> bool:
    """Rule 4 read backwards: may a new question take in an orphan thread of the same subject key?

    Only when that thread began with a reply subject at or after the question and within
    `SUBJECT_WINDOW`: had the question arrived first, the reply would have joined it by subject.
    """
    sent = question.sent_at
    if not is_reply_subject(orphan_subject):
        return False
    if sent is None or orphan_started is None:
        return True
    return sent <= orphan_started <= sent + SUBJECT_WINDOW


def starts_question(message: InboundMessage) -> bool:
    """Rule 5: a message that found no thread starts one; is that thread a question?"""
    return not message.is_bot and not is_reply(message)


def starter_question(message: InboundMessage) -> tuple[str, str] | None:
    """Subject and text the message is triaged with if it is new; None when that depends on the store.

    A message with no parent id and no reply prefix cannot join a thread, so when stored it starts a
    question thread of its own and is triaged with just its own words.
    """
    if not starts_question(message):
        return None
    return message.subject, message.text


class Role(StrEnum):
    """What a message is in the thread it joined."""

    QUESTION = "question"  # started a question thread: triage it
    ORPHAN = "orphan"  # started a thread that is not a question (a reply to an unseen parent, a bot)
    ANSWER = "answer"  # someone other than the asker replied: the thread is answered
    FOLLOW_UP = "follow-up"  # the asker added to an unanswered question: triage the thread again
    LATE_FOLLOW_UP = "late-follow-up"  # the asker added after an answer: no new draft
    ASIDE = "aside"  # anything else (the asker in a thread that is no question, a bot's reply)


@dataclass(frozen=True, slots=True)
class ThreadFacts:
    """What the threader needs to know of the thread a message joins."""

    asker: str  # `author_key` of the thread's starter
    is_question: bool
    answered: bool


@dataclass(frozen=True, slots=True)
class Fit:
    """The threader's decision about one message in its thread."""

    role: Role
    note: str | None = None  # for the audit log

    @property
    def triage(self) -> bool:
        """Whether the message waits for triage."""
        return self.role in (Role.QUESTION, Role.FOLLOW_UP)

    @property
    def answers(self) -> bool:
        """Whether the message makes its thread answered."""
        return self.role is Role.ANSWER


def role_in(message: InboundMessage, author: str, thread: ThreadFacts | None) -> Fit:
    """What `message` (by `author`, an `author_key`) is in `thread`; None means it starts a thread.

    Example:
        >>> asked = ThreadFacts(asker="taro@example.jp", is_question=True, answered=False)
        >>> role_in(reply, "hanako@example.jp", asked).role  # doctest: +SKIP
        <Role.ANSWER: 'answer'>
    """
    if thread is None:
        return Fit(Role.QUESTION if starts_question(message) else Role.ORPHAN)
    if message.is_bot:
        return Fit(Role.ASIDE)
    if author != thread.asker:
        return Fit(Role.ANSWER)
    if not thread.is_question:
        return Fit(Role.ASIDE)
    if thread.answered:
        return Fit(
            Role.LATE_FOLLOW_UP,
            f"follow-up <{message.message_id}> from the asker came after the thread was answered; "
            "no new draft",
        )
    return Fit(Role.FOLLOW_UP)


@dataclass(frozen=True, slots=True)
class Waiting:
    """A stored message of a thread that started without its parent, as the adopter sees it."""

    message_id: str
    author: str  # `author_key`
    is_bot: bool
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Adoption:
    """What becomes of orphan threads when the parent they waited for arrives.

    `moved` are the waiting messages in thread order (by date, undated ones in the order given);
    `from_asker` and `fits` say, for each, whether the parent thread's asker wrote it and what it is
    in the merged thread (`Fit.triage` for the asker's follow-ups that no answer preceded); `answered`
    is the merged thread's state.
    """

    moved: tuple[str, ...]
    from_asker: tuple[bool, ...]
    fits: tuple[Fit, ...]
    answered: bool


def adopt(parent: ThreadFacts, waiting: Sequence[Sequence[Waiting]]) -> Adoption:
    """Merge orphan threads (each a sequence of its messages) into the thread of their late parent.

    The parent's thread keeps its asker; each message gets the role `role_in` would have given it had
    every message arrived in date order, so the thread is answered when it was or when anyone but
    the asker (not a bot) wrote in it, and the asker's follow-ups before any answer wait for triage.

    Example:
        >>> asked = ThreadFacts(asker="taro@example.jp", is_question=True, answered=False)
        >>> adopt(asked, [[Waiting("<r1>", "hanako@example.jp", False)]]).answered
        True
    """
    given = [m for thread in waiting for m in thread]
    order = sorted(range(len(given)), key=lambda i: (given[i].sent_at is None, given[i].sent_at or _EPOCH, i))
    facts = parent
    fits: list[Fit] = []
    for i in order:
        m = given[i]
        fit = role_in(_stub(m), m.author, facts)
        if fit.answers:
            facts = ThreadFacts(facts.asker, facts.is_question, True)
        fits.append(fit)
    moved = [given[i] for i in order]
    return Adoption(
        tuple(m.message_id for m in moved),
        tuple(m.author == parent.asker for m in moved),
        tuple(fits),
        facts.answered,
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _later_of(a: datetime | None, b: datetime | None) -> datetime | None:
    """The later of two optional times."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _stub(message: Waiting) -> InboundMessage:
    """The few fields of a stored message that `role_in` reads."""
    return InboundMessage(
        channel=Channel.EMAIL,
        source="",
        message_id=message.message_id,
        subject="",
        text="",
        original="",
        author=message.author,
        sent_at=message.sent_at,
        is_bot=message.is_bot,
    )


# -- threading a whole conversation set at once --------------------------------------------------


def arrival_key(message: InboundMessage) -> tuple[bool, datetime, str]:
    """The order messages are threaded in, whatever order they arrive in: by date, undated ones last,
    ties by Message-ID. Ingest stores what arrives in this order, and re-threads when something
    arrives that sorts before what is already stored."""
    return (message.sent_at is None, message.sent_at or _EPOCH, message.message_id)


@dataclass(slots=True, eq=False)
class _Plan:
    """A thread being built by `thread_all` (compared and hashed by identity)."""

    root: InboundMessage
    asker: str
    is_question: bool
    key: str
    answered: bool = False
    last_at: datetime | None = None
    members: list[str] = field(default_factory=list)
    alive: bool = True


@dataclass(frozen=True, slots=True)
class PlannedThread:
    """One thread as `thread_all` built it: its first message, its facts and its messages in order."""

    root: str
    subject: str
    key: str
    asker: str
    is_question: bool
    answered: bool
    started_at: datetime | None
    last_at: datetime | None
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Threading:
    """What `thread_all` decided: the threads, each message's role and whether the thread's asker
    wrote it, and the parent ids that messages still wait for (parents not among the messages)."""

    threads: tuple[PlannedThread, ...]
    fits: dict[str, Fit]
    from_asker: dict[str, bool]
    waits: dict[str, tuple[str, ...]]


def thread_all(messages: Sequence[InboundMessage]) -> Threading:
    """Thread a set of messages (one source) as an ingest would that received them in `arrival_key`
    order, one at a time: rules 1 to 5, roles by `role_in`, late parents adopting the orphan threads
    that wait for them (`adopt`) and new questions adopting orphan replies of their subject.

    The result depends only on the set of messages, never on the order they are given in.
    """
    plans: list[_Plan] = []
    thread_of: dict[str, _Plan] = {}
    by_key: dict[str, list[_Plan]] = {}
    fits: dict[str, Fit] = {}
    from_asker: dict[str, bool] = {}
    authors: dict[str, str] = {}
    info: dict[str, InboundMessage] = {}
    waiting: dict[str, list[str]] = {}
    waits: dict[str, tuple[str, ...]] = {}

    def latest(key: str) -> _Plan | None:
        for plan in reversed(by_key.get(key, ())):
            if plan.alive:
                return plan
        return None

    def merge(target: _Plan, orphans: Sequence[_Plan]) -> None:
        groups = [
            [Waiting(mid, authors[mid], info[mid].is_bot, info[mid].sent_at) for mid in orphan.members]
            for orphan in orphans
        ]
        adoption = adopt(ThreadFacts(target.asker, target.is_question, target.answered), groups)
        for mid, mine, fit in zip(adoption.moved, adoption.from_asker, adoption.fits, strict=True):
            thread_of[mid] = target
            from_asker[mid] = mine
            fits[mid] = fit
            waits.pop(mid, None)
            target.last_at = _later_of(target.last_at, info[mid].sent_at)
        target.members.extend(adoption.moved)
        target.answered = adoption.answered
        for orphan in orphans:
            orphan.alive = False

    for message in sorted(messages, key=arrival_key):
        mid = message.message_id
        info[mid] = message
        author = authors[mid] = author_key(message.author)
        refs = parent_ids(message)
        thread = next((thread_of[ref] for ref in refs if ref in thread_of), None)
        by_id = thread is not None
        if thread is None and is_reply_subject(message.subject):
            key = normalize_subject(message.subject)
            candidate = latest(key) if key else None
            if candidate is not None and may_join_by_subject(message, candidate.last_at):
                thread = candidate
        if thread is None:
            fit = role_in(message, author, None)
            thread = _Plan(
                root=message,
                asker=author,
                is_question=fit.role is Role.QUESTION,
                key=normalize_subject(message.subject)[:500],
                last_at=message.sent_at,
            )
            plans.append(thread)
            if thread.key:
                by_key.setdefault(thread.key, []).append(thread)
            from_asker[mid] = True
        else:
            fit = role_in(message, author, ThreadFacts(thread.asker, thread.is_question, thread.answered))
            from_asker[mid] = author == thread.asker
            thread.last_at = _later_of(thread.last_at, message.sent_at)
            if fit.answers:
                thread.answered = True
        thread.members.append(mid)
        thread_of[mid] = thread
        fits[mid] = fit
        if not by_id and refs:
            waits[mid] = tuple(dict.fromkeys(refs))
            for ref in waits[mid]:
                waiting.setdefault(ref, []).append(mid)
        # Messages stop waiting for an id once it arrives, or once their thread was adopted.
        waiters = [waiter for waiter in waiting.pop(mid, ()) if mid in waits.get(waiter, ())]
        for waiter in waiters:
            waits[waiter] = tuple(ref for ref in waits[waiter] if ref != mid)
        orphans = list(
            dict.fromkeys(
                thread_of[waiter]
                for waiter in waiters
                if thread_of[waiter] is not thread and not thread_of[waiter].is_question
            )
        )
        if fit.role is Role.QUESTION and thread.key:
            orphans.extend(
                plan
                for plan in by_key.get(thread.key, ())
                if plan.alive
                and plan is not thread
                and not plan.is_question
                and plan not in orphans
                and adopts_by_subject(message, plan.root.subject, plan.root.sent_at)
            )
        if orphans:
            merge(thread, sorted(orphans, key=lambda plan: arrival_key(plan.root)))
    return Threading(
        threads=tuple(
            PlannedThread(
                root=plan.root.message_id,
                subject=plan.root.subject,
                key=plan.key,
                asker=plan.asker,
                is_question=plan.is_question,
                answered=plan.answered,
                started_at=plan.root.sent_at,
                last_at=plan.last_at,
                members=tuple(plan.members),
            )
            for plan in plans
            if plan.alive
        ),
        fits=fits,
        from_asker=from_asker,
        waits={mid: refs for mid, refs in waits.items() if refs},
    )
