"""Read mailing-list archives of any kind we meet, one message at a time.

Formats: mbox (plain or .gz; Mailman 3/HyperKitty exports are mboxes), Maildir directories,
Mailman 2 pipermail ``.txt``/``.txt.gz`` month files, Pony Mail JSON, single ``.eml`` files, Slack
workspace exports (zip or folder, see `slack_export`), DiscordChatExporter JSON (`discord_export`),
and directories holding any of these. Each is told by its content first, its name second. Nothing
here raises for a bad file or message: each becomes a `ReadProblem` and reading goes on.

Memory stays flat however large the archive is. mbox and pipermail files are read line by line
(through `gzip.open` when compressed); `mailbox.mbox` is not used because it indexes the whole
file first. Only the message being read is held, and once it grows large a `MimeSlimmer` leaves
out big attachments while the lines stream past. No line is held beyond `LINE_LIMIT` bytes and no
header beyond the limits in `mime.py`, however the file is shaped; what is cut is reported.

Only regular files are opened (a FIFO would block forever), and each directory is read once, so
symbolic-link loops end.

Example::

    for item in read_paths([Path("archive/2024-March.txt.gz"), Path("Maildir")]):
        if isinstance(item, ReadProblem):
            print("skipped", item.where, item.why)
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from triagebot.core.models import InboundMessage
from triagebot.ingest import discord_export, slack_export
from triagebot.ingest.mime import MessageBuffer, parse_message
from triagebot.ingest.ponymail import read_ponymail_json
from triagebot.ingest.records import ReadProblem

FORMATS: tuple[str, ...] = ("mbox", "maildir", "pipermail", "ponymail", "eml", "slack", "discord")

Item = InboundMessage | ReadProblem

# Mailman 2 writes "From user at example.org  Tue Mar  3 10:00:00 2009" and does not escape body
# lines that start with "From ", so only this exact shape separates messages.
_PIPERMAIL_SEPARATOR = re.compile(rb"^From \S+ at \S+\s+\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\r?\n?$")
# An mbox "From " line followed by a date: asctime style ("Tue Mar  5 10:00:00 2024", zone optional)
# or RFC 5322 style ("Tue, 05 Mar 2024 10:00:00 +0000"); text after the date is allowed.
_MONTH = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_MBOX_SEPARATOR = re.compile(
    rb"^From \S+\s+(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+)?(?:"
    + _MONTH
    + rb"\s+\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s+(?:[A-Z]{1,5}|[+-]\d{4}))?\s+\d{4}\b"
    + rb"|\d{1,2}\s+"
    + _MONTH
    + rb"\s+\d{4}\s+\d{1,2}:\d{2})",
    re.IGNORECASE,
)
_MBOXRD_ESCAPED = re.compile(rb"^>(>*From )")
# "From " and one address-like word, then nothing a separator would have: a From_ line cut short.
_CUT_SEPARATOR = re.compile(rb"^From [^\s@]*@\S*\s*$")
LINE_LIMIT = 1024 * 1024  # bytes of one line that are kept; the rest of a longer line is left out
PONYMAIL_LIMIT = 64 * 1024 * 1024  # a Pony Mail JSON file is loaded whole, so its size is bounded
JSON_LIMIT = 64 * 1024 * 1024  # so is a Discord export
_ZIP_MAGIC = b"PK\x03\x04"
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 4096
_DAMAGE = (OSError, EOFError, zlib.error)

# Files a directory walk passes over without a report: web pages and images of an archive site.
_IGNORED_SUFFIXES = frozenset(
    {".html", ".htm", ".css", ".js", ".png", ".jpg", ".jpeg", ".gif", ".ico", ".svg", ".pdf",
     ".md", ".rst", ".py"}
)  # fmt: skip


def read_paths(paths: Sequence[Path], *, fmt: str | None = None) -> Iterator[InboundMessage | ReadProblem]:
    """Stream every message of every path, detecting each format unless `fmt` forces one of FORMATS.

    Only regular files are opened: FIFOs, devices and sockets are reported and skipped (opening a
    FIFO would wait for a writer forever), and so are dangling symbolic links. A directory is read
    once however many links lead to it, so no symbolic-link loop is followed.
    """
    if fmt is not None and fmt not in FORMATS:
        for path in paths:
            yield ReadProblem(str(path), f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
        return
    seen: set[tuple[int, int]] = set()
    for path in paths:
        yield from _read_path(Path(path), fmt, walking=False, seen=seen)


def detect_format(path: Path) -> str | None:
    """Name the format of a file or directory from its content (then its name); None if not mail."""
    kind, _ = _kind(path)
    if kind == "dir":
        if _is_maildir(path):
            return "maildir"
        return "slack" if slack_export.is_export_dir(path) else None
    if kind != "file":
        return None
    found, _ = _sniff(path)
    return found


def _special(mode: int) -> str:
    """Name a kind of file that is not a regular file or a directory."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def _kind(path: Path) -> tuple[str, str]:
    """("dir" | "file" | "missing" | "skip", why): what `path` is, following symbolic links, unopened."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if path.is_symlink():
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return "skip", f"dangling symbolic link (points to {target}, which does not exist): skipped"
        return "missing", "no such file or directory"
    except OSError as exc:  # ELOOP for a link to itself, EACCES, ENAMETOOLONG
        return "skip", f"cannot read: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return "dir", ""
    if stat.S_ISREG(mode):
        return "file", ""
    return "skip", f"{_special(mode)}, not a regular file: skipped without opening it"


def _first_visit(path: Path, seen: set[tuple[int, int]]) -> str | None:
    """Mark a directory as read; the reason to skip it when it was read before (or cannot be told)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    key = (info.st_dev, info.st_ino)
    if key in seen:
        return "directory already read (a symbolic link leads back to it): not read again"
    seen.add(key)
    return None


def _read_path(path: Path, fmt: str | None, *, walking: bool, seen: set[tuple[int, int]]) -> Iterator[Item]:
    """Read one path as `fmt`, or as what it turns out to be; report what cannot be read."""
    kind, why = _kind(path)
    if kind == "dir":
        if (again := _first_visit(path, seen)) is not None:
            yield ReadProblem(str(path), again)
        elif fmt in (None, "maildir") and _is_maildir(path):
            yield from _read_maildir(path, seen)
        elif fmt == "maildir" and not walking:
            yield ReadProblem(str(path), "not a Maildir: no cur/ and new/ subdirectories")
        elif fmt in (None, "slack") and slack_export.is_export_dir(path):
            yield from slack_export.read_export_dir(path)
        elif fmt == "slack" and not walking:
            yield ReadProblem(
                str(path), "not a Slack export: no users.json or channels.json beside day files"
            )
        else:
            yield from _read_directory(path, fmt, seen)
        return
    if kind != "file":
        yield ReadProblem(str(path), why)
        return
    chosen, why = (fmt, "") if fmt is not None else _sniff(path)
    if chosen is None:
        if not (walking and _suffix(path) in _IGNORED_SUFFIXES):
            yield ReadProblem(str(path), why or "not a mail archive")
        return
    if chosen == "maildir":
        yield ReadProblem(str(path), "not a Maildir: no cur/ and new/ subdirectories")
        return
    yield from _READERS[chosen](path)


def _read_directory(path: Path, fmt: str | None, seen: set[tuple[int, int]]) -> Iterator[Item]:
    """Walk a directory in name order; hidden entries are skipped."""
    try:
        entries = sorted(entry for entry in path.iterdir() if not entry.name.startswith("."))
    except OSError as exc:
        yield ReadProblem(str(path), f"cannot list directory: {exc}")
        return
    for entry in entries:
        yield from _read_path(entry, fmt, walking=True, seen=seen)


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _read_maildir(path: Path, seen: set[tuple[int, int]]) -> Iterator[Item]:
    """Read cur/ then new/ (tmp/ holds mail still being delivered), then Maildir++ subfolders."""
    for sub in ("cur", "new"):
        try:
            files = sorted(entry for entry in (path / sub).iterdir() if not entry.name.startswith("."))
        except OSError as exc:
            yield ReadProblem(str(path / sub), f"cannot list directory: {exc}")
            continue
        for entry in files:
            kind, why = _kind(entry)
            if kind == "file":
                yield from _read_single(entry)
            elif kind == "dir":
                yield ReadProblem(str(entry), f"a directory inside the Maildir's {sub}/: skipped")
            elif kind == "skip":
                yield ReadProblem(str(entry), why)
            # "missing": delivered or removed while we read; nothing to report
    try:
        folders = sorted(
            e for e in path.iterdir() if e.name.startswith(".") and e.is_dir() and _is_maildir(e)
        )
    except OSError as exc:
        yield ReadProblem(str(path), f"cannot list directory: {exc}")
        return
    for folder in folders:
        if (again := _first_visit(folder, seen)) is not None:
            yield ReadProblem(str(folder), again)
        else:
            yield from _read_maildir(folder, seen)


@contextmanager
def _open_binary(path: Path) -> Iterator[io.BufferedIOBase]:
    """Open a regular file for reading bytes, decompressing it when it starts with the gzip magic number.

    The file is opened without blocking and checked before anything is read, so a FIFO or device that
    appeared in its place since the walk looked at it fails at once instead of waiting forever.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"{_special(mode)}, not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        if magic == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield unzipped
        else:
            yield raw


def _lines(stream: io.BufferedIOBase) -> Iterator[tuple[bytes, int]]:
    """Each line with its ending, and how many bytes were cut off it: never more than LINE_LIMIT held.

    A 40 MB line with no line break (a pasted log, a broken mailer) is read in pieces; only its first
    LINE_LIMIT bytes are kept and the rest is counted, so one line never costs its size in memory.
    """
    while line := stream.readline(LINE_LIMIT):
        if len(line) < LINE_LIMIT or line.endswith(b"\n"):
            yield line, 0
        else:
            yield _cut_line(stream, line)


def _cut_line(stream: io.BufferedIOBase, line: bytes) -> tuple[bytes, int]:
    """A line that filled LINE_LIMIT without ending: skip to its end, counting what is left out."""
    dropped = 0
    while rest := stream.readline(LINE_LIMIT):
        dropped += len(rest)
        if rest.endswith(b"\n"):
            break
    return line + b"\n", dropped


def _with_cuts(record: Item, buffer: MessageBuffer) -> Iterator[Item]:
    """Yield a parsed message, then a report of what the limits cut from it (the message is stored)."""
    yield record
    cuts = buffer.cuts
    if cuts and isinstance(record, InboundMessage):
        yield ReadProblem(record.where, f"stored, but cut to fit the limits: {'; '.join(cuts)}", kept=True)


def _read_single(path: Path) -> Iterator[Item]:
    """Read a file holding one message (.eml, a Maildir entry)."""
    buffer = MessageBuffer()
    try:
        with _open_binary(path) as stream:
            for line, dropped in _lines(stream):
                buffer.feed(line, dropped)
    except _DAMAGE as exc:
        yield ReadProblem(str(path), f"cannot read: {exc}")
        return
    yield from _with_cuts(parse_message(buffer.getvalue(), str(path)), buffer)


def _read_ponymail(path: Path) -> Iterator[Item]:
    try:
        with _open_binary(path) as stream:
            data = stream.read(PONYMAIL_LIMIT + 1)
    except _DAMAGE as exc:
        yield ReadProblem(str(path), f"cannot read: {exc}")
        return
    if len(data) > PONYMAIL_LIMIT:
        yield ReadProblem(str(path), f"Pony Mail JSON larger than {PONYMAIL_LIMIT:,} bytes: not read")
        return
    yield from read_ponymail_json(data, str(path))


def _read_discord(path: Path) -> Iterator[Item]:
    try:
        with _open_binary(path) as stream:
            data = stream.read(JSON_LIMIT + 1)
    except _DAMAGE as exc:
        yield ReadProblem(str(path), f"cannot read: {exc}")
        return
    if len(data) > JSON_LIMIT:
        yield ReadProblem(str(path), f"Discord export larger than {JSON_LIMIT:,} bytes: not read")
        return
    yield from discord_export.read_export_json(data, str(path))


def _read_slack_file(path: Path) -> Iterator[Item]:
    """A Slack export zip, or one day file of an unpacked export."""
    try:
        with _open_binary(path) as stream:
            magic = stream.read(4)
    except _DAMAGE as exc:
        yield ReadProblem(str(path), f"cannot read: {exc}")
        return
    if magic == _ZIP_MAGIC:
        yield from slack_export.read_export_zip(path)
    else:
        yield from slack_export.read_day_file(path)


def _read_mbox(path: Path) -> Iterator[Item]:
    return _read_stream(path, _MBOX_SEPARATOR.match, unescape=True)


def _read_pipermail(path: Path) -> Iterator[Item]:
    return _read_stream(path, _PIPERMAIL_SEPARATOR.match, unescape=False)


def _embedded_separator(line: bytes, separator: Callable[[bytes], object]) -> int:
    """Where a whole separator starts inside `line`, past its first byte; -1 if none does.

    A From_ line cut short runs into the next one (``From x@examFrom user1@example.org Mon Jan  1
    00:00:00 2023``), and a last body line without its line break runs into the separator after it.
    """
    at = line.rfind(b"From ", 1)
    while at > 0:
        if separator(line[at:]):
            return at
        at = line.rfind(b"From ", 1, at)
    return -1


def _read_stream(path: Path, separator: Callable[[bytes], object], *, unescape: bool) -> Iterator[Item]:
    """Split a file of concatenated messages on separator lines, holding one message at a time.

    mbox writers escape body lines starting with "From " as ">From " (and mboxrd adds one more
    ">" per level); one ">" is taken off again so the text reads as written. A separator found
    inside a damaged line starts a new message when a header line follows it (and is reported);
    a line that looks like a cut-off separator but cannot be split on is reported where it is.
    """
    base = str(path)
    number = 0
    current: MessageBuffer | None = None
    skipped = 0
    held: tuple[bytes, int, int, int] | None = None  # (line, bytes cut, separator offset, line number)
    suspect: tuple[bytes, int] | None = None  # (a "From addr" line that is no separator, line number)

    def feed(buffer: MessageBuffer, line: bytes, dropped: int) -> None:
        if unescape and line[:1] == b">":
            line = _MBOXRD_ESCAPED.sub(rb"\1", line, count=1)
        buffer.feed(line, dropped)

    def finish(buffer: MessageBuffer) -> Iterator[Item]:
        nonlocal number
        number += 1
        yield from _with_cuts(parse_message(buffer.getvalue(), f"{base}#{number}"), buffer)

    try:
        with _open_binary(path) as stream:
            readline = stream.readline
            line_number = 0
            while line := readline(LINE_LIMIT):  # `_lines`, inlined: this loop runs for every line
                line_number += 1
                dropped = 0
                if len(line) == LINE_LIMIT and not line.endswith(b"\n"):
                    line, dropped = _cut_line(stream, line)
                if held is not None and current is not None:
                    damaged, damaged_cut, at, damaged_number = held
                    held = None
                    if _HEADER_LINE.match(line):
                        if not damaged.startswith(b"From "):
                            feed(current, damaged[:at] + b"\n", 0)  # body text that ran into it
                        yield from finish(current)
                        current = MessageBuffer()
                        yield ReadProblem(
                            f"{base}, line {damaged_number}",
                            f"damaged separator line {_show(damaged[:at])} ran into the next one: "
                            f"split there, message #{number + 1} starts after it",
                            kept=True,
                        )
                    else:
                        feed(current, damaged, damaged_cut)
                if suspect is not None:
                    if _HEADER_LINE.match(line):
                        yield ReadProblem(
                            f"{base}, line {suspect[1]}",
                            f"line {_show(suspect[0])} looks like a cut-off separator but is not one: "
                            f"not split there; what follows was kept as text of message #{number + 1}",
                            kept=True,
                        )
                    suspect = None
                if b"From " in line:  # the checks below all need it; most lines do not have it
                    if line.startswith(b"From ") and separator(line):
                        if current is not None:
                            yield from finish(current)
                        current = MessageBuffer()
                        continue
                    if current is None:
                        skipped += len(line.strip())
                        continue
                    if (at := _embedded_separator(line, separator)) > 0:
                        held = (line, dropped, at, line_number)
                        continue
                    if line.startswith(b"From ") and _CUT_SEPARATOR.match(line):
                        suspect = (line, line_number)
                elif current is None:
                    skipped += len(line.strip())
                    continue
                if unescape and line[:1] == b">":  # `feed`, inlined for the same reason
                    line = _MBOXRD_ESCAPED.sub(rb"\1", line, count=1)
                current.feed(line, dropped)
            if held is not None and current is not None:
                feed(current, held[0], held[1])
    except _DAMAGE as exc:
        place = f"after message #{number}" if number else "before the first complete message"
        lost = f"; message #{number + 1}, being read there, was dropped" if current is not None else ""
        yield ReadProblem(base, f"file is damaged {place} ({exc}){lost}")
        return
    if current is not None:
        yield from finish(current)
    if number == 0 and skipped:
        yield ReadProblem(base, "no message separator line found: not an mbox or pipermail file")
    elif skipped:
        yield ReadProblem(base, f"{skipped} bytes before the first message separator were skipped")


def _show(line: bytes) -> str:
    """A damaged line for a report: decoded, trimmed, quoted."""
    text = line.decode("utf-8", errors="replace").strip()
    return repr(text if len(text) <= 80 else text[:77] + "...")


_READERS: dict[str, Callable[[Path], Iterator[Item]]] = {
    "mbox": _read_mbox,
    "pipermail": _read_pipermail,
    "ponymail": _read_ponymail,
    "eml": _read_single,
    "slack": _read_slack_file,
    "discord": _read_discord,
}


def _suffix(path: Path) -> str:
    """The meaningful suffix, looking through a trailing .gz (``x.txt.gz`` → ``.txt``)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _sniff(path: Path) -> tuple[str | None, str]:
    """Guess a file's format from its first bytes, then its name; return (format, why not)."""
    try:
        with _open_binary(path) as stream:
            head = stream.read(_SNIFF_BYTES)
    except _DAMAGE as exc:
        return None, f"cannot read: {exc}"
    by_name = {".eml": "eml", ".msg": "eml", ".json": "ponymail", ".mbox": "mbox", ".mbx": "mbox"}.get(
        _suffix(path)
    )
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        return by_name, "empty file"
    first_line = text.split(b"\n", 1)[0] + b"\n"
    if head.startswith(_ZIP_MAGIC):
        if slack_export.is_export_zip(head, path):
            return "slack", ""
        return None, "a zip file that holds no Slack export (no users.json, channels.json or day files)"
    if text[:1] in (b"{", b"["):
        if discord_export.looks_like_export(text):
            return "discord", ""
        if slack_export.looks_like_day_file(text):
            return "slack", ""
        return "ponymail", ""
    if _PIPERMAIL_SEPARATOR.match(first_line):
        return "pipermail", ""
    if _MBOX_SEPARATOR.match(first_line):
        return "mbox", ""
    if _HEADER_LINE.match(first_line):
        return "eml", ""
    return by_name, "not a mail archive: no mbox separator, mail headers or JSON at the start"
