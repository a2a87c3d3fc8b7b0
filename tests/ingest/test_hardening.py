"""Issue 11 on the archive readers: special files, symbolic-link loops, damaged separators, bad entries.

Each test builds the archive that once hung, looped or lost mail, and checks that every readable
message still comes out and every unreadable thing is reported with its place and reason.
"""

from __future__ import annotations

import mailbox
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ingest.test_archive_readers import message, split, write_mbox
from triagebot.ingest.archive import detect_format, read_paths
from triagebot.ingest.records import MailRecord, ReadProblem

HANG_GUARD = 60  # seconds: a reader that blocks (on a FIFO) fails the test instead of hanging the suite


def read_all(*paths: Path, fmt: str | None = None) -> tuple[list[MailRecord], list[ReadProblem]]:
    """Read in a thread, so a reader that blocks fails here instead of hanging the test run."""
    found: list[MailRecord | ReadProblem] = []
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
