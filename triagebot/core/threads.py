"""Subject keys and a small in-memory threader for mail, in English and Japanese.

`normalize_subject` gives the key two subjects of one conversation share; `thread_messages` groups
a batch of messages into conversations. The threader only needs four attributes, so it takes any
object that has them (`MailRecord`, `InboundMessage`) without this pure module importing readers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Protocol, TypeVar

# After NFKC and case-folding, so "Ｒｅ：", "RE:" and "re :" all look like "re:".
_REPLY_WORDS = r"re|aw|sv|vs|antw|返信|回复|答复"
_FORWARD_WORDS = r"fwd|fw|wg|転送|转发"
_COUNTER = r"(?:\[\d+\]|\^\d+|\(\d+\))?"
_REPLY_PREFIX = re.compile(rf"^(?:{_REPLY_WORDS}){_COUNTER}\s*:\s*")
_ANY_PREFIX = re.compile(rf"^(?:{_REPLY_WORDS}|{_FORWARD_WORDS}){_COUNTER}\s*:\s*")
_LIST_TAGS = re.compile(r"^(?:\[[^\[\]]{1,80}\]\s*)+")
_SPACE = re.compile(r"\s+")


class Threadable(Protocol):
    """What the threader reads from a message."""

    @property
    def message_id(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def in_reply_to(self) -> str | None: ...

    @property
    def references(self) -> tuple[str, ...]: ...


M = TypeVar("M", bound=Threadable)


def _fold(subject: str) -> str:
    """NFKC, case-fold and fold whitespace, so width and case variants compare equal."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", subject).casefold()).strip()


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


def thread_messages(messages: Sequence[M]) -> list[list[M]]:
    """Group messages into threads; threads and the messages in them keep the order given.

    Rules, kept small on purpose (pass messages in archive order, oldest first):

    1. A message's parent is its In-Reply-To if that id is in the batch, else the last id of its
       References that is in the batch. Unknown or broken ids are ignored.
    2. A message with no parent found that way joins the thread of the first earlier message whose
       normalized subject is the same, but only if its own subject is a reply form (``Re: x``).
    3. Everything else starts a thread. Duplicate Message-IDs join the first message with that id.
    """
    parent_of = list(range(len(messages)))

    def root(index: int) -> int:
        while parent_of[index] != index:
            parent_of[index] = parent_of[parent_of[index]]
            index = parent_of[index]
        return index

    def join(child: int, parent: int) -> None:
        child_root, parent_root = root(child), root(parent)
        if child_root != parent_root:
            # The earlier message's root stays the root, so thread order follows first appearance.
            low, high = sorted((child_root, parent_root))
            parent_of[high] = low

    by_id: dict[str, int] = {}
    for index, message in enumerate(messages):
        if message.message_id:
            by_id.setdefault(message.message_id, index)

    first_by_subject: dict[str, int] = {}
    for index, message in enumerate(messages):
        own = by_id.get(message.message_id)
        if own is not None and own != index:
            join(index, own)
            continue
        parent = _known_parent(message, by_id, index)
        key = normalize_subject(message.subject)
        if parent is not None:
            join(index, parent)
        elif key and is_reply_subject(message.subject) and key in first_by_subject:
            join(index, first_by_subject[key])
        if key:
            first_by_subject.setdefault(key, index)

    threads: dict[int, list[M]] = {}
    for index, message in enumerate(messages):
        threads.setdefault(root(index), []).append(message)
    return list(threads.values())


def _known_parent(message: Threadable, by_id: dict[str, int], index: int) -> int | None:
    """Return the index of the message's parent within the batch, or None."""
    candidates: list[str] = []
    if message.in_reply_to:
        candidates.append(message.in_reply_to)
    candidates.extend(reversed(message.references))
    for candidate in candidates:
        found = by_id.get(candidate)
        if found is not None and found != index:
            return found
    return None
