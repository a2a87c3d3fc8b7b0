"""Find the four required details in a question: CloudStack version, server OS, hypervisor, specifics.

Pure: regular expressions over the text, checked against the knowledge-base catalogs, so a release
that never existed or an OS nobody ships is not reported.

Speed matters (the whole triage must handle thousands of messages a second), and CPython's `re` is
slow when a long alternation is tried at every position. So the text is lower-cased and split into
words once (`_Scan`); each check first asks the word set (or a plain substring test) whether it can
possibly match, and only then runs its pattern, which starts with a literal so `re` can skip ahead.
Every pattern has bounded repetition, and only the first `SCAN_LIMIT` characters are scanned in full;
the rest of a long paste is only searched for an explicit CloudStack version.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from triagebot.core.kb import Hypervisor, KnowledgeBase, OsEntry, Release
from triagebot.core.language import count_japanese
from triagebot.core.logs import LOG_LEVEL, STACK_FRAME, TIMESTAMP
from triagebot.core.models import DetailReport
from triagebot.core.question import split_prose_and_logs
from triagebot.core.versions import parse_version
from triagebot.errors import KnowledgeBaseError, Problem

SCAN_LIMIT = 20_000
"""Characters scanned for every detail; a longer paste is only searched for a CloudStack version."""
MAX_MENTIONS = 200
"""Mentions examined per detail; a log that repeats a name a thousand times adds nothing."""

# --------------------------------------------------------------------------------------------------
# The prepared text
# --------------------------------------------------------------------------------------------------

_WIDE = re.compile("[\uff01-\uff5e\u3000]")
_WIDE_TABLE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_PUNCTUATION = str.maketrans(dict.fromkeys("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", " "))
_NOT_LETTERS = str.maketrans(dict.fromkeys("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~0123456789", " "))
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_LATIN_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class _Scan:
    """The question prepared once for every finder."""

    text: str  # full-width folded to ASCII; the first SCAN_LIMIT characters
    low: str  # `text` lower-cased, with the same offsets
    words: frozenset[str]  # runs of Latin letters in `low` (`centos7` gives `centos`, `acs4.18` gives `acs`)
    ascii: bool


def _prepare(text: str) -> _Scan:
    """Fold width, lower-case and split into words, once per question."""
    if not text.isascii() and _WIDE.search(text):
        text = text.translate(_WIDE_TABLE)  # full-width Latin in Japanese mail: ＣｅｎｔＯＳ７ → CentOS7
    low = text.lower()
    if len(low) != len(text):  # a few letters (İ) grow when lowered; keep the offsets aligned
        low = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    is_ascii = text.isascii()
    words = frozenset(low.translate(_NOT_LETTERS).split() if is_ascii else _LATIN_WORD.findall(low))
    return _Scan(text, low, words, is_ascii)


def _words(text: str) -> frozenset[str]:
    """A set of keywords written as one space-separated string, so long lists stay readable."""
    return frozenset(text.split())


def _by_first_word(phrases: str) -> dict[str, tuple[str, ...]]:
    """Phrases (`_` stands for a space) keyed by their first word, so a word-set test can gate them."""
    table: dict[str, tuple[str, ...]] = {}
    for item in phrases.split():
        phrase = item.replace("_", " ")
        first = re.split(r"[ \-]", phrase, maxsplit=1)[0]
        table[first] = (*table.get(first, ()), phrase)
    return table


def _starts_word(low: str, start: int) -> bool:
    """Whether a Latin word can start at `start` (no letter or digit glued in front)."""
    return start == 0 or low[start - 1] not in _ASCII_ALNUM


# --------------------------------------------------------------------------------------------------
# Aliases: one small pattern per spelling, tried only when its first word occurs
# --------------------------------------------------------------------------------------------------


def _alias_key(alias: str) -> str:
    """Aliases compare without case, spaces, hyphens or underscores (`XCP-ng` = `xcpng`)."""
    return re.sub(r"[\s_\-]+", "", alias).lower()


@dataclass(frozen=True, slots=True)
class _Alias:
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


def _compile_alias(alias: str, tail: str) -> _Alias:
    """`alias` with optional inner separators (`rocky linux` also fits `rockylinux`), then `tail`."""
    chunks = [chunk for chunk in re.split(r"[\s_\-]+", alias.strip().lower()) if chunk]
    body = r"[ \t_\-]?".join(re.escape(chunk) for chunk in chunks)
    pattern = rf"(?P<alias>{body})(?![a-z]){tail}"
    key = "".join(chunks)
    if chunks[0].isascii():  # gate on letters only, as the question's words are split at digits
        gate = {re.split(r"[^a-z]", chunks[0])[0], re.split(r"[^a-z]", key)[0]} - {""}
        return _Alias(key, frozenset(gate), "", pattern)
    return _Alias(key, frozenset(), chunks[0], pattern)


class _AliasIndex:
    """Aliases by the words that gate them, so a question only tries the spellings it could contain."""

    def __init__(self, aliases: Sequence[_Alias]) -> None:
        """Index the aliases by their gate words; spellings in other scripts are probed by substring."""
        self._by_word: dict[str, list[_Alias]] = {}
        for alias in aliases:
            for word in alias.gate:
                self._by_word.setdefault(word, []).append(alias)
        self._gate_words = frozenset(self._by_word)
        self._probed = tuple(alias for alias in aliases if not alias.gate)

    def mentions(self, scan: _Scan) -> list[tuple[re.Match[str], _Alias]]:
        """Every alias occurrence in reading order; where two overlap, the longer spelling wins."""
        candidates = {id(a): a for word in scan.words & self._gate_words for a in self._by_word[word]}
        if not scan.ascii:
            candidates.update((id(a), a) for a in self._probed if a.probe in scan.low)
        found: list[tuple[re.Match[str], _Alias]] = []
        for alias in candidates.values():
            for match in alias.pattern.finditer(scan.low):
                if _starts_word(scan.low, match.start()):
                    found.append((match, alias))
            if len(found) >= MAX_MENTIONS:
                break
        found.sort(key=lambda item: (item[0].start(), -item[0].end("alias")))
        kept: list[tuple[re.Match[str], _Alias]] = []
        covered = -1
        for match, alias in found:
            if match.start() >= covered:
                kept.append((match, alias))
                covered = match.end()
        return kept


def _inside_name(low: str, start: int, end: int) -> bool:
    """Whether low[start:end] is part of a path, file, package or host name rather than a word."""
    if start > 0 and low[start - 1] in "/.@-_\\~":
        return True
    return low[end : end + 1] in ("-", "_", ".", "@") and low[end + 1 : end + 2].isalnum()


def _refuse_duplicates(table: dict[str, str], key: str, owner: str, file: str, alias: str) -> None:
    """Two catalog entries may not share a spelling: the extractor could not tell them apart."""
    if table.setdefault(key, owner) != owner:
        raise KnowledgeBaseError([Problem(file, None, "aliases", f"{alias!r} belongs to two entries")])


# --------------------------------------------------------------------------------------------------
# CloudStack version
# --------------------------------------------------------------------------------------------------

# A 4.x number not glued to other digits or dots (so `10.4.18.1` and `14.04` are not read as 4.x).
_VERSION = re.compile(r"4(?<![0-9.]4)\.[0-9]{1,2}(?:\.[0-9]{1,2}){0,2}(?![0-9]|\.[0-9])")

# Words that, written just before a number, say whose number it is.
_CLOUDSTACK_WORDS = frozenset({"cloudstack", "acs", "cs", "implementation", "クラウドスタック"})
_OTHER_WORDS = _words(
    # databases, runtimes, libraries
    "mysql mariadb percona java jdk jre openjdk jvm python python3 log4j tomcat jetty spring maven mvn "
    "bash openssl glibc gcc php perl ruby node nodejs npm vue bootstrap "
    # kernel, virtualisation and storage stacks
    "kernel linux uname libvirt libvirtd qemu kvm nfs nfsv vers nfsvers ceph gluster glusterfs samba smb "
    "docker kubernetes k8s ansible terraform "
    # operating systems and hypervisors
    "ubuntu centos rhel rocky alma almalinux oracle ol debian suse sles opensuse fedora windows xen "
    "xenserver xcp ng esx esxi vsphere vcenter vmware hyper hyperv ovm virtualbox "
    # CloudStack's own tools and the SystemVM template (a template version is not the release)
    "cmk cloudmonkey systemvm systemvmtemplate systemvm64template template tmplt "
    # document structure
    "section step chapter figure table page item 手順 章 節 図 表"
)
# Words that may stand between the name and the number ("CloudStack version is 4.19").
_GAP_WORDS = _words(
    "v ver version versions release is was are of management agent common usage ui server client mgmt "
    "の は が も バージョン リリース"
)
_WORD = re.compile(r"[a-z][a-z0-9]*|[\u30a1-\u30f6\u30fc]+|[\u4e00-\u9fff\u3005]+|[\u3041-\u3093]")
_SEPARATOR = re.compile(r"[\s:=_\-/()\[\]\"'#~\uff1a\uff08\uff09]{0,8}")
_UNIT_OR_FILE = re.compile(
    r"\s?(?:gb|gib|mb|mib|tb|kb|ghz|mhz|%|cores?|v?cpus?|ms|secs?|seconds?|mins?|minutes?|hours?|hrs?|days?"
    r"|weeks?|months?|years?|stars?|inch)(?![a-z])"
    r"|\s?(?:時間|分|秒|倍|日|ヶ月|か月|年|円|個|台|回|行|章|節|項)"
    r"|[-_.](?:kvm|xen|vmware|hyperv|ovm|lxc|x86|aarch64|qcow2|vhd|ova|raw|img|iso)(?![a-z])"
)
_DISTRO_BUILD = re.compile(r"[~.](?:trusty|xenial|bionic|focal|jammy|noble|bullseye|bookworm|trixie)")
_UPGRADE_WORDS = ("upgrad", "アップグレード", "バージョンアップ", "アップデート")
_UPGRADE_PAIR = re.compile(r"\s{0,3}(?:to|->|→|=>|⇒|から)\s{0,3}(?:v|acs\s?|cloudstack\s?)?")
# An explicit CloudStack version; the only thing looked for beyond SCAN_LIMIT.
_EXPLICIT_VERSIONS = (
    re.compile(r"cloudstack(?:-[a-z]{2,12})?[-_ ]v?(4\.[0-9]{1,2}(?:\.[0-9]{1,2}){0,2})(?![0-9]|\.[0-9])"),
    re.compile(r"implementation version is (4\.[0-9]{1,2}(?:\.[0-9]{1,2}){0,2})(?![0-9]|\.[0-9])"),
)


@dataclass(frozen=True, slots=True)
class _VersionHit:
    """One accepted version mention: where, how explicit, and what it normalises to."""

    start: int
    end: int
    strength: int  # 2 = named as CloudStack or a CloudStack package, 1 = a bare number
    key: tuple[int, ...]  # four numbers; -1 where a series leaves them open
    version: str
    pinned: bool  # a catalog release, not just a series


class _VersionFinder:
    """Reads CloudStack versions and checks them against the release catalog."""

    def __init__(self, releases: Sequence[Release]) -> None:
        """Index the catalog by four-part key and by series."""
        self._exact: dict[tuple[int, ...], str] = {}
        self._series: set[tuple[int, int]] = set()
        for release in releases:
            parsed = parse_version(release.version)
            if parsed is not None:
                self._exact[(parsed + (0, 0, 0, 0))[:4]] = release.version
                self._series.add((parsed[0], parsed[1]))
        # Every spelling of a known release or series, worked out once: `4.18`, `4.18.1`, `4.18.1.0`.
        self._known: dict[str, tuple[tuple[int, ...], str, bool] | None] = {}
        for key in self._exact:
            for width in (2, 3, 4):
                written = ".".join(str(n) for n in key[:width])
                self._known[written] = self._normalise(written)

    def normalise(self, written: str) -> tuple[tuple[int, ...], str, bool] | None:
        """`4.18.1` → the release `4.18.1.0`; `4.19` or an unknown patch → the series; unknown → None."""
        if written in self._known:
            return self._known[written]
        return self._normalise(written)

    def _normalise(self, written: str) -> tuple[tuple[int, ...], str, bool] | None:
        """The slow path of `normalise`, for spellings not worked out in advance."""
        parts = written.split(".")
        if any(len(part) > 1 and part.startswith("0") for part in parts):
            return None
        numbers = tuple(int(part) for part in parts)
        series = (numbers[0], numbers[1])
        if len(numbers) > 2:
            padded = (numbers + (0, 0))[:4]
            if padded in self._exact:
                return padded, self._exact[padded], True
        if series in self._series:
            return (*series, -1, -1), f"{series[0]}.{series[1]}", False
        return None

    def find(self, scan: _Scan, rest: str) -> str | None:
        """The version the question is about, or None."""
        hits: list[_VersionHit] = []
        for match in _VERSION.finditer(scan.low):
            hit = self._judge(scan.low, match)
            if hit is not None:
                hits.append(hit)
                if len(hits) >= MAX_MENTIONS:
                    break
        if not hits:
            return self._explicit(rest)
        upgrade = self._is_upgrade(scan, hits)
        if upgrade:
            best = max(hits, key=lambda h: h.key)
        else:
            top = max(h.strength for h in hits)
            best = next(h for h in hits if h.strength == top)
        if not best.pinned:
            same = [h for h in hits if h.pinned and h.key[:2] == best.key[:2]]
            if same:
                best = max(same, key=lambda h: h.key) if upgrade else same[0]
        return best.version

    def _explicit(self, rest: str) -> str | None:
        """A version written as `cloudstack-management-4.19.0.1` or `Implementation Version is ...`."""
        if not rest:
            return None
        low = rest.lower()
        for pattern in _EXPLICIT_VERSIONS:
            for match in pattern.finditer(low):
                found = self.normalise(match.group(1))
                if found is not None:
                    return found[1]
        return None

    @staticmethod
    def _is_upgrade(scan: _Scan, hits: list[_VersionHit]) -> bool:
        """An upgrade ("4.18 to 4.19", "アップグレード") is about the newer release."""
        if any(word in scan.low for word in _UPGRADE_WORDS):
            return True
        for first, second in zip(hits, hits[1:], strict=False):
            if second.start - first.end <= 20 and _UPGRADE_PAIR.fullmatch(scan.low, first.end, second.start):
                return True
        return False

    def _judge(self, low: str, match: re.Match[str]) -> _VersionHit | None:
        """An accepted mention, or None for units, file names, other products' numbers, unknown versions."""
        found = self.normalise(match.group())
        if found is None:
            return None
        start, end = match.span()
        after = low[end : end + 12]
        if _UNIT_OR_FILE.match(after):
            return None
        owner = _owner(low, start)
        if owner == "other":
            return None
        if after[:1] == "-" and after[1:2].isdigit() and owner != "cloudstack":
            return None  # `4.18.0-372.el8` is a kernel build, `libvirt-4.5.0-33` a library
        distro_build = _DISTRO_BUILD.match(after) is not None
        if owner is None and start > 0 and low[start - 1] in "-_" and not distro_build:
            return None  # part of some other name (`linux-image-4.15`)
        strength = 2 if owner == "cloudstack" or distro_build else 1
        key, version, pinned = found
        return _VersionHit(start, end, strength, key, version, pinned)


def _owner(low: str, start: int) -> str | None:
    """Whose number starts at `start`: "cloudstack", "other" (MySQL, kernel, ...) or None (unnamed)."""
    floor = max(0, start - 48)
    window = low[floor:start]
    end = len(window)
    for word_match in reversed(list(_WORD.finditer(window))[-5:]):
        if not _SEPARATOR.fullmatch(window, word_match.end(), end):
            return None
        if word_match.start() == 0 and floor > 0 and low[floor - 1].isalnum():
            return None  # the window cut a word in half
        word = word_match.group()
        if word in _CLOUDSTACK_WORDS:
            return "cloudstack"
        if word in _OTHER_WORDS:
            return "other"
        if word not in _GAP_WORDS:
            return None
        end = word_match.start()
    return None


# --------------------------------------------------------------------------------------------------
# Roles: is an OS the management server's, a host's, a guest's or the system VM's?
# --------------------------------------------------------------------------------------------------

# (keyword, role). Latin keywords must stand as words (a plural "s" is fine); Japanese ones need not.
_ROLE_BEFORE_LATIN = tuple(
    (item.replace("_", " "), role)
    for role, items in (
        ("sysvm", "system_vm system-vm systemvm ssvm cpvm secondary_storage_vm console_proxy "
                  "virtual_router vr"),
        ("guest", "guest template iso instance deploy deploying deployed launch launching provision "
                  "provisioning cloud_image cloud-image cloudimg qcow"),
        ("mgmt", "management mgmt manager cloudstack acs cloudstack-management"),
        ("host", "host hypervisor compute node kvm cloudstack-agent"),
    )
    for item in items.split()
)  # fmt: skip
_ROLE_BEFORE_JA = (
    ("システムvm", "sysvm"), ("仮想ルータ", "sysvm"), ("ゲスト", "guest"), ("テンプレート", "guest"),
    ("インスタンス", "guest"), ("仮想マシン", "guest"), ("デプロイ", "guest"), ("イメージ", "guest"),
    ("管理サーバ", "mgmt"), ("管理ノード", "mgmt"), ("管理用", "mgmt"), ("マネジメント", "mgmt"),
    ("マネージメント", "mgmt"), ("ホスト", "host"), ("ハイパーバイザ", "host"), ("ノード", "host"),
    ("計算", "host"),
)  # fmt: skip
_ROLE_AFTER_LATIN = tuple(
    (item.replace("_", " "), role)
    for role, items in (
        ("sysvm", "system_vm system-vm systemvm ssvm cpvm virtual_router"),
        ("vm", "vm"),
        ("guest", "guest template iso image instance cloudimg cloud-img qcow"),
        ("mgmt", "management mgmt"),
        ("host", "host node hypervisor kvm"),
    )
    for item in items.split()
)
_ROLE_AFTER_JA = (
    ("システムvm", "sysvm"), ("仮想マシン", "vm"), ("ゲスト", "guest"), ("テンプレート", "guest"),
    ("インスタンス", "guest"), ("イメージ", "guest"), ("管理サーバ", "mgmt"), ("管理ノード", "mgmt"),
    ("マネジメント", "mgmt"), ("マネージメント", "mgmt"), ("ホスト", "host"), ("ノード", "host"),
)  # fmt: skip
_CLAUSE_END = re.compile(r"[\n。!?！？;]|\. ")
_AFTER_END = re.compile(r"[\n。!?！？;,、(（]|\. | (?:and|or|but|with|while|where|which|that|then) ")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")


def _word_table(table: Sequence[tuple[str, str]]) -> dict[str, tuple[str, str, bool]]:
    """Single-word keywords by the words that reveal them (`host` also occurs as `hosts`)."""
    index: dict[str, tuple[str, str, bool]] = {}
    for keyword, role in table:
        if " " not in keyword and "-" not in keyword:
            index[keyword] = index[keyword + "s"] = (keyword, role, True)
    return index


_ROLE_BEFORE_WORDS = _word_table(_ROLE_BEFORE_LATIN)
_ROLE_AFTER_WORDS = _word_table(_ROLE_AFTER_LATIN)


def _phrase_table(table: Sequence[tuple[str, str]]) -> dict[str, tuple[tuple[str, str, bool], ...]]:
    """Keywords of several words (`system vm`, `cloudstack-agent`) by their first word."""
    index: dict[str, tuple[tuple[str, str, bool], ...]] = {}
    for keyword, role in table:
        if " " in keyword or "-" in keyword:
            first = re.split(r"[ \-]", keyword, maxsplit=1)[0]
            index[first] = (*index.get(first, ()), (keyword, role, True))
    return index


_ROLE_BEFORE_PHRASES = _phrase_table(_ROLE_BEFORE_LATIN)
_ROLE_AFTER_PHRASES = _phrase_table(_ROLE_AFTER_LATIN)
_ROLE_BEFORE_KEYS = frozenset(_ROLE_BEFORE_WORDS)
_ROLE_AFTER_KEYS = frozenset(_ROLE_AFTER_WORDS)
_ROLE_BEFORE_FIRSTS = frozenset(_ROLE_BEFORE_PHRASES)
_ROLE_AFTER_FIRSTS = frozenset(_ROLE_AFTER_PHRASES)


def _stands_alone(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is a whole word (a trailing plural "s" allowed)."""
    if start > 0 and text[start - 1] in _LETTERS:
        return False
    if end < len(text) and text[end] == "s":
        end += 1
    return end >= len(text) or text[end] not in _LETTERS


@dataclass(frozen=True, slots=True)
class _RoleWords:
    """The role keywords that occur anywhere in one question; only these are looked for near a name."""

    before: tuple[tuple[str, str, bool], ...]  # (keyword, role, must stand alone)
    after: tuple[tuple[str, str, bool], ...]

    @classmethod
    def of(cls, scan: _Scan) -> _RoleWords:
        """Keep the keywords this question contains: a word-set intersection plus a few substring tests."""
        words, low = scan.words, scan.low
        before = {_ROLE_BEFORE_WORDS[w] for w in words & _ROLE_BEFORE_KEYS}
        after = {_ROLE_AFTER_WORDS[w] for w in words & _ROLE_AFTER_KEYS}
        before.update(e for w in words & _ROLE_BEFORE_FIRSTS for e in _ROLE_BEFORE_PHRASES[w] if e[0] in low)
        after.update(e for w in words & _ROLE_AFTER_FIRSTS for e in _ROLE_AFTER_PHRASES[w] if e[0] in low)
        if not scan.ascii:
            before.update((word, role, False) for word, role in _ROLE_BEFORE_JA if word in low)
            after.update((word, role, False) for word, role in _ROLE_AFTER_JA if word in low)
        return cls(tuple(before), tuple(after))

    def before_role(self, low: str, start: int, floor: int) -> str | None:
        """The role of the keyword nearest before `start`, within the clause (a lone "VM" says nothing)."""
        if not self.before:
            return None
        segment = low[max(floor, start - 45) : start]
        best: tuple[int, int, str] | None = None  # (end, length, role)
        for keyword, role, latin in self.before:
            at = segment.rfind(keyword)
            while at >= 0 and latin and not _stands_alone(segment, at, at + len(keyword)):
                at = segment.rfind(keyword, 0, at)
            if at >= 0 and (best is None or (at + len(keyword), len(keyword)) > best[:2]):
                best = (at + len(keyword), len(keyword), role)
        if best is None or _CLAUSE_END.search(segment, best[0]):
            return None
        return best[2]

    def after_role(self, low: str, end: int, ceiling: int) -> str | None:
        """The role of the first keyword right after `end`, before the clause or sentence moves on."""
        if not self.after:
            return None
        segment = low[end : min(ceiling, end + 22)]
        best: tuple[int, int, str] | None = None  # (start, -length, role)
        for keyword, role, latin in self.after:
            at = segment.find(keyword)
            while at >= 0 and latin and not _stands_alone(segment, at, at + len(keyword)):
                at = segment.find(keyword, at + 1)
            if at >= 0 and (best is None or (at, -len(keyword)) < best[:2]):
                best = (at, -len(keyword), role)
        if best is None or _AFTER_END.search(segment, 0, best[0]):
            return None
        return best[2]


# --------------------------------------------------------------------------------------------------
# Operating system
# --------------------------------------------------------------------------------------------------

_OS_NEEDS_VERSION = frozenset({"oracle", "leap", "suse"})  # and every alias of three letters or fewer
_CODENAMES = {
    "trusty": "14.04",
    "xenial": "16.04",
    "bionic": "18.04",
    "focal": "20.04",
    "jammy": "22.04",
    "noble": "24.04",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
}
# After an OS name: filler words ("Linux release", "Server", "LTS"), then a version or a codename.
_OS_FILLER = (
    r"(?:[ \t]{0,3}(?:linux|server|release|gnu/linux|enterprise|stream|lts|version|ver\.?|v)(?![a-z]))"
)
_OS_TAIL = (
    rf"(?:{_OS_FILLER}{{0,3}}"
    r"[ \t:=]{0,3}(?:(?P<ver>[0-9]{1,2}(?:\.[0-9]{1,4}){0,2})(?![0-9]|\.[0-9])"
    rf"|(?P<code>{'|'.join(_CODENAMES)})(?![a-z])))?"
)


@dataclass(frozen=True, slots=True)
class _OsHit:
    """One usable OS mention."""

    rank: int  # 3 management server, 2 not said, 1 hypervisor host
    entry: OsEntry
    version: str | None


class _OsFinder:
    """Finds the management server's OS, never a guest's or the system VM's."""

    def __init__(self, entries: Sequence[OsEntry]) -> None:
        """Build one pattern per spelling and note which spellings need a version to count."""
        aliases: list[_Alias] = []
        self._entry: dict[str, tuple[OsEntry, bool]] = {}
        owners: dict[str, str] = {}
        for entry in entries:
            for alias in entry.aliases:
                compiled = _compile_alias(alias, _OS_TAIL)
                _refuse_duplicates(owners, compiled.key, entry.id, "catalog/os.yaml", alias)
                if compiled.key not in self._entry:
                    needs_version = len(compiled.key) <= 3 or compiled.key in _OS_NEEDS_VERSION
                    self._entry[compiled.key] = (entry, needs_version)
                    aliases.append(compiled)
        self._index = _AliasIndex(aliases)

    def find(self, scan: _Scan) -> str | None:
        """`Ubuntu 22.04`, `CentOS 7.9`, `Rocky Linux` (no version written) or None."""
        mentions = self._index.mentions(scan)
        if not mentions:
            return None
        roles = _RoleWords.of(scan)
        hits: list[_OsHit] = []
        floor = 0
        for index, (match, alias) in enumerate(mentions):
            ceiling = mentions[index + 1][0].start() if index + 1 < len(mentions) else len(scan.low)
            hit = self._judge(scan.low, match, alias, floor, ceiling, roles)
            floor = match.end()
            if hit is not None:
                hits.append(hit)
        if not hits:
            return None
        top = max(h.rank for h in hits)
        best = next(h for h in hits if h.rank == top)
        version = best.version or next(
            (h.version for h in hits if h.entry.id == best.entry.id and h.version), None
        )
        return f"{best.entry.name} {version}" if version else best.entry.name

    def _judge(
        self, low: str, match: re.Match[str], alias: _Alias, floor: int, ceiling: int, roles: _RoleWords
    ) -> _OsHit | None:
        """A usable mention with its rank, or None for guests, system VMs and names inside paths."""
        entry, needs_version = self._entry[alias.key]
        start, end = match.span()
        if _inside_name(low, start, end):
            return None  # `/etc/centos-release`, `root@ubuntu`, `ubuntu-22.04-live-server-amd64.iso`
        version = self._version(entry, match)
        if needs_version and version is None:
            return None
        before = roles.before_role(low, start, floor)
        after = roles.after_role(low, end, ceiling)
        if "sysvm" in (before, after) or before == "guest":
            return None
        if after == "guest" or (after == "vm" and before != "mgmt"):
            return None  # "CentOS 7 template", "deploying an Ubuntu 22.04 VM"
        if "mgmt" in (before, after):
            rank = 3
        elif "host" in (before, after):
            rank = 1
        else:
            rank = 2
        return _OsHit(rank, entry, version)

    @staticmethod
    def _version(entry: OsEntry, match: re.Match[str]) -> str | None:
        """The written version if the catalog knows it (`7.9.2009` → `7.9`, `22.04.5` → `22.04`)."""
        written = match.group("ver")
        if written is None and match.group("code"):
            written = _CODENAMES[match.group("code")]
        if written is None:
            return None
        for known in entry.versions:
            if written == known or written.startswith(known + ".") or known.startswith(written + "."):
                return ".".join(written.split(".")[:2])
        return None


# --------------------------------------------------------------------------------------------------
# Hypervisor
# --------------------------------------------------------------------------------------------------

# Product lines that share a catalog id but keep their own name in a reply.
_HV_DISPLAY = {
    "xcpng": "XCP-ng",
    "citrixhypervisor": "Citrix Hypervisor",
    "xcp": "XCP",
    "xencloudplatform": "XCP",
    "vsphere": "VMware vSphere",
    "vmwarevsphere": "VMware vSphere",
    "esxi": "VMware ESXi",
    "vmwareesxi": "VMware ESXi",
    "esx": "VMware ESX",
    "vcenter": "VMware vCenter",
    "vmwarevcenter": "VMware vCenter",
    "oraclevm": "Oracle VM",
}
# Catalog ids whose numbers mean nothing ("KVM 8" is the host OS); plain "Xen" numbers are Xen's own.
_HV_UNVERSIONED = frozenset({"kvm", "lxc", "baremetal", "simulator"})
# "bare metal server" usually means a physical box, so these need "hypervisor:", "... host" and so on.
_HV_NEEDS_ROLE = frozenset({"baremetal", "ベアメタル"})
_HV_TAIL = (
    r"(?:[ \t]{0,2}(?:server|hypervisor|version|ver\.?|v)(?![a-z]))?[ \t:]{0,2}"
    r"(?:(?P<year>20[0-9]{2})(?:[ \t]{0,2}(?P<r2>r2))?(?![0-9])"
    r"|(?P<ver>[0-9]{1,2}(?:\.[0-9]{1,2}){0,2})(?![0-9]|\.[0-9]))?"
)
# "hypervisor: KVM", "-h kvm", "nested KVM", "hosts are KVM", "ハイパーバイザはKVM": read backwards from the
# name, dropping an article and a connecting word, then look for a role word.
_HV_ROLES = (
    "hypervisor", "hypervisor type", "hypervisor.type", "--hypervisor", " -h", "nested", "host", "hosts",
    "cluster", "clusters", "ハイパーバイザー", "ハイパーバイザ", "ハイパーバイザーの種類", "ネスト",
    "ネストされた", "入れ子", "入れ子の",
)  # fmt: skip
_HV_CONNECTORS = (":", "=", "：", " is", " are", " run", " running", "は", "が", "として", "に")
_HV_ARTICLES = (" the", " a")
# Used as match(text, pos): a leading \A would only ever fit at position 0.
_HV_ROLE_AFTER = re.compile(
    r"[ \t]{0,3}(?:hosts?|clusters?|agents?|nodes?|hypervisors?|servers?|environment|ホスト|クラスタ|ノード"
    r"|サーバ|環境|を使用|を利用)"
)
_HV_OUTER_LAYER = re.compile(r"[ \t]{0,2}(?:workstation|player|fusion|virtualbox)")
_KVM_IMPLIED = ("libvirtcomputingresource", "libvirt", "virsh", "cloudstack-agent", "agent.properties")
_KVM_IMPLIED_WORDS = frozenset({"libvirtcomputingresource", "libvirt", "libvirtd", "virsh", "agent"})
_WINDOWS_SERVER = re.compile(r"windows[ \t]{0,2}server[ \t]{0,2}(20[0-9]{2})(?:[ \t]{0,2}(r2))?")


@dataclass(frozen=True, slots=True)
class _HvHit:
    """One usable hypervisor mention."""

    start: int
    rank: int  # 4 named in a role, 3 named, 2 implied (libvirt), 1 inside a file or package name
    kind: str
    display: str
    version: str | None


class _HypervisorFinder:
    """Finds the hypervisor the poster runs under CloudStack."""

    def __init__(self, hypervisors: Sequence[Hypervisor]) -> None:
        """Build one pattern per spelling and remember each spelling's display name."""
        aliases: list[_Alias] = []
        self._entry: dict[str, tuple[Hypervisor, str]] = {}
        owners: dict[str, str] = {}
        for hv in hypervisors:
            for alias in (hv.name, *hv.aliases, *hv.japanese):
                compiled = _compile_alias(alias, _HV_TAIL)
                _refuse_duplicates(owners, compiled.key, hv.id, "catalog/hypervisors.yaml", alias)
                if compiled.key not in self._entry:
                    self._entry[compiled.key] = (hv, _HV_DISPLAY.get(compiled.key, hv.name))
                    aliases.append(compiled)
        self._index = _AliasIndex(aliases)
        self._kvm = next((hv for hv in hypervisors if hv.id == "kvm"), None)

    def find(self, scan: _Scan) -> tuple[str, str] | None:
        """(`XenServer 7.1`, `xenserver`) or None."""
        hits = [
            hit for match, alias in self._index.mentions(scan) if (hit := self._judge(scan.low, match, alias))
        ]
        if self._kvm is not None and not scan.words.isdisjoint(_KVM_IMPLIED_WORDS):
            implied = [p for word in _KVM_IMPLIED if (p := scan.low.find(word)) >= 0]
            if implied:
                hits.append(_HvHit(min(implied), 2, self._kvm.id, self._kvm.name, None))
        if not hits:
            return None
        top = max(h.rank for h in hits)
        best = min((h for h in hits if h.rank == top), key=lambda h: h.start)
        version = best.version or next(
            (h.version for h in hits if h.kind == best.kind and h.display == best.display and h.version), None
        )
        return (f"{best.display} {version}" if version else best.display), best.kind

    def _judge(self, low: str, match: re.Match[str], alias: _Alias) -> _HvHit | None:
        """A usable mention with its rank, or None for a lab's outer layer or a plain 'bare metal'."""
        hv, display = self._entry[alias.key]
        start, end = match.start(), match.end("alias")
        if _HV_OUTER_LAYER.match(low, end):
            return None  # "VMware Workstation", "Oracle VM VirtualBox": the lab, not the cloud
        role = bool(
            _hv_role_before(low, start)
            or _HV_ROLE_AFTER.match(low, end)
            or _HV_ROLE_AFTER.match(low, match.end())
        )
        if role:
            rank = 4
        elif alias.key in _HV_NEEDS_ROLE:
            return None
        elif _inside_name(low, start, end):
            rank = 1  # `-kvm.qcow2.bz2`, `/dev/kvm`, `kvm_intel`
        else:
            rank = 3
        return _HvHit(start, rank, hv.id, display, self._version(hv, alias.key, match, low))

    @staticmethod
    def _version(hv: Hypervisor, key: str, match: re.Match[str], low: str) -> str | None:
        """The version written after the name when its numbers mean something (`2012 R2` for Hyper-V)."""
        if hv.id in _HV_UNVERSIONED or key == "xen":
            return None
        if hv.id == "hyperv":
            year, r2 = match.group("year"), match.group("r2")
            if year is None:  # "Windows Server 2012 R2 with Hyper-V"
                windows = _WINDOWS_SERVER.search(low, max(0, match.start() - 60), match.start())
                if windows is None:
                    return None
                year, r2 = windows.group(1), windows.group(2)
            return f"{year} R2" if r2 else year
        return match.group("ver")


def _hv_role_before(low: str, start: int) -> bool:
    """Whether the words right before a hypervisor name give it its role ("hypervisor: KVM")."""
    window = " " + low[max(0, start - 40) : start].rstrip(" \t")
    for fillers in (_HV_ARTICLES, _HV_CONNECTORS):
        for filler in fillers:
            if window.endswith(filler):
                window = window[: -len(filler)].rstrip(" \t")
                break
    for role in _HV_ROLES:
        if window.endswith(role) and (not role[0].isalpha() or window[-len(role) - 1] not in _LETTERS):
            return True
    return False


# --------------------------------------------------------------------------------------------------
# Specifics: something concrete a helper can work with
# --------------------------------------------------------------------------------------------------

# Literal markers of pasted output: (word that must occur, text that must occur) on the lower-cased text.
_OUTPUT_MARKERS = (
    ("caused", "caused by:"), ("traceback", "traceback (most recent call"), ("logid", "(logid:"),
    ("cloud", "com.cloud."), ("cloudstack", "org.apache.cloudstack."),
)  # fmt: skip
_EXCEPTION = re.compile(r"Exception(?<=[A-Za-z]Exception)(?![A-Za-z])")
_MYSQL_ERROR = re.compile(r"ERROR [0-9]{4} \(")
_HTTP_STATUS = re.compile(r"http(?: error)?[ :/][0-9.]{0,4} ?[45][0-9]{2}(?![0-9])")
_ERROR_CODE = re.compile(r"(?:error|エラー) ?(?:code)? ?[:\uff1a]? ?[45][0-9]{2}(?![0-9])")
_FAILED_MARK = re.compile(r"\[ ?failed ?\]")
_EXIT_STATUS = re.compile(r"status=[0-9]|exit (?:code|status)[ =:]{0,2}[0-9]")
_COMMAND_LINE = (
    r"(?:systemctl|service|journalctl|cloudstack-|cloud-|mysql|virsh|yum|dnf|apt|rpm|dpkg|nmcli|hostname"
    r"|setenforce|getenforce|sestatus|iptables|firewall-cmd|ufw|exportfs|showmount|mount|netstat|ss|nc"
    r"|telnet|ping|curl|wget|cmk|tail|grep|cat|ls|ip|brctl|ovs-vsctl|keytool|java|uname|sudo|chown|chmod"
    r"|nfsstat|kvm-ok|/)"
)
# A shell prompt and a command: `$ systemctl ...`, `[root@mgmt ~]# ...`, `user@host:~$ ...`.
_PROMPT = re.compile(
    r"^[ \t]{0,4}(?:\[[^\]\n]{1,60}\][ \t]?|[\w.\-]{1,32}@[\w.\-]{1,64}:[^\n#$]{0,60})?"
    rf"[#$][ \t]{{1,3}}{_COMMAND_LINE}",
    re.MULTILINE,
)
# "Error: CloudStack failed to detect ...": an error word, a colon, a message (not "error: please help").
_ERROR_LABELS = ("error", "failed", "failure", "exception", "fatal", "warning", "エラー", "エラーメッセージ")
_ERROR_MESSAGE = re.compile(
    r"[ \t]{0,2}[:\uff1a][ \t]{0,2}(?!please|help|how|what|why|any|can|could)\S[^\n]{5}"
)
_QUOTED = re.compile(r"[\"“「『`]([^\"”」』`\n]{10,240})[\"”」』`]|'(?<![a-z]')([^'\n]{10,240})'(?![a-z])")
_ERROR_WORDS = re.compile(
    r"error|fail|unable|cannot|can't|could not|couldn't|denied|refused|not found|no such|time[sd]? ?out"
    r"|invalid|exception|not supported|not allowed|missing"
    r"|エラー|失敗|できません|見つかりません|拒否|タイムアウト"
)
# "setup-databases says SELinux is set to enforcing": a reporting verb, then a message in its own case.
_REPORTING_VERBS = _words(
    "says said shows showed prints printed outputs reports returns returned displays throws"
)
_REPORTED_MESSAGE = re.compile(
    r"(?<![A-Za-z])(?:says|said|shows|showed|prints|printed|outputs|reports|returns|returned|displays|throws)"
    r":? {1,2}[\"'“]?[A-Z][\w.\-]{0,40}(?: [\w.,:'/\-]{1,40}){2}"
)
# Japanese posts quote a message, then と出ます / と表示されます ("is shown"): read back from there.
_SHOWN_MARKERS = ("と出", "と表示", "というエラー", "というメッセージ", "とエラー", "と言われ")
_QUOTE_OPENERS = {"」": "「", "』": "『", '"': '"', "”": "“", "'": "'"}
_MESSAGE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 .,:;'\"/_-[]()=@<>%#*+")
# Commands people paste, by the word that must occur before the command text is looked for.
_COMMANDS = _by_first_word(
    "systemctl journalctl virsh nmcli hostnamectl setenforce getenforce sestatus iptables exportfs "
    "showmount netstat cloudmonkey brctl keytool nfsstat mysqladmin dpkg ufw_ cmk_ firewall-cmd ovs-vsctl "
    "kvm-ok cloudstack-setup- cloud-install-sys-tmplt cloudstack-sysvmadm yum_ dnf_ apt_install apt-get "
    "rpm_- mount_- ss_- nc_- ping_ curl_ wget_ tail_- grep_ ip_a ip_r ip_addr sudo_ chown_ chmod_ "
    "service_cloudstack java_-version uname_- hostname_- mysql_- setup-databases setup-management setup-agent"
)
_COMMAND_WORDS = frozenset(_COMMANDS)
_PATH = re.compile(
    r"/(?<![\w.]/)(?:etc|var|usr|opt|mnt|export|home|root|tmp|dev|proc|srv|data|lib|run|sys)/\w"
)
_SETTING_BEFORE = re.compile(r"[a-z][a-z0-9]{0,30}(?:[._][a-z0-9]{1,30}){1,6}[ \t]{0,2}$")
_ENV_SETTING_BEFORE = re.compile(r"[A-Z][A-Z0-9_]{2,40}$")
_IP = re.compile(r"[0-9](?<![0-9.][0-9])[0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9]|\.[0-9])")
_PORT = re.compile(
    r"port[ \t]{0,2}[0-9]{2,5}(?![0-9])|:(?<![0-9]:)[0-9]{4,5}(?![0-9])|[0-9]{2,5}/(?:tcp|udp)"
    r"|ポート[ \t]?[0-9]{2,5}|[0-9]{2,5}番ポート"
)
# What happened: single words, phrases (first word, phrase) and Japanese endings.
_RESULT_WORDS = _words(
    "shows showed shown displays displayed returns returned says said got gets getting gives gave prints "
    "printed outputs stuck hangs hung freezes froze stays stayed remains remained loops"
)
_RESULT_PHRASES = _by_first_word(
    "times_out timed_out fails_with failed_with fails_at failed_at goes_to went_to state_is status_is "
    "never_start never_come_up never_connect never_finish never_complete unable_to_ failed_to_ cannot_find "
    "cannot_connect cannot_start cannot_mount cannot_resolve cannot_reach cannot_access cannot_ping "
    "cannot_log access_denied connection_refused no_route_to_host permission_denied not_found "
    "no_such_file does_not_resolve is_not_ready"
)
_RESULT_PHRASE_WORDS = frozenset(_RESULT_PHRASES)
_STATE_WORDS = _words("alert disconnected down error starting stopped creating")
# "it fails" reports a result only after a specific step ("when I add the host it fails"), not after
# "I tried to install it".
_FAIL_WORDS = _words("fail fails failed failing")
_GENERIC_VERBS = _words("tried try trying installed install installing used followed checked")
_RESULT_JA = re.compile(
    r"表示され|出力され|返って|返され|止まっ|固まっ|終わらな|進まな|なりません|になります|になりました"
    r"|ままです|のまま|失敗しま|失敗する|タイムアウト|エラーにな|エラーが(?:出|表示|発生|返)"
    r"|接続できな|接続できま?せん|繋がらな|つながらな|見つかりま?せん|拒否され|応答がな"
)
# What was done: "I ran ...", "after adding ...", "...を実行したところ".
_ACTION_VERBS = _words(
    "ran run tried executed installed configured added created set changed followed rebooted restarted "
    "used typed enabled disabled mounted edited upgraded registered uploaded downloaded checked opened "
    "updated modified deployed"
)
_ACTION_ING = _words(
    "running installing adding upgrading restarting rebooting configuring setting changing executing "
    "creating registering starting deploying trying"
)
_ACTION_VERBS_WHEN = (
    _ACTION_ING | _ACTION_VERBS | _words("add try start install execute create upgrade restart reboot")
)
_ACTION = re.compile(
    r"(?<![a-z])(?:i|we)(?: have|'ve)? (?:then |also |already )?"
    rf"(?P<verb>{'|'.join(sorted(_ACTION_VERBS))})(?![a-z])"
)
_ACTION_WHEN = re.compile(
    r"(?<![a-z])(?:after|when|while|before) (?:i |we )?"
    rf"(?P<verb>{'|'.join(sorted(_ACTION_VERBS_WHEN))})(?![a-z])"
)
_ACTION_JA = re.compile(
    r"実行し|インストールし|設定し|追加し|作成し|再起動し|変更し|試し|登録し|アップロードし"
    r"|ダウンロードし|構築し|導入し|行った|行いました|したところ|したら|すると|手順[でに]"
)
# Precise questions: a sentence that asks, and names a topic someone can answer exactly.
_SENTENCE = re.compile(r"[^\n。？！?!]{1,400}[?？!！。]?")
_QUESTION_ENDINGS = ("?", "？", "か", "か。", "ですか", "ますか", "でしょうか")
_INTERROGATIVES_JA = ("どの", "どれ", "何番", "何の", "いくつ", "何が", "何を", "何です", "必要な")
_TOPIC_WORDS = _words(
    "java jdk jre openjdk port ports firewall template templates mysql mariadb kernel libvirt python nfs "
    "command commands url repo repository package packages ram memory disk cpu cpus nic nics bridge "
    "sudoers selinux apparmor os dns ntp ssl certificate certificates"
)
_TOPIC_PHRASES = (
    "global setting", "operating system", "db.properties", "agent.properties", "ポート", "テンプレート",
    "メモリ", "ディスク", "ブリッジ", "ファイアウォール", "コマンド", "パッケージ", "リポジトリ", "証明書",
    "対応os", "java",
)  # fmt: skip
_SUPPORT = ("support", "compatib", "possible", "対応", "サポート", "動作", "可能")


def _has_specifics(scan: _Scan) -> bool:
    """True when the post gives a helper something concrete: output, errors, commands, steps, an exact ask."""
    return _has_output(scan) or _has_account(scan) or _asks_precisely(scan)


def _has_output(scan: _Scan) -> bool:
    """Pasted output: log lines, stack traces, error codes, shell prompts, quoted error messages."""
    text, low, words = scan.text, scan.low, scan.words
    if any(word in words and marker in low for word, marker in _OUTPUT_MARKERS) or "```" in text:
        return True
    if ":" in low and "-" in low and TIMESTAMP.search(low):
        return True
    if "exception" in low and _EXCEPTION.search(text):
        return True
    if not words.isdisjoint(("error", "warn", "warning", "fatal", "severe")) and (
        LOG_LEVEL.search(text) or _MYSQL_ERROR.search(text)
    ):
        return True
    checks = (
        (".java:" in text or "Native Method" in text or "Unknown Source" in text, STACK_FRAME, text),
        ("http" in low, _HTTP_STATUS, low),
        ("error" in words or "エラー" in low, _ERROR_CODE, low),
        ("failed" in words, _FAILED_MARK, low),
        ("status=" in low or "exit" in words, _EXIT_STATUS, low),
        ("$" in text or "#" in text, _PROMPT, low),
    )
    if any(gate and pattern.search(where) for gate, pattern, where in checks):
        return True
    if _has_error_message(scan) or _has_shown_message(scan):
        return True
    if not words.isdisjoint(_REPORTING_VERBS) and _REPORTED_MESSAGE.search(text):
        return True
    if not any(quote in low for quote in "\"“「『`'"):
        return False
    return any(_ERROR_WORDS.search(q.group(1) or q.group(2) or "") for q in _QUOTED.finditer(low))


def _has_shown_message(scan: _Scan) -> bool:
    """A message quoted before と出ます / と表示されます: `SELinux is set to enforcing と出ます`."""
    if scan.ascii:
        return False
    low = scan.low
    for marker in _SHOWN_MARKERS:
        for at in _find_all(low, marker, limit=5):
            if at == 0:
                continue
            if low[at - 1] in _QUOTE_OPENERS:  # 「ホストの追加に失敗しました」と表示されます
                opener = low.rfind(_QUOTE_OPENERS[low[at - 1]], max(0, at - 242), at - 1)
                if opener >= 0 and at - 1 - opener > 6:
                    return True
                continue
            start = at
            while start > 0 and at - start < 240 and low[start - 1] in _MESSAGE_CHARS:
                start -= 1
            run = low[start:at].strip()
            if len(run) >= 12 and run.count(" ") >= 2 and any(ch.isalpha() for ch in run):
                return True
    return False


def _has_error_message(scan: _Scan) -> bool:
    """An error label followed by a colon and a message."""
    if ":" not in scan.low and "\uff1a" not in scan.low:
        return False
    for label in _ERROR_LABELS:
        if label.isascii() and label not in scan.words:
            continue
        at = scan.low.find(label)
        for _ in range(4):
            if at < 0:
                break
            if _ERROR_MESSAGE.match(scan.low, at + len(label)) and (
                not label.isascii() or _starts_word(scan.low, at)
            ):
                return True
            at = scan.low.find(label, at + 1)
    return False


def _concrete_kinds(scan: _Scan) -> int:
    """How many kinds of concrete detail appear: commands, paths, settings, addresses or ports."""
    low, words = scan.low, scan.words
    kinds = 0
    if any(command in low for word in words & _COMMAND_WORDS for command in _COMMANDS[word]):
        kinds += 1
    if "/" in low and _PATH.search(low):
        kinds += 1
    if "=" in low and _has_setting(scan):
        kinds += 1
    if _IP.search(low) or _PORT.search(low):
        kinds += 1
    return kinds


def _has_setting(scan: _Scan) -> bool:
    """A `key.name = value` or `ENV_NAME=value` line (db.properties, agent.properties, sysconfig)."""
    position = scan.low.find("=")
    for _ in range(6):
        if position < 0:
            return False
        if _SETTING_BEFORE.search(scan.low, max(0, position - 60), position) or _ENV_SETTING_BEFORE.search(
            scan.text, max(0, position - 42), position
        ):
            return True
        position = scan.low.find("=", position + 1)
    return False


def _has_result(scan: _Scan) -> bool:
    """Words that report what happened ("it shows", "stays in Alert state", "表示されます")."""
    words, low = scan.words, scan.low
    if not words.isdisjoint(_RESULT_WORDS):
        return True
    if "state" in words and not words.isdisjoint(_STATE_WORDS):
        return True
    if any(phrase in low for word in words & _RESULT_PHRASE_WORDS for phrase in _RESULT_PHRASES[word]):
        return True
    return not scan.ascii and _RESULT_JA.search(low) is not None


def _has_account(scan: _Scan) -> bool:
    """Concrete details, or steps taken and what happened."""
    concrete = _concrete_kinds(scan)
    if concrete >= 2:
        return True
    result = _has_result(scan)
    failed = not result and not scan.words.isdisjoint(_FAIL_WORDS)
    if not (result or failed):
        return False
    return bool(concrete) or _has_action(scan, specific=failed)


def _has_action(scan: _Scan, *, specific: bool) -> bool:
    """Whether the post says what was done; `specific` skips generic verbs ("I tried", "installed")."""
    words, low = scan.words, scan.low
    checks = (
        (not words.isdisjoint(("i", "we")) and not words.isdisjoint(_ACTION_VERBS), _ACTION),
        (not words.isdisjoint(("after", "when", "while", "before")), _ACTION_WHEN),
    )
    for gate, pattern in checks:
        if gate:
            for match in pattern.finditer(low):
                if not specific or match.group("verb") not in _GENERIC_VERBS:
                    return True
    return not scan.ascii and _ACTION_JA.search(low) is not None


def _asks_precisely(scan: _Scan) -> bool:
    """A precise factual question ("which Java does 4.19 need", "KVMエージェント用のポートはどれですか")."""
    low = scan.low
    if not scan.ascii:
        if not ("?" in low or "？" in low or "か" in low or "which" in scan.words):
            return False
        for sentence in _SENTENCE.finditer(low):
            asked = sentence.group().rstrip()
            if (asked.endswith(_QUESTION_ENDINGS) or "which" in asked) and _is_precise_question(asked):
                return True
        return False
    marks = _find_all(low, "?")
    if "which" in scan.words:
        marks += [at + 5 for at in _find_all(low, "which")]
    return any(_is_precise_question(_sentence_around(low, mark)) for mark in marks)


def _sentence_around(low: str, mark: int) -> str:
    """The sentence holding offset `mark`: back to the previous full stop, on to the question mark."""
    start = max(low.rfind(stop, 0, mark) for stop in ("\n", ". ", "!", "?")) + 1
    ends = [at for at in (low.find("?", mark), low.find("\n", mark), low.find(". ", mark)) if at >= 0]
    return low[max(start, mark - 300) : min(ends, default=mark + 200) + 1].strip()


def _find_all(text: str, needle: str, limit: int = 20) -> list[int]:
    """Start offsets of `needle` in `text`, at most `limit` of them."""
    found: list[int] = []
    at = text.find(needle)
    while at >= 0 and len(found) < limit:
        found.append(at)
        at = text.find(needle, at + 1)
    return found


def _is_precise_question(sentence: str) -> bool:
    """An open question (which/what/どの) must name a topic; a yes/no question also needs a number."""
    if sentence.isascii():
        words = set(sentence.translate(_PUNCTUATION).split())
        if not (sentence.endswith("?") or "which" in words):
            return False
        asks_which = "how many" in sentence or "how much" in sentence
    else:
        if not sentence.endswith(_QUESTION_ENDINGS):
            return False
        words = set(_LATIN_WORD.findall(sentence))
        asks_which = any(word in sentence for word in _INTERROGATIVES_JA)
    asks_which = asks_which or not words.isdisjoint(("which", "what"))
    topic = not words.isdisjoint(_TOPIC_WORDS) or any(phrase in sentence for phrase in _TOPIC_PHRASES)
    if topic and asks_which:
        return True
    supported = topic or any(word in sentence for word in _SUPPORT)
    return supported and any(ch.isdigit() for ch in sentence)


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


class DetailExtractor:
    """Finds the four details in a question; build once per knowledge base (compiles the regexes).

    Example:
        >>> extractor = DetailExtractor.from_kb(kb)
        >>> report = extractor.extract("Host add fails", "ACS 4.18.1 on Rocky Linux 9, KVM hosts")
        >>> report.version, report.os, report.hypervisor
        ('4.18.1.0', 'Rocky Linux 9', 'KVM')
    """

    def __init__(
        self, releases: Sequence[Release], os_entries: Sequence[OsEntry], hypervisors: Sequence[Hypervisor]
    ) -> None:
        """Compile the finders for these catalogs, once per knowledge base."""
        self._versions = _VersionFinder(releases)
        self._os = _OsFinder(os_entries)
        self._hypervisors = _HypervisorFinder(hypervisors)

    @classmethod
    def from_kb(cls, kb: KnowledgeBase) -> DetailExtractor:
        """An extractor for the catalogs of `kb`."""
        return cls(kb.releases, kb.os, kb.hypervisors)

    def extract(
        self, subject: str, body: str, prose_and_logs: tuple[str, tuple[str, ...]] | None = None
    ) -> DetailReport:
        """Version, OS, hypervisor and whether there are specifics, normalised against the catalogs.

        `prose_and_logs` is `split_prose_and_logs(body)` when the caller has it already.
        """
        text = f"{subject}\n{body}" if subject else body
        scan = _prepare(text[:SCAN_LIMIT])
        version = self._versions.find(scan, text[SCAN_LIMIT:])
        hypervisor = self._hypervisors.find(scan)
        return DetailReport(
            version=version,
            series=_series(version),
            os=self._os.find(scan),
            hypervisor=hypervisor[0] if hypervisor else None,
            hypervisor_kind=hypervisor[1] if hypervisor else None,
            specifics=_has_specifics(scan) or _describes_enough(prose_and_logs or split_prose_and_logs(body)),
        )


SUBSTANTIAL_EN_WORDS = 14
SUBSTANTIAL_JA_CHARS = 40
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")


def _describes_enough(prose_and_logs: tuple[str, tuple[str, ...]]) -> bool:
    """A pasted log, or a situation told at some length in prose, also gives a helper something to go on.

    The short vague posts ("setup fails, ideas?", "インストールできません") stay below these lengths.
    """
    prose, logs = prose_and_logs
    if logs:
        return True
    japanese = count_japanese(prose)
    if japanese >= 10:
        return japanese >= SUBSTANTIAL_JA_CHARS
    return len(_EN_WORD.findall(prose)) >= SUBSTANTIAL_EN_WORDS


def _series(version: str | None) -> str | None:
    """`4.18` for `4.18.1.0` and for `4.18`."""
    parsed = parse_version(version) if version else None
    return f"{parsed[0]}.{parsed[1]}" if parsed else None
