"""Find the four required details in a question: CloudStack version, server OS, hypervisor, specifics.

Pure: regular expressions over the text, checked against the knowledge-base catalogs, so a release
that never existed or an OS nobody ships is not reported.

Speed matters (the whole triage must handle thousands of messages a second), and CPython's `re` is
slow when a long alternation is tried at every position. So the text is lower-cased and split into
words once (`Scan`); each check first asks the word set (or a plain substring test) whether it can
possibly match, and only then runs its pattern, which starts with a literal so `re` can skip ahead.
Every pattern has bounded repetition. The first `SCAN_LIMIT` characters are scanned in full; beyond
them only the author's prose is scanned (lines the one log detector, `triagebot.core.logs`, does not
take for output) and the log is only searched for an explicit CloudStack version, so "4.18 on Rocky
Linux 8 with KVM" written under a 200 KB paste is found without reading every log line.

Issue-template posts name their details under headings (`CLOUDSTACK VERSION`, `OS / ENVIRONMENT`,
`CONFIGURATION`): those sections are read first, and the template's hints are never taken for details.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from triagebot.core.details.catalog import Scan, prepare
from triagebot.core.details.hypervisor import HypervisorFinder
from triagebot.core.details.server_os import OsFinder
from triagebot.core.details.specifics import describes_enough, has_specifics
from triagebot.core.details.version import VersionFinder
from triagebot.core.issue_template import IssueTemplate, parse_sections, strip_boilerplate
from triagebot.core.kb import Hypervisor, KnowledgeBase, OsEntry, Release
from triagebot.core.logs import LineKind, line_kinds
from triagebot.core.models import DetailReport
from triagebot.core.question import split_prose_and_logs
from triagebot.core.versions import parse_version

SCAN_LIMIT = 20_000
"""Characters scanned in full for every detail; beyond them only prose lines (and explicit versions)."""
MAX_PROSE = 40_000
"""Characters of the author's prose scanned, wherever they stand in the post."""
MAX_READ = 4_000_000
"""Characters of a post looked through for prose; a longer paste is cut."""
_TEMPLATE_MARKS = ("#", "**", "__")
T = TypeVar("T")


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
        self._versions = VersionFinder(releases)
        self._os = OsFinder(os_entries)
        self._hypervisors = HypervisorFinder(hypervisors)

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
        template = _template_of(body)
        if template is not None:
            body = strip_boilerplate(body)  # the template's hints name versions and hypervisors too
        text = f"{subject}\n{body}" if subject else body
        full = prepare(text[:SCAN_LIMIT])
        prose = _prose(text)
        scans = (full,) if prose is None else (prepare(prose), full)
        sections = template or _NO_SECTIONS
        version = _first(sections, ("cloudstack-version",), scans, self._version_in)
        version = version or self._versions.explicit(text[SCAN_LIMIT:])
        hypervisor = _first(sections, ("configuration", "os-environment"), scans[:1], self._hypervisors.find)
        if hypervisor is None and len(scans) > 1:
            # In a pasted log only a name written out counts: `LibvirtComputingResource` or a package
            # path (`hypervisor.xenserver.resource`) says which code ran, not what the poster runs.
            hypervisor = self._hypervisors.find(full, named_only=True)
        return DetailReport(
            version=version,
            series=_series(version),
            os=_first(sections, ("os-environment", "configuration"), scans, self._os.find),
            hypervisor=hypervisor[0] if hypervisor else None,
            hypervisor_kind=hypervisor[1] if hypervisor else None,
            specifics=has_specifics(full) or describes_enough(prose_and_logs or split_prose_and_logs(body)),
        )

    def _version_in(self, scan: Scan) -> str | None:
        return self._versions.find(scan, "")


_NO_SECTIONS = IssueTemplate(sections=())


def _first(
    template: IssueTemplate, keys: Sequence[str], scans: Sequence[Scan], find: Callable[[Scan], T | None]
) -> T | None:
    """What `find` reads first: in these template sections, then in the prose, then in the whole text."""
    for key in keys:
        section = template.get(key)
        if section is not None and (found := find(prepare(section[:SCAN_LIMIT]))) is not None:
            return found
    for scan in scans:
        if (found := find(scan)) is not None:
            return found
    return None


def _template_of(body: str) -> IssueTemplate | None:
    """The sections of an issue-template post, or None for any other post."""
    if not any(mark in body for mark in _TEMPLATE_MARKS):
        return None
    template = parse_sections(body)
    return template if template.is_template else None


def _prose(text: str) -> str | None:
    """The author's own lines (no output, no quotes), or None when that is the whole text anyway.

    The prose is read first, so a name in the author's words wins over one in a pasted log.
    """
    prose: list[str] = []
    size = 0
    other = False
    for kind, line in line_kinds(text[:MAX_READ]):
        if kind is not LineKind.PROSE:
            other = True
        elif line.strip():
            prose.append(line[: MAX_PROSE - size])
            size += len(line) + 1
            if size >= MAX_PROSE:
                other = True
                break
    if not other and len(text) <= SCAN_LIMIT:
        return None
    return "\n".join(prose)


def _series(version: str | None) -> str | None:
    """`4.18` for `4.18.1.0` and for `4.18`."""
    parsed = parse_version(version) if version else None
    return f"{parsed[0]}.{parsed[1]}" if parsed else None
