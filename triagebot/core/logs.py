"""Tell pasted log, stack-trace and console output from the author's own words, line by line.

Questions arrive with logs pasted around the prose. The question reader (what the classifier sees),
the log signatures and the detail finders all need to know which lines are machine output; this
module is the one place that decides it, so they never disagree about a line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum

from triagebot.core.language import has_japanese

TIMESTAMP = re.compile(r"(?:19|20)[0-9]{2}-[01][0-9]-[0-3][0-9][ Tt][0-2][0-9]:[0-5][0-9]")
"""An ISO date and time as log frameworks print it: `2024-03-12 10:14`, also lower-cased."""
LOG_LEVEL = re.compile(r"(?:ERROR|WARN|FATAL|SEVERE)[ \t]{1,3}\[|\[(?:ERROR|WARN|WARNING|FATAL|SEVERE)\]")
"""A log level of trouble as log4j and bracketed loggers print it: `ERROR [c.c.a.ApiServer]`, `[WARN]`."""
STACK_FRAME = re.compile(r"^[ \t]{1,8}at [a-z][\w$.]{2,200}\(", re.MULTILINE)
"""An indented Java stack frame: `    at com.cloud.agent.Agent.run(Agent.java:42)`."""

_LOG_LINE = re.compile(
    r"""^\s*+(?:  # possessive: a line of blanks must not be retried at every offset
        \d{4}-\d\d-\d\d[ T]\d\d:\d\d          # 2024-03-12 10:14:33
      | \d\d:\d\d:\d\d[.,]\d+                  # 10:14:33,512
      | [A-Z][a-z]{2}\s+\d{1,2}\s\d\d:\d\d    # Mar 12 10:14 (syslog)
      | at\s+[\w$.<>]+\(                       # Java stack frame
      | Caused\ by:                            # Java cause
      | \.\.\.\s\d+\ more
      | (?:INFO|DEBUG|WARN|WARNING|ERROR|TRACE|FATAL|SEVERE)\b
      | \[(?:INFO|DEBUG|WARN|ERROR|TRACE|FATAL)\]
      | [\w.$]+(?:Exception|Error)(?::|\s*$)  # com.cloud.FooException: ...
      | \[?[\w.-]+@[\w.-]+[^\]\n]{0,40}\][#$]  # [root@mgmt01 ~]#
      | [\w.-]+@[\w.-]+:[^\n]{0,40}[#$]\s     # root@host:~#
      | [#$]\s                                 # # command / $ command
      | [A-Za-z_]+=\S*\s*$                     # key=value (config dumps)
      | [|+][-=+|]{3,}                         # table borders
      | Active:\s|Loaded:\s|Main\ PID:         # systemctl status
    )""",
    re.VERBOSE,
)
_FENCE = re.compile(r"^\s*```")
_QUOTE = re.compile(r"^\s*[>＞]")


class LineKind(StrEnum):
    """What a line of a message body is."""

    PROSE = "prose"  # the author's words (blank lines too)
    LOG = "log"  # pasted log, stack trace, console output or the inside of a code fence
    QUOTE = "quote"  # a quoted line of an earlier message (`> ...`)
    FENCE = "fence"  # a ``` line opening or closing a code block


def is_log_line(line: str) -> bool:
    """True when one line, seen alone, is machine output: a log record, a stack frame, a prompt, a dump."""
    return bool(_LOG_LINE.match(line)) or _looks_machine_made(line)


def line_kinds(body: str) -> Iterator[tuple[LineKind, str]]:
    """Yield every line of `body` with its kind, in order.

    Besides `is_log_line`, context decides: everything inside a code fence is output, and an indented
    line right after output continues the paste (a wrapped log line, the next frame of a trace).
    """
    in_fence = False
    after_log = False
    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            yield LineKind.FENCE, line
            continue
        if _QUOTE.match(line):
            yield LineKind.QUOTE, line
            continue
        is_log = in_fence or is_log_line(line)
        if not is_log and after_log and line[:1] in (" ", "\t") and line.strip():
            is_log = True
        after_log = is_log
        yield (LineKind.LOG if is_log else LineKind.PROSE), line


def _looks_machine_made(line: str) -> bool:
    """Long lines with few spaces and many symbols are pastes, not prose."""
    stripped = line.strip()
    if len(stripped) < 60 or has_japanese(stripped):
        return False
    letters = sum(map(str.isalpha, stripped))
    spaces = stripped.count(" ")
    return letters < 0.45 * len(stripped) or spaces < len(stripped) / 40
