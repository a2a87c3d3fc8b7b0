"""Read archives in a second process, so reading mail overlaps storing and triaging it.

Reading a message (parsing, decoding, cleaning) costs about as much as storing and triaging it; on a
machine with two or more cores, running the two side by side nearly halves an ingest.
Records arrive in the same order as from `read_paths`, in bounded batches (memory stays flat).
A `SideWork` can use the reading process for more: it sees each batch there, and what it makes of
the batch is handed to it in the calling process before the batch's records are yielded. Side work
is work the caller would otherwise do itself, so it is done only while the caller is busy (batches
are waiting for it, asked as the work goes); a caller waiting for records gets them at once.

The child never outlives the caller's process: on Linux the kernel kills it when the parent dies
(`PR_SET_PDEATHSIG`), and everywhere a watchdog thread ends it within `WATCH_SECONDS` of the parent
going away, even while the queue's feeder thread is blocked writing into a pipe nobody reads.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.queues import Queue
from pathlib import Path
from queue import Full
from typing import Any, Protocol

from triagebot.core.models import InboundMessage
from triagebot.ingest.archive import read_paths
from triagebot.ingest.records import ReadProblem

BATCH = 200
QUEUED_BATCHES = 8
MIN_WAITING = 3  # side work is done only while at least this many batches wait for the caller
# (fewer, and the caller runs dry while a batch is still being read after the side work stopped)
CHILD_SWITCH_INTERVAL = 0.001  # seconds
PIPE_BYTES = 1 << 20  # Linux lets any process raise a pipe to 1 MiB (/proc/sys/fs/pipe-max-size)
WATCH_SECONDS = 0.5  # how often the child checks that its parent is still there
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

READ_AHEAD = (QUEUED_BATCHES + 2) * BATCH  # at most this many records are read but not yet yielded

Item = InboundMessage | ReadProblem
Handed = tuple[list[Item], Any]


class SideWork(Protocol):
    """Work done on each batch of records in the reading process, on behalf of the caller."""

    def prepare(self, items: Sequence[Item], spare: Callable[[], bool]) -> Any:
        """Runs in the reading process on every batch, in order. `spare()` says whether the caller is
        still busy; once it is not, only bookkeeping should be done. The value (picklable) goes to
        `take` in the caller's process."""
        ...

    def take(self, prepared: Any) -> None:
        """Runs in the caller's process just before the batch's records are yielded."""
        ...


def _prepared(side: SideWork | None, batch: list[Item], queue: Queue[Handed | None]) -> Any:
    """What `side` makes of a batch; None when there is no side work or it failed.

    Side work only saves the caller time, so a failure here is not reported: the caller does the
    same work itself and meets any real error there.
    """
    if side is None:
        return None
    try:
        return side.prepare(batch, lambda: not _caller_waits(queue))
    except Exception:
        return None


def _widen_pipe(queue: Queue[Handed | None]) -> None:
    """Let the queue's pipe hold a whole batch (Linux), so a batch passes in one write, not sixteen.

    The pipe is a detail of CPython's Queue; where it cannot be reached or resized the default
    64 KiB pipe is used, which is only slower.
    """
    writer = getattr(queue, "_writer", None)
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if writer is None or set_size is None:
        return
    with contextlib.suppress(OSError, ValueError):
        fcntl.fcntl(writer.fileno(), set_size, PIPE_BYTES)


def _caller_waits(queue: Queue[Handed | None]) -> bool:
    """True when fewer than MIN_WAITING batches wait for the caller, which may soon wait for one."""
    try:
        return queue.qsize() < MIN_WAITING
    except NotImplementedError:  # qsize() is missing on some platforms: always help
        return False


def _die_with_parent(parent: int) -> None:
    """Make this child process end when `parent` ends, whatever the child is blocked on.

    The kernel's parent-death signal covers Linux; the watchdog thread covers the rest and the race
    where the parent died before the signal was armed. Both exit without running the queue's
    finalizers, which would wait for a feeder thread that can no longer write.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _hand_over(queue: Queue[Handed | None], batch: Handed | None, parent: int) -> None:
    """Put a batch, giving up (and exiting) if the parent process has gone away."""
    while True:
        try:
            queue.put(batch, timeout=1.0)
            return
        except Full:
            if os.getppid() != parent:
                os._exit(0)


def _produce(
    queue: Queue[Handed | None], paths: Sequence[Path], fmt: str | None, side: SideWork | None, parent: int
) -> None:
    """Child process: read everything, hand it over batch by batch, then a None."""
    _die_with_parent(parent)
    # Ctrl-C at a terminal reaches the whole process group: the caller decides when to stop and then
    # ends this process, which must not die on its own first and leave the caller waiting for batches
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The queue's feeder thread writes each pickled batch into the pipe in pieces and needs the GIL
    # between pieces; with the default 5 ms switch interval the parent waits on those handovers.
    sys.setswitchinterval(CHILD_SWITCH_INTERVAL)
    # the child never prints; it must not keep the parent's output pipes open if the parent is killed
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    batch: list[Item] = []
    try:
        for item in read_paths(paths, fmt=fmt):
            batch.append(item)
            if len(batch) >= BATCH:
                _hand_over(queue, (batch, _prepared(side, batch, queue)), parent)
                batch = []
    except Exception as exc:  # reported like any unreadable input, never lost silently
        batch.append(ReadProblem(", ".join(map(str, paths)), f"reader stopped: {type(exc).__name__}: {exc}"))
    if batch:
        _hand_over(queue, (batch, _prepared(side, batch, queue)), parent)
    _hand_over(queue, None, parent)


def read_paths_in_background(
    paths: Sequence[Path], *, fmt: str | None = None, side: SideWork | None = None
) -> Iterator[Item]:
    """Like `read_paths`, with the reading (and any `side` work) done by a forked child process."""
    context = multiprocessing.get_context("fork")
    queue: Queue[Handed | None] = context.Queue(maxsize=QUEUED_BATCHES)
    _widen_pipe(queue)
    child = context.Process(target=_produce, args=(queue, list(paths), fmt, side, os.getpid()), daemon=True)
    child.start()
    try:
        while (handed := queue.get()) is not None:
            batch, prepared = handed
            if side is not None and prepared is not None:
                side.take(prepared)
            yield from batch
        child.join()
    finally:
        if child.is_alive():
            child.terminate()
            child.join()
