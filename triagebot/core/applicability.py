"""Where a tip applies: a tip is not offered for a post whose stated details rule it out.

A tip's `applies` block in the knowledge base names the hypervisors, management-server OS families
and CloudStack releases it is about (an empty list or an open bound means all). When the post names
a detail outside that scope, the tip is left out however well its words match: a host-add failure
on XenServer or VMware is not a cloudstack-agent problem, since only KVM hosts run that agent. A
detail the post does not state never rules a tip out.
"""

from __future__ import annotations

from collections.abc import Mapping

from triagebot.core.kb import KnowledgeBase
from triagebot.core.models import DetailReport


class Applicability:
    """The `applies` block of every tip, ready to check against a detail report; build once per KB."""

    def __init__(self, kb: KnowledgeBase) -> None:
        # only tips with a scope can be ruled out; most have none
        self._scopes = {
            tip.id: tip.applies
            for tip in kb.tips
            if tip.applies.hypervisors or tip.applies.os_families or not tip.applies.versions.unbounded
        }
        self._hypervisor_names = {h.id: h.name for h in kb.hypervisors}
        # longest name first, so "Rocky Linux 8" is never taken for a shorter name it starts with
        self._families = sorted(((o.name, o.family) for o in kb.os), key=lambda pair: -len(pair[0]))

    def left_out(self, details: DetailReport) -> Mapping[str, str]:
        """Tip id → why the post's details rule it out, for every tip they do."""
        reasons: dict[str, str] = {}
        if details.os is None and details.version is None and details.hypervisor_kind is None:
            return reasons
        family = self._family(details.os)
        version, kind = details.version, details.hypervisor_kind
        for tip_id, scope in self._scopes.items():
            releases = scope.versions
            if scope.hypervisors and kind is not None and kind not in scope.hypervisors:
                names = "/".join(self._hypervisor_names.get(h, h) for h in scope.hypervisors)
                reasons[tip_id] = f"it is for {names} and the post names {details.hypervisor}"
            elif scope.os_families and family is not None and family not in scope.os_families:
                reasons[tip_id] = f"it is not for {details.os}"
            elif version and not (releases.unbounded or releases.contains(version)):
                reasons[tip_id] = f"it is not for CloudStack {version}"
        return reasons

    def _family(self, os_name: str | None) -> str | None:
        if os_name is None:
            return None
        for name, family in self._families:
            if os_name == name or os_name.startswith(f"{name} "):
                return family
        return None
