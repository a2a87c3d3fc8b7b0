"""Turn a message into a Question, read the way a helper reads it.

Issue-template posts are split at their headings: empty headings and the template's hints go, and
the summary and the actual results come first. Pasted logs and console output are set apart from the
author's prose (one detector, `triagebot.core.logs`) and boiled down to their signatures: exception
classes, causes, error lines, HTTP status, the failing command (`triagebot.core.signatures`).
"""

from __future__ import annotations

import re

from triagebot.core.issue_template import parse_sections
from triagebot.core.language import detect_language
from triagebot.core.logs import LineKind, line_kinds
from triagebot.core.models import Question
from triagebot.core.signatures import log_signatures

MAX_BODY = 200_000  # characters looked at; the rest of a huge paste adds nothing
MAX_PROSE = 4_000
HEAD_CHARS = 300  # the start of the prose that, with the subject, forms the "head" of a post
# template sections in the order a helper reads them; the rest follow in their own order
FIRST_SECTIONS = ("summary", "actual-results")
_TILDE_FENCE = re.compile(r"(?m)^(\s*)~~~+")


def reading_order(body: str) -> str:
    """The body with template headings and boilerplate gone, summary and actual results first.

    A post without template headings comes back with only its boilerplate removed.
    """
    template = parse_sections(_TILDE_FENCE.sub(r"\1```", body))
    if not template.is_template:
        return "\n".join(section.body for section in template.sections)
    first = [s.body for key in FIRST_SECTIONS for s in template.sections if s.key == key]
    rest = [s.body for s in template.sections if s.key not in FIRST_SECTIONS]
    return "\n".join(first + rest)


def split_prose_and_logs(body: str) -> tuple[str, tuple[str, ...]]:
    """Return (the author's prose, the signatures of any pasted log) of a message body."""
    prose: list[str] = []
    logs: list[str] = []
    for kind, line in line_kinds(reading_order(body[:MAX_BODY])):
        if kind is LineKind.LOG:
            logs.append(line)
        elif kind is LineKind.PROSE and line.strip():
            prose.append(line.strip())
    text = "\n".join(prose)
    return text[:MAX_PROSE], log_signatures(logs)


def make_question(subject: str, body: str) -> Question:
    """Build the Question the classifier and detail extractor work on."""
    prose, logs = split_prose_and_logs(body)
    language = detect_language(f"{subject}\n{prose}" if prose else f"{subject}\n{body[:4000]}")
    return Question(subject=subject.strip(), body=body, language=language, prose=prose, log_lines=logs)


FIELD_SEPARATOR = "\x1e"  # ASCII record separator: never typed; replaced by a space inside a field
FIELDS = ("text", "head", "logs")


def classifier_text(question: Question) -> str:
    """The text the model sees, as three fields joined by FIELD_SEPARATOR (see `text_field`).

    `text`: subject twice, the prose, then the log signatures; `head`: the subject and the start of the
    prose (what a terse title or a summary says); `logs`: the log signatures, one a line.
    """
    parts = (question.subject, question.subject, question.prose, *question.log_lines)
    full = "\n".join(part for part in parts if part)
    head = f"{question.subject}\n{question.prose[:HEAD_CHARS]}".strip()
    logs = "\n".join(question.log_lines)
    return FIELD_SEPARATOR.join((_plain(full), _plain(head), _plain(logs)))


def _plain(text: str) -> str:
    return text.replace(FIELD_SEPARATOR, " ")


def text_field(text: str, field: str) -> str:
    """One field of a `classifier_text`; a text without separators is all `text`, its start the head."""
    parts = text.split(FIELD_SEPARATOR)
    if len(parts) != len(FIELDS):
        parts = [text, text[:HEAD_CHARS], ""]
    return parts[FIELDS.index(field)]
