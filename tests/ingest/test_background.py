"""Reading in a child process yields exactly what reading in this process yields."""

from __future__ import annotations

import gzip
import multiprocessing
import os
from collections.abc import Callable, Sequence
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import pytest

from triagebot.ingest import background
from triagebot.ingest.archive import read_paths
from triagebot.ingest.background import BATCH, Item, read_paths_in_background
from triagebot.ingest.records import ReadProblem

ROOT = Path(__file__).resolve().parents[2]


def test_same_records_in_the_same_order() -> None:
    archive = [ROOT / "samples" / "archive"]
    assert list(read_paths_in_background(archive)) == list(read_paths(archive))


def test_many_batches_and_problems_come_through(tmp_path: Path) -> None:
    messages = [
        f"From a@example.org Tue Mar  3 10:00:00 2009\nFrom: a@example.org\nSubject: q{i}\n"
        f"Message-ID: <m{i}@example.org>\n\nbody {i}\n"
        for i in range(BATCH * 2 + 7)
    ]
    path = tmp_path / "big.mbox.gz"
    data = "".join(messages).encode()
    path.write_bytes(gzip.compress(data)[:-20])  # truncated: the last part is damaged
    items = list(read_paths_in_background([path]))
    assert items == list(read_paths([path]))
    assert len(items) > BATCH * 2
    assert isinstance(items[-1], ReadProblem)


def test_stopping_early_ends_the_child(tmp_path: Path) -> None:
    reader = read_paths_in_background([ROOT / "samples" / "archive"])
    first = next(reader)
    reader.close()
    assert first == next(iter(read_paths([ROOT / "samples" / "archive"])))


class _Pids:
    """Side work that notes which process prepared each batch and how many items it saw."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.taken: list[tuple[int, int]] = []

    def prepare(self, items: Sequence[Item], spare: Callable[[], bool]) -> tuple[int, int] | None:
        if not spare():
            return None
        if self.fail:
            raise RuntimeError("side work broke")
        return os.getpid(), len(items)

    def take(self, prepared: tuple[int, int]) -> None:
        self.taken.append(prepared)


def _many_messages(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "many.mbox"
    path.write_text(
        "".join(
            f"From a@example.org Tue Mar  3 10:00:00 2009\nFrom: a@example.org\nSubject: q{i}\n"
            f"Message-ID: <m{i}@example.org>\n\nbody {i}\n"
            for i in range(count)
        )
    )
    return path


def test_side_work_runs_in_the_reader_and_reaches_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(background, "MIN_WAITING", 0)  # help even when the caller is idle
    path = _many_messages(tmp_path, BATCH * 2 + 3)
    side = _Pids()
    items = list(read_paths_in_background([path], side=side))
    assert items == list(read_paths([path]))
    assert [count for _, count in side.taken] == [BATCH, BATCH, 3]
    assert {pid for pid, _ in side.taken} - {os.getpid()} == {pid for pid, _ in side.taken}


def test_failing_side_work_loses_no_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(background, "MIN_WAITING", 0)
    path = _many_messages(tmp_path, BATCH + 1)
    side = _Pids(fail=True)
    assert list(read_paths_in_background([path], side=side)) == list(read_paths([path]))
    assert side.taken == []


def test_side_work_is_left_to_an_idle_caller() -> None:
    queue: Queue[Any] = multiprocessing.get_context("fork").Queue()
    assert background._caller_waits(queue)
    for _ in range(background.MIN_WAITING - 1):
        queue.put("a batch")
    assert background._caller_waits(queue)  # too few waiting: the caller may soon run dry
    queue.put("a batch")
    assert not background._caller_waits(queue)
    while not queue.empty():
        queue.get()
