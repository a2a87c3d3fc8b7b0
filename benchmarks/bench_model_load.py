"""Model load time: the `.npz` + JSON model file against a pickle of the same model.

Run from the repository root: `.venv/bin/python benchmarks/bench_model_load.py [--rounds 15]`. It
trains the real model into a temporary directory (models/ is left alone), then reads the saved file
and a pickle of the same model in turn, from disk, and prints the fastest and the median time of
each. The pickle is timed only for comparison: triagebot never writes or reads one.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from triagebot.core.classify import TrainedModel  # noqa: E402
from triagebot.core.training import train_model  # noqa: E402
from triagebot.kbfiles import load_knowledge_base  # noqa: E402
from triagebot.modelstore import MODEL_FILE, load_model, save_model, unpack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    kb = load_knowledge_base(ROOT / "knowledge")
    model = train_model(kb)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        save_model(model, directory, trained_at="2026-01-01T00:00:00+00:00", examples=0)
        pickled = directory / "reference.pickle"
        pickled.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
        full_times: list[float] = []
        npz_times: list[float] = []
        pickle_times: list[float] = []
        for _ in range(args.rounds):  # turn about, so all share the machine's load
            started = time.perf_counter()
            load_model(directory, kb.digest)
            full_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            unpack((directory / MODEL_FILE).read_bytes(), TrainedModel)
            npz_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            pickle.loads(pickled.read_bytes())
            pickle_times.append(time.perf_counter() - started)
        sizes = {name: (directory / name).stat().st_size for name in (MODEL_FILE, pickled.name)}
    for name, times, size in (
        ("load_model (with its checks)", full_times, sizes[MODEL_FILE]),
        (f"{MODEL_FILE} read + rebuilt", npz_times, sizes[MODEL_FILE]),
        ("pickle of the same model", pickle_times, sizes[pickled.name]),
    ):
        print(
            f"{name:<28} fastest {min(times) * 1000:6.1f} ms  median {statistics.median(times) * 1000:6.1f} ms"
            f"  {size / 1e6:5.1f} MB"
        )


if __name__ == "__main__":
    main()
