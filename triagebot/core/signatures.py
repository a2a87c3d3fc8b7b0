"""Log signatures: the few words of a pasted log that name the failure, with the noise taken out.

A helper reading a 300-line paste looks for the exception class, the "Caused by:" chain, the agent or
libvirt error line, the HTTP status and the command that failed; frames, timestamps, thread names,
UUIDs and addresses say nothing about which problem it is and only make two pastes of the same fault
look different. `log_signatures` turns the log lines of a post into that short list, in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_SIGNATURES = 16
MAX_SIGNATURE = 200

_FRAME = re.compile(r"^\s*(?:at\s+[\w$.<>/]+\(|\.\.\.\s*\d+\s+(?:more|common frames))")
_EXCEPTION = re.compile(r"\b((?:[a-z_][\w$]*\.)+)?([A-Z][\w$]*(?:Exception|Error|Fault))\b")
_CAUSED = re.compile(r"^\s*Caused by:\s*(.*)$")
_HTTP = re.compile(r"(?i)\bHTTP(?:/\d\.\d)?\s*(?:ERROR\s*|status\s*(?:code)?\s*:?\s*)?([1-5]\d\d)\b")
_PROMPT = re.compile(r"^\s*(?:\[?[\w.-]+@[\w.-]+[^\]\n]{0,40}\]?\s?[#$]|[#$])\s+(\S.*)$")
_TROUBLE = re.compile(
    r"(?i)error|exception|fail|denied|refused|cannot|can't|could not|unable|not\s+(?:found|ready|"
    r"supported|resolve|running|connected)|timeout|timed\s+out|invalid|no\s+such|enforcing|unreachable|"
    r"permission|\bwarn"
)
_NOISE = re.compile(
    r"""(?:\d{4}-\d\d-\d\d[ T][\d:.,]+(?:[+-]\d{2}:?\d{2}|Z)?      # ISO timestamps
      | \b[A-Z][a-z]{2}\s+\d{1,2}\s\d\d:\d\d:\d\d\b              # syslog timestamps
      | \b\d\d:\d\d:\d\d(?:[.,]\d+)?\b                          # bare times
      | \([\w.$-]+:[\w.$-]*\)                                    # (thread-name:ctx-1a2b) thread / context
      | \(logid:[^)]*\)
      | \b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b  # uuids
      | \b[0-9a-f]{12,}\b                                          # long hex
      | \b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b                       # IPv4 (and port)
      | \b(?:[0-9a-f]{1,4}:){3,7}[0-9a-f]{1,4}\b                  # IPv6
      | \bid[:=]\s*\d+\b | \bjob-\d+\b | \b\d{4,}\b               # ids and long numbers
      | \[(?:[a-z]{1,8}\.)+[\w$]+\]                               # [c.c.a.ApiServer] logger names
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_LEVEL = re.compile(r"\b(?:ERROR|WARN|WARNING|FATAL|SEVERE)\b")
_LEADING_LEVEL = re.compile(r"^\s*\[?\s*(?:INFO|DEBUG|WARN|WARNING|ERROR|TRACE|FATAL|SEVERE)\b\s*\]?\s*")


def _clean(line: str) -> str:
    """The line without timestamps, levels, thread names, ids and addresses, whitespace collapsed."""
    cleaned = _LEADING_LEVEL.sub("", " ".join(_NOISE.sub(" ", line).split()))
    return cleaned.strip(" :-|")[:MAX_SIGNATURE]


def line_signatures(line: str) -> list[str]:
    """The signatures of one log line (none for a stack frame or an untroubled line)."""
    if _FRAME.match(line):
        return []
    found: list[str] = []
    caused = _CAUSED.match(line)
    for package, name in _EXCEPTION.findall(line):
        found.append(name)
        if package.startswith("com.cloud.") or package.startswith("org.apache.cloudstack."):
            found.append(f"{package}{name}")
    for status in _HTTP.findall(line):
        found.append(f"HTTP {status}")
    prompt = _PROMPT.match(line)
    if prompt:
        found.append(f"command: {_clean(prompt.group(1))}")
    elif caused:
        found.append(f"caused by: {_clean(caused.group(1))}")
    elif _TROUBLE.search(line) or _LEVEL.search(line):
        cleaned = _clean(line)
        if len(cleaned) >= 8:
            found.append(cleaned)
    return found


def log_signatures(lines: Iterable[str], limit: int = MAX_SIGNATURES) -> tuple[str, ...]:
    """The distinct signatures of a post's log lines, first seen first, at most `limit`."""
    seen: set[str] = set()
    result: list[str] = []
    for line in lines:
        for signature in line_signatures(line):
            if signature and signature not in seen:
                seen.add(signature)
                result.append(signature)
                if len(result) >= limit:
                    return tuple(result)
    return tuple(result)
