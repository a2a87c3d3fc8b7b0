"""The management server's operating system, never a guest's or the system VM's."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from triagebot.core.details.catalog import (
    LETTERS,
    Alias,
    AliasIndex,
    Scan,
    compile_alias,
    inside_name,
    refuse_duplicates,
)
from triagebot.core.kb import OsEntry

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
    if start > 0 and text[start - 1] in LETTERS:
        return False
    if end < len(text) and text[end] == "s":
        end += 1
    return end >= len(text) or text[end] not in LETTERS


@dataclass(frozen=True, slots=True)
class _RoleWords:
    """The role keywords that occur anywhere in one question; only these are looked for near a name."""

    before: tuple[tuple[str, str, bool], ...]  # (keyword, role, must stand alone)
    after: tuple[tuple[str, str, bool], ...]

    @classmethod
    def of(cls, scan: Scan) -> _RoleWords:
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


class OsFinder:
    """Finds the management server's OS, never a guest's or the system VM's."""

    def __init__(self, entries: Sequence[OsEntry]) -> None:
        """Build one pattern per spelling and note which spellings need a version to count."""
        aliases: list[Alias] = []
        self._entry: dict[str, tuple[OsEntry, bool]] = {}
        owners: dict[str, str] = {}
        for entry in entries:
            for alias in entry.aliases:
                compiled = compile_alias(alias, _OS_TAIL)
                refuse_duplicates(owners, compiled.key, entry.id, "catalog/os.yaml", alias)
                if compiled.key not in self._entry:
                    needs_version = len(compiled.key) <= 3 or compiled.key in _OS_NEEDS_VERSION
                    self._entry[compiled.key] = (entry, needs_version)
                    aliases.append(compiled)
        self._index = AliasIndex(aliases)

    def find(self, scan: Scan) -> str | None:
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
        self, low: str, match: re.Match[str], alias: Alias, floor: int, ceiling: int, roles: _RoleWords
    ) -> _OsHit | None:
        """A usable mention with its rank, or None for guests, system VMs and names inside paths."""
        entry, needs_version = self._entry[alias.key]
        start, end = match.span()
        if inside_name(low, start, end):
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
