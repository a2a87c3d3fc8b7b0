"""Issue-template posts: sections, keys, empty headings and boilerplate."""

from __future__ import annotations

import pytest

from triagebot.core.issue_template import heading_key, parse_sections, strip_boilerplate

FILLED = """\
<!--
Verify first that your issue/request is not already reported on GitHub.
-->

##### ISSUE TYPE
 * Bug Report

##### COMPONENT NAME
~~~
cloudstack-agent
~~~

##### CLOUDSTACK VERSION
4.19.1.2

##### CONFIGURATION
Advanced zone, KVM hosts, NFS secondary storage

##### OS / ENVIRONMENT
Rocky Linux 9.3 on all hosts

##### SUMMARY
The host stays in Alert after I add it.

##### STEPS TO REPRODUCE
```
Infrastructure > Hosts > Add host
```

##### EXPECTED RESULTS
The host comes Up.

##### ACTUAL RESULTS
Unable to add the host
"""

EMPTY = """\
##### ISSUE TYPE
<!-- keep one -->

##### COMPONENT NAME
<!--
area: API, UI, VR, ...
-->
~~~
~~~

##### CLOUDSTACK VERSION
<!--
versions affected, one a line
-->

##### OS / ENVIRONMENT

##### SUMMARY
"""

MIXED = """\
Thank you for filing an issue! Please fill in the details below.

## Summary
agent keeps restarting on the new node

## Cloudstack version

## Steps to reproduce
1. install the agent
2. systemctl start cloudstack-agent

**Actual results**
`activating (auto-restart)` forever

**Environment:**
Ubuntu 22.04, KVM
"""


def test_filled_template_gives_every_section_by_key() -> None:
    template = parse_sections(FILLED)
    assert template.get("issue-type") == "* Bug Report"
    assert template.get("cloudstack-version") == "4.19.1.2"
    assert template.get("os-environment") == "Rocky Linux 9.3 on all hosts"
    assert template.get("configuration") == "Advanced zone, KVM hosts, NFS secondary storage"
    assert template.get("summary") == "The host stays in Alert after I add it."
    assert template.get("expected-results") == "The host comes Up."
    assert template.get("actual-results") == "Unable to add the host"
    assert template.get("component-name") == "~~~\ncloudstack-agent\n~~~"
    assert "Add host" in (template.get("steps-to-reproduce") or "")
    assert template.is_template
    # the leading HTML comment leaves no preamble behind
    assert template.get("preamble") is None


def test_empty_template_has_no_sections() -> None:
    template = parse_sections(EMPTY)
    for key in ("issue-type", "component-name", "cloudstack-version", "os-environment", "summary"):
        assert template.get(key) is None, key
    assert template.sections == ()
    assert not template.is_template


def test_mixed_headings_and_thanks_line() -> None:
    template = parse_sections(MIXED)
    assert template.get("summary") == "agent keeps restarting on the new node"
    assert template.get("cloudstack-version") is None  # empty heading is not a detail
    assert template.get("actual-results") == "`activating (auto-restart)` forever"
    assert template.get("os-environment") == "Ubuntu 22.04, KVM"
    assert "systemctl start" in (template.get("steps-to-reproduce") or "")
    assert all("Thank you" not in s.body for s in template.sections)
    assert [s.key for s in template.sections] == [
        "summary",
        "steps-to-reproduce",
        "actual-results",
        "os-environment",
    ]


def test_heading_inside_fenced_code_is_text() -> None:
    text = "### problem\nsee below\n```\n## not a heading\n```\n"
    template = parse_sections(text)
    assert [s.key for s in template.sections] == ["summary"]
    assert "## not a heading" in (template.get("summary") or "")


def test_plain_post_is_one_preamble_section() -> None:
    template = parse_sections("add hosts fail\n\nplease help")
    assert [s.key for s in template.sections] == ["preamble"]
    assert template.get("preamble") == "add hosts fail\n\nplease help"
    assert not template.is_template


@pytest.mark.parametrize(
    ("heading", "key"),
    [
        ("ISSUE TYPE", "issue-type"),
        ("OS / ENVIRONMENT", "os-environment"),
        ("CLOUDSTACK VERSION", "cloudstack-version"),
        ("Steps to reproduce the issue", "steps-to-reproduce"),
        ("Expected behaviour", "expected-results"),
        ("Additional context", "additional-context"),
        ("What happened?", "what-happened"),
    ],
)
def test_heading_keys(heading: str, key: str) -> None:
    assert heading_key(heading) == key


def test_strip_boilerplate_keeps_fences_and_drops_comments() -> None:
    text = "Thanks for opening this issue\n<!-- hint -->\nline one\n\n\n```\nlog\n```\n<!-- unclosed"
    assert strip_boilerplate(text) == "line one\n\n```\nlog\n```"
