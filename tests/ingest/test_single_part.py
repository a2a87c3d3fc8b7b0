"""The single-part shortcut builds exactly the Message the standard parser builds, or steps aside."""

from __future__ import annotations

from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

import pytest

from triagebot.ingest.mime import _parse_single_part

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mail"

TAKEN = {
    "plain": b"From: a@example.org\nSubject: hi\nMessage-ID: <1@x>\n\nbody line\n\nsecond\n",
    "crlf": b"From: a@example.org\r\nSubject: hi\r\nMessage-ID: <2@x>\r\n\r\nbody\r\nmore\r\n",
    "folded": b"Subject: a very\n long subject\n\tthree lines\nFrom: a@example.org\n\nbody\n",
    "eight-bit header": "Subject: 日本語の件名\nFrom: 山田 <y@example.jp>\n\n本文\n".encode("euc-jp"),
    "qp": (
        b"From: a@example.org\nContent-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =\nsoft break\n"
    ),
    "html": b"From: a@example.org\nContent-Type: text/html; charset=us-ascii\n\n<p>Hello <b>there</b></p>\n",
    "empty body": b"From: a@example.org\nSubject: x\n\n",
    "duplicate headers": b"Received: one\nReceived: two\nSubject: x\nSubject: y\n\nbody\n",
    "form feed in body": b"Subject: x\n\nbefore\x0cafter\nline\x1cend\n",
    "empty values": b"Subject:\nX-Blank: \t \nX-Colons: a: b:c\nFrom: a@example.org\n\nbody\n",
    "empty values, crlf": b"Subject:\r\nX-Blank:  \r\nX-Tab:\tv \r\n\r\nbody\r\n",
    "folded, crlf": b"Subject: one\r\n two\r\n\t three \r\nFrom: a@example.org\r\n\r\nbody\r\n",
}

DECLINED = {
    "headers only": b"From: a@example.org\nSubject: x\n",
    "leading blank line": b"\nFrom: a@example.org\n\nbody\n",
    "not a header line": b"From: a@example.org\nthis is not a header\n\nbody\n",
    "bare CR": b"From: a@example.org\rSubject: x\n\nbody\n",
    "mbox From_ line": b"From a@example.org Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n",
    "continuation first": b" folded\nSubject: x\n\nbody\n",
    "multipart": (
        b'Content-Type: multipart/alternative; boundary="b"\nSubject: x\n\n--b\n'
        b"Content-Type: text/plain\n\nplain\n--b--\n"
    ),
    "enclosed message": b"Content-Type: message/rfc822\nSubject: x\n\nSubject: inner\n\ninner body\n",
    "form feed in headers": b"Subject: x\x0cy\nFrom: a@example.org\n\nbody\n",
}


def _standard(data: bytes) -> Message:
    return BytesParser(policy=policy.compat32).parsebytes(data)


def _same(ours: Message, theirs: Message) -> None:
    assert ours.raw_items() and list(ours.raw_items()) == list(theirs.raw_items())
    assert ours.get_payload() == theirs.get_payload()
    assert ours.get_payload(decode=True) == theirs.get_payload(decode=True)
    assert ours.get_content_type() == theirs.get_content_type()
    assert ours.get_content_charset() == theirs.get_content_charset()


@pytest.mark.parametrize("name", sorted(TAKEN))
def test_shortcut_builds_what_the_standard_parser_builds(name: str) -> None:
    data = TAKEN[name]
    ours = _parse_single_part(data)
    assert ours is not None, f"{name} should take the shortcut"
    _same(ours, _standard(data))


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_shortcut_steps_aside_for_anything_unusual(name: str) -> None:
    data = DECLINED[name]
    assert _parse_single_part(data) is None


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.eml")), ids=lambda p: p.name)
def test_fixture_messages_read_the_same_either_way(path: Path) -> None:
    data = path.read_bytes()
    ours = _parse_single_part(data)
    if ours is not None:
        _same(ours, _standard(data))


def test_most_fixture_messages_take_the_shortcut() -> None:
    """The comparison above is not vacuous: the single-part fixtures do go through the shortcut."""
    taken = [p.name for p in FIXTURES.glob("*.eml") if _parse_single_part(p.read_bytes()) is not None]
    assert len(taken) >= 6, taken


@pytest.mark.parametrize(
    "content_type",
    [
        'text/plain; charset="utf-8"',
        "text/plain; charset=UTF-8; format=flowed",
        "text/plain;charset=us-ascii",
        "TEXT/HTML; CHARSET=Shift_JIS",
        "text/plain; charset=utf-8; delsp=yes; format=flowed",
        'text/plain; charset="ISO-2022-JP"; name="notes.txt"',
        "text/plain; charset=utf-8; charset=latin-1",  # the first one counts, as in the standard library
        # not the plain shape: the standard library answers
        "text/plain",
        "text/plain; charset*=utf-8''utf-8",
        "text/plain; format=flowed; charset=utf-8",
        'text/plain; charset="utf-8"; name="a;b"',
        'text/plain; charset="utf-8',
        "text/plain; charset=utf-8 (comment)",
        'text/plain; charset=""',
        "text/plain; charset=windows-1252;",
        "text/plain;\n charset=utf-8",
        "text/plain; charset=ütf-8",
    ],
)
def test_the_charset_shortcut_answers_as_the_standard_library(content_type: str) -> None:
    from email.message import Message

    from triagebot.ingest.mime import content_charset

    part = Message()
    part["Content-Type"] = content_type
    assert content_charset(part) == part.get_content_charset()


def test_the_charset_shortcut_agrees_on_many_shapes() -> None:
    """Random Content-Type values built from the pieces real mail uses: both ways always agree."""
    import random
    from email.message import Message

    from triagebot.ingest.mime import _PLAIN_CONTENT_TYPE, content_charset

    rng = random.Random(7)
    types = ["text/plain", "text/html", "TEXT/Plain", "text/x-log"]
    names = ["charset", "CHARSET", "Charset", "charset*", "format", "delsp", "name"]
    values = ["utf-8", '"utf-8"', "ISO-2022-JP", '"Shift_JIS"', "flowed", '"a;b"', '"x\\"y"', "", '"', "é"]
    spaces = ["", " ", "\t", "  "]
    fast = 0
    for _ in range(3000):
        value = rng.choice(types)
        for _ in range(rng.randint(0, 3)):
            value += f"{rng.choice(spaces)};{rng.choice(spaces)}{rng.choice(names)}{rng.choice(spaces)}="
            value += f"{rng.choice(spaces)}{rng.choice(values)}"
        value += rng.choice(["", ";", " "])
        part = Message()
        part["Content-Type"] = value
        assert content_charset(part) == part.get_content_charset(), value
        fast += _PLAIN_CONTENT_TYPE.fullmatch(value) is not None
    assert fast > 100  # the shortcut is taken on a good share of them
