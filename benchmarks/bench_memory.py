"""Peak memory of `triagebot ingest`: one message with a 4 MB header, one with a 40 MB line, and a big archive.

Run from the repository root: `.venv/bin/python benchmarks/bench_memory.py [--messages 200000]
[--skip-archive]`. Each ingest is the real command (`python -m triagebot ingest FILE`, triage on) in a
fresh child process, measured by a small wrapper process through `resource.getrusage(RUSAGE_CHILDREN)`,
so the figure is the peak RSS of the biggest process of that ingest (the command or its reading
process) and nothing else. The model is trained first into a temporary directory (so training is not
measured, and models/ is left alone). Target: each single-message ingest under 300 MB. The archive of
--messages messages is written by benchmarks/gen_mbox.py; its peak is printed. Figures are printed,
not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MB = 300
MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
lines = done.stdout.decode(errors="replace").strip().splitlines()
print(json.dumps([peak, done.returncode, lines[-1] if lines else ""]))
"""

HEADERS = (
    "From: Asker <asker@example.org>\nTo: users@cloudstack.apache.org\n"
    "Date: Mon, 01 Jan 2024 10:00:00 +0000\nMessage-ID: <{id}@example.org>\n"
)
QUESTION = "SELinux is set to enforcing and the management server does not start.\n"


def big_header(path: Path, size: int) -> Path:
    """One message whose Subject is `size` bytes on one line."""
    subject = ("SELinux enforcing " * (size // 18 + 1))[:size]
    path.write_bytes(
        b"From asker@example.org Mon Jan  1 10:00:00 2024\n"
        + (HEADERS.format(id="header") + f"Subject: {subject}\n\n{QUESTION}").encode()
    )
    return path


def big_line(path: Path, size: int) -> Path:
    """One message whose body has one line of `size` bytes after the question."""
    with path.open("wb") as out:
        out.write(b"From asker@example.org Mon Jan  1 10:00:00 2024\n")
        out.write((HEADERS.format(id="line") + "Subject: management server\n\n" + QUESTION).encode())
        chunk = b"0123456789abcdef" * 65536  # 1 MiB
        for _ in range(size // len(chunk)):
            out.write(chunk)
        out.write(b"\nthanks\n")
    return path


def measure(archive: Path, workdir: Path, env: dict[str, str]) -> tuple[float, int, str, float]:
    """(peak RSS MB, exit status, last output line, seconds) of one ingest into a fresh SQLite file."""
    db = workdir / f"{archive.stem}.sqlite3"
    db.unlink(missing_ok=True)
    command = [sys.executable, "-m", "triagebot", "--db", f"sqlite:///{db}", "ingest", str(archive), "--json"]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    seconds = time.perf_counter() - started
    peak, code, last = json.loads(done.stdout.strip().splitlines()[-1])
    return float(peak), int(code), str(last), seconds


def main() -> None:
    """Write the inputs, train once, measure each ingest and print one line per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000, help="messages in the archive case")
    parser.add_argument("--skip-archive", action="store_true", help="measure only the two single messages")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="triagebot-mem-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGEBOT_")}
        env["TRIAGEBOT_MODELS"] = str(work / "models")
        subprocess.run(
            [sys.executable, "-m", "triagebot", "train"], env=env, cwd=ROOT, check=True, capture_output=True
        )
        cases = [
            ("one ordinary message", big_header(work / "small.mbox", 40)),
            ("one message, 4 MB Subject header", big_header(work / "header.mbox", 4 * 1024 * 1024)),
            ("one message, 40 MB single body line", big_line(work / "line.mbox", 40 * 1024 * 1024)),
        ]
        if not args.skip_archive:
            from benchmarks.gen_mbox import write_mbox

            archive = work / "archive.mbox"
            write_mbox(args.messages, archive)
            cases.append((f"{args.messages:,}-message archive", archive))
        for name, path in cases:
            peak, code, last, seconds = measure(path, work, env)
            try:
                counts = json.loads(last)
            except ValueError:
                counts = {}
            verdict = (
                "" if "archive" in name else (" (under target)" if peak < TARGET_MB else " (OVER TARGET)")
            )
            print(
                f"{name:<40} peak RSS {peak:7.1f} MB{verdict}  exit {code}  {seconds:6.1f} s  "
                f"read {counts.get('read', '?')} new {counts.get('new', '?')} skipped {counts.get('skipped', '?')}"
            )


if __name__ == "__main__":
    main()
