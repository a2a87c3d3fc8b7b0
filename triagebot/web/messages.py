"""A stored message prepared for display: the author's words, with quoted parts set apart to be folded.

Nothing here produces HTML: the templates escape every piece, so markup in a message shows as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_QUOTED = re.compile(r"^\s*(>|＞)")
# "On Tue, 3 Mar 2026, Alice wrote:" / "2026年3月3日 10:00 Alice <a@x>:" introduce a quote that follows.
_ATTRIBUTION = re.compile(r"(wrote:|writes:|のメッセージ:|書きました[:：]?|wrote\s*:)\s*$")


@dataclass(frozen=True, slots=True)
class Block:
    """A run of lines that are either the author's own or quoted from an earlier message."""

    quoted: bool
    text: str

    @property
    def lines(self) -> int:
        """How many lines the block has (shown on the folded summary)."""
        return self.text.count("\n") + 1


def blocks(text: str) -> tuple[Block, ...]:
    """Split a message body into own and quoted blocks, in order; attribution lines go with the quote."""
    lines = text.replace("\r\n", "\n").split("\n")
    result: list[Block] = []
    current: list[str] = []
    quoted = False
    for index, line in enumerate(lines):
        is_quote = bool(_QUOTED.match(line))
        if not is_quote and _ATTRIBUTION.search(line) and index + 1 < len(lines):
            following = next((later for later in lines[index + 1 :] if later.strip()), "")
            is_quote = bool(_QUOTED.match(following))
        if is_quote != quoted and current:
            result.append(Block(quoted, "\n".join(current).strip("\n")))
            current = []
        quoted = is_quote
        current.append(line)
    if current:
        result.append(Block(quoted, "\n".join(current).strip("\n")))
    return tuple(b for b in result if b.text.strip())
