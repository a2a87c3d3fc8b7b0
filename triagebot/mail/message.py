"""Build the reply message for an outbox entry: threading headers, a subject that does not stack
"Re:", and a body and subject in UTF-8 or, where a list asks for it, ISO-2022-JP.

Example:
    >>> reply_subject("RE: Re[2]: 返信: install fails")
    'Re: install fails'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime

# Reply prefixes ("Re:", "RE :", "Re[2]:", "Re^2:", "Aw:", "Sv:") and the Japanese "返信:" / "Ｒｅ：".
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|antw)\s*(?:\[\d+\]|\^\d+)?\s*[:：]|返信\s*[:：]|ｒｅ\s*[:：])\s*", re.I
)
CHARSETS = ("utf-8", "iso-2022-jp")
_SUBJECT_LINE = 78 - len("Subject: ")  # encoded words folded so no line needs refolding


def reply_subject(subject: str) -> str:
    """`Re: ` plus the subject without any reply prefixes it already had (so they never stack)."""
    rest = " ".join(subject.split())
    while True:
        stripped = _PREFIX.sub("", rest, count=1)
        if stripped == rest:
            break
        rest = stripped
    return f"Re: {rest}" if rest else "Re:"


def bracketed(message_id: str) -> str:
    """A Message-ID as it goes in a header: inside angle brackets."""
    return f"<{message_id.strip().strip('<>')}>"


@dataclass(frozen=True, slots=True)
class Reply:
    """Everything one reply message needs; built from an outbox entry and the settings."""

    from_address: str
    to: tuple[str, ...]
    subject: str
    body: str
    message_id: str  # without angle brackets
    in_reply_to: str | None
    references: tuple[str, ...]
    date: datetime
    cc: tuple[str, ...] = ()
    charset: str = "utf-8"


def _encodable(text: str, charset: str) -> bool:
    """Whether `text` can be written in `charset` without loss (U+FF5E cannot in ISO-2022-JP)."""
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


def build_message(reply: Reply) -> EmailMessage:
    """The reply as an EmailMessage, ready for `smtplib.SMTP.send_message`.

    ISO-2022-JP is used only when both subject and body can be encoded in it; otherwise the message
    falls back to UTF-8, so no character is ever replaced. The subject then goes out as ISO-2022-JP
    encoded words too, as the mail clients of such lists expect.
    """
    if not reply.to:
        raise ValueError("a reply needs at least one recipient")
    charset = reply.charset.lower()
    if charset not in CHARSETS:
        raise ValueError(f"unsupported charset {reply.charset!r}; use one of {', '.join(CHARSETS)}")
    if charset != "utf-8" and not (_encodable(reply.body, charset) and _encodable(reply.subject, charset)):
        charset = "utf-8"
    message = EmailMessage()
    message["From"] = reply.from_address
    message["To"] = ", ".join(reply.to)
    if reply.cc:
        message["Cc"] = ", ".join(reply.cc)
    if charset == "utf-8" or reply.subject.isascii():
        message["Subject"] = reply.subject
    else:  # stored raw: the default policy would re-encode the words as UTF-8
        folded = Header(reply.subject, charset, maxlinelen=_SUBJECT_LINE).encode()
        message.set_raw("Subject", folded)
    message["Date"] = format_datetime(reply.date)
    message["Message-ID"] = bracketed(reply.message_id)
    if reply.in_reply_to:
        message["In-Reply-To"] = bracketed(reply.in_reply_to)
    references = _unique(reply.references)
    if references:
        message["References"] = " ".join(bracketed(r) for r in references)
    message["Auto-Submitted"] = "auto-generated"
    body = reply.body if reply.body.endswith("\n") else reply.body + "\n"
    if charset == "utf-8":
        message.set_content(body, charset="utf-8", cte="8bit" if body.isascii() else "base64")
    else:
        # email's ISO-2022-JP support is for 7-bit bodies: encode ourselves, announce the charset.
        message.set_content(body.encode(charset), maintype="text", subtype="plain", cte="7bit")
        message.set_param("charset", charset)
    return message


def _unique(ids: Sequence[str]) -> list[str]:
    """Message-IDs in order, without empties or repeats."""
    seen: set[str] = set()
    out: list[str] = []
    for raw in ids:
        mid = raw.strip().strip("<>")
        if mid and mid not in seen:
            seen.add(mid)
            out.append(mid)
    return out
