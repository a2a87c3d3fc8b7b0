"""Bytes of one message → InboundMessage: the single place where mail is parsed and decoded.

The standard parser runs with the `compat32` policy, which keeps header values as raw strings: we
decode headers ourselves (`headers.py`), and the header objects of `policy.default` would cost more
than all the rest of reading a message.

Large attachments never reach the email parser: `MimeSlimmer` follows the MIME boundaries line by
line and leaves out the body of any non-text part bigger than `ATTACHMENT_LIMIT` (and the tail of a
text part past `TEXT_LIMIT`). Parsing a 28 MB message with a 20 MB attachment otherwise costs the
standard parser about 220 MB at its peak.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser

from triagebot.core.models import Channel, InboundMessage
from triagebot.core.text import clean_body
from triagebot.ingest.charsets import decode_bytes
from triagebot.ingest.headers import (
    decode_header_value,
    first_id,
    format_author,
    parse_date,
    parse_ids,
    parse_list_id,
)
from triagebot.ingest.htmltext import html_to_text
from triagebot.ingest.records import ReadProblem

ATTACHMENT_LIMIT = 64 * 1024  # a non-text part larger than this is left out whole
HEADER_FIELD_LIMIT = 64 * 1024  # a header field (Subject, References...) is cut after this many bytes
HEADER_BLOCK_LIMIT = 512 * 1024  # header lines past this many bytes are left out
TEXT_LIMIT = 2 * 1024 * 1024  # a text part is cut after this many encoded bytes
_HEADER_LIMIT = 256 * 1024  # a header block larger than this is not a header block
_SLIM_ABOVE = 256 * 1024  # smaller messages are parsed as they are

# At least one of these must be present for bytes to count as a mail message.
_MAIL_HEADERS = frozenset(
    {
        "from", "date", "subject", "message-id", "received", "to", "return-path", "mime-version",
        "content-type", "in-reply-to", "references", "sender", "delivered-to",
    }
)  # fmt: skip


class MimeSlimmer:
    """Collects one message line by line, leaving out the bodies of large non-text parts.

    Readers feed it as they stream, so a 20 MB attachment is skipped without ever being held;
    `parse_message` runs big byte strings through it too. Part headers and boundaries are kept,
    so the parser still sees every part.
    """

    def __init__(self) -> None:
        self._out = io.BytesIO()
        self._boundaries: list[bytes] = []
        self._state = "headers"  # headers | text | hold | drop
        self._header = bytearray()
        self._hold = bytearray()
        self._written = 0  # bytes written for the current text part
        self.dropped_bytes = 0

    def feed(self, line: bytes) -> None:
        """Take the next line of the message, line ending included."""
        if self._boundaries and line.startswith(b"--") and self._at_boundary(line):
            return
        state = self._state
        if state == "headers":
            if line in (b"\n", b"\r\n"):
                self._end_headers(line)
            else:
                self._header.extend(line)
                if len(self._header) > _HEADER_LIMIT:
                    self._out.write(self._header)
                    self._header.clear()
                    self._start_text()
        elif state == "text":
            if self._written <= TEXT_LIMIT:
                self._out.write(line)
                self._written += len(line)
            else:
                self.dropped_bytes += len(line)
        elif state == "hold":
            self._hold.extend(line)
            if len(self._hold) > ATTACHMENT_LIMIT:
                self.dropped_bytes += len(self._hold)
                self._hold = bytearray()
                self._state = "drop"
        else:
            self.dropped_bytes += len(line)

    def getvalue(self) -> bytes:
        """Return the message as collected so far."""
        self._finish_part()
        if self._state == "headers" and self._header:
            self._out.write(self._header)
            self._header.clear()
        return self._out.getvalue()

    def _at_boundary(self, line: bytes) -> bool:
        """Handle a boundary line of any enclosing multipart; False if the line is not one."""
        mark = line.rstrip(b" \t\r\n")
        for index in range(len(self._boundaries) - 1, -1, -1):
            boundary = b"--" + self._boundaries[index]
            if mark == boundary:
                self._finish_part()
                del self._boundaries[index + 1 :]
                self._out.write(line)
                self._state = "headers"
                return True
            if mark == boundary + b"--":
                self._finish_part()
                del self._boundaries[index:]
                self._out.write(line)
                self._start_text()  # the epilogue
                return True
        return False

    def _finish_part(self) -> None:
        """Write out what the current part still holds back."""
        if self._state == "headers" and self._header:
            self._out.write(self._header)
            self._header.clear()
        if self._state == "hold":
            self._out.write(self._hold)
            self._hold = bytearray()

    def _start_text(self) -> None:
        self._state = "text"
        self._written = 0

    def _end_headers(self, blank: bytes) -> None:
        """Decide from a finished header block how to treat the body that follows."""
        header = bytes(self._header)
        self._header.clear()
        self._out.write(header)
        self._out.write(blank)
        fields = BytesHeaderParser(policy=policy.compat32).parsebytes(header)
        ctype = fields.get_content_type()
        boundary = fields.get_boundary()
        if ctype.startswith("multipart/") and boundary:
            self._boundaries.append(boundary.encode("ascii", errors="surrogateescape"))
            self._start_text()  # the preamble
        elif ctype in ("message/rfc822", "message/global"):
            self._state = "headers"  # the enclosed message has its own headers and parts
        elif ctype.startswith("text/"):
            self._start_text()
        else:
            self._state = "hold"
            self._hold = bytearray()


class MessageBuffer:
    """Collects one message line by line; once it passes `_SLIM_ABOVE` bytes a MimeSlimmer takes over.

    Most messages are small and are simply joined; only a large one pays for following its MIME
    structure line by line, and then nothing bigger than `_SLIM_ABOVE` is ever held unslimmed.
    A header field longer than `HEADER_FIELD_LIMIT` is cut there, and header lines past
    `HEADER_BLOCK_LIMIT` are left out: parsing and decoding a header costs many times its size. What
    was cut is listed in `cuts`, for the reader to report. A header block smaller than one field's
    limit cannot break either limit, so its lines are only counted; the first line past that size
    (or one the reader cut) replays the block through the per-field accounting.
    """

    def __init__(self) -> None:
        self._lines: list[bytes] = []
        self._size = 0
        self._slimmer: MimeSlimmer | None = None
        self._in_headers = True
        self._header_bytes = 0
        self._field = ""  # name of the header field being read
        self._field_bytes = 0
        self._field_dropped = 0
        self._block_dropped = 0
        self._long_lines = 0  # body lines the reader cut, and the bytes it left out of them
        self._long_dropped = 0
        self._cuts: list[str] = []
        self._accounting = False  # header lines go through `_header_line` (a block past one field's limit)

    def feed(self, line: bytes, dropped: int = 0) -> None:
        """Take the next line of the message, line ending included (`dropped`: bytes the reader cut off)."""
        if self._in_headers:
            # until then only header lines are held, so `_size` is the header block's size so far
            if not self._accounting and (dropped or self._size + len(line) > HEADER_FIELD_LIMIT):
                self._start_accounting()
            if self._accounting:
                kept = self._header_line(line, dropped)
                if kept is None:
                    return
                line = kept
            elif line in (b"\n", b"\r\n"):
                self._in_headers = False
        elif dropped:
            self._long_lines += 1
            self._long_dropped += dropped
        if self._slimmer is not None:
            self._slimmer.feed(line)
            return
        self._lines.append(line)
        self._size += len(line)
        if self._size > _SLIM_ABOVE:
            self._slimmer = MimeSlimmer()
            for held in self._lines:
                self._slimmer.feed(held)
            self._lines = []

    def _start_accounting(self) -> None:
        """Replay the header lines held so far through `_header_line`, and use it from now on."""
        self._accounting = True
        held, self._lines, self._size = self._lines, [], 0
        for line in held:
            kept = self._header_line(line, 0)
            if kept is not None:
                self._lines.append(kept)
                self._size += len(kept)

    @property
    def cuts(self) -> list[str]:
        """What was cut from this message, in words (empty when nothing was)."""
        notes = list(self._cuts)
        if self._long_lines:
            notes.append(
                f"{self._long_lines:,} body line(s) over the line limit lost {self._long_dropped:,} bytes"
            )
        return notes

    def _header_line(self, line: bytes, dropped: int) -> bytes | None:
        """Bound one line of the top-level header block; None when the line is left out."""
        if line in (b"\n", b"\r\n") or (not self._header_bytes and line.startswith(b"From ")):
            if line.strip():
                return line  # an mbox From_ line some readers keep: not a field
            self._end_field()
            self._in_headers = False
            if self._block_dropped:
                self._cuts.append(f"header lines past {HEADER_BLOCK_LIMIT:,} bytes were left out")
            return line
        if line[:1] not in (b" ", b"\t"):
            self._end_field()
            self._field = line.split(b":", 1)[0][:60].decode("ascii", errors="replace").strip()
        room = HEADER_FIELD_LIMIT - self._field_bytes
        cut = dropped + max(0, len(line) - max(room, 0))
        if room <= 0:
            self._field_dropped += cut
            return None
        if len(line) > room:
            line = line[:room].rstrip(b"\r\n") + b"\n"
        if self._header_bytes + len(line) > HEADER_BLOCK_LIMIT:
            self._block_dropped += len(line) + cut
            return None
        self._field_dropped += cut
        self._field_bytes += len(line)
        self._header_bytes += len(line)
        return line

    def _end_field(self) -> None:
        if self._field_dropped:
            total = self._field_bytes + self._field_dropped
            self._cuts.append(
                f"header {self._field or '?'} of {total:,} bytes was cut to {self._field_bytes:,}"
            )
        self._field_bytes = self._field_dropped = 0

    def getvalue(self) -> bytes:
        """Return the message as collected so far."""
        if self._in_headers and self._accounting:
            self._end_field()
        if self._slimmer is not None:
            return self._slimmer.getvalue()
        return b"".join(self._lines)


def slim(raw: bytes) -> bytes:
    """Return `raw` without the bodies of large non-text parts."""
    slimmer = MimeSlimmer()
    start = 0
    end = len(raw)
    while start < end:  # slicing line by line: io.BytesIO(raw) would copy all of raw first
        stop = raw.find(b"\n", start)
        stop = end if stop < 0 else stop + 1
        slimmer.feed(raw[start:stop])
        start = stop
    return slimmer.getvalue()


def derive_message_id(author: str, date: str, subject: str, body: str) -> str:
    """Build a stable id for a message that has no Message-ID, from what identifies it."""
    digest = hashlib.sha256("\x00".join((author, date, subject, body)).encode("utf-8", "surrogatepass"))
    return f"derived.{digest.hexdigest()[:32]}@triagebot.invalid"


def parse_message(raw: bytes, where: str) -> InboundMessage | ReadProblem:
    """Parse and decode one message; anything unreadable becomes a ReadProblem, never an exception.

    Example:
        >>> parse_message(b"Subject: hi\\nMessage-ID: <a@b>\\n\\nhello\\n", "x#1").text
        'hello'
    """
    try:
        return _parse(raw, where)
    except Exception as exc:  # the email package raises many kinds of error on malformed input
        return ReadProblem(where, f"cannot parse message: {type(exc).__name__}: {exc}")


def _parse(raw: bytes, where: str) -> InboundMessage | ReadProblem:
    if not raw or raw.isspace():  # not raw.strip(): that would copy a large message
        return ReadProblem(where, "empty message")
    data = slim(raw) if len(raw) > _SLIM_ABOVE else raw
    msg = _parse_single_part(data) or BytesParser(policy=policy.compat32).parsebytes(data)
    headers: dict[str, str] = {}
    for name, value in msg.raw_items():
        headers.setdefault(name.lower(), str(value))
    if not _MAIL_HEADERS.intersection(headers):
        return ReadProblem(where, "no mail headers: not an email message")
    if not any(headers.get(name, "").strip() for name in ("from", "subject", "message-id")):
        return ReadProblem(where, "no From, Subject or Message-ID header: the headers are cut off")
    original = body_text(msg)
    subject = decode_header_value(headers.get("subject", ""))
    author = format_author(headers.get("from", ""))
    date = headers.get("date", "")
    message_id = first_id(headers.get("message-id")) or derive_message_id(author, date, subject, original)
    return InboundMessage(
        channel=Channel.EMAIL,
        source=parse_list_id(headers.get("list-id")) or "",
        message_id=message_id,
        subject=subject,
        author=author,
        sent_at=parse_date(date),
        in_reply_to=first_id(headers.get("in-reply-to")),
        references=parse_ids(headers.get("references")),
        text=clean_body(original),
        original=original,
        raw=raw,
        where=where,
    )


# What the standard parser accepts as a header line: a field name and a colon, or a continuation.
_HEADER_FIELD = re.compile(r"[\041-\071\073-\176]+:|[\t ]")
# Where the parser would break a header line other than at \n (it splits with str.splitlines).
_ODD_BREAK = re.compile(r"\r(?!\n)|[\x0b\x0c\x1c-\x1e]")
_NESTED = ("multipart", "message")


def _parse_single_part(data: bytes) -> Message | None:
    """Build the Message the standard parser would build, for a plain single-part message.

    Most list mail is one text part, and for it the parser's line-by-line state machine does
    nothing but split the header block from the body. Anything else, or anything unusual in the
    headers (a line that is not a field, a line break other than LF or CRLF, an mbox From_ line),
    returns None and goes to the standard parser.
    """
    text = data.decode("ascii", errors="surrogateescape")  # exactly what BytesParser does first
    end = text.find("\n\n")
    end_crlf = text.find("\n\r\n")
    if end < 0 and end_crlf < 0:
        return None  # headers only, or no blank line at all: rare, leave it to the parser
    if end < 0 or (0 <= end_crlf < end):
        header_block, body = text[: end_crlf + 1], text[end_crlf + 3 :]
    else:
        header_block, body = text[: end + 1], text[end + 2 :]
    if _ODD_BREAK.search(header_block) or header_block.startswith("From "):
        return None
    msg = Message()
    field: list[str] = []  # the lines of one field, without their line breaks
    for bare in header_block.split("\n")[:-1]:  # other line breaks were ruled out above
        if not _HEADER_FIELD.match(bare):
            return None
        if bare[0] in " \t":
            if not field:
                return None
            field.append(bare)
            continue
        if field:
            msg.set_raw(*_field(field))
        field = [bare]
    if field:
        msg.set_raw(*_field(field))
    if msg.get_content_maintype() in _NESTED:
        return None
    msg.set_payload(body)
    return msg


def _field(lines: list[str]) -> tuple[str, str]:
    """(name, value) of one header field, as `compat32.header_source_parse` gives it for these lines.

    A field on one line (nearly all) is split here; a folded one goes to the policy, line breaks
    put back.
    """
    if len(lines) == 1:
        name, value = lines[0].split(":", 1)
        return name, value.lstrip(" \t").rstrip("\r\n")
    return policy.compat32.header_source_parse([f"{line}\n" for line in lines])


_BODY_PREFERENCE = ("plain", "html")


def body_text(msg: Message) -> str:
    """Return the decoded body: text/plain preferred, else HTML made into text, else ''."""
    part = _preferred_body(msg) or _first_text_part(msg)
    if part is None:
        return ""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text = decode_bytes(payload, content_charset(part))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text.rstrip()


# A Content-Type of the plain shape nearly all mail has: `type/subtype; charset=X` (X a bare token or
# in quotes), then at most some more `name=token` or `name="text"` parameters, on one line.
_PLAIN_CONTENT_TYPE = re.compile(
    r"[ \t]*[\w.+-]+/[\w.+-]+[ \t]*;[ \t]*charset[ \t]*=[ \t]*(\"?)([\w.:+-]+)\1[ \t]*"
    r"(?:;[ \t]*[\w.-]+[ \t]*=[ \t]*(?:\"[^\"\\;]*\"|[\w.:+/-]+)[ \t]*)*",
    re.ASCII | re.IGNORECASE,
)


def content_charset(part: Message) -> str | None:
    """What `part.get_content_charset()` returns, read straight off a Content-Type of the plain shape.

    The standard library splits, unquotes, RFC 2231-decodes and re-quotes every parameter on each
    call, a few percent of reading a small message; any other Content-Type still goes to it.
    """
    value = part.get("content-type")
    if isinstance(value, str) and (plain := _PLAIN_CONTENT_TYPE.fullmatch(value)) is not None:
        return plain.group(2).lower()
    return part.get_content_charset()


def _preferred_body(msg: Message) -> Message | None:
    """The part a mail client shows as the body: the first plain text part outside attachments, else HTML.

    This is what `EmailMessage.get_body` does; it cannot be used on the `compat32` messages we parse.
    """
    best: Message | None = None
    best_rank = len(_BODY_PREFERENCE)
    for rank, part in _body_candidates(msg):
        if rank < best_rank:
            best, best_rank = part, rank
            if rank == 0:
                break
    return best


def _body_candidates(part: Message) -> Iterator[tuple[int, Message]]:
    """Text parts that may be the body, with their rank in `_BODY_PREFERENCE`, in message order.

    Attachments are passed over, enclosed messages are not entered, and of a multipart/related
    only the first part (the root document) counts.
    """
    if part.get_content_disposition() == "attachment":
        return
    maintype, _, subtype = part.get_content_type().partition("/")  # always "type/subtype"
    if maintype == "text":
        if subtype in _BODY_PREFERENCE:
            yield _BODY_PREFERENCE.index(subtype), part
        return
    if maintype != "multipart" or not part.is_multipart():
        return
    subparts = part.get_payload()
    if not isinstance(subparts, list):
        return
    if subtype == "related":
        subparts = subparts[:1]
    for subpart in subparts:
        if isinstance(subpart, Message):
            yield from _body_candidates(subpart)


def _first_text_part(msg: Message) -> Message | None:
    """Find a text part when no body is found (say, the only text is an attached log)."""
    for wanted in _BODY_PREFERENCE:
        for part in msg.walk():
            if not part.is_multipart() and part.get_content_type() == f"text/{wanted}":
                return part
    return None
