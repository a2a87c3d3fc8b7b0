"""Find the four required details in a question: CloudStack version, server OS, hypervisor, specifics.

Pure: regular expressions over the text, checked against the knowledge-base catalogs, so a release
that never existed or an OS nobody ships is not reported.

Speed matters (the whole triage must handle thousands of messages a second), and CPython's `re` is
slow when a long alternation is tried at every position. So the text is lower-cased and split into
words once (`Scan`); each check first asks the word set (or a plain substring test) whether it can
possibly match, and only then runs its pattern, which starts with a literal so `re` can skip ahead.
Every pattern has bounded repetition, and only the first `SCAN_LIMIT` characters are scanned in full;
the rest of a long paste is only searched for an explicit CloudStack version.
"""

from __future__ import annotations

from collections.abc import Sequence

from triagebot.core.details.catalog import prepare
from triagebot.core.details.hypervisor import HypervisorFinder
from triagebot.core.details.server_os import OsFinder
from triagebot.core.details.specifics import describes_enough, has_specifics
from triagebot.core.details.version import VersionFinder
from triagebot.core.kb import Hypervisor, KnowledgeBase, OsEntry, Release
from triagebot.core.models import DetailReport
from triagebot.core.question import split_prose_and_logs
from triagebot.core.versions import parse_version

SCAN_LIMIT = 20_000
"""Characters scanned for every detail; a longer paste is only searched for a CloudStack version."""


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
        text = f"{subject}\n{body}" if subject else body
        scan = prepare(text[:SCAN_LIMIT])
        version = self._versions.find(scan, text[SCAN_LIMIT:])
        hypervisor = self._hypervisors.find(scan)
        return DetailReport(
            version=version,
            series=_series(version),
            os=self._os.find(scan),
            hypervisor=hypervisor[0] if hypervisor else None,
            hypervisor_kind=hypervisor[1] if hypervisor else None,
            specifics=has_specifics(scan) or describes_enough(prose_and_logs or split_prose_and_logs(body)),
        )


def _series(version: str | None) -> str | None:
    """`4.18` for `4.18.1.0` and for `4.18`."""
    parsed = parse_version(version) if version else None
    return f"{parsed[0]}.{parsed[1]}" if parsed else None
