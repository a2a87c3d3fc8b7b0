"""Frozen, typed objects that the triage stages exchange.

raw payload → InboundMessage → Question → (Classification, DetailReport) → Decision → DraftReply,
all gathered in a TriageResult. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any, TypeVar

_T = TypeVar("_T")


def _pickled_by_fields(cls: type[_T]) -> type[_T]:
    """Pickle a frozen, slotted dataclass as (class, field values): rebuilt through `__init__`.

    The default for such classes looks its fields up again for every object pickled and unpickled,
    which is most of the cost of handing messages and results between the ingest processes.
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    values = attrgetter(*names)  # a tuple for two names or more

    def __reduce__(self: _T) -> tuple[type[_T], tuple[Any, ...]]:
        return cls, values(self) if len(names) > 1 else (values(self),)

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls


class Language(StrEnum):
    """Languages a question can be answered in."""

    JA = "ja"
    EN = "en"


class Channel(StrEnum):
    """Where a question came from and where its reply goes."""

    EMAIL = "email"
    SLACK = "slack"
    DISCORD = "discord"


def slack_message_id(channel: str, ts: str) -> str:
    """A Slack message's id in the store: its `ts` is unique only within its channel, so both."""
    return f"{channel}/{ts}"


def slack_ts(message_id: str) -> str:
    """The Slack `ts` in a stored id (an id stored before channels were part of it is the `ts`)."""
    return message_id.rpartition("/")[2]


class Detail(StrEnum):
    """The four details every poster is asked for, in the order they are asked."""

    VERSION = "version"
    OS = "os"
    HYPERVISOR = "hypervisor"
    SPECIFICS = "specifics"


_ASKING_ORDER = (Detail.VERSION, Detail.OS, Detail.HYPERVISOR, Detail.SPECIFICS)  # `DetailReport.missing`


class Action(StrEnum):
    """What the reply does."""

    SUGGEST = "suggest"  # at least one tip applies
    ASK = "ask-for-details"  # nothing fits, but details are missing: ask for them
    ABSTAIN = "abstain"  # nothing fits and nothing to ask: stay silent
    NOT_A_QUESTION = "not-a-question"  # an announcement, vote, notice or thanks: no draft


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message as received from any channel (mail, Slack, Discord), translated once at the edge.

    Every reader and chat adapter produces this, and the store keeps it as it is, whatever the
    channel. `source` names the list or channel ("" when the adapter cannot tell; the pipeline then
    names it). `message_id` is unique within the channel: a Message-ID without angle brackets, a
    Slack channel and `ts` (`slack_message_id`), a Discord snowflake. A reply names its parent by
    `thread_key` (the Slack channel and `thread_ts`, the Discord thread id: the id of the thread's
    first message; None for mail), or by `in_reply_to` / `references` (mail). `text` is what the
    author wrote (quotes, signatures and footers removed); `original` the whole decoded body. `raw`
    keeps the payload as received (mail: the bytes as stored, see `MimeSlimmer` for very large
    messages) and `where` names the place it was read from (`archive.mbox#12`) for reports.
    """

    channel: Channel
    source: str
    message_id: str
    subject: str
    text: str
    original: str = ""
    author: str = ""
    sent_at: datetime | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    thread_key: str | None = None
    is_bot: bool = False  # posted by a bot or integration: never a question, never an answer
    raw: bytes = b""
    where: str = ""


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Question:
    """A question ready for the classifier and the detail extractor."""

    subject: str
    body: str
    language: Language
    prose: str  # the author's own words, log pastes and quotes removed
    log_lines: tuple[str, ...]  # the informative lines of any pasted log (errors, exceptions)

    @property
    def full_text(self) -> str:
        """Subject and body together, for rules that look everywhere."""
        return f"{self.subject}\n{self.body}" if self.subject else self.body


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class DetailReport:
    """The four required details as found in a question, normalised.

    `version` is a CloudStack release (`4.18.1.0`) or series (`4.18`); `series` is always the
    two-part series when a version was found. `hypervisor_kind` is the catalog id (`kvm`).
    """

    version: str | None = None
    series: str | None = None
    os: str | None = None
    hypervisor: str | None = None
    hypervisor_kind: str | None = None
    specifics: bool = False

    @property
    def missing(self) -> tuple[Detail, ...]:
        """The required details that were not found, in asking order."""
        found = (self.version is not None, self.os is not None, self.hypervisor is not None, self.specifics)
        return tuple(d for d, present in zip(_ASKING_ORDER, found, strict=True) if not present)


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class TipScore:
    """One suggested tip with its calibrated score and the evidence behind it."""

    tip_id: str
    score: float
    evidence: tuple[str, ...] = ()


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Classification:
    """Ranked tips above the abstention threshold (empty when abstaining)."""

    tips: tuple[TipScore, ...]
    threshold: float
    best_below: TipScore | None = None  # the strongest candidate that did not make it, for moderators
    left_out: tuple[str, ...] = ()  # close tips the post's details rule out: "kvm-agent (why)"

    @property
    def abstained(self) -> bool:
        """True when no tip reached the threshold."""
        return not self.tips


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Decision:
    """What the reply will do and why."""

    action: Action
    tips: tuple[TipScore, ...]
    ask_for: tuple[Detail, ...]
    why: str


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class DraftReply:
    """A reply rendered for one channel; `parts` are the messages to post, in order."""

    language: Language
    channel: Channel
    text: str
    parts: tuple[str, ...] = field(default=())


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class TriageResult:
    """Everything the pure triage computed for one question."""

    question: Question
    classification: Classification
    details: DetailReport
    decision: Decision
    reply: DraftReply
    model_version: str = ""
