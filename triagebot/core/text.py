"""Separate what the author wrote from what the mail carries along: quotes, signatures, footers.

`clean_body` works line by line in one pass (plus a bounded look at the last few lines), so a
2 MB body with a pasted log costs linear time. Only lines that *start* with ``>`` or ``＞`` count as
quoted, so shell prompts (``[root@mgmt ~]#``) and log lines that merely contain ``>`` are kept.

Rules, in the order a line meets them:

* quoted lines (``>``, ``＞``) are dropped wherever they are, which keeps the new text of
  bottom-posted and interleaved replies;
* an attribution line (``On … wrote:``, ``… wrote:``, ``…さんは書きました:``,
  ``2024年3月3日(火) 10:00 山田太郎 <yamada@example.jp>:``, also wrapped over two lines) is dropped
  when a quote follows it; an unmistakable one with no quote after it starts an unquoted copy of the
  earlier mail (top-posting), so everything from it on is dropped;
* the message ends at: the ``-- `` signature delimiter, Outlook's ``-----Original Message-----``
  or ``From:``/``Sent:`` (``差出人:``/``送信日時:``) header block, the Apache list footer
  (``To unsubscribe, e-mail: …``) and the Mailman footer (a line of underscores, then
  ``… mailing list``);
* Mailman's ``-------------- next part --------------`` line goes, and with it the stub of a
  scrubbed attachment;
* a signature framed by lines of ``---``, ``===``, ``━━`` at the very end goes when it looks like one
  (an address, a phone number, a company name; no log lines);
* runs of blank lines become one.
"""

from __future__ import annotations

import re

_MAX_HEADERISH = 300  # lines longer than this are never attributions or header lines

_ON_WROTE = re.compile(
    r"^(?:On|Am|Le|El|Il|Em|Op|At|Den|Dne)\b.{0,300}?"
    r"(?:wrote|writes|schrieb|a\s+écrit|escribió|ha\s+scritto|schreef|escreveu|skrev|kirjoitti|napsal)"
    r"\s*[:：]\s*$",
    re.IGNORECASE,
)
_WROTE_END = re.compile(r"(?:\bwrote|\bwrites|書きました|書かれました)\s*[:：]\s*$", re.IGNORECASE)
_SAN_WROTE = re.compile(r"(?:さん|様|氏|くん|君)\s*(?:は|が)?\s*(?:書きました|書かれました)\s*[:：]\s*$")
_JA_DATE_ADDR = re.compile(r"^\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日.{0,200}?(?:>|@[\w.-]+)\s*[:：]\s*$")
_JA_MAIL_OF = re.compile(r"(?:のメール|のメッセージ)\s*[:：]\s*$")
_ADDR_OR_TIME = re.compile(r"@[\w.-]+|\b\d{1,2}:\d{2}\b|\d{4}[/-]\d{1,2}[/-]\d{1,2}|\d{4}年")
_WRAP_START = re.compile(r"^\s*(?:On\b|Am\b|Le\b|At\b|\d{4}\s*年|\d{4}/\d{1,2}/\d{1,2})", re.IGNORECASE)
_WRAP_END = re.compile(r"(?:\bwrote|\bwrites|書きました|>)\s*[:：]\s*$", re.IGNORECASE)

_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original"
    r"|Messaggio originale|元のメッセージ|オリジナルメッセージ|原始邮件)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FROM_FIELD = re.compile(r"^\s*\**(?:From|差出人|送信者|Von|De)\**\s*[:：]")
_SENT_FIELD = re.compile(r"^\s*\**(?:Sent|送信日時|Gesendet|Envoyé)\**\s*[:：]")
_DATE_FIELD = re.compile(r"^\s*\**(?:Date|日付|日時)\**\s*[:：]")
_TO_OR_SUBJECT = re.compile(r"^\s*\**(?:To|Subject|Cc|宛先|件名|CC)\**\s*[:：]")
_FORWARD_MARK = re.compile(
    r"(?:Forwarded message|Forwarded Message|Begin forwarded message|転送メッセージ|転送されたメッセージ)",
    re.IGNORECASE,
)
_MAILMAN_RULE = re.compile(r"^_{20,}\s*$")
_MAILING_LIST = re.compile(r"mailing list\s*$", re.IGNORECASE)
_APACHE_FOOTER = re.compile(
    r"^\s*(?:To unsubscribe, e-mail:|For additional commands, e-mail:)", re.IGNORECASE
)
_DASH_RULE = re.compile(r"^-{20,}\s*$")
_SEPARATOR = re.compile(r"^\s*(?:_{10,}|-{10,})\s*$")
_NEXT_PART = re.compile(r"^-{5,}\s*next part\s*-{5,}$", re.IGNORECASE)

_FRAME = re.compile(r"^[ \t]*[-=_*~#━─＝－―]{3,}[ \t]*$")
_CONTACT = re.compile(
    r"@|https?://|\b(?:TEL|Tel|tel|FAX|Fax|Phone|Mobile|Mail|E-?mail)\b|電話|携帯|〒|株式会社|有限会社|合同会社"
    r"|\(株\)|（株）|㈱|\b(?:Inc|Ltd|Corp|LLC|GmbH|K\.K)\b"
)
_LOGLIKE = re.compile(
    r"\d{1,2}:\d{2}:\d{2}|\b(?:ERROR|WARN|WARNING|INFO|DEBUG|TRACE|FATAL)\b|Exception|Caused by"
    r"|^\s*at [\w.$]+\(|\][#$](?:\s|$)"
)


def clean_body(text: str) -> str:
    """Return only what the author wrote: quotes, signatures, list footers and stubs removed.

    Example:
        >>> clean_body("Thanks, it works.\\n\\nOn Tue, Mar 3, 2024 at 10:00 Bob <b@x.org> wrote:\\n> try it")
        'Thanks, it works.'
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    n = len(lines)
    next_text = _next_nonblank(lines)
    kept: list[str] = []
    i = 0
    while i < n:
        line = lines[i]
        if _is_quote(line):
            i += 1
            continue
        stripped = line.strip()
        if not stripped:
            kept.append("")
            i += 1
            continue
        if _ends_message(lines, i, next_text, kept):
            _drop_trailing_rule(kept)
            break
        attribution = _attribution(lines, i)
        if attribution is not None:
            span, strong = attribution
            after = next_text[i + span]
            if after < n and _is_quote(lines[after]):
                i += span
                continue
            if strong:
                break
        if _NEXT_PART.match(stripped):
            i = _skip_next_part(lines, i)
            continue
        kept.append(line.rstrip())
        i += 1
    return _collapse(_drop_signature_block(kept))


def _is_quote(line: str) -> bool:
    """True for a quoted line: one that starts with ``>`` or a full-width ``＞``."""
    return line.startswith((">", "＞"))


def _next_nonblank(lines: list[str]) -> list[int]:
    """For each index, the index of the first non-blank line at or after it (len(lines) if none)."""
    n = len(lines)
    result = [n] * (n + 1)
    for index in range(n - 1, -1, -1):
        result[index] = index if lines[index].strip() else result[index + 1]
    return result


def _attribution(lines: list[str], i: int) -> tuple[int, bool] | None:
    """Recognise an attribution line at `i`; return (lines it spans, unmistakable?) or None."""
    line = lines[i].strip()
    if len(line) > _MAX_HEADERISH:
        return None
    found = _attribution_kind(line)
    if found is not None:
        return 1, found
    if i + 1 < len(lines) and _WRAP_START.match(line):
        second = lines[i + 1].strip()
        if len(second) <= _MAX_HEADERISH and _WRAP_END.search(second):
            found = _attribution_kind(f"{line} {second}")
            if found is not None:
                return 2, found
    return None


def _attribution_kind(line: str) -> bool | None:
    """None if `line` is no attribution; True if unmistakable, False if only plausible."""
    if not line.endswith((":", "：")):  # every form ends so (`line` is stripped): skip the regexes
        return None
    if _ON_WROTE.match(line):
        return bool(_ADDR_OR_TIME.search(line)) or any(ch.isdigit() for ch in line)
    if _SAN_WROTE.search(line) or _JA_DATE_ADDR.match(line):
        return True
    if _JA_MAIL_OF.search(line):
        return bool(_ADDR_OR_TIME.search(line))
    if _WROTE_END.search(line):
        return bool(_ADDR_OR_TIME.search(line))
    return None


def _ends_message(lines: list[str], i: int, next_text: list[int], kept: list[str]) -> bool:
    """True when line `i` starts what follows the author's text: signature, original, footer."""
    line = lines[i]
    stripped = line.strip()
    if line == "-- ":
        return True
    if stripped == "--":
        return _short_tail(lines, i, next_text)
    if len(stripped) > _MAX_HEADERISH:
        return False
    if _ORIGINAL_MESSAGE.match(stripped) or _APACHE_FOOTER.match(stripped):
        return True
    if _MAILMAN_RULE.match(stripped) or _DASH_RULE.match(stripped):
        after = next_text[i + 1]
        if after < len(lines):
            follower = lines[after].strip()
            return bool(_MAILING_LIST.search(follower) or _APACHE_FOOTER.match(follower))
        return False
    if _FROM_FIELD.match(stripped):
        return _outlook_block(lines, i, kept)
    return False


def _short_tail(lines: list[str], i: int, next_text: list[int]) -> bool:
    """True if a bare ``--`` is followed by a few non-log lines and the end (grep prints ``--`` too)."""
    seen = 0
    j = next_text[i + 1]
    while j < len(lines):
        seen += 1
        if seen > 6 or _LOGLIKE.search(lines[j]):
            return False
        j = next_text[j + 1]
    return True


def _outlook_block(lines: list[str], i: int, kept: list[str]) -> bool:
    """True if a From: line opens a quoted-header block (Sent:, or Date: with To:/Subject:), not a forward."""
    window = [line.strip() for line in lines[i + 1 : i + 6]]
    if any(_SENT_FIELD.match(line) for line in window):
        return True
    if any(_DATE_FIELD.match(line) for line in window) and any(_TO_OR_SUBJECT.match(line) for line in window):
        recent = [line for line in kept[-4:] if line.strip()]
        return not any(_FORWARD_MARK.search(line) for line in recent)
    return False


def _drop_trailing_rule(kept: list[str]) -> None:
    """Remove blank lines and one separator rule (``____``, ``-----``) left just before a cut."""
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and _SEPARATOR.match(kept[-1]):
        kept.pop()


def _skip_next_part(lines: list[str], i: int) -> int:
    """Skip Mailman's next-part line and, if it is a scrubbed-attachment stub, the stub; return next index."""
    j = i + 1
    if j < len(lines) and "was scrubbed" in lines[j]:
        while j < len(lines) and lines[j].strip():
            j += 1
            if lines[j - 1].lstrip().upper().startswith("URL:"):
                break
    return j


def _drop_signature_block(kept: list[str]) -> list[str]:
    """Remove a signature framed by rule lines (or opened by one) at the very end, if it looks like one."""
    end = len(kept)
    while end and not kept[end - 1].strip():
        end -= 1
    if end == 0:
        return kept
    lowest = max(0, end - 14)
    if _FRAME.match(kept[end - 1]):
        for top in range(end - 2, lowest - 1, -1):
            if _FRAME.match(kept[top]):
                if _looks_like_signature(kept[top + 1 : end - 1]) and _has_text(kept[:top]):
                    return kept[:top]
                break
        return kept
    for top in range(end - 2, max(0, end - 10) - 1, -1):
        if _FRAME.match(kept[top]):
            if _looks_like_signature(kept[top + 1 : end]) and _has_text(kept[:top]):
                return kept[:top]
            break
    return kept


def _looks_like_signature(block: list[str]) -> bool:
    """True for a few lines with contact details and nothing that looks like a log."""
    body = [line for line in block if line.strip()]
    if not 1 <= len(body) <= 10:
        return False
    if any(_LOGLIKE.search(line) for line in body):
        return False
    return any(_CONTACT.search(line) for line in body)


def _has_text(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)


def _collapse(lines: list[str]) -> str:
    """Join lines, turning runs of blank lines into one and trimming blank lines at both ends."""
    out: list[str] = []
    blank = False
    for line in lines:
        if line.strip():
            if blank and out:
                out.append("")
            out.append(line.rstrip())
            blank = False
        else:
            blank = True
    return "\n".join(out)
