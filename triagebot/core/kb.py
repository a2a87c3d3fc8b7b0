"""The knowledge base: schema of tips and catalogs, and a pure parser that names file, line and field.

The parser takes file contents (`{"tips/selinux.yaml": "...", ...}`), never paths, so it stays pure;
reading the directory is the job of `triagebot.kbfiles`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from triagebot.core.versions import in_range, parse_version, series_of
from triagebot.errors import KnowledgeBaseError, Problem

M = TypeVar("M", bound=BaseModel)
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
TIP_ID = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MIN_EXAMPLES = 25
MIN_OUT_OF_SCOPE = 120
PLACEHOLDER = "FILL-IN"  # what `triagebot kb new` writes where a value is still to be written


def placeholder_lines(text: str) -> tuple[int, ...]:
    """The line numbers (from 1) of `text` that still hold a placeholder value, comments aside."""
    return tuple(
        number
        for number, line in enumerate(text.splitlines(), 1)
        if PLACEHOLDER in line.split(" #", 1)[0] and not line.lstrip().startswith("#")
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_FOLDED_JA = re.compile(
    r"(?<=[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]) (?=[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef])"
)


def unfold_japanese(text: str) -> str:
    """Drop the space YAML folding puts between two Japanese characters (Japanese uses none)."""
    return _FOLDED_JA.sub("", text)


class Localized(_Strict):
    """A text written in both languages."""

    en: NonEmpty
    ja: NonEmpty

    @field_validator("ja")
    @classmethod
    def _unfold(cls, value: str) -> str:
        return unfold_japanese(value)

    def get(self, language: str) -> str:
        """The text in `language` ("en" or "ja")."""
        return self.ja if language == "ja" else self.en


class LocalizedSteps(_Strict):
    """Fix steps in both languages, step for step."""

    en: list[NonEmpty] = Field(min_length=1)
    ja: list[NonEmpty] = Field(min_length=1)

    @field_validator("ja")
    @classmethod
    def _unfold(cls, value: list[str]) -> list[str]:
        return [unfold_japanese(step) for step in value]

    def get(self, language: str) -> list[str]:
        """The steps in `language`."""
        return self.ja if language == "ja" else self.en


class Symptom(_Strict):
    """An exact error string or log line, as a regular expression, that points at a tip."""

    pattern: NonEmpty
    label: NonEmpty  # the string as users see it, shown to moderators as evidence
    confidence: float = Field(default=0.9, ge=0.5, le=1.0)
    # a regex: the rule does not count for a text that also matches it (an error string many
    # problems share, such as a storage error also raised for RBD or iSCSI pools)
    unless: NonEmpty | None = None

    @field_validator("pattern", "unless")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        try:
            if value is not None:
                re.compile(value)
        except re.error as exc:
            raise ValueError(f"regex does not compile: {exc}") from exc
        return value


class DocLink(_Strict):
    """A link to official documentation."""

    title: NonEmpty
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]


class VersionRange(_Strict):
    """Inclusive release range; either end may be open. `max: "4.14"` includes 4.14.x."""

    min: str | None = None
    max: str | None = None

    @field_validator("min", "max")
    @classmethod
    def _is_version(cls, value: str | None) -> str | None:
        if value is not None and parse_version(value) is None:
            raise ValueError(f"not a version: {value!r}")
        return value

    def contains(self, version: str) -> bool:
        """Whether `version` lies in this range."""
        return in_range(version, self.min, self.max)

    @property
    def unbounded(self) -> bool:
        """True when the range covers every release."""
        return self.min is None and self.max is None


class Applicability(_Strict):
    """Where a tip applies; empty lists mean everywhere."""

    versions: VersionRange = VersionRange()
    os_families: list[str] = []
    hypervisors: list[str] = []


class VersionNote(_Strict):
    """A part of the fix that holds only for some releases."""

    versions: VersionRange
    text: Localized


class Tip(_Strict):
    """One install tip: what goes wrong, how to see it, how to fix it, and how people ask about it."""

    id: Annotated[str, StringConstraints(pattern=TIP_ID)]
    title: Localized
    summary: Localized
    fix: LocalizedSteps
    commands: list[NonEmpty] = []
    symptoms: list[Symptom] = []
    docs: list[DocLink] = []
    applies: Applicability = Applicability()
    needs: list[Literal["version", "os", "hypervisor"]] = []
    facts: list[Literal["java", "systemvm_template"]] = []
    version_notes: list[VersionNote] = []
    examples: list[NonEmpty] = Field(min_length=MIN_EXAMPLES)


class OutOfScope(_Strict):
    """Questions no tip answers: the classifier learns to stay silent on them."""

    examples: list[NonEmpty] = Field(min_length=MIN_OUT_OF_SCOPE)


class OutOfScopeTheme(_Strict):
    """More questions no tip answers, on one theme (`out_of_scope/<theme>.yaml`)."""

    examples: list[NonEmpty] = Field(min_length=1)


class TemplateSet(_Strict):
    """The SystemVM template a release uses: its version, download folder and file per hypervisor."""

    version: NonEmpty
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+/$")]
    files: dict[str, NonEmpty]


class Release(_Strict):
    """One CloudStack release."""

    version: Annotated[str, StringConstraints(pattern=r"^4\.\d+\.\d+(?:\.\d+)?(?:-incubating)?$")]
    year: int = Field(ge=2012, le=2030)
    java: NonEmpty
    systemvm_template: TemplateSet | None = None

    @property
    def series(self) -> str:
        """`4.18` for `4.18.1.0`."""
        return series_of(self.version) or self.version


class ReleaseCatalog(_Strict):
    """All known CloudStack releases, oldest first."""

    releases: list[Release] = Field(min_length=1)


class OsEntry(_Strict):
    """A management-server operating system, its family and the spellings people use."""

    id: Annotated[str, StringConstraints(pattern=TIP_ID)]
    name: NonEmpty
    family: Literal["el", "debian", "suse", "other"]
    aliases: list[NonEmpty] = Field(min_length=1)
    versions: list[NonEmpty] = []


class OsCatalog(_Strict):
    """Operating systems the management server runs on."""

    os: list[OsEntry] = Field(min_length=1)


class Hypervisor(_Strict):
    """A hypervisor with its aliases (Latin and Japanese spellings)."""

    id: Annotated[str, StringConstraints(pattern=TIP_ID)]
    name: NonEmpty
    aliases: list[NonEmpty] = Field(min_length=1)
    japanese: list[NonEmpty] = []


class HypervisorCatalog(_Strict):
    """Hypervisors CloudStack manages."""

    hypervisors: list[Hypervisor] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """Everything in `knowledge/`, validated. `digest` changes whenever any file does."""

    tips: tuple[Tip, ...]
    out_of_scope: tuple[str, ...]
    releases: tuple[Release, ...]
    os: tuple[OsEntry, ...]
    hypervisors: tuple[Hypervisor, ...]
    digest: str

    def tip(self, tip_id: str) -> Tip:
        """The tip with this id; KeyError when there is none."""
        for tip in self.tips:
            if tip.id == tip_id:
                return tip
        raise KeyError(tip_id)

    @property
    def tip_ids(self) -> tuple[str, ...]:
        """Tip ids in file order."""
        return tuple(tip.id for tip in self.tips)

    def release(self, version: str) -> Release | None:
        """The newest catalog release matching `version` (`4.18` → newest 4.18.x)."""
        best: Release | None = None
        for release in self.releases:
            if in_range(release.version, version, version) and (
                best is None or (parse_version(release.version) or ()) > (parse_version(best.version) or ())
            ):
                best = release
        return best


TIPS_DIR = "tips/"
OUT_OF_SCOPE_FILE = "out_of_scope.yaml"
OUT_OF_SCOPE_DIR = "out_of_scope/"  # more out-of-scope files, one per theme, same shape as the main one
CATALOG_FILES = {
    "releases": "catalog/releases.yaml",
    "os": "catalog/os.yaml",
    "hypervisors": "catalog/hypervisors.yaml",
}


class _LineIndex:
    """Maps a field path (`("examples", 3)`) to the line it starts on.

    Built lazily from YAML nodes: loading stays fast, and lines are worked out only for problems.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: dict[tuple[Any, ...], int] | None = None

    def _walk(self, node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
                self._walk(value, (*path, name), lines)
                lines[(*path, name)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index), lines)

    def line(self, path: tuple[Any, ...]) -> int | None:
        """The line of `path`, or of its nearest ancestor that exists."""
        if self._lines is None:
            self._lines = {}
            try:
                root = yaml.compose(self._text, Loader=yaml.CSafeLoader)
            except yaml.YAMLError:
                root = None
            if root is not None:
                self._walk(root, (), self._lines)
        while True:
            if path in self._lines:
                return self._lines[path]
            if not path:
                return None
            path = path[:-1]


class _CheckingLoader(yaml.CSafeLoader):
    """The fast safe loader, also recording keys that appear twice in one mapping."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    self.duplicates.append((key.value, key.start_mark.line + 1))
                seen.add(key.value)
        return super().construct_mapping(node, deep)


def _field_name(path: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in path)


def _load_yaml(name: str, text: str, problems: list[Problem]) -> tuple[Any, _LineIndex] | None:
    loader = _CheckingLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(name, line, "", f"not valid YAML: {reason}"))
        return None
    finally:
        loader.dispose()
    for key, line in loader.duplicates:
        problems.append(Problem(name, line, key, "key appears twice"))
    if not isinstance(data, dict):
        problems.append(Problem(name, 1, "", "expected a mapping at the top of the file"))
        return None
    return data, _LineIndex(text)


def _validate(model: type[M], name: str, text: str, problems: list[Problem]) -> tuple[M, _LineIndex] | None:
    loaded = _load_yaml(name, text, problems)
    if loaded is None:
        return None
    data, index = loaded
    try:
        return model.model_validate(data), index
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = "unknown field"
            elif error["type"] == "missing":
                message = "required field is missing"
            problems.append(Problem(name, index.line(loc), _field_name(loc), message))
        return None


def parse_knowledge_base(files: Mapping[str, str]) -> KnowledgeBase:
    """Validate every knowledge-base file and build the KnowledgeBase.

    Args:
        files: relative path (`tips/selinux.yaml`, `catalog/releases.yaml`, `out_of_scope.yaml`,
            `out_of_scope/vpc.yaml`) to file text.

    Raises:
        KnowledgeBaseError: listing every problem found, each with file, line and field.
    """
    problems: list[Problem] = []
    tips: list[Tip] = []
    first_seen: dict[str, str] = {}
    for name in sorted(n for n in files if n.startswith(TIPS_DIR)):
        unfilled = placeholder_lines(files[name])
        if unfilled:
            shown = ", ".join(map(str, unfilled[:8])) + ("…" if len(unfilled) > 8 else "")
            problems.append(
                Problem(
                    name,
                    unfilled[0],
                    "",
                    f"{len(unfilled)} line(s) still hold the skeleton's {PLACEHOLDER} placeholder "
                    f"(lines {shown}): fill them in",
                )
            )
            continue
        parsed = _validate(Tip, name, files[name], problems)
        if parsed is None:
            continue
        tip, index = parsed
        expected = name[len(TIPS_DIR) :].rsplit(".", 1)[0]
        if tip.id in first_seen:
            problems.append(
                Problem(
                    name, index.line(("id",)), "id", f"duplicate id {tip.id!r} (also in {first_seen[tip.id]})"
                )
            )
            continue
        if tip.id != expected:
            problems.append(
                Problem(name, index.line(("id",)), "id", f"id {tip.id!r} must match the file name")
            )
        if len(tip.fix.en) != len(tip.fix.ja):
            problems.append(
                Problem(
                    name, index.line(("fix", "ja")), "fix.ja", "needs as many steps as fix.en (translation)"
                )
            )
        first_seen[tip.id] = name
        tips.append(tip)
    if not tips and not any(p.file.startswith(TIPS_DIR) for p in problems):
        problems.append(Problem(TIPS_DIR, None, "", "no tips found"))

    out_of_scope = _required(OutOfScope, OUT_OF_SCOPE_FILE, files, problems)
    extra_out_of_scope: list[str] = []
    for name in sorted(n for n in files if n.startswith(OUT_OF_SCOPE_DIR)):
        theme = _validate(OutOfScopeTheme, name, files[name], problems)
        if theme is not None:
            extra_out_of_scope.extend(theme[0].examples)
    releases = _required(ReleaseCatalog, CATALOG_FILES["releases"], files, problems)
    os_catalog = _required(OsCatalog, CATALOG_FILES["os"], files, problems)
    hypervisors = _required(HypervisorCatalog, CATALOG_FILES["hypervisors"], files, problems)

    if releases and os_catalog and hypervisors:
        problems.extend(_cross_check(tips, files, releases, os_catalog, hypervisors))
    if problems or not (out_of_scope and releases and os_catalog and hypervisors):
        raise KnowledgeBaseError(problems)
    return KnowledgeBase(
        tips=tuple(tips),
        out_of_scope=(*out_of_scope[0].examples, *extra_out_of_scope),
        releases=tuple(releases[0].releases),
        os=tuple(os_catalog[0].os),
        hypervisors=tuple(hypervisors[0].hypervisors),
        digest=knowledge_digest(files),
    )


def _required(
    model: type[M], name: str, files: Mapping[str, str], problems: list[Problem]
) -> tuple[M, _LineIndex] | None:
    if name not in files:
        problems.append(Problem(name, None, "", "file is missing"))
        return None
    return _validate(model, name, files[name], problems)


def _cross_check(
    tips: list[Tip],
    files: Mapping[str, str],
    releases: tuple[ReleaseCatalog, _LineIndex],
    os_catalog: tuple[OsCatalog, _LineIndex],
    hypervisors: tuple[HypervisorCatalog, _LineIndex],
) -> list[Problem]:
    """Catalogs agree with each other and with the tips that name them."""
    problems: list[Problem] = []
    hv_ids = {h.id for h in hypervisors[0].hypervisors}
    families = {o.family for o in os_catalog[0].os}
    rel_name, rel_index = CATALOG_FILES["releases"], releases[1]
    seen_versions: set[str] = set()
    previous: tuple[int, ...] = ()
    for i, release in enumerate(releases[0].releases):
        order = parse_version(release.version) or ()
        if release.version in seen_versions:
            problems.append(
                Problem(rel_name, rel_index.line(("releases", i)), f"releases.{i}.version", "duplicate")
            )
        if order < previous:
            problems.append(
                Problem(
                    rel_name,
                    rel_index.line(("releases", i)),
                    f"releases.{i}.version",
                    "releases must be in order",
                )
            )
        previous = max(previous, order)
        seen_versions.add(release.version)
        if release.systemvm_template:
            for hv in release.systemvm_template.files:
                if hv not in hv_ids:
                    where = ("releases", i, "systemvm_template", "files", hv)
                    problems.append(
                        Problem(rel_name, rel_index.line(where), _field_name(where), "unknown hypervisor id")
                    )
    catalog_ids = (
        ("os", [entry.id for entry in os_catalog[0].os], os_catalog[1]),
        ("hypervisors", [entry.id for entry in hypervisors[0].hypervisors], hypervisors[1]),
    )
    for key, entry_ids, entry_index in catalog_ids:
        seen_ids: set[str] = set()
        for i, entry_id in enumerate(entry_ids):
            if entry_id in seen_ids:
                field = f"{key}.{i}.id"
                problems.append(
                    Problem(CATALOG_FILES[key], entry_index.line((key, i, "id")), field, "duplicate id")
                )
            seen_ids.add(entry_id)
    for tip in tips:
        name = f"{TIPS_DIR}{tip.id}.yaml"
        tip_index = _LineIndex(files.get(name, ""))
        for i, hv in enumerate(tip.applies.hypervisors):
            if hv not in hv_ids:
                loc = ("applies", "hypervisors", i)
                problems.append(
                    Problem(name, tip_index.line(loc), _field_name(loc), f"unknown hypervisor {hv!r}")
                )
        for i, family in enumerate(tip.applies.os_families):
            if family not in families:
                loc = ("applies", "os_families", i)
                problems.append(
                    Problem(name, tip_index.line(loc), _field_name(loc), f"unknown OS family {family!r}")
                )
        if "systemvm_template" in tip.facts and "hypervisor" not in tip.needs:
            problems.append(
                Problem(
                    name, tip_index.line(("facts",)), "facts", "systemvm_template needs `hypervisor` in needs"
                )
            )
        if tip.facts and "version" not in tip.needs:
            problems.append(
                Problem(name, tip_index.line(("facts",)), "facts", "release facts need `version` in needs")
            )
    return problems


def knowledge_digest(files: Mapping[str, str]) -> str:
    """A hash of every knowledge-base file, stamped on trained models."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(files[name].encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def line_of(text: str, path: tuple[Any, ...]) -> int | None:
    """The line where `path` (`("examples", 3)`) starts in a YAML text, for pointing at problems."""
    return _LineIndex(text).line(path)
