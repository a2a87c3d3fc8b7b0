"""What the archive readers yield: one MailRecord per readable message, one ReadProblem per unreadable one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from triagebot.core.models import Channel, InboundMessage


@dataclass(frozen=True, slots=True)
class MailRecord:
    """One message read from an archive, decoded, with the author's own words separated out.

    `message_id` is the Message-ID without angle brackets, or a stable id derived from the content
    when the header is missing. `text` is what the author wrote (quotes, signatures, list footers
    and attachment stubs removed); `original` is the whole decoded body; `raw` the bytes as stored,
    except that in a message over 256 KiB attachment bodies over 64 KiB and text past 2 MiB a part
    are left out (`MimeSlimmer`).
    `where` names the place in the archive (`archive.mbox#12`, `maildir/cur/123.eml`) for reports.
    """

    message_id: str
    subject: str
    author: str
    sent_at: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str
    original: str
    raw: bytes
    where: str
    list_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """A message or file that could not be read: where it is and why. The rest of the archive goes on."""

    where: str
    why: str


def record_to_inbound(record: MailRecord, source: str) -> InboundMessage:
    """Translate a mail record into the message every channel hands to triage.

    `source` names where it came from (an archive path, a list name) for moderators and reports.
    """
    return InboundMessage(
        channel=Channel.EMAIL,
        source=source,
        message_id=record.message_id,
        subject=record.subject,
        text=record.text,
        original=record.original,
        author=record.author,
        sent_at=record.sent_at,
        in_reply_to=record.in_reply_to,
        references=record.references,
    )
