"""Read a knowledge-base directory into the `{relative path: text}` map the pure parser takes."""

from __future__ import annotations

from pathlib import Path

from triagebot.core.kb import KnowledgeBase, parse_knowledge_base
from triagebot.errors import KnowledgeBaseError, Problem


def read_knowledge_files(directory: Path) -> dict[str, str]:
    """Every `*.yaml` file below `directory`, keyed by its POSIX path relative to it."""
    if not directory.is_dir():
        raise KnowledgeBaseError([Problem(str(directory), None, "", "knowledge directory not found")])
    files: dict[str, str] = {}
    for path in sorted(directory.rglob("*.yaml")):
        name = path.relative_to(directory).as_posix()
        try:
            files[name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KnowledgeBaseError([Problem(str(path), None, "", f"cannot read: {exc}")]) from exc
    return files


def load_knowledge_base(directory: Path) -> KnowledgeBase:
    """Read and validate the knowledge base in `directory`.

    Raises:
        KnowledgeBaseError: naming file, line and field of every problem (paths made absolute-ish
            by prefixing the directory, so messages point at the real file).
    """
    files = read_knowledge_files(directory)
    try:
        return parse_knowledge_base(files)
    except KnowledgeBaseError as exc:
        raise KnowledgeBaseError(
            [Problem(str(directory / p.file), p.line, p.field, p.message) for p in exc.problems]
        ) from None
