"""Charset traps, header decoding and body choice, each on bytes shaped like what mailers really send."""

from __future__ import annotations

import base64
import tracemalloc
from email.message import EmailMessage
from pathlib import Path

import pytest

from triagebot.core.models import InboundMessage
from triagebot.ingest.charsets import codec_for_label, decode_bytes, decode_iso2022jp, guess_decode
from triagebot.ingest.headers import decode_header_value, format_author, parse_date, parse_ids
from triagebot.ingest.htmltext import html_to_text
from triagebot.ingest.mime import ATTACHMENT_LIMIT, parse_message, slim
from triagebot.ingest.records import ReadProblem

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mail"


def parse_fixture(name: str) -> InboundMessage:
    result = parse_message((FIXTURES / name).read_bytes(), name)
    assert isinstance(result, InboundMessage), result
    return result


# the fixture files, one trap each ---------------------------------------------------------------


def test_iso2022jp_with_nec_characters_in_body_and_split_subject() -> None:
    record = parse_fixture("iso2022jp_nec.eml")
    assert record.subject == "㈱テスト：①ホスト追加が失敗する"
    assert record.author == "山田太郎 <yamada@example.jp>"
    assert record.text.splitlines() == [
        "お世話になっております。㈱テストの山田です。",
        "① CloudStack 4.18.1.0 を Rocky Linux 8.9 に入れました。",
        "② KVM ホストを追加すると失敗します。",
    ]
    assert "\ufffd" not in record.original


def test_python_codecs_really_fail_on_nec_characters_in_iso2022jp() -> None:
    jis = b"\x1b$B\x2d\x21\x2d\x6a\x1b(B"  # ① ㈱ as Windows mailers write them
    for codec in ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2004", "iso2022_jp_3"):
        with pytest.raises(UnicodeDecodeError):
            jis.decode(codec)
    assert decode_iso2022jp(jis) == "①㈱"


def test_shift_jis_label_is_read_as_cp932() -> None:
    record = parse_fixture("shift_jis_label.eml")
    assert record.subject == "管理サーバ①"
    assert record.text == "①管理サーバが起動しません。～ログは下記です。"


def test_unknown_charset_label_falls_back_to_detection() -> None:
    record = parse_fixture("unknown_charset.eml")
    assert record.text == "セカンダリストレージの NFS がマウントできません。"


def test_utf8_label_on_cp932_bytes() -> None:
    record = parse_fixture("lying_utf8_label.eml")
    assert record.text == "仮想ルータが起動しません。①と㈱も入っています。"


def test_base64_body_and_rfc2047_utf8_subject_and_q_name() -> None:
    record = parse_fixture("base64_utf8.eml")
    assert record.subject == "SSVM ne démarre pas"
    assert record.author == "René Dupont <rene@example.fr>"
    assert record.text.endswith("the SSVM never starts.\nÉtat: Stopped")


def test_quoted_printable_latin1_body_and_subject() -> None:
    record = parse_fixture("quoted_printable.eml")
    assert record.subject == "Grüße aus München"
    assert record.text == (
        "Die Installation von CloudStack 4.18 auf Debian 12 bricht mit einem sehr langen Fehler ab. "
        "Schöne Grüße"
    )


def test_multipart_alternative_with_only_html() -> None:
    record = parse_fixture("html_only.eml")
    assert record.text == (
        "Hello list,\n\nThe management server on CentOS 7 fails:\nUnable to start VM\n\nVersion 4.17.2.0"
    )
    assert "alert" not in record.original and "color: red" not in record.original
    assert "> Which version?" in record.original
    assert record.in_reply_to == "q-0@example.org"  # the trailing comment is ignored


# bytes decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Shift_JIS", "cp932"),
        ("sjis", "cp932"),
        ("x-sjis", "cp932"),
        ("EUC-JP", "euc_jis_2004"),
        ("ISO-2022-JP", "iso-2022-jp"),
        ('"utf-8"', "utf-8"),
        ("us-ascii", "utf-8"),
        ("x-unknown-charset", None),
        ("unknown-8bit", None),
        (None, None),
    ],
)
def test_codec_for_label(label: str | None, expected: str | None) -> None:
    assert codec_for_label(label) == expected


@pytest.mark.parametrize(
    ("data", "label", "expected"),
    [
        ("テスト①".encode("cp932"), "shift_jis", "テスト①"),
        ("﨑田さんの剝離".encode("euc_jis_2004"), "euc-jp", "﨑田さんの剝離"),  # not in plain euc_jp
        ("設定を確認しました".encode("euc_jp"), "iso-8859-1", "設定を確認しました"),  # lying Western label
        ("ログを見ました".encode(), "us-ascii", "ログを見ました"),
        ("管理サーバ".encode("iso2022_jp"), "us-ascii", "管理サーバ"),
        ("Café crème".encode("latin-1"), "utf-8", "Café crème"),
        (b"plain text", "x-bogus", "plain text"),
        (b"\xef\xbb\xbfBOM first", None, "BOM first"),
    ],
)
def test_decode_bytes(data: bytes, label: str | None, expected: str) -> None:
    assert decode_bytes(data, label) == expected


def test_guess_prefers_the_reading_that_looks_japanese() -> None:
    euc = "ハイパーバイザは KVM です。".encode("euc_jp")
    assert euc.decode("cp932")  # the CP932 reading decodes too: it is half-width katakana garbage
    assert guess_decode(euc) == "ハイパーバイザは KVM です。"


def test_undecodable_bytes_never_raise() -> None:
    text = decode_bytes(b"\xff\xfe\xfd\x80\x81 broken", "utf-8")
    assert "broken" in text


# headers ----------------------------------------------------------------------------------------


def _b(charset: str, text: str, codec: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(codec)).decode()}?="


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (_b("ISO-2022-JP", "返信ありがとうございます", "iso2022_jp"), "返信ありがとうございます"),
        ("=?utf-8?q?caf=C3=A9_cr=C3=A8me?=", "café crème"),
        (_b("utf-8", "一", "utf-8") + " " + _b("utf-8", "二", "utf-8"), "一二"),  # space between words goes
        ("Re: " + _b("utf-8", "質問", "utf-8") + " (4.18)", "Re: 質問 (4.18)"),
        ("=?utf-8?B?44OG44K544OI", "テスト"),  # no closing ?= and no padding
        ("=?x-unknown?B?" + base64.b64encode("設定".encode("cp932")).decode() + "?=", "設定"),
        ("Subject with\r\n folding", "Subject with folding"),
        ("no encoding at all", "no encoding at all"),
    ],
)
def test_decode_header_value(raw: str, expected: str) -> None:
    assert decode_header_value(raw) == expected


def test_decode_header_value_joins_words_split_inside_a_character() -> None:
    data = "管理サーバ".encode()
    raw = (
        f"=?UTF-8?B?{base64.b64encode(data[:4]).decode()}?= =?UTF-8?B?{base64.b64encode(data[4:]).decode()}?="
    )
    assert decode_header_value(raw) == "管理サーバ"


def test_raw_8bit_header_is_decoded() -> None:
    raw_bytes = b"Subject: " + "仮想マシン".encode("cp932") + b"\nMessage-ID: <h@x>\n\nbody\n"
    record = parse_message(raw_bytes, "raw8bit")
    assert isinstance(record, InboundMessage) and record.subject == "仮想マシン"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("yamada at example.jp (Yamada Taro)", "Yamada Taro <yamada@example.jp>"),
        ("yamada at example.jp", "yamada@example.jp"),
        ('"Doe, John" <john@example.org>', "Doe, John <john@example.org>"),
        ("john@example.org (John Doe)", "John Doe <john@example.org>"),
        (_b("ISO-2022-JP", "山田", "iso2022_jp") + " <yamada@example.jp>", "山田 <yamada@example.jp>"),
        ("plain@example.org", "plain@example.org"),
        ("", ""),
    ],
)
def test_format_author(raw: str, expected: str) -> None:
    assert format_author(raw) == expected


def test_ids_and_dates() -> None:
    assert parse_ids("<a@x>\r\n <b@x> <a@x>") == ("a@x", "b@x")
    assert parse_ids("a@x b@x") == ("a@x", "b@x")
    assert parse_ids("garbage without ids") == ()
    parsed = parse_date("Tue, 05 Mar 2024 10:00:00 -0000")
    assert parsed is not None and parsed.utcoffset() is not None
    assert parse_date("not a date") is None


# bodies -----------------------------------------------------------------------------------------


def test_only_text_is_an_attachment_get_body_returns_none() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg["Message-ID"] = "<att@x>"
    msg.set_content(
        "2024-03-05 ERROR Unable to add the host\n", disposition="attachment", filename="agent.log"
    )
    assert msg.get_body(preferencelist=("plain", "html")) is None

    record = parse_message(msg.as_bytes(), "att")
    assert isinstance(record, InboundMessage)
    assert record.text == "2024-03-05 ERROR Unable to add the host"


def test_image_only_message_has_an_empty_body() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg["Subject"] = "screenshot"
    msg["Message-ID"] = "<img@x>"
    msg.add_attachment(b"\x89PNG....", maintype="image", subtype="png", filename="s.png")
    record = parse_message(msg.as_bytes(), "img")
    assert isinstance(record, InboundMessage) and record.original == "" and record.subject == "screenshot"


def test_empty_input_is_a_problem() -> None:
    assert isinstance(parse_message(b"", "empty"), ReadProblem)
    assert isinstance(parse_message(b"\n\n", "blank"), ReadProblem)


def test_slim_keeps_small_attachments_and_drops_large_ones() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg["Message-ID"] = "<s@x>"
    msg.set_content("body text\n")
    msg.add_attachment(b"small" * 100, maintype="application", subtype="octet-stream", filename="small.bin")
    msg.add_attachment(b"L" * (ATTACHMENT_LIMIT * 4), maintype="application", subtype="zip", filename="l.zip")
    slimmed = slim(msg.as_bytes())
    assert base64.b64encode(b"small" * 100)[:60] in slimmed
    assert b"l.zip" in slimmed and len(slimmed) < ATTACHMENT_LIMIT * 2
    record = parse_message(slimmed, "s")
    assert isinstance(record, InboundMessage) and record.text == "body text"


def test_parse_message_on_big_bytes_does_not_copy_them() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg["Message-ID"] = "<big@x>"
    msg.set_content("look at this\n")
    msg.add_attachment(b"\x00" * (20 * 1024 * 1024), maintype="application", subtype="octet-stream")
    raw = msg.as_bytes()
    del msg

    tracemalloc.start()
    try:
        record = parse_message(raw, "big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert isinstance(record, InboundMessage) and record.text == "look at this"
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes for a {len(raw)} byte message"


# HTML -------------------------------------------------------------------------------------------


def test_html_to_text_blocks_breaks_pre_and_quotes() -> None:
    html = (
        "<div>first&nbsp;line<br>second line</div><ul><li>one</li><li>two</li></ul>"
        "<pre>[root@mgmt ~]#  systemctl status\n  active</pre>"
        "<blockquote><p>quoted</p><blockquote>deeper</blockquote></blockquote><p>after</p>"
    )
    assert html_to_text(html).splitlines() == [
        "first line",
        "second line",
        "one",
        "two",
        "[root@mgmt ~]#  systemctl status",
        "  active",
        "> quoted",
        ">",
        "> > deeper",
        "after",
    ]


def test_html_with_unclosed_head_keeps_the_body() -> None:
    assert html_to_text("<html><head><title>t</title><body><p>text</p>") == "text"


def test_utf8_with_a_damaged_byte_stays_utf8() -> None:
    data = "ホストの追加に失敗しました。ログを確認してください。".encode()
    damaged = data[:9] + b"\xff" + data[9:]
    assert decode_bytes(damaged, "utf-8") == "ホスト\ufffdの追加に失敗しました。ログを確認してください。"


def test_8bit_bytes_in_ids_and_addresses_become_real_text() -> None:
    raw = (
        b"From: " + "佐藤".encode("cp932") + b" <sato@example.jp>\n"
        b"Message-ID: <\xe9\x96\x8b\xe7\x99\xba-1@example.jp>\n"
        b"References: <a\xff@x>\n"
        b"List-Id: <users.\xe9x.org>\n\nbody\n"
    )
    record = parse_message(raw, "8bit-ids")
    assert isinstance(record, InboundMessage)
    assert record.message_id == "開発-1@example.jp"
    assert record.author == "佐藤 <sato@example.jp>"
    for value in (record.message_id, record.author, record.source, *record.references):
        value.encode("utf-8")  # no lone surrogates left to break a database insert
