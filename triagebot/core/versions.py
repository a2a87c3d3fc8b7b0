"""CloudStack version strings: parse, compare and match against ranges."""

from __future__ import annotations

import re

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-incubating)?$")


def parse_version(text: str) -> tuple[int, ...] | None:
    """`"4.18.1.0"` → `(4, 18, 1, 0)`; `None` when it is not a version."""
    match = _VERSION.match(text.strip())
    if not match:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def series_of(version: str) -> str | None:
    """`"4.18.1.0"` → `"4.18"`."""
    parsed = parse_version(version)
    return None if parsed is None else f"{parsed[0]}.{parsed[1]}"


def in_range(version: str, low: str | None, high: str | None) -> bool:
    """Whether `version` lies in [low, high]; bounds compare on their own length.

    A bound of `4.14` includes every 4.14.x, so `in_range("4.14.1.0", None, "4.14")` is true.
    """
    parsed = parse_version(version)
    if parsed is None:
        return False
    for bound, sign in ((low, 1), (high, -1)):
        if bound is None:
            continue
        limit = parse_version(bound)
        if limit is None:
            return False
        head = parsed[: len(limit)]
        head = head + (0,) * (len(limit) - len(head))
        if sign == 1 and head < limit:
            return False
        if sign == -1 and head > limit:
            return False
    return True
