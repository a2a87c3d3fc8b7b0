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
