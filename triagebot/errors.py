"""One error tree for everything triagebot raises on purpose.

    TriagebotError
    ├── ConfigError          settings file or environment is wrong
    ├── KnowledgeBaseError   a YAML entry or catalog is invalid (carries file, line, field)
    ├── ModelError           the trained model is missing, stale or does not match
    ├── InputError           a question or input file cannot be read
    ├── IngestError          an archive or message cannot be read
    ├── StoreError           the database cannot be used
    └── DeliveryError        a reply could not be delivered
        └── ChatDeliveryError    a chat platform refused a post (temporary or for good)

The CLI turns each into a one-line message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class TriagebotError(Exception):
    """Base of every error triagebot raises on purpose."""


class ConfigError(TriagebotError):
    """Settings are missing or invalid."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about the knowledge base: where it is and what is wrong."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" [{self.field}]" if self.field else ""
        return f"{where}{field}: {self.message}"


class KnowledgeBaseError(TriagebotError):
    """The knowledge base is invalid; `problems` says where and why."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        first = str(self.problems[0]) if self.problems else "invalid knowledge base"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(first + more)


class ModelError(TriagebotError):
    """The trained classifier is missing, stale or was built for another knowledge base."""


class InputError(TriagebotError):
    """A question or an input file cannot be used."""


class IngestError(TriagebotError):
    """An archive, or a message in it, cannot be read."""


class StoreError(TriagebotError):
    """The database cannot be reached or is in an unexpected state."""


class DeliveryError(TriagebotError):
    """A reply could not be delivered to its channel."""


class ChatDeliveryError(DeliveryError):
    """A chat platform did not take a post; `temporary` ones (rate limits, outages) are retried.

    `retry_after` is the platform's own wait in seconds (a 429's Retry-After); `posted` counts the
    parts of a multi-part reply that went out before the failure: retrying those would repeat them.
    """

    def __init__(
        self, message: str, *, temporary: bool, retry_after: float | None = None, posted: int = 0
    ) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.retry_after = retry_after
        self.posted = posted
