"""Render the draft reply from jinja2 templates, in the asker's language and the channel's format.

Templates are handed in as text (`{"reply/en.j2": "..."}`), so rendering never touches the disk.
The reply is built only from knowledge-base text and normalised details, never from raw user text, and
any mass-mention that could slip through is defused before it leaves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined

from triagebot.core.kb import KnowledgeBase, Release, Tip, VersionRange
from triagebot.core.models import Action, Channel, Decision, DetailReport, DraftReply, Language
from triagebot.core.safety import defuse_mentions

DISCORD_LIMIT = 2000
TEMPLATE_FOR = "reply/{language}.j2"


def make_environment(templates: Mapping[str, str]) -> Environment:
    """A jinja2 environment over in-memory templates, failing loudly on any undefined name."""
    return Environment(
        loader=DictLoader(dict(templates)),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Renderer:
    """Renders replies for one knowledge base with one set of templates.

    A reply depends only on the decision, the normalised details, the language and the channel, and
    many questions share those, so finished replies are kept in a small bounded cache.
    """

    kb: KnowledgeBase
    env: Environment
    _cache: dict[tuple[object, ...], DraftReply] = field(default_factory=dict, compare=False, repr=False)
    # catalog lookups by detected version; versions come from the catalog, so this stays small
    _releases: dict[str, Release | None] = field(default_factory=dict, compare=False, repr=False)

    def render(
        self, decision: Decision, details: DetailReport, language: Language, channel: Channel
    ) -> DraftReply:
        """The reply for this decision, split into postable parts for the channel.

        A post that is not a question (an announcement, a vote, a thanks) gets an empty draft: no parts.
        """
        if decision.action is Action.NOT_A_QUESTION:
            return DraftReply(language=language, channel=channel, text="", parts=())
        key = (
            decision.action,
            tuple(t.tip_id for t in decision.tips),
            decision.ask_for,
            details.version,
            details.os,
            details.hypervisor,
            details.hypervisor_kind,
            language,
            channel,
        )
        cached = self._cache.get(key)
        if cached is None:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            cached = self._cache[key] = self._render(decision, details, language, channel)
        return cached

    def _render(
        self, decision: Decision, details: DetailReport, language: Language, channel: Channel
    ) -> DraftReply:
        template = self.env.get_template(TEMPLATE_FOR.format(language=language.value))
        context = {
            "action": decision.action.value,
            "channel": channel.value,
            "tips": [self._tip_context(self.kb.tip(t.tip_id), details, language) for t in decision.tips],
            "missing": [d.value for d in decision.ask_for],
            "details": {
                "version": details.version,
                "os": details.os,
                "hypervisor": details.hypervisor,
            },
        }
        text = defuse_mentions(_tidy(template.render(**context)))
        parts = split_message(text, DISCORD_LIMIT) if channel is Channel.DISCORD else (text,)
        return DraftReply(language=language, channel=channel, text=text, parts=parts)

    def _tip_context(self, tip: Tip, details: DetailReport, language: Language) -> dict[str, Any]:
        lang = language.value
        version = details.version
        notes = []
        for note in tip.version_notes:
            if version is None:
                notes.append({"range": _range_label(note.versions, lang), "text": note.text.get(lang)})
            elif note.versions.contains(version):
                notes.append({"range": "", "text": note.text.get(lang)})
        needs_missing = [
            need
            for need in tip.needs
            if (need == "version" and version is None)
            or (need == "os" and details.os is None)
            or (need == "hypervisor" and details.hypervisor_kind is None)
        ]
        return {
            "id": tip.id,
            "title": tip.title.get(lang),
            "summary": tip.summary.get(lang),
            "steps": tip.fix.get(lang),
            "commands": list(tip.commands),
            "docs": [{"title": d.title, "url": d.url} for d in tip.docs],
            "notes": notes,
            "needs_missing": needs_missing,
            "java": self._java(tip, version),
            "template": self._template(tip, version, details.hypervisor_kind),
        }

    def _release(self, version: str | None) -> Release | None:
        """The catalog release for a detected version (see `KnowledgeBase.release`)."""
        if not version:
            return None
        if version not in self._releases:
            self._releases[version] = self.kb.release(version)
        return self._releases[version]

    def _java(self, tip: Tip, version: str | None) -> dict[str, Any] | None:
        if "java" not in tip.facts:
            return None
        release = self._release(version)
        return {
            "release": release.version if release else None,
            "java": release.java if release else None,
            "table": java_table(self.kb),
        }

    def _template(self, tip: Tip, version: str | None, hypervisor: str | None) -> dict[str, Any] | None:
        if "systemvm_template" not in tip.facts:
            return None
        release = self._release(version)
        found = release.systemvm_template if release else None
        file = found.files.get(hypervisor) if found and hypervisor else None
        return {
            "release": release.version if release else None,
            "hypervisor": hypervisor,
            "file": file,
            "url": f"{found.url}{file}" if found and file else None,
            "version": found.version if found else None,
        }


def java_table(kb: KnowledgeBase) -> list[dict[str, str]]:
    """Consecutive release series grouped by the Java they need: `4.14–4.19 → 11`."""
    rows: list[dict[str, str]] = []
    for release in kb.releases:
        series = release.series
        if rows and rows[-1]["java"] == release.java:
            rows[-1]["last"] = series
        else:
            rows.append({"first": series, "last": series, "java": release.java})
    return [
        {
            "releases": r["first"] if r["first"] == r["last"] else f"{r['first']}–{r['last']}",
            "java": r["java"],
        }
        for r in rows
    ]


def _range_label(versions: VersionRange, language: str) -> str:
    low, high = versions.min, versions.max
    if language == "ja":
        if low and high:
            return f"{low}〜{high}"
        return f"{low} 以降" if low else f"{high} 以前" if high else "全バージョン"
    if low and high:
        return f"{low} to {high}"
    return f"{low} and later" if low else f"up to {high}" if high else "all versions"


def _tidy(text: str) -> str:
    """Trim trailing spaces and collapse three or more newlines."""
    text = "\n".join(line.rstrip() for line in text.strip().splitlines())
    while "\n\n\n" in text:  # each pass shortens every run of three or more by at least one
        text = text.replace("\n\n\n", "\n\n")
    return text + "\n"


def split_message(text: str, limit: int) -> tuple[str, ...]:
    """Split into parts of at most `limit` characters, at paragraph, then line, then hard boundaries."""
    if len(text) <= limit:
        return (text,)
    parts: list[str] = []
    current = ""
    for block in _pieces(text, limit):
        candidate = f"{current}{block}" if current else block
        if len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current.rstrip("\n"))
            current = block
    if current.strip():
        parts.append(current.rstrip("\n"))
    return tuple(p for p in parts if p)


def _pieces(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    for paragraph in re.split(r"(?<=\n\n)", text):
        if len(paragraph) <= limit:
            pieces.append(paragraph)
            continue
        for line in paragraph.splitlines(keepends=True):
            while len(line) > limit:
                pieces.append(line[:limit])
                line = line[limit:]
            pieces.append(line)
    return pieces
