"""The reply message: subject prefixes never stack, threading headers, charsets and the UTF-8 fallback."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest

from triagebot.mail.message import Reply, build_message, reply_subject

WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("install fails", "Re: install fails"),
        ("Re: install fails", "Re: install fails"),
        ("RE: Re: re:install fails", "Re: install fails"),
        ("Re[2]: Re^3: install fails", "Re: install fails"),
        ("返信: 返信：セットアップが失敗します", "Re: セットアップが失敗します"),
        ("Ｒｅ： Re: 質問", "Re: 質問"),
        ("AW: Sv: agent down", "Re: agent down"),
        ("  Re:   spaces   inside  ", "Re: spaces inside"),
        ("Regarding the SSVM", "Re: Regarding the SSVM"),  # "Re" inside a word is not a prefix
        ("Fwd: Re: template", "Re: Fwd: Re: template"),  # a forward is content, left alone
        ("", "Re:"),
    ],
)
def test_reply_subject(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


def _reply(**changes: object) -> Reply:
    values: dict[str, object] = {
        "from_address": "CloudStack triage <triage@example.org>",
        "to": ("users@lists.example.org",),
        "subject": "Re: KVM ホストが追加できません",
        "body": "KVM ホストの追加に失敗する場合は cloudstack-agent のログを確認してください。",
        "message_id": "abc.triagebot@example.org",
        "in_reply_to": "q2@example.jp",
        "references": ("root@example.jp", "<q2@example.jp>"),
        "date": WHEN,
    }
    values.update(changes)
    return Reply(**values)  # type: ignore[arg-type]


def _parsed(reply: Reply):  # type: ignore[no-untyped-def]
    return BytesParser(policy=policy.default).parsebytes(build_message(reply).as_bytes())


def test_headers_thread_the_reply() -> None:
    msg = _parsed(_reply())
    assert msg["Message-ID"] == "<abc.triagebot@example.org>"
    assert msg["In-Reply-To"] == "<q2@example.jp>"
    assert msg["References"] == "<root@example.jp> <q2@example.jp>"  # the repeat is dropped
    assert msg["Subject"] == "Re: KVM ホストが追加できません"
    assert msg["To"] == "users@lists.example.org"
    assert msg["Date"].datetime == WHEN
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content().strip() == _reply().body


def test_iso_2022_jp_when_the_list_asks_and_the_text_fits() -> None:
    raw = build_message(_reply(charset="iso-2022-jp")).as_bytes()
    assert b"\x1b$B" in raw  # JIS escape sequences: really ISO-2022-JP on the wire
    assert raw.isascii()
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert msg.get_content_charset() == "iso-2022-jp"
    assert msg.get_content().strip() == _reply().body


def test_the_subject_is_iso_2022_jp_too_and_folded_when_long() -> None:
    subject = "Re: " + "管理サーバのセットアップで cloudstack-setup-databases が失敗します" * 2
    raw = build_message(_reply(charset="iso-2022-jp", subject=subject)).as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    lines = head.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(b"Subject: "))
    folded = [lines[start], *(line for line in lines[start + 1 :] if line[:1] in (b" ", b"\t"))]
    assert all(b"=?iso-2022-jp?b?" in line for line in folded) and len(folded) > 1
    assert all(len(line) <= 78 for line in folded)
    assert b"utf-8" not in head.lower()
    assert BytesParser(policy=policy.default).parsebytes(raw)["Subject"] == subject


def test_an_ascii_subject_stays_plain_on_an_iso_2022_jp_list() -> None:
    raw = build_message(_reply(charset="iso-2022-jp", subject="Re: SSVM stuck")).as_bytes()
    assert b"Subject: Re: SSVM stuck" in raw


def test_text_iso_2022_jp_cannot_hold_falls_back_to_utf8() -> None:
    body = "設定は 4.18～4.19 で同じです。"  # U+FF5E FULLWIDTH TILDE has no ISO-2022-JP code
    msg = _parsed(_reply(charset="iso-2022-jp", body=body))
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content().strip() == body


def test_a_reply_needs_a_recipient_and_a_known_charset() -> None:
    with pytest.raises(ValueError, match="recipient"):
        build_message(_reply(to=()))
    with pytest.raises(ValueError, match="unsupported charset"):
        build_message(_reply(charset="koi8-r"))
