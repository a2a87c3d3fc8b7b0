"""The hypervisor the poster runs under CloudStack."""

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
from triagebot.core.kb import Hypervisor

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
_HV_OUTER_LAYER = re.compile(
    r"[ \t]{0,2}(?:workstation|player|fusion|virtualbox|containers?(?![a-z])|コンテナ)"
)
# "management server on VMware", "mgmt VM on ESXi": the machine the management server runs in.
_HV_HOSTS_MANAGEMENT = re.compile(
    r"(?:management|mgmt|manager)[ \t]{0,2}(?:server|vm|node)?s?[ \t]{1,2}(?:on|in)[ \t]{1,2}\Z"
)
# "simulator" names CloudStack's test hypervisor only as "CloudStack simulator", outside Docker talk.
_DOCKER = re.compile(r"docker")
_WINDOWS_SERVER = re.compile(r"windows[ \t]{0,2}server[ \t]{0,2}(20[0-9]{2})(?:[ \t]{0,2}(r2))?")


@dataclass(frozen=True, slots=True)
class _HvHit:
    """One usable hypervisor mention."""

    start: int
    rank: int  # 4 named in a role, 3 named, 1 inside a file or package name
    kind: str
    display: str
    version: str | None


class HypervisorFinder:
    """Finds the hypervisor the poster runs under CloudStack."""

    def __init__(self, hypervisors: Sequence[Hypervisor]) -> None:
        """Build one pattern per spelling and remember each spelling's display name."""
        aliases: list[Alias] = []
        self._entry: dict[str, tuple[Hypervisor, str]] = {}
        owners: dict[str, str] = {}
        for hv in hypervisors:
            for alias in (hv.name, *hv.aliases, *hv.japanese):
                compiled = compile_alias(alias, _HV_TAIL)
                refuse_duplicates(owners, compiled.key, hv.id, "catalog/hypervisors.yaml", alias)
                if compiled.key not in self._entry:
                    self._entry[compiled.key] = (hv, _HV_DISPLAY.get(compiled.key, hv.name))
                    aliases.append(compiled)
        self._index = AliasIndex(aliases)

    def find(self, scan: Scan, *, named_only: bool = False) -> tuple[str, str] | None:
        """(`XenServer 7.1`, `xenserver`) or None.

        Only a name counts: libvirt or cloudstack-agent alone leave it open, since a poster who names
        neither has not said it. `named_only` also drops names inside a file or package name.
        """
        hits = [
            hit
            for match, alias in self._index.mentions(scan)
            if (hit := self._judge(scan.low, match, alias)) and not (named_only and hit.rank < 3)
        ]
        if not hits:
            return None
        top = max(h.rank for h in hits)
        best = min((h for h in hits if h.rank == top), key=lambda h: h.start)
        version = best.version or next(
            (h.version for h in hits if h.kind == best.kind and h.display == best.display and h.version), None
        )
        return (f"{best.display} {version}" if version else best.display), best.kind

    def _judge(self, low: str, match: re.Match[str], alias: Alias) -> _HvHit | None:
        """A usable mention with its rank, or None for a lab's outer layer or a plain 'bare metal'."""
        hv, display = self._entry[alias.key]
        start, end = match.start(), match.end("alias")
        if _HV_OUTER_LAYER.match(low, end):
            return None  # "VMware Workstation", "VirtualBox", "LXC container": the lab, not the cloud
        if _HV_HOSTS_MANAGEMENT.search(low, max(0, start - 30), start):
            return None
        role = bool(
            _hv_role_before(low, start)
            or _HV_ROLE_AFTER.match(low, end)
            or _HV_ROLE_AFTER.match(low, match.end())
        )
        if hv.id == "simulator" and (
            _DOCKER.search(low, max(0, start - 60), end + 60)
            or not (role or low[max(0, start - 11) : start] == "cloudstack ")
        ):
            return None  # "the simulator UI", the "cloudstack/simulator" image
        if role:
            rank = 4
        elif alias.key in _HV_NEEDS_ROLE:
            return None
        elif inside_name(low, start, end):
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
        if window.endswith(role) and (not role[0].isalpha() or window[-len(role) - 1] not in LETTERS):
            return True
    return False
