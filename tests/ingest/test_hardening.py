"""Issue 11 on the archive readers: special files, symbolic-link loops, damaged separators, bad entries.

Each test builds the archive that once hung, looped or lost mail, and checks that every readable
message still comes out and every unreadable thing is reported with its place and reason.
"""

from __future__ import annotations

import json
import mailbox
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ingest.test_archive_readers import message, split, write_mbox
from triagebot.core.models import InboundMessage
from triagebot.ingest.archive import detect_format, read_paths
from triagebot.ingest.records import ReadProblem

HANG_GUARD = 60  # seconds: a reader that blocks (on a FIFO) fails the test instead of hanging the suite


def read_all(*paths: Path, fmt: str | None = None) -> tuple[list[InboundMessage], list[ReadProblem]]:
    """Read in a thread, so a reader that blocks fails here instead of hanging the test run."""
    found: list[InboundMessage | ReadProblem] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            found.extend(read_paths(list(paths), fmt=fmt))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), "reading blocked (a FIFO was opened?)"
    assert not failure, failure
    return split(found)


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.fixture()
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "box" / "control.sock"
    path.parent.mkdir(exist_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    yield path
    server.close()


def test_named_fifo_is_reported_not_opened(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path / "archive.mbox")
    records, problems = read_all(fifo)
    assert records == []
    assert [(p.where, "FIFO" in p.why) for p in problems] == [(str(fifo), True)]
    assert detect_format(fifo) is None


def test_fifo_socket_and_dangling_link_in_a_directory_are_reported(tmp_path: Path, unix_socket: Path) -> None:
    box = unix_socket.parent
    write_mbox(box / "a.mbox", [message(1, "first"), message(2, "second")])
    _fifo(box / "b.mbox")
    (box / "c.mbox").symlink_to(box / "gone.mbox")
    write_mbox(box / "d.mbox", [message(3, "third")])
    records, problems = read_all(box)
    assert [r.message_id for r in records] == ["m1@example.org", "m2@example.org", "m3@example.org"]
    why = {Path(p.where).name: p.why for p in problems}
    assert set(why) == {"b.mbox", "c.mbox", "control.sock"}
    assert "FIFO" in why["b.mbox"] and "socket" in why["control.sock"]
    assert "dangling symbolic link" in why["c.mbox"] and "gone.mbox" in why["c.mbox"]


def test_character_device_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "null.mbox").symlink_to("/dev/null")
    records, problems = read_all(tmp_path)
    assert records == [] and "character device" in problems[0].why


def test_fifo_and_dangling_link_inside_a_maildir_are_reported(tmp_path: Path) -> None:
    # Issue 11, item 9: these were skipped without a word.
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(message(1, "kept"))
    box.close()
    cur = tmp_path / "Maildir" / "cur"
    _fifo(cur / "1700000000.fifo")
    (cur / "1700000001.link").symlink_to(tmp_path / "nowhere")
    records, problems = read_all(tmp_path / "Maildir")
    assert [r.message_id for r in records] == ["m1@example.org"]
    assert sorted(Path(p.where).name for p in problems) == ["1700000000.fifo", "1700000001.link"]
    assert {p.why.split(",")[0].split(" (")[0] for p in problems} == {"a FIFO", "dangling symbolic link"}


def test_self_link_is_read_once(tmp_path: Path) -> None:
    # Issue 11, item 4: one self-link read the same files 40 levels deep.
    archive = tmp_path / "archive"
    archive.mkdir()
    write_mbox(archive / "a.mbox", [message(1, "one")])
    (archive / "again").symlink_to(archive)
    records, problems = read_all(archive)
    assert [r.message_id for r in records] == ["m1@example.org"]
    assert [(Path(p.where).name, "already read" in p.why) for p in problems] == [("again", True)]


def test_two_links_into_each_other_finish(tmp_path: Path) -> None:
    # Issue 11, item 4: two such links did not finish at all.
    left, right = tmp_path / "left", tmp_path / "right"
    left.mkdir()
    right.mkdir()
    write_mbox(left / "l.mbox", [message(1, "left")])
    write_mbox(right / "r.mbox", [message(2, "right")])
    (left / "to-right").symlink_to(right)
    (right / "to-left").symlink_to(left)
    records, problems = read_all(tmp_path)
    assert sorted(r.message_id for r in records) == ["m1@example.org", "m2@example.org"]
    assert len(problems) == 2 and all("already read" in p.why for p in problems)


def test_link_to_itself_is_reported(tmp_path: Path) -> None:
    (tmp_path / "loop.mbox").symlink_to(tmp_path / "loop.mbox")
    records, problems = read_all(tmp_path)
    assert records == [] and "cannot read" in problems[0].why


def test_maildir_subfolder_link_loop_is_not_followed(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(message(1, "inbox"))
    box.close()
    (tmp_path / "Maildir" / ".Loop").symlink_to(tmp_path / "Maildir")
    records, problems = read_all(tmp_path / "Maildir")
    assert [r.message_id for r in records] == ["m1@example.org"]
    assert len(problems) == 1 and "already read" in problems[0].why


def _mbox_bytes(*messages: bytes) -> bytes:
    return b"".join(messages)


def _raw(number: int, body: str) -> bytes:
    return (
        f"From: User {number} <user{number}@example.org>\nSubject: Question {number}\n"
        f"Message-ID: <m{number}@example.org>\nDate: Mon, 01 Jan 2023 00:0{number}:00 +0000\n\n{body}\n\n"
    ).encode()


SEPARATOR = b"From user1@example.org Mon Jan  1 00:00:00 2023\n"


def test_cut_off_from_line_running_into_the_next_is_split_and_reported(tmp_path: Path) -> None:
    # Issue 11, item 7: this folded message 3 into message 1's body, exit 0, nothing reported.
    damaged = b"From x@examFrom user1@example.org Mon Jan  1 00:00:00 2023\n"
    (tmp_path / "a.mbox").write_bytes(
        SEPARATOR + _raw(1, "first") + damaged + _raw(3, "third") + SEPARATOR + _raw(4, "fourth")
    )
    records, problems = read_all(tmp_path / "a.mbox")
    assert [r.message_id for r in records] == ["m1@example.org", "m3@example.org", "m4@example.org"]
    assert [r.text for r in records] == ["first", "third", "fourth"]
    assert len(problems) == 1
    assert problems[0].where == f"{tmp_path / 'a.mbox'}, line 9"
    assert "'From x@exam'" in problems[0].why and "message #2 starts after it" in problems[0].why
    assert problems[0].kept  # a notice: every message was stored


def test_body_without_final_line_break_running_into_a_separator_keeps_both(tmp_path: Path) -> None:
    first = _raw(1, "first").rstrip(b"\n")  # the last body line lost its line break
    (tmp_path / "a.mbox").write_bytes(SEPARATOR + first + SEPARATOR + _raw(2, "second"))
    records, problems = read_all(tmp_path / "a.mbox")
    assert [(r.message_id, r.text) for r in records] == [
        ("m1@example.org", "first"),
        ("m2@example.org", "second"),
    ]
    assert len(problems) == 1 and "split there" in problems[0].why


def test_quoted_separator_in_a_body_is_not_split(tmp_path: Path) -> None:
    body = "the archive showed:\n> From user1@example.org Mon Jan  1 00:00:00 2023\nand nothing else"
    (tmp_path / "a.mbox").write_bytes(SEPARATOR + _raw(1, body) + SEPARATOR + _raw(2, "second"))
    records, problems = read_all(tmp_path / "a.mbox")
    assert [r.message_id for r in records] == ["m1@example.org", "m2@example.org"]
    assert "and nothing else" in records[0].original and problems == []


def test_cut_off_from_line_that_cannot_be_split_is_reported(tmp_path: Path) -> None:
    # The separator of message 2 lost its date: it cannot be told from text, so say exactly that.
    (tmp_path / "a.mbox").write_bytes(SEPARATOR + _raw(1, "first") + b"From x@exam\n" + _raw(2, "second"))
    records, problems = read_all(tmp_path / "a.mbox")
    assert [r.message_id for r in records] == ["m1@example.org"]
    assert "Question 2" in records[0].original  # kept, not lost
    assert len(problems) == 1 and problems[0].where.endswith(", line 9")
    assert "'From x@exam'" in problems[0].why and "not split" in problems[0].why


def test_four_megabyte_subject_is_cut_and_reported(tmp_path: Path) -> None:
    subject = "SELinux " * (4 * 1024 * 1024 // 8)
    raw = f"From: a@example.org\nMessage-ID: <big@example.org>\nSubject: {subject}\n\nSELinux is set to enforcing\n"
    (tmp_path / "big.eml").write_bytes(raw.encode())
    records, problems = read_all(tmp_path / "big.eml")
    assert [r.message_id for r in records] == ["big@example.org"]
    assert records[0].text == "SELinux is set to enforcing"
    assert 60_000 < len(records[0].subject) <= 64 * 1024
    assert len(problems) == 1 and problems[0].where == str(tmp_path / "big.eml")
    assert "stored, but cut" in problems[0].why and "header Subject of 4,194,3" in problems[0].why


def test_forty_megabyte_line_is_cut_and_reported(tmp_path: Path) -> None:
    line = b"x" * (40 * 1024 * 1024)
    raw = _raw(1, "SELinux is set to enforcing").rstrip(b"\n") + b"\n" + line + b"\nlast line\n"
    (tmp_path / "a.mbox").write_bytes(SEPARATOR + raw + SEPARATOR + _raw(2, "second"))
    records, problems = read_all(tmp_path / "a.mbox")
    assert [r.message_id for r in records] == ["m1@example.org", "m2@example.org"]
    assert records[0].original.endswith("last line")
    assert len(records[0].raw) < 2 * 1024 * 1024
    assert len(problems) == 1 and problems[0].where.endswith("a.mbox#1")
    assert "1 body line(s) over the line limit lost 40,8" in problems[0].why


def test_many_header_lines_are_bounded(tmp_path: Path) -> None:
    received = "".join(f"Received: from host{i}.example.org by mx.example.org\n" for i in range(40_000))
    raw = f"From: a@example.org\nMessage-ID: <hops@example.org>\n{received}Subject: hops\n\nbody\n"
    (tmp_path / "hops.eml").write_bytes(raw.encode())
    records, problems = read_all(tmp_path / "hops.eml")
    assert records[0].message_id == "hops@example.org" and records[0].text == "body"
    assert len(records[0].raw) <= 600 * 1024
    assert "header lines past 524,288 bytes were left out" in problems[0].why


GOOD_ENTRY = {
    "mid": "p1",
    "message-id": "<p1@example.org>",
    "subject": "SELinux",
    "body": "SELinux is set to enforcing",
}


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ({"mid": "p2"}, "no body and no source, and no subject"),  # issue 11, item 8
        ({"subject": 5, "body": None}, "body is null, not a string"),  # issue 11, item 8
        ({"subject": 5, "body": "text"}, "subject is a number, not a string"),
        ({"subject": "s", "body": "b", "from": ["a"]}, "from is a list, not a string"),
        ({"subject": "s", "body": "b", "epoch": "yesterday"}, "epoch is a string, not a number"),
        ({"subject": "s", "body": "b", "epoch": True}, "epoch is a boolean, not a number"),
        ({"subject": "s", "body": "b", "references": 7}, "references is a number"),
        ({"source": {"raw": "x"}}, "source is an object, not a string"),
        ({"subject": "", "body": "  "}, "empty: no subject, body or source"),
        ({"subject": "only a subject"}, "no body and no source"),
    ],
)
def test_bad_ponymail_entry_is_reported_and_the_rest_goes_in(
    tmp_path: Path, entry: dict[str, object], why: str
) -> None:
    second = {**GOOD_ENTRY, "mid": "p3", "message-id": "<p3@example.org>"}
    (tmp_path / "pony.json").write_text(json.dumps({"emails": [GOOD_ENTRY, entry, second]}), encoding="utf-8")
    records, problems = read_all(tmp_path / "pony.json")
    assert [r.message_id for r in records] == ["p1@example.org", "p3@example.org"]
    assert len(problems) == 1
    assert problems[0].where == f"{tmp_path / 'pony.json'}#2"
    assert why in problems[0].why and problems[0].why.startswith("bad Pony Mail entry")


def test_ponymail_search_entry_without_body_is_still_kept(tmp_path: Path) -> None:
    entry = {"subject": "SSVM stuck", "message-id": "<s1@example.org>", "epoch": 1709700000}
    (tmp_path / "pony.json").write_text(json.dumps({"emails": [entry]}), encoding="utf-8")
    records, problems = read_all(tmp_path / "pony.json")
    assert [(r.message_id, r.subject, r.text) for r in records] == [("s1@example.org", "SSVM stuck", "")]
    assert problems == []


def test_ponymail_huge_subject_is_cut_and_reported(tmp_path: Path) -> None:
    entry = {**GOOD_ENTRY, "subject": "x" * 3_000_000}
    (tmp_path / "pony.json").write_text(json.dumps([entry]), encoding="utf-8")
    records, problems = read_all(tmp_path / "pony.json")
    assert len(records[0].subject) == 64 * 1024
    assert len(problems) == 1 and "subject of 3,000,000 characters was cut" in problems[0].why
