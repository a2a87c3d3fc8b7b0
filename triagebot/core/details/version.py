"""The CloudStack version a question is about, checked against the release catalog."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from triagebot.core.details.catalog import MAX_MENTIONS, Scan, word_set
from triagebot.core.kb import Release
from triagebot.core.versions import parse_version

# A 4.x number not glued to other digits or dots (so `10.4.18.1` and `14.04` are not read as 4.x).
_VERSION = re.compile(r"4(?<![0-9.]4)\.[0-9]{1,2}(?:\.[0-9]{1,2}){0,2}(?![0-9]|\.[0-9])")

# Words that, written just before a number, say whose number it is.
_CLOUDSTACK_WORDS = frozenset({"cloudstack", "acs", "cs", "implementation", "クラウドスタック"})
_OTHER_WORDS = word_set(
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
_GAP_WORDS = word_set(
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


class VersionFinder:
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

    def find(self, scan: Scan, rest: str) -> str | None:
        """The version the question is about, or None."""
        hits: list[_VersionHit] = []
        for match in _VERSION.finditer(scan.low):
            hit = self._judge(scan.low, match)
            if hit is not None:
                hits.append(hit)
                if len(hits) >= MAX_MENTIONS:
                    break
        if not hits:
            return self.explicit(rest)
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

    def explicit(self, rest: str) -> str | None:
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
    def _is_upgrade(scan: Scan, hits: list[_VersionHit]) -> bool:
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
