"""Reading in a child process yields exactly what reading in this process yields."""

from __future__ import annotations

import gzip
from pathlib import Path

from triagebot.ingest.archive import read_paths
from triagebot.ingest.background import BATCH, read_paths_in_background
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
