"""The question prepared once for every finder, and catalog spellings found in it.

Every detail finder works on the same `Scan` (width folded, lower-cased, split into words once) and
looks catalog names up through an `AliasIndex`, which tries a spelling only when its first word occurs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from triagebot.errors import KnowledgeBaseError, Problem

MAX_MENTIONS = 200
"""Mentions examined per detail; a log that repeats a name a thousand times adds nothing."""
LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")

# --------------------------------------------------------------------------------------------------
# The prepared text
# --------------------------------------------------------------------------------------------------

_WIDE = re.compile("[\uff01-\uff5e\u3000]")
_WIDE_TABLE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_NOT_LETTERS = str.maketrans(dict.fromkeys("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~0123456789", " "))
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
LATIN_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class Scan:
    """The question prepared once for every finder."""

    text: str  # full-width folded to ASCII; the first SCAN_LIMIT characters
    low: str  # `text` lower-cased, with the same offsets
    words: frozenset[str]  # runs of Latin letters in `low` (`centos7` gives `centos`, `acs4.18` gives `acs`)
    ascii: bool


def prepare(text: str) -> Scan:
    """Fold width, lower-case and split into words, once per question."""
    if not text.isascii() and _WIDE.search(text):
        text = text.translate(_WIDE_TABLE)  # full-width Latin in Japanese mail: ＣｅｎｔＯＳ７ → CentOS7
    low = text.lower()
    if len(low) != len(text):  # a few letters (İ) grow when lowered; keep the offsets aligned
        low = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    is_ascii = text.isascii()
    words = frozenset(low.translate(_NOT_LETTERS).split() if is_ascii else LATIN_WORD.findall(low))
    return Scan(text, low, words, is_ascii)


def word_set(text: str) -> frozenset[str]:
    """A set of keywords written as one space-separated string, so long lists stay readable."""
    return frozenset(text.split())


def by_first_word(phrases: str) -> dict[str, tuple[str, ...]]:
    """Phrases (`_` stands for a space) keyed by their first word, so a word-set test can gate them."""
    table: dict[str, tuple[str, ...]] = {}
    for item in phrases.split():
        phrase = item.replace("_", " ")
        first = re.split(r"[ \-]", phrase, maxsplit=1)[0]
        table[first] = (*table.get(first, ()), phrase)
    return table


def starts_word(low: str, start: int) -> bool:
    """Whether a Latin word can start at `start` (no letter or digit glued in front)."""
    return start == 0 or low[start - 1] not in _ASCII_ALNUM


# --------------------------------------------------------------------------------------------------
# Aliases: one small pattern per spelling, tried only when its first word occurs
# --------------------------------------------------------------------------------------------------


def _alias_key(alias: str) -> str:
    """Aliases compare without case, spaces, hyphens or underscores (`XCP-ng` = `xcpng`)."""
    return re.sub(r"[\s_\-]+", "", alias).lower()


@dataclass(frozen=True, slots=True)
class Alias:
    """One catalog spelling: a cheap gate and the pattern behind it.

    The pattern is compiled when a question first passes the gate: most spellings are never met in
    a run, and compiling them all would cost a noticeable part of a command's start.
    """

    key: str
    gate: frozenset[str]  # one of these words must occur (empty: use `probe`)
    probe: str  # substring that must occur, for spellings not in Latin script
    source: str  # the regular expression

    @property
    def pattern(self) -> re.Pattern[str]:
        """The compiled pattern (compiled once, on first use)."""
        return _compiled(self.source)


@functools.cache
def _compiled(source: str) -> re.Pattern[str]:
    return re.compile(source)


def compile_alias(alias: str, tail: str) -> Alias:
    """`alias` with optional inner separators (`rocky linux` also fits `rockylinux`), then `tail`."""
    chunks = [chunk for chunk in re.split(r"[\s_\-]+", alias.strip().lower()) if chunk]
    body = r"[ \t_\-]?".join(re.escape(chunk) for chunk in chunks)
    pattern = rf"(?P<alias>{body})(?![a-z]){tail}"
    key = "".join(chunks)
    if chunks[0].isascii():  # gate on letters only, as the question's words are split at digits
        gate = {re.split(r"[^a-z]", chunks[0])[0], re.split(r"[^a-z]", key)[0]} - {""}
        return Alias(key, frozenset(gate), "", pattern)
    return Alias(key, frozenset(), chunks[0], pattern)


class AliasIndex:
    """Aliases by the words that gate them, so a question only tries the spellings it could contain."""

    def __init__(self, aliases: Sequence[Alias]) -> None:
        """Index the aliases by their gate words; spellings in other scripts are probed by substring."""
        self._by_word: dict[str, list[Alias]] = {}
        for alias in aliases:
            for word in alias.gate:
                self._by_word.setdefault(word, []).append(alias)
        self._gate_words = frozenset(self._by_word)
        self._probed = tuple(alias for alias in aliases if not alias.gate)

    def mentions(self, scan: Scan) -> list[tuple[re.Match[str], Alias]]:
        """Every alias occurrence in reading order; where two overlap, the longer spelling wins."""
        candidates = {id(a): a for word in scan.words & self._gate_words for a in self._by_word[word]}
        if not scan.ascii:
            candidates.update((id(a), a) for a in self._probed if a.probe in scan.low)
        found: list[tuple[re.Match[str], Alias]] = []
        for alias in candidates.values():
            for match in alias.pattern.finditer(scan.low):
                if starts_word(scan.low, match.start()):
                    found.append((match, alias))
            if len(found) >= MAX_MENTIONS:
                break
        found.sort(key=lambda item: (item[0].start(), -item[0].end("alias")))
        kept: list[tuple[re.Match[str], Alias]] = []
        covered = -1
        for match, alias in found:
            if match.start() >= covered:
                kept.append((match, alias))
                covered = match.end()
        return kept


def inside_name(low: str, start: int, end: int) -> bool:
    """Whether low[start:end] is part of a path, file, package or host name rather than a word."""
    if start > 0 and low[start - 1] in "/.@-_\\~":
        return True
    return low[end : end + 1] in ("-", "_", ".", "@") and low[end + 1 : end + 2].isalnum()


def refuse_duplicates(table: dict[str, str], key: str, owner: str, file: str, alias: str) -> None:
    """Two catalog entries may not share a spelling: the extractor could not tell them apart."""
    if table.setdefault(key, owner) != owner:
        raise KnowledgeBaseError([Problem(file, None, "aliases", f"{alias!r} belongs to two entries")])
