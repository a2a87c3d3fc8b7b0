"""Read GitHub issue-template posts: split them into their headed sections, boilerplate removed.

Real bug reports arrive as filled-in templates (`##### CLOUDSTACK VERSION`, `##### OS / ENVIRONMENT`,
`### problem`, `**Summary**`), often with headings left empty and the template's `<!-- ... -->` hints
still in place. Knowing which section a line came from lets the details come from the section that
names them and lets the classifier weigh the summary and the actual results over empty headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Canonical keys for the headings of the CloudStack issue template and their usual variants.
_KEY_ALIASES: dict[str, str] = {
    "issue-type": "issue-type",
    "type": "issue-type",
    "component-name": "component-name",
    "component": "component-name",
    "cloudstack-version": "cloudstack-version",
    "version": "cloudstack-version",
    "versions": "cloudstack-version",
    "cloudstack-versions": "cloudstack-version",
    "configuration": "configuration",
    "config": "configuration",
    "os-environment": "os-environment",
    "os": "os-environment",
    "environment": "os-environment",
    "os-and-environment": "os-environment",
    "summary": "summary",
    "problem": "summary",
    "description": "summary",
    "the-problem": "summary",
    "steps-to-reproduce": "steps-to-reproduce",
    "steps-to-reproduce-the-issue": "steps-to-reproduce",
    "how-to-reproduce": "steps-to-reproduce",
    "expected-results": "expected-results",
    "expected-result": "expected-results",
    "expected-behavior": "expected-results",
    "expected-behaviour": "expected-results",
    "actual-results": "actual-results",
    "actual-result": "actual-results",
    "actual-behavior": "actual-results",
    "actual-behaviour": "actual-results",
}

_HEADING = re.compile(
    r"""^\s{0,3}(?:
        \#{1,6}\s+(?P<hash>[^\n#][^\n]*?)\s*\#*\s*$          # ##### ISSUE TYPE  /  ### problem
      | \*\*(?P<bold>[^*\n]{2,60}?)\*\*\s*:?\s*$              # **Summary** on its own line
      | __(?P<under>[^_\n]{2,60}?)__\s*:?\s*$                 # __Summary__
    )""",
    re.VERBOSE,
)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_THANKS = re.compile(r"(?im)^[^\n]*thank(?:s| you) for (?:filing|opening|reporting)[^\n]*\n?")
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Section:
    """One headed part of a post: the heading as written, its normalised key and its text."""

    heading: str
    key: str
    body: str


@dataclass(frozen=True, slots=True)
class IssueTemplate:
    """A post split at its headings; text before the first heading has the key `preamble`."""

    sections: tuple[Section, ...]

    def get(self, key: str) -> str | None:
        """The text of the first non-empty section with this key, or None when missing or empty."""
        for section in self.sections:
            if section.key == key and section.body:
                return section.body
        return None

    @property
    def is_template(self) -> bool:
        """True when at least two known template headings were found."""
        known = {s.key for s in self.sections if s.key in _KNOWN}
        return len(known) >= 2


_KNOWN = frozenset(_KEY_ALIASES.values())


def heading_key(heading: str) -> str:
    """The normalised key of a heading: known template headings map to their canonical key."""
    slug = _SLUG.sub("-", heading.lower()).strip("-")
    return _KEY_ALIASES.get(slug, slug)


def strip_boilerplate(text: str) -> str:
    """Remove template hints: HTML comments, the 'thank you for filing' line, blank runs.

    Fenced-code fences are kept as text so that later stages still see where a paste starts.
    """
    text = _COMMENT.sub("", text)
    text = _THANKS.sub("", text)
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _heading_of(line: str) -> str | None:
    match = _HEADING.match(line)
    if match is None:
        return None
    heading = match.group("hash") or match.group("bold") or match.group("under") or ""
    heading = heading.strip().strip("*_").strip().rstrip(":").strip()
    return heading or None


def parse_sections(text: str) -> IssueTemplate:
    """Split a post at its markdown headings (outside fenced code) into sections.

    Empty sections are dropped, so a heading left blank in the template is not a detail.
    """
    cleaned = strip_boilerplate(text)
    sections: list[Section] = []
    heading, key = "", "preamble"
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        content = "\n".join(body).strip()
        if any(line.strip() and not _FENCE.match(line) for line in body):
            sections.append(Section(heading=heading, key=key, body=content))

    for line in cleaned.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            body.append(line)
            continue
        found = None if in_fence else _heading_of(line)
        if found is None:
            body.append(line)
            continue
        flush()
        heading, key, body = found, heading_key(found), []
    flush()
    return IssueTemplate(sections=tuple(sections))
