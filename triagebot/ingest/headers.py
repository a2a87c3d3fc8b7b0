"""Decode raw header values: RFC 2047 words (broken ones too), addresses, Message-IDs and dates.

Raw values are used on purpose instead of what `email.policy.default` makes of them: the policy
drops the name in Mailman's ``user at host (Name)``, gives up on encoded words split in the middle
of a character, and cannot read 8-bit Shift_JIS or EUC-JP sent without any encoding.
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime
from email.utils import parseaddr, parsedate_to_datetime

from triagebot.ingest.charsets import decode_bytes

# An encoded word; a missing "?=" at the end of the value or before a space is tolerated.
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)(?:\?=|(?=\s)|$)")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_CONTROL_WS = re.compile(r"[\t\r\n]+")
_PIPERMAIL_FROM = re.compile(r"^\s*(\S+) at (\S+?)\s*(?:\((.*)\))?\s*$")
_NAME_ADDR = re.compile(r"^(.*?)<\s*([^<>\s]+@[^<>\s]+?)\s*>\s*$")
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")


def unfold(raw: str) -> str:
    """Undo header folding so a value is one line, and turn raw 8-bit bytes into real characters.

    The parser hands 8-bit header bytes over as lone surrogates; left in, they would reach the
    database in a Message-ID or an address and fail to encode there.
    """
    value = _FOLD.sub("", raw).replace("\r", "").replace("\n", "")
    if not value.isascii():
        value = decode_bytes(value.encode("utf-8", errors="surrogateescape"), None)
    return value


def decode_header_value(raw: str) -> str:
    """Decode a raw header value to text: encoded words, raw 8-bit bytes and stray escapes alike.

    Adjacent encoded words in the same charset are joined as bytes before decoding, because
    Japanese mailers split ISO-2022-JP and UTF-8 words in the middle of a character.
    """
    value = unfold(raw)
    out: list[str] = []
    pending_charset: str | None = None
    pending = bytearray()
    pos = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            out.append(decode_bytes(bytes(pending), pending_charset))
            pending.clear()
            pending_charset = None

    for m in _ENCODED_WORD.finditer(value):
        between = value[pos : m.start()]
        if between and not (pending_charset is not None and between.isspace()):
            flush()
            out.append(_decode_literal(between))
        charset = m.group(1).lower()
        if pending_charset is not None and charset != pending_charset:
            flush()
        pending_charset = charset
        pending.extend(_word_bytes(m.group(2), m.group(3)))
        pos = m.end()
    flush()
    if pos < len(value):
        out.append(_decode_literal(value[pos:]))
    return _CONTROL_WS.sub(" ", "".join(out)).strip()


def _decode_literal(text: str) -> str:
    """Decode text outside encoded words; it may hold raw 8-bit bytes (as surrogates) or JIS escapes."""
    if text.isascii() and "\x1b" not in text:
        return text
    return decode_bytes(text.encode("utf-8", errors="surrogateescape"), None)


def _word_bytes(encoding: str, payload: str) -> bytes:
    """Return the bytes an encoded word carries, forgiving bad padding and stray characters."""
    data = payload.encode("ascii", errors="replace")
    if encoding in "bB":
        data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        if len(data) % 4 == 1:
            data = data[:-1]
        data += b"=" * (-len(data) % 4)
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            return b""
    return binascii.a2b_qp(data, header=True)


def format_author(raw: str) -> str:
    """Render a From value as ``Name <addr>`` (or just the address), including Mailman's ``at`` form."""
    value = unfold(raw).strip()
    if not value:
        return ""
    m = _PIPERMAIL_FROM.match(value)
    if m is not None and "@" not in m.group(1):
        address = f"{m.group(1)}@{m.group(2)}"
        name = _clean_name(decode_header_value(m.group(3) or ""))
        return f"{name} <{address}>" if name else address
    m = _NAME_ADDR.match(value)
    if m is not None:
        name, address = m.group(1), m.group(2)
    else:
        name, address = parseaddr(value)
    if not address or "@" not in address:
        return decode_header_value(value)
    name = _clean_name(decode_header_value(name))
    return f"{name} <{address}>" if name else address


def _clean_name(name: str) -> str:
    """Drop the quotes and stray spaces around a display name."""
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return name.strip()


def parse_ids(raw: str | None) -> tuple[str, ...]:
    """Return the Message-IDs in a header value, without angle brackets, in order, without repeats."""
    if not raw:
        return ()
    value = unfold(raw)
    found = _ANGLE_ID.findall(value)
    if not found:
        found = [tok.strip("<>,;") for tok in value.split() if "@" in tok]
    seen: dict[str, None] = {}
    for mid in found:
        if mid:
            seen.setdefault(mid, None)
    return tuple(seen)


def first_id(raw: str | None) -> str | None:
    """Return the first Message-ID in a value (In-Reply-To often carries a trailing comment)."""
    ids = parse_ids(raw)
    return ids[0] if ids else None


def parse_date(raw: str | None) -> datetime | None:
    """Parse an RFC 5322 date to an aware datetime (UTC when the zone is unknown); None if unreadable."""
    if not raw:
        return None
    try:
        parsed = parsedate_to_datetime(unfold(raw).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_list_id(raw: str | None) -> str | None:
    """Return the list identifier from a List-Id value (``Name <users.example.org>``)."""
    if not raw:
        return None
    value = unfold(raw)
    m = _ANGLE_ID.search(value)
    found = m.group(1) if m else value.strip()
    return found or None
