"""What readers yield besides messages: a ReadProblem for each message or file that cannot be read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """A message or file that could not be read: where it is and why. The rest of the archive goes on.

    With `kept` it is a notice about a message that was read and stored all the same (cut to fit the
    limits, split off a damaged separator): reported, but not counted as skipped.
    """

    where: str
    why: str
    kept: bool = False


def json_type_name(value: object) -> str:
    """How a JSON value reads in a report: null, an object, a list, a boolean, a number or a string."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, int | float) else "a string"


def shown_value(value: object) -> str:
    """A wrong JSON value for a report: a string quoted and cut, anything else by its type."""
    return repr(value[:40]) if isinstance(value, str) else json_type_name(value)
