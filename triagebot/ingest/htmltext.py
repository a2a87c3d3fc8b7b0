"""Turn an HTML mail body into plain text that the quote and signature rules can work on.

Block elements end lines, `<br>` breaks them, `<pre>` keeps its spacing, scripts and styles are
dropped, and text inside `<blockquote>` comes out with ``> `` in front of each line, so a quoted reply
in an HTML-only mail is stripped like one in a plain-text mail.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
        "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
    }
)  # fmt: skip
_SKIP = frozenset({"script", "style", "title", "template", "head"})
_SPACES = re.compile(r"[ \t\r\n\f\v\xa0]+")


class _TextCollector(HTMLParser):
    """Collects lines of text while parsing; quote depth is fixed when a line gets its first text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._line_depth = 0
        self._quote_depth = 0
        self._skip_depth = 0
        self._pre_depth = 0

    def _end_line(self, *, force: bool = False) -> None:
        joined = "".join(self._current)
        text = joined.rstrip(" ") if self._pre_depth else joined.strip(" ")
        if text or force:
            prefix = "> " * self._line_depth
            self.lines.append((prefix + text).rstrip() if text else prefix.rstrip())
        self._current = []
        self._line_depth = self._quote_depth

    def _add(self, text: str) -> None:
        if not self._current:
            self._line_depth = self._quote_depth
        self._current.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skip_depth = 0  # an unclosed <head> must not swallow the body
            return
        if tag in _SKIP:
            self._skip_depth += 1
            return
        if tag == "br":
            self._end_line(force=True)
        elif tag in _BLOCK:
            self._end_line()
        elif tag in ("td", "th") and self._current:
            self._add(" ")
        if tag == "blockquote":
            self._quote_depth += 1
        elif tag == "pre":
            self._pre_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._end_line(force=True)
        elif tag in _BLOCK:
            self._end_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if tag in _BLOCK:
            self._end_line()
            if tag == "p":
                self.lines.append("> " * self._quote_depth if self._quote_depth else "")
        if tag == "blockquote":
            self._quote_depth = max(0, self._quote_depth - 1)
        elif tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre_depth:
            chunks = data.replace("\r\n", "\n").split("\n")
            for index, chunk in enumerate(chunks):
                if index:
                    self._end_line(force=True)
                if chunk:
                    self._add(chunk.replace("\xa0", " "))
            return
        text = _SPACES.sub(" ", data)
        if text.strip() or (self._current and text):
            self._add(text)

    def finish(self) -> list[str]:
        """Flush the last line and return all lines."""
        self.close()
        self._end_line()
        return self.lines


def html_to_text(html: str) -> str:
    """Return the readable text of an HTML body, one line per block, quotes marked with ``>``."""
    collector = _TextCollector()
    collector.feed(html)
    lines = [line.rstrip() for line in collector.finish()]
    return "\n".join(lines).strip("\n")
