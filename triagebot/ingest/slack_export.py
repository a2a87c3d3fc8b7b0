"""Read a Slack workspace export (the zip Slack hands out, or that zip unpacked) into InboundMessages.

An export holds ``users.json`` and ``channels.json`` (``groups.json``, ``mpims.json`` and ``dms.json``
in larger plans) at its top, and one folder per channel named after the channel, with one
``YYYY-MM-DD.json`` file per day: a JSON list of message objects in time order. Threads are told by
``thread_ts`` (the ``ts`` of the thread's first message), so a reply keeps its thread whichever day
file it is in.

What is taken: messages people wrote (plain, ``thread_broadcast``, ``file_share``, ``me_message``) and
bot posts (``bot_message`` or a ``bot_id``), which are kept marked as bots so the store never takes
them for questions or answers. Joins, leaves, topic changes, pins, tombstones and the
``message_changed`` / ``message_deleted`` records are not messages and are passed over; an edited
message is its final text, taken once. Attached files and attachments add no text. User mentions
``<@U…>`` are written as ``@name`` from ``users.json``; channel links and URLs read as their labels.

A day file that is not JSON, or an entry that is not a message object, is reported as a
`ReadProblem` and the rest is read.
"""

from __future__ import annotations

import json
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from triagebot.core.models import Channel, InboundMessage, slack_message_id
from triagebot.core.text import clean_body
from triagebot.ingest.records import ReadProblem, json_type_name, shown_value

Item = InboundMessage | ReadProblem

FILE_LIMIT = 64 * 1024 * 1024  # a JSON file of the export is loaded whole, so its size is bounded
SUBJECT_LIMIT = 120
DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")
_CONVERSATION_LISTS = ("channels.json", "groups.json", "mpims.json", "dms.json")
_METADATA = ("users.json", *_CONVERSATION_LISTS)
# Subtypes that are a person's (or a bot's) message; every other subtype is an event, not a message.
_MESSAGE_SUBTYPES = frozenset({"", "thread_broadcast", "file_share", "me_message", "bot_message"})
_ZIP_MAGIC = b"PK\x03\x04"
_DAY_HEAD = re.compile(rb'^\s*\[\s*(?:\]|\{[^\[\]]*?"(?:ts|type)"\s*:)')
_MARKUP = re.compile(r"<([^<>\s][^<>]*)>")


def looks_like_day_file(head: bytes) -> bool:
    """Whether the first bytes of a JSON file read like a Slack day file: a list of message objects."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return bool(_DAY_HEAD.match(text)) and b'"ts"' in text


def is_export_dir(path: Path) -> bool:
    """Whether a directory is an unpacked Slack export: export metadata and a folder of day files."""
    if not any((path / name).is_file() for name in _METADATA):
        return False
    try:
        folders = [entry for entry in path.iterdir() if entry.is_dir() and not entry.name.startswith(".")]
        return any(DAY_FILE.match(day.name) for folder in folders for day in folder.iterdir())
    except OSError:
        return False


def is_export_zip(head: bytes, path: Path) -> bool:
    """Whether a file is a zip holding a Slack export (export metadata or channel day files)."""
    if not head.startswith(_ZIP_MAGIC):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
    return bool(_export_root(names)[1])


# -- the files of an export, from a folder or a zip ------------------------------------------------


class _Unreadable(Exception):
    """A file of the export that cannot be read (damaged, too large, not a regular file)."""


@dataclass(frozen=True, slots=True)
class _Files:
    """The files of one export: their names (``general/2024-03-05.json``) and how to read each."""

    where: str
    names: tuple[str, ...]
    read: Callable[[str], bytes]


def _folder_files(root: Path) -> _Files:
    """The JSON files at the top of an unpacked export and one level down, in its channel folders."""
    names: list[str] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            names.extend(
                f"{entry.name}/{day.name}" for day in sorted(entry.iterdir()) if day.suffix == ".json"
            )
        elif entry.suffix == ".json":
            names.append(entry.name)

    def read(name: str) -> bytes:
        return _read_regular_file(root / name)

    return _Files(str(root), tuple(names), read)


def _read_regular_file(path: Path) -> bytes:
    """A regular file's bytes, at most FILE_LIMIT; a FIFO or device is refused without waiting on it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _Unreadable(f"cannot read: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Unreadable("not a regular file: skipped without reading it")
        os.set_blocking(fd, True)
        try:
            data = stream.read(FILE_LIMIT + 1)
        except OSError as exc:
            raise _Unreadable(f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > FILE_LIMIT:
        raise _Unreadable(f"larger than {FILE_LIMIT:,} bytes: not read")
    return data


def _export_root(names: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The folder inside a zip that holds the export ("" for the top) and the export's files there.

    Slack's own zips have the export at the top; zips people make of the unpacked folder add one
    folder level, which is looked through.
    """
    posix = [PurePosixPath(n) for n in names if not n.endswith("/")]
    for prefix in ("", *sorted({p.parts[0] + "/" for p in posix if len(p.parts) > 1})):
        depth = len(PurePosixPath(prefix).parts)
        inside = [p for p in posix if p.parts[:depth] == PurePosixPath(prefix).parts]
        relative = ["/".join(p.parts[depth:]) for p in inside]
        metadata = [r for r in relative if r in _METADATA]
        days = [r for r in relative if r.count("/") == 1 and DAY_FILE.match(r.split("/")[1])]
        if metadata or days:
            return prefix, tuple(sorted(metadata + days))
    return "", ()


def _zip_files(archive: zipfile.ZipFile, where: str) -> _Files:
    """The export files inside an open zip; each member's size is checked before it is inflated."""
    prefix, names = _export_root(archive.namelist())

    def read(name: str) -> bytes:
        try:
            info = archive.getinfo(prefix + name)
            if info.file_size > FILE_LIMIT:
                raise _Unreadable(f"larger than {FILE_LIMIT:,} bytes: not read")
            with archive.open(info) as member:
                data = member.read(FILE_LIMIT + 1)
        except (OSError, KeyError, zipfile.BadZipFile, EOFError, RuntimeError) as exc:
            raise _Unreadable(f"cannot read from the zip: {exc}") from exc
        if len(data) > FILE_LIMIT:
            raise _Unreadable(f"larger than {FILE_LIMIT:,} bytes: not read")
        return data

    return _Files(where, names, read)


# -- reading ---------------------------------------------------------------------------------------


def read_export_dir(path: Path) -> Iterator[Item]:
    """Read an unpacked Slack export folder."""
    try:
        files = _folder_files(path)
    except OSError as exc:
        yield ReadProblem(str(path), f"cannot list the Slack export: {exc.strerror or exc}")
        return
    yield from _read_export(files)


def read_export_zip(path: Path) -> Iterator[Item]:
    """Read a Slack export zip."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        yield ReadProblem(str(path), f"cannot open the zip: {exc}")
        return
    with archive:
        yield from _read_export(_zip_files(archive, str(path)))


def read_day_file(path: Path) -> Iterator[Item]:
    """Read one day file alone: its folder names the channel; the export's metadata is looked for above."""
    root = path.parent.parent
    metadata = tuple(name for name in _METADATA if (root / name).is_file())
    own = f"{path.parent.name}/{path.name}"
    yield from _read_export(_Files(str(root), (*metadata, own), lambda name: _read_regular_file(root / name)))


def _read_export(files: _Files) -> Iterator[Item]:
    """Read the metadata, then every channel's day files in date order."""
    workspace = Workspace()
    for name in _METADATA:
        if name in files.names:
            problem = workspace.load(name, files)
            if problem is not None:
                yield problem
    days: dict[str, list[str]] = {}
    for name in files.names:
        folder, _, day = name.rpartition("/")
        if folder and DAY_FILE.match(day):
            days.setdefault(folder, []).append(name)
    for folder in sorted(days):
        seen: set[str] = set()
        for name in sorted(days[folder]):
            yield from _read_day(files, name, workspace.channel_id(folder), workspace, seen)


def _read_day(
    files: _Files, name: str, channel_id: str, workspace: Workspace, seen: set[str]
) -> Iterator[Item]:
    """One day file: each message in it, in order; a broken file or entry is reported and skipped."""
    where = f"{files.where}/{name}"
    try:
        entries = json.loads(files.read(name).decode("utf-8-sig"))
    except _Unreadable as exc:
        yield ReadProblem(where, str(exc))
        return
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield ReadProblem(where, f"not valid JSON: {exc}; the day's messages were skipped")
        return
    if not isinstance(entries, list):
        yield ReadProblem(where, "a day file must hold a JSON list of messages; skipped")
        return
    for number, entry in enumerate(entries, start=1):
        place = f"{where}#{number}"
        try:
            record = message_to_inbound(entry, channel_id=channel_id, workspace=workspace, where=place)
        except BadEntry as exc:
            yield ReadProblem(place, f"bad Slack message: {exc}; skipped")
            continue
        if record is None or record.message_id in seen:
            continue
        seen.add(record.message_id)
        yield record


# -- the workspace's users and channels ------------------------------------------------------------


class Workspace:
    """Names and ids from the export's metadata: users (for mentions, bots) and channels (for ids)."""

    def __init__(self) -> None:
        self.users: dict[str, str] = {}
        self.bots: set[str] = set()
        self.channels: dict[str, str] = {}  # folder name → channel id
        self.channel_names: dict[str, str] = {}  # channel id → name

    def load(self, name: str, files: _Files) -> ReadProblem | None:
        """Read one metadata file; what cannot be read is a problem, and messages are read without it."""
        where = f"{files.where}/{name}"
        try:
            entries = json.loads(files.read(name).decode("utf-8-sig"))
        except _Unreadable as exc:
            return ReadProblem(where, f"{exc}; names from it are not resolved", kept=True)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return ReadProblem(where, f"not valid JSON ({exc}); names from it are not resolved", kept=True)
        if not isinstance(entries, list):
            return ReadProblem(where, "not a JSON list; names from it are not resolved", kept=True)
        for entry in entries:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
                continue
            if name == "users.json":
                self._add_user(entry)
            else:
                self._add_channel(entry)
        return None

    def _add_user(self, user: Mapping[str, Any]) -> None:
        profile = user.get("profile")
        profile = profile if isinstance(profile, Mapping) else {}
        for candidate in (
            profile.get("display_name"),
            profile.get("real_name"),
            user.get("real_name"),
            user.get("name"),
        ):
            if isinstance(candidate, str) and candidate.strip():
                self.users[user["id"]] = candidate.strip()
                break
        if user.get("is_bot") is True:
            self.bots.add(user["id"])

    def _add_channel(self, channel: Mapping[str, Any]) -> None:
        # Direct-message folders are named by their id; channels by their name.
        folder = channel.get("name")
        self.channels[folder if isinstance(folder, str) and folder else channel["id"]] = channel["id"]
        if isinstance(folder, str) and folder:
            self.channel_names[channel["id"]] = folder

    def channel_id(self, folder: str) -> str:
        """The id of the channel a folder holds (the folder name when the export does not list it)."""
        return self.channels.get(folder, folder)

    def user_name(self, user_id: str, label: str | None) -> str:
        """How a mentioned user is written: the export's name, else the mention's own label, else the id."""
        return self.users.get(user_id) or label or user_id


# -- one message -----------------------------------------------------------------------------------


class BadEntry(ValueError):
    """A day-file entry that is not a usable Slack message; the text says what is wrong."""


def message_to_inbound(
    entry: Any, *, channel_id: str, workspace: Workspace | None = None, where: str = ""
) -> InboundMessage | None:
    """Translate one entry of a day file; None for events that are not messages (joins, edits...).

    Raises:
        BadEntry: the entry is not an object, or its ``ts``, ``text``, ``user`` or ``thread_ts`` is
            missing or of the wrong type.
    """
    if not isinstance(entry, Mapping):
        raise BadEntry(f"entry is {json_type_name(entry)}, not an object")
    subtype = entry.get("subtype") or ""
    if not isinstance(subtype, str):
        raise BadEntry(f"subtype is {json_type_name(subtype)}, not a string")
    if entry.get("type", "message") != "message" or subtype not in _MESSAGE_SUBTYPES:
        return None
    ts = entry.get("ts")
    if not isinstance(ts, str) or not _TS.match(ts):
        raise BadEntry(f"ts is {shown_value(ts)}, not a Slack timestamp like '1709632800.000100'")
    text = entry.get("text", "")
    if not isinstance(text, str):
        raise BadEntry(f"text is {json_type_name(text)}, not a string")
    for key in ("user", "bot_id", "thread_ts", "username"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise BadEntry(f"{key} is {json_type_name(entry[key])}, not a string")
    thread_ts = entry.get("thread_ts")
    if thread_ts is not None and not _TS.match(thread_ts):
        raise BadEntry(f"thread_ts is {shown_value(thread_ts)}, not a Slack timestamp")
    workspace = workspace or Workspace()
    written = readable_text(text, workspace)
    if not written.strip():
        return None  # a file or an attachment alone: nothing to read
    user = entry.get("user") or ""
    author = user or entry.get("bot_id") or entry.get("username") or ""
    is_bot = subtype == "bot_message" or bool(entry.get("bot_id")) or user in workspace.bots
    dumped = json.dumps(entry, ensure_ascii=False, sort_keys=True)
    return InboundMessage(
        channel=Channel.SLACK,
        source=channel_id,
        message_id=slack_message_id(channel_id, ts),
        subject=_first_line(written),
        text=clean_body(written),
        original=written,
        author=author,
        sent_at=_time_of(ts),
        thread_key=slack_message_id(channel_id, thread_ts or ts),
        is_bot=is_bot,
        raw=dumped.encode("utf-8", errors="backslashreplace"),
        where=where,
    )


def readable_text(text: str, workspace: Workspace) -> str:
    """Slack's markup as a person reads it: ``<@U1>`` → ``@name``, ``<url|label>`` → ``label (url)``.

    Slack escapes only ``&``, ``<`` and ``>`` in message text; they are put back last, so an escaped
    ``&lt;@U1&gt;`` typed by a user stays text.
    """

    def replace(match: re.Match[str]) -> str:
        inner, _, label = match.group(1).partition("|")
        label_or_none = label or None
        if inner.startswith("@"):
            return "@" + workspace.user_name(inner[1:], label_or_none)
        if inner.startswith("#"):
            return "#" + (label or workspace.channel_names.get(inner[1:], inner[1:]))
        if inner.startswith("!"):
            return label or "@" + inner[1:].split("^", 1)[0]
        if inner.startswith("mailto:"):
            return label or inner[len("mailto:") :]
        return f"{label} ({inner})" if label and label != inner else inner

    return _MARKUP.sub(replace, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _time_of(ts: str) -> datetime:
    """A Slack ``ts`` (seconds.sequence) as a time, exact to the microsecond (no float rounding)."""
    seconds, _, fraction = ts.partition(".")
    micro = int(fraction[:6].ljust(6, "0"))
    return datetime.fromtimestamp(int(seconds), tz=UTC) + timedelta(microseconds=micro)


def _first_line(text: str) -> str:
    """The first non-empty line, cut to a readable length: chat messages have no subject of their own."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:SUBJECT_LIMIT]
