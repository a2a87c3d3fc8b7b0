"""Read Pony Mail JSON (the Apache list archive): thread results, search/stats results, single emails.

Pony Mail already decoded the mail, so each email's fields are used as they are; when an email
carries its raw ``source``, that is parsed instead and the fields only fill gaps. A JSON document
cannot be read as a stream with the standard library, so one file is loaded whole; Pony Mail
results are one thread or one page of a search, which keeps that small.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from triagebot.core.models import Channel, InboundMessage
from triagebot.core.text import clean_body
from triagebot.ingest.headers import decode_header_value, first_id, format_author, parse_date, parse_ids
from triagebot.ingest.mime import HEADER_FIELD_LIMIT, TEXT_LIMIT, derive_message_id, parse_message
from triagebot.ingest.records import ReadProblem


def read_ponymail_json(data: bytes, where: str) -> Iterator[InboundMessage | ReadProblem]:
    """Yield one record per email in a Pony Mail JSON document; problems for what cannot be used."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield ReadProblem(where, f"not valid JSON: {exc}")
        return
    emails = _emails_in(document)
    if emails is None:
        yield ReadProblem(where, "JSON holds no Pony Mail emails (expected an 'emails' list)")
        return
    for number, email in enumerate(emails, start=1):
        place = f"{where}#{number}"
        if not isinstance(email, Mapping):
            yield ReadProblem(place, f"email entry is a {type(email).__name__}, not an object")
            continue
        why = entry_problem(email)
        if why is not None:
            mid = email.get("mid") or email.get("message-id")
            named = f" (mid {str(mid)[:80]})" if isinstance(mid, str) and mid else ""
            yield ReadProblem(place, f"bad Pony Mail entry{named}: {why}; skipped")
            continue
        item: InboundMessage | ReadProblem
        try:
            item = email_to_record(email, place)
        except (ValueError, TypeError) as exc:  # odd field values; UnicodeError is a ValueError
            item = ReadProblem(place, f"cannot use this email: {type(exc).__name__}: {exc}")
        yield item
        cuts = [
            f"{key} of {len(email[key]):,} characters was cut to {limit:,}"
            for key, limit in _LIMITS.items()
            if isinstance(email.get(key), str) and len(email[key]) > limit
        ]
        if cuts and isinstance(item, InboundMessage):
            yield ReadProblem(place, f"stored, but cut to fit the limits: {'; '.join(cuts)}", kept=True)


# Fields that are text when present (null is taken as absent), and how long each may be.
_TEXT_FIELDS = ("subject", "from", "from_raw", "message-id", "mid", "in-reply-to", "date", "list", "list_raw")
_LIMITS = {"subject": HEADER_FIELD_LIMIT, "body": TEXT_LIMIT, "source": TEXT_LIMIT}


def _type_name(value: Any) -> str:
    """How a JSON value reads in a report: null, an object, a list, a number..."""
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, int | float) else "a string"


def entry_problem(email: Mapping[str, Any]) -> str | None:
    """Why one Pony Mail entry cannot be stored (wrong types, nothing to read), or None when it can.

    An entry needs its raw ``source``, a ``body`` string, or (a search result) a subject and a
    Message-ID; the other fields are optional but must have the right type when present, so a
    broken export never becomes an empty pending question.
    """
    source, body = email.get("source"), email.get("body")
    if source is not None and not isinstance(source, str):
        return f"source is {_type_name(source)}, not a string"
    if "body" in email and not isinstance(body, str):
        return f"body is {_type_name(body)}, not a string"
    for key in _TEXT_FIELDS:
        value = email.get(key)
        if value is not None and not isinstance(value, str):
            return f"{key} is {_type_name(value)}, not a string"
    epoch = email.get("epoch")
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int | float)):
        return f"epoch is {_type_name(epoch)}, not a number"
    references = email.get("references")
    if references is not None and not isinstance(references, str | list):
        return f"references is {_type_name(references)}, not a string or a list"
    if isinstance(source, str) and source.strip():
        return None
    subject = (email.get("subject") or "").strip()
    if not isinstance(body, str):
        # Search results list emails without bodies: the subject and Message-ID are still worth keeping.
        if subject and email.get("message-id"):
            return None
        return "no body and no source" + ("" if subject else ", and no subject")
    if not body.strip() and not subject:
        return "empty: no subject, body or source"
    return None


def _emails_in(document: Any) -> list[Any] | None:
    """Find the list of emails in any of the result shapes Pony Mail returns."""
    if isinstance(document, list):
        return document
    if not isinstance(document, Mapping):
        return None
    emails = document.get("emails")
    if isinstance(emails, list):
        return emails
    if isinstance(emails, Mapping):
        return list(emails.values())
    thread = document.get("thread")
    if isinstance(thread, Mapping):
        found: list[Any] = []
        _walk_thread(thread, found)
        if found:
            return found
    if any(key in document for key in ("body", "message-id", "source")):
        return [document]
    return None


def _walk_thread(node: Mapping[str, Any], found: list[Any]) -> None:
    """Collect the emails of a thread tree whose nodes carry bodies (older Pony Mail)."""
    if "body" in node or "source" in node:
        found.append(node)
    children = node.get("children")
    if isinstance(children, list):
        for child in children:
            if isinstance(child, Mapping):
                _walk_thread(child, found)


def email_to_record(email: Mapping[str, Any], where: str) -> InboundMessage | ReadProblem:
    """Turn one Pony Mail email object into an InboundMessage."""
    dumped = json.dumps(email, ensure_ascii=False, sort_keys=True, default=str)
    raw = dumped.encode("utf-8", errors="backslashreplace")  # a lone surrogate stays a JSON escape
    list_id = _list_id(email)
    source = _text(email, "source")
    if source:
        parsed = parse_message(source[:TEXT_LIMIT].encode("utf-8"), where)
        if isinstance(parsed, InboundMessage):
            return replace(parsed, source=parsed.source or list_id or "")
        if not isinstance(email.get("body"), str):
            return ReadProblem(where, f"source cannot be parsed ({parsed.why}) and there is no body")
    body = (_text(email, "body") or "")[:TEXT_LIMIT].replace("\r\n", "\n").replace("\r", "\n").rstrip()
    subject = decode_header_value((_text(email, "subject") or "")[:HEADER_FIELD_LIMIT])
    author = format_author(_text(email, "from") or _text(email, "from_raw") or "")
    sent_at = _sent_at(email)
    message_id = first_id(_text(email, "message-id")) or derive_message_id(
        author, _text(email, "date") or str(email.get("epoch", "")), subject, body
    )
    return InboundMessage(
        channel=Channel.EMAIL,
        source=list_id or "",
        message_id=message_id,
        subject=subject,
        author=author,
        sent_at=sent_at,
        in_reply_to=first_id(_text(email, "in-reply-to")),
        references=_references(email.get("references")),
        text=clean_body(body),
        original=body,
        raw=raw,
        where=where,
    )


def _text(email: Mapping[str, Any], key: str) -> str | None:
    """A string field; JSON may carry lone surrogates (``"\\udc80"``), which become U+FFFD."""
    value = email.get(key)
    if not isinstance(value, str):
        return None
    return value.encode("utf-8", errors="surrogatepass").decode("utf-8", errors="replace")


def _references(value: Any) -> tuple[str, ...]:
    """References come as one header string or, in some exports, a list of ids."""
    if isinstance(value, str):
        return parse_ids(value)
    if isinstance(value, list):
        return parse_ids(
            " ".join(item if item.startswith("<") else f"<{item}>" for item in value if isinstance(item, str))
        )
    return ()


def _sent_at(email: Mapping[str, Any]) -> datetime | None:
    """Prefer the numeric epoch; Pony Mail's ``date`` is ``YYYY/MM/DD HH:MM:SS`` in UTC."""
    epoch = email.get("epoch")
    if isinstance(epoch, int | float) and not isinstance(epoch, bool):
        try:
            return datetime.fromtimestamp(epoch, tz=UTC)
        except (OverflowError, OSError, ValueError):
            pass
    date = _text(email, "date")
    if not date:
        return None
    try:
        return datetime.strptime(date.strip(), "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return parse_date(date)


def _list_id(email: Mapping[str, Any]) -> str | None:
    for key in ("list_raw", "list"):
        value = _text(email, key)
        if value:
            return value.strip().strip("<>") or None
    return None
