"""Every archive reader on files shaped like the real ones, including damaged and odd ones."""

from __future__ import annotations

import gzip
import mailbox
import os
import shutil
import tracemalloc
from collections.abc import Iterable
from email.message import EmailMessage
from pathlib import Path

import pytest

from triagebot.core.models import InboundMessage
from triagebot.ingest.archive import FORMATS, detect_format, read_paths
from triagebot.ingest.records import ReadProblem

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mail"


def split(items: Iterable[InboundMessage | ReadProblem]) -> tuple[list[InboundMessage], list[ReadProblem]]:
    records: list[InboundMessage] = []
    problems: list[ReadProblem] = []
    for item in items:
        if isinstance(item, InboundMessage):
            records.append(item)
        else:
            problems.append(item)
    return records, problems


def message(number: int, body: str, **extra: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"User {number} <user{number}@example.org>"
    msg["To"] = "users@cloudstack.apache.org"
    msg["Subject"] = extra.pop("subject", f"Question {number}")
    msg["Date"] = f"Tue, 05 Mar 2024 10:{number:02d}:00 +0000"
    msg["Message-ID"] = f"<m{number}@example.org>"
    for name, value in extra.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def write_mbox(path: Path, messages: list[EmailMessage]) -> None:
    box = mailbox.mbox(path, create=True)
    try:
        for msg in messages:
            box.add(msg)
        box.flush()
    finally:
        box.close()


def gzip_copy(source: Path, target: Path) -> Path:
    target.write_bytes(gzip.compress(source.read_bytes()))
    return target


# mbox -------------------------------------------------------------------------------------------


def test_mbox_yields_each_message_in_order_and_unescapes_from_lines(tmp_path: Path) -> None:
    path = tmp_path / "users.mbox"
    write_mbox(
        path,
        [
            message(1, "KVM host add fails.\nFrom the agent log I see nothing.\n"),
            message(2, "Which version?\n", In_Reply_To="<m1@example.org>", References="<m1@example.org>"),
            message(3, "4.18.1.0 on Rocky Linux 8.\n", In_Reply_To="<m2@example.org>"),
        ],
    )
    assert b"\n>From the agent log" in path.read_bytes()  # the stdlib writer escaped it

    records, problems = split(read_paths([path]))

    assert problems == []
    assert [r.message_id for r in records] == ["m1@example.org", "m2@example.org", "m3@example.org"]
    assert [r.where for r in records] == [f"{path}#1", f"{path}#2", f"{path}#3"]
    assert records[0].text == "KVM host add fails.\nFrom the agent log I see nothing."
    assert records[1].in_reply_to == "m1@example.org"
    assert records[1].references == ("m1@example.org",)
    assert records[0].author == "User 1 <user1@example.org>"
    assert records[0].sent_at is not None and records[0].sent_at.minute == 1


def test_mbox_gz_reads_the_same_as_plain(tmp_path: Path) -> None:
    plain = tmp_path / "archive.mbox"
    write_mbox(plain, [message(n, f"Body {n}\n") for n in range(1, 5)])
    packed = gzip_copy(plain, tmp_path / "archive.mbox.gz")

    plain_records, _ = split(read_paths([plain]))
    packed_records, problems = split(read_paths([packed]))

    assert problems == []
    assert [(r.message_id, r.text) for r in packed_records] == [(r.message_id, r.text) for r in plain_records]
    assert len(packed_records) == 4


def test_mbox_does_not_split_on_a_body_line_that_is_no_separator(tmp_path: Path) -> None:
    path = tmp_path / "unescaped.mbox"
    path.write_bytes(
        b"From MAILER-DAEMON Tue Mar  5 10:00:00 2024\n"
        b"From: a@example.org\nSubject: one\nMessage-ID: <one@x>\n\n"
        b"From here on the agent stops.\n\n"
        b"From a@example.org Tue Mar  5 10:05:00 2024\n"
        b"From: a@example.org\nSubject: two\nMessage-ID: <two@x>\n\nsecond\n"
    )
    records, problems = split(read_paths([path]))
    assert problems == []
    assert [r.message_id for r in records] == ["one@x", "two@x"]
    assert records[0].text == "From here on the agent stops."


# Maildir ----------------------------------------------------------------------------------------


def test_maildir_reads_cur_and_new_and_reports_a_non_mail_file(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    box = mailbox.Maildir(root, create=True)
    box.add(mailbox.MaildirMessage(message(1, "first\n")))
    box.add(message(2, "second\n"))
    for key in list(box.keys())[:1]:
        msg = box[key]
        msg.set_subdir("cur")
        box[key] = msg
    box.close()
    (root / "cur" / "1700000000.notes:2,S").write_bytes(b"just some notes, not a mail\n")
    (root / "new" / ".hidden").write_bytes(b"ignored")

    records, problems = split(read_paths([root]))

    assert sorted(r.message_id for r in records) == ["m1@example.org", "m2@example.org"]
    assert [Path(p.where).name for p in problems] == ["1700000000.notes:2,S"]
    assert "no mail headers" in problems[0].why
    assert detect_format(root) == "maildir"


# pipermail --------------------------------------------------------------------------------------


def test_pipermail_splits_only_on_the_strict_separator_and_keeps_names() -> None:
    records, problems = split(read_paths([FIXTURES / "pipermail_euc.txt"]))

    assert problems == []
    assert [r.message_id for r in records] == ["pm-1@example.jp", "pm-2@example.jp", "pm-3@example.org"]
    assert [r.author for r in records] == [
        "Yamada Taro <yamada@example.jp>",
        "鈴木一郎 <suzuki@example.com>",
        "John Doe <john.doe@example.org>",
    ]
    first, second, third = records
    assert first.subject == "[cloudstack-ja] ホスト追加エラー"  # raw EUC-JP header, no charset anywhere
    assert first.text == (
        "CloudStack 4.18.1.0 を Ubuntu 22.04 に入れました。\n"
        "From the management server log:\n"
        "2024-03-05 10:00:00,123 ERROR [c.c.a.ApiServer] Unable to add the host"
    )
    assert "was scrubbed" in first.original and "was scrubbed" not in first.text
    assert second.text == "ハイパーバイザは KVM ですか？"
    assert second.in_reply_to == "pm-1@example.jp"
    assert third.text == "Hello, does 4.19 support Rocky Linux 9?\nFrom yamada at home I could not test it."


def test_pipermail_txt_gz_reads_the_same_as_txt(tmp_path: Path) -> None:
    packed = gzip_copy(FIXTURES / "pipermail_euc.txt", tmp_path / "2024-March.txt.gz")
    plain_records, _ = split(read_paths([FIXTURES / "pipermail_euc.txt"]))
    packed_records, problems = split(read_paths([packed]))
    assert problems == []
    assert [(r.message_id, r.author, r.subject, r.text) for r in packed_records] == [
        (r.message_id, r.author, r.subject, r.text) for r in plain_records
    ]
    assert detect_format(packed) == "pipermail"


# Pony Mail --------------------------------------------------------------------------------------


def test_ponymail_thread_json_uses_fields_and_raw_source() -> None:
    records, problems = split(read_paths([FIXTURES / "ponymail_thread.json"]))

    assert problems == []
    assert [r.message_id for r in records] == [
        "pony-1@example.org",
        "pony-2@example.org",
        "pony-3@example.org",
    ]
    first, second, third = records
    assert first.text == "Hi,\n\nAdding a KVM host on Ubuntu 22.04 fails with 4.19.0.0."
    assert "To unsubscribe" in first.original
    assert first.sent_at is not None and first.sent_at.isoformat() == "2024-03-05T01:00:00+00:00"
    assert first.source == "users.cloudstack.apache.org"
    assert second.text == "Check the agent log."
    assert second.in_reply_to == "pony-1@example.org"
    assert third.references == ("pony-1@example.org", "pony-2@example.org")  # parsed from `source`
    assert third.source == "users.cloudstack.apache.org"
    assert third.text == "Setting the host to maintenance and back fixed it."


def test_ponymail_search_json_without_bodies_and_a_bad_entry() -> None:
    path = FIXTURES / "ponymail_search.json"
    records, problems = split(read_paths([path]))

    assert [r.subject for r in records] == [
        "Secondary storage VM stuck in Starting",
        "管理サーバが起動しない",
    ]
    assert records[1].author == "山田 <yamada@example.jp>"
    assert all(r.text == "" for r in records)
    assert [(p.where, "not an object" in p.why) for p in problems] == [(f"{path}#3", True)]


def test_ponymail_invalid_json_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"emails": [', encoding="utf-8")
    records, problems = split(read_paths([path]))
    assert records == []
    assert len(problems) == 1 and "not valid JSON" in problems[0].why


# .eml and directories ---------------------------------------------------------------------------


def test_single_eml() -> None:
    records, problems = split(read_paths([FIXTURES / "base64_utf8.eml"]))
    assert problems == []
    assert [r.message_id for r in records] == ["b64-1@example.fr"]
    assert records[0].where == str(FIXTURES / "base64_utf8.eml")


def test_directory_of_mixed_archives(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "html_only.eml", tmp_path / "a.eml")
    gzip_copy(FIXTURES / "pipermail_euc.txt", tmp_path / "b-2024-March.txt.gz")
    shutil.copy(FIXTURES / "ponymail_thread.json", tmp_path / "c.json")
    nested = tmp_path / "d" / "Maildir"
    nested.parent.mkdir()
    box = mailbox.Maildir(nested, create=True)
    box.add(message(7, "from the maildir\n"))
    box.close()
    (tmp_path / "d" / "index.html").write_text("<html></html>", encoding="utf-8")
    (tmp_path / "e-junk.dat").write_bytes(b"\x00\x01binary junk")

    records, problems = split(read_paths([tmp_path]))

    assert [r.message_id for r in records] == [
        "html-1@example.org",
        "pm-1@example.jp",
        "pm-2@example.jp",
        "pm-3@example.org",
        "pony-1@example.org",
        "pony-2@example.org",
        "pony-3@example.org",
        "m7@example.org",
    ]
    assert [Path(p.where).name for p in problems] == ["e-junk.dat"]  # index.html passes silently


def test_forced_format_unknown_format_and_missing_path(tmp_path: Path) -> None:
    eml = FIXTURES / "base64_utf8.eml"
    forced, problems = split(read_paths([eml], fmt="eml"))
    assert len(forced) == 1 and problems == []

    records, problems = split(read_paths([eml], fmt="tarball"))
    assert records == [] and "unknown format 'tarball'" in problems[0].why
    assert set(FORMATS) == {"mbox", "maildir", "pipermail", "ponymail", "eml", "slack", "discord"}

    records, problems = split(read_paths([tmp_path / "nope.mbox"]))
    assert records == [] and problems[0].why == "no such file or directory"

    records, problems = split(read_paths([tmp_path], fmt="maildir"))
    assert records == [] and "not a Maildir" in problems[0].why


# damage and size --------------------------------------------------------------------------------


def test_truncated_gzip_yields_complete_messages_then_names_the_file(tmp_path: Path) -> None:
    bodies = [os.urandom(3000).hex() + "\n" for _ in range(6)]
    plain = tmp_path / "full.mbox"
    write_mbox(plain, [message(n + 1, body) for n, body in enumerate(bodies)])
    packed = gzip.compress(plain.read_bytes())
    path = tmp_path / "cut.mbox.gz"
    path.write_bytes(packed[: int(len(packed) * 0.6)])

    items = list(read_paths([path]))
    records, problems = split(items)

    assert 1 <= len(records) < 6
    for index, record in enumerate(records):
        assert record.message_id == f"m{index + 1}@example.org"
        assert record.original == bodies[index].rstrip()
    assert items[-1] is problems[0] and len(problems) == 1
    assert problems[0].where == str(path)
    assert "damaged" in problems[0].why and f"#{len(records)}" in problems[0].why


def test_garbage_with_gz_magic_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    path = tmp_path / "bad.mbox.gz"
    path.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    records, problems = split(read_paths([path]))
    assert records == [] and len(problems) == 1


def _message_with_attachment(size: int) -> EmailMessage:
    msg = message(1, "See the attached heap dump.\n")
    msg.add_attachment(b"\x00" * size, maintype="application", subtype="octet-stream", filename="heap.bin")
    return msg


def test_twenty_megabyte_attachment_is_skipped_with_little_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.mbox"
    with path.open("wb") as out:
        out.write(b"From user1@example.org Tue Mar  5 10:01:00 2024\n")
        out.write(_message_with_attachment(20 * 1024 * 1024).as_bytes())
        out.write(b"\nFrom user2@example.org Tue Mar  5 10:02:00 2024\n")
        out.write(message(2, "after the big one\n").as_bytes())
    assert path.stat().st_size > 27_000_000

    tracemalloc.start()
    try:
        records, problems = split(read_paths([path]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert problems == []
    assert [r.text for r in records] == ["See the attached heap dump.", "after the big one"]
    assert len(records[0].raw) < 100_000  # the attachment body was never kept
    assert b"heap.bin" in records[0].raw  # but its part headers were
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes"


def test_twenty_megabyte_attachment_in_a_maildir_file(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    box = mailbox.Maildir(root, create=True)
    box.add(_message_with_attachment(20 * 1024 * 1024))
    box.close()

    tracemalloc.start()
    try:
        records, problems = split(read_paths([root]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert problems == [] and records[0].text == "See the attached heap dump."
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes"


@pytest.mark.parametrize("name", ["no_headers.eml"])
def test_message_without_headers_is_reported(name: str) -> None:
    records, problems = split(read_paths([FIXTURES / name]))
    assert records == []
    assert problems[0].where == str(FIXTURES / name) and "no mail headers" in problems[0].why


def test_missing_message_id_gets_a_stable_derived_id(tmp_path: Path) -> None:
    first, _ = split(read_paths([FIXTURES / "no_message_id.eml"]))
    second, _ = split(read_paths([FIXTURES / "no_message_id.eml"]))
    assert first[0].message_id == second[0].message_id
    assert first[0].message_id.startswith("derived.") and first[0].message_id.endswith("@triagebot.invalid")

    changed = tmp_path / "other.eml"
    changed.write_bytes((FIXTURES / "no_message_id.eml").read_bytes().replace(b"4.18", b"4.19"))
    other, _ = split(read_paths([changed]))
    assert other[0].message_id != first[0].message_id


def test_ponymail_lone_surrogates_are_replaced(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text('{"emails": [{"message-id": "<s@x>", "subject": "bad \\udc80 char", "body": "b"}]}')
    records, problems = split(read_paths([path]))
    assert problems == []
    assert records[0].subject.encode("utf-8") and "\ufffd" in records[0].subject


def test_every_text_field_of_every_fixture_encodes_as_utf8() -> None:
    records, _ = split(read_paths([FIXTURES]))
    assert len(records) >= 15
    for record in records:
        for value in (record.message_id, record.subject, record.author, record.text, record.original):
            value.encode("utf-8")


@pytest.mark.parametrize(
    "separator",
    [
        b"From MAILER-DAEMON Tue Mar  5 10:00:00 2024",
        b"From - Tue Mar 05 10:00:00 2024",
        b"From a@example.org Tue, 05 Mar 2024 10:00:00 +0000",
        b"From a@example.org Tue Mar  5 10:00:00 JST 2024",
        b"From a@example.org Tue Mar  5 10:00 2024 remote from gateway",
    ],
)
def test_mbox_separator_styles(tmp_path: Path, separator: bytes) -> None:
    path = tmp_path / "styles.mbox"
    one = b"From: a@example.org\nMessage-ID: <one@x>\n\nFrom the logs at 10:00:00 2024 nothing.\n\n"
    two = b"From: a@example.org\nMessage-ID: <two@x>\n\nsecond\n"
    path.write_bytes(separator + b"\n" + one + separator + b"\n" + two)
    records, problems = split(read_paths([path]))
    assert problems == []
    assert [r.message_id for r in records] == ["one@x", "two@x"]
    assert records[0].text == "From the logs at 10:00:00 2024 nothing."
