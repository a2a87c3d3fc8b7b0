"""Turn a message into a Question: separate the author's prose from pasted logs and console output.

Long log pastes would otherwise drown the question: the classifier sees the prose in full and only the
informative log lines (errors, exceptions, failures), stripped of timestamps and ids and capped.
"""

from __future__ import annotations

import re

from triagebot.core.language import detect_language
from triagebot.core.models import Question

MAX_BODY = 200_000  # characters looked at; the rest of a huge paste adds nothing
MAX_PROSE = 4_000
MAX_LOG_LINES = 12
MAX_LOG_LINE = 240

_LOG_LINE = re.compile(
    r"""^\s*(?:
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
_INFORMATIVE = re.compile(
    r"(?i)error|exception|fail|denied|refused|cannot|can't|unable|not\s+(?:found|ready|supported|resolve)"
    r"|timeout|timed\s+out|warn|invalid|no\s+such|enforcing|\[failed\]|unreachable|permission"
)
_NOISE = re.compile(
    r"""^\s*(?:\d{4}-\d\d-\d\d[ T][\d:.,]+\s*|[A-Z][a-z]{2}\s+\d{1,2}\s[\d:]+\s+\S+\s+)   # timestamps
      |\((?:qtp|AgentManager|Job-Executor|API-Job-Executor|ctx|logid|Work-Job)[^)]*\)      # thread / ctx ids
      |\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b                    # uuids
      |\b[0-9a-f]{12,}\b                                                                   # long hex
    """,
    re.VERBOSE,
)
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_FENCE = re.compile(r"^\s*```")
_QUOTE = re.compile(r"^\s*[>＞]")


def split_prose_and_logs(body: str) -> tuple[str, tuple[str, ...]]:
    """Return (the author's prose, the informative log lines) of a message body."""
    prose: list[str] = []
    logs: list[str] = []
    seen: set[str] = set()
    in_fence = False
    log_run = 0
    for line in body[:MAX_BODY].splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if _QUOTE.match(line):
            continue
        is_log = in_fence or bool(_LOG_LINE.match(line)) or _looks_machine_made(line)
        # an indented continuation right after log lines belongs to the paste
        if not is_log and log_run and line[:1] in (" ", "\t") and line.strip():
            is_log = True
        if is_log:
            log_run += 1
            if len(logs) < MAX_LOG_LINES and _INFORMATIVE.search(line):
                cleaned = " ".join(_NOISE.sub(" ", line).split())[:MAX_LOG_LINE]
                if cleaned and cleaned not in seen:
                    seen.add(cleaned)
                    logs.append(cleaned)
            continue
        log_run = 0
        if line.strip():
            prose.append(line.strip())
    text = "\n".join(prose)
    return text[:MAX_PROSE], tuple(logs)


def _looks_machine_made(line: str) -> bool:
    """Long lines with few spaces and many symbols are pastes, not prose."""
    stripped = line.strip()
    if len(stripped) < 60 or _JAPANESE.search(stripped):
        return False
    letters = sum(map(str.isalpha, stripped))
    spaces = stripped.count(" ")
    return letters < 0.45 * len(stripped) or spaces < len(stripped) / 40


def make_question(subject: str, body: str) -> Question:
    """Build the Question the classifier and detail extractor work on."""
    prose, logs = split_prose_and_logs(body)
    language = detect_language(f"{subject}\n{prose}" if prose else f"{subject}\n{body[:4000]}")
    return Question(subject=subject.strip(), body=body, language=language, prose=prose, log_lines=logs)


def classifier_text(question: Question) -> str:
    """The text the model sees: subject twice, the prose, then the informative log lines."""
    parts = [question.subject, question.subject, question.prose, *question.log_lines]
    return "\n".join(part for part in parts if part)
