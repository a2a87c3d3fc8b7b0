"""Fuzzing `triagebot triage --jsonl`: 20,000 generated lines through the real command.

The lines are generated from a fixed seed, so every run sees the same input: random Unicode (Japanese
included), deep JSON, wrong types, missing fields, huge lines, lone surrogates, invalid UTF-8, blank
lines, mass mentions and HTML. Whatever comes in, the command must write exactly one JSON line per
input line, numbered as the input, print no traceback, and never echo a raw mass mention or a tag.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from triagebot.modelstore import ModelMeta

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261202
LINES = 20_000
MASS_MENTION = re.compile(r"@(?:channel|here|everyone)\b|<!(?:channel|here|everyone)", re.IGNORECASE)
TAG = re.compile(r"<(?:script|img|svg|iframe)", re.IGNORECASE)

SYMPTOMS = [
    "SELinux is set to enforcing",
    "mount.nfs: access denied by server while mounting 10.0.0.2:/export",
    "The host name of this computer does not resolve to an IP address.",
    "Unable to find systemvm template",
    "setenforce 0 を実行しましたが、管理サーバーが起動しません",
    "cloudstack-setup-databases がエラーになります。CloudStack 4.19 と Rocky Linux 8 です",
]
HOSTILE = [
    "@channel",
    "@here",
    "@everyone",
    "<!channel>",
    "<!here|here>",
    "<!everyone>",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<SCRIPT SRC=//x></SCRIPT>",
    "<svg/onload=alert(1)>",
    "<iframe src=javascript:alert(1)>",
]
# Code point ranges to draw from: ASCII, Latin-1, kana, kanji, full-width forms, emoji, odd breaks.
RANGES = [
    (0x20, 0x7E),
    (0xA0, 0xFF),
    (0x3040, 0x30FF),
    (0x4E00, 0x9FFF),
    (0xFF01, 0xFF9F),
    (0x1F300, 0x1F64F),
]
ODD = ["\u2028", "\u2029", "\x85", "\x1c", "\x0b", "\u200b", "\ufeff", "\x00", "\t", "\r", "\n"]


def _random_text(rng: random.Random, length: int) -> str:
    out = []
    for _ in range(length):
        roll = rng.random()
        if roll < 0.05:
            out.append(rng.choice(ODD))
        elif roll < 0.07:
            out.append(chr(rng.randint(0xD800, 0xDFFF)))  # a lone surrogate, written as a JSON escape
        else:
            low, high = rng.choice(RANGES)
            out.append(chr(rng.randint(low, high)))
    return "".join(out)


def _question(rng: random.Random) -> str:
    parts = [rng.choice(SYMPTOMS)]
    for _ in range(rng.randint(0, 3)):
        parts.append(rng.choice(HOSTILE) if rng.random() < 0.5 else _random_text(rng, rng.randint(1, 40)))
    rng.shuffle(parts)
    # Glue hostile text onto words too, so the phrases picked as evidence carry it.
    return " ".join(parts) + " " + rng.choice(HOSTILE) + rng.choice(["setenforce", "nfs", "SELinux"])


def _deep(rng: random.Random) -> str:
    depth = rng.randint(65, 300) if rng.random() < 0.9 else rng.randint(1000, 6000)
    opener = rng.choice(["[", '{"a": ', '[{"b": '])
    closer = {"[": "]", '{"a": ': "}", '[{"b": ': "}]"}[opener]
    tail = closer * depth if rng.random() < 0.5 else ""
    return opener * depth + "1" + tail


def _wrong(rng: random.Random) -> str:
    values: list[object] = [None, 5, 1.5, True, [], ["a"], {}, {"x": "y"}, "", "   "]
    item: dict[str, object] = {}
    if rng.random() < 0.8:
        item["subject"] = rng.choice([*values, "SELinux"])
    if rng.random() < 0.8:
        item["body"] = rng.choice([*values, "SELinux is set to enforcing"])
    return json.dumps(item) if rng.random() < 0.9 else json.dumps([item])


def _line(rng: random.Random, number: int) -> bytes:
    """One input line (without its newline); about one in three is unusable on purpose."""
    roll = rng.random()
    if number % 2000 == 0:  # a huge line, ten in all
        body = _question(rng) + " " + "x" * rng.randint(200_000, 900_000)
        return json.dumps({"subject": "huge", "body": body}).encode()
    if roll < 0.60:
        subject = rng.choice(["", _random_text(rng, 10), rng.choice(HOSTILE)])
        text = json.dumps({"subject": subject, "body": _question(rng)}, ensure_ascii=rng.random() < 0.7)
        return text.encode("utf-8", errors="surrogatepass")  # raw surrogates make invalid UTF-8
    if roll < 0.70:
        return _deep(rng).encode()
    if roll < 0.80:
        return _wrong(rng).encode()
    if roll < 0.85:
        return b""  # blank
    if roll < 0.90:
        return bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 60))).replace(b"\n", b" ")
    if roll < 0.95:  # truncated JSON
        whole = json.dumps({"subject": "x", "body": _question(rng)})
        return whole[: rng.randint(1, len(whole) - 1)].encode("utf-8", errors="surrogatepass")
    return _random_text(rng, rng.randint(1, 80)).encode("utf-8", errors="surrogatepass").replace(b"\n", b" ")


def _generate() -> list[bytes]:
    rng = random.Random(SEED)
    lines = []
    for number in range(1, LINES + 1):
        line = _line(rng, number)
        assert b"\n" not in line
        lines.append(line)
    return lines


@pytest.fixture()
def triagebot(
    models_dir: Path, trained: tuple[object, ModelMeta]
) -> Callable[..., subprocess.CompletedProcess[bytes]]:
    def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_", "DISCORD_"))}
        env.update(TRIAGEBOT_MODELS=str(models_dir), TRIAGEBOT_KB=str(ROOT / "knowledge"))
        env["TRIAGEBOT_TEMPLATES"] = str(ROOT / "templates")
        return subprocess.run(
            [sys.executable, "-m", "triagebot", *args],
            capture_output=True,
            cwd=cwd,
            env=env,
            timeout=600,
            check=False,
        )

    return _run


def test_twenty_thousand_fuzzed_lines(triagebot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = _generate()
    (tmp_path / "fuzz.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    done = triagebot("triage", "--jsonl", "fuzz.jsonl", "--workers", "2", cwd=tmp_path)
    stderr = done.stderr.decode("utf-8", errors="replace")
    assert "Traceback" not in stderr, stderr[-3000:]
    assert done.returncode == 3, stderr[-3000:]  # some lines are unusable on purpose
    output = done.stdout.decode("utf-8")  # strict: valid UTF-8 throughout
    rows = [json.loads(row) for row in output.splitlines()]
    assert len(rows) == len(lines)
    assert [row["line"] for row in rows] == list(range(1, len(lines) + 1))
    errors = [row for row in rows if "error" in row]
    answered = [row for row in rows if "error" not in row]
    assert all(row["error"].startswith(f"line {row['line']}: ") for row in errors)
    assert f"{len(errors)} line(s) could not be triaged" in stderr
    for index, line in enumerate(lines):
        if not line.strip():
            assert rows[index]["error"].endswith("blank line")
    # The generator made plenty of both kinds, and the hostile text reached the evidence.
    assert len(answered) > LINES // 2 and len(errors) > LINES // 4
    evidence = [item for row in answered for tip in row["tips"] for item in tip["evidence"]]
    assert sum("\u200b" in item for item in evidence) > 100
    for row in answered:
        shown = [row["reply"], *(item for tip in row["tips"] for item in tip["evidence"])]
        for text in shown:
            assert not MASS_MENTION.search(text), (row["line"], text)
            assert not TAG.search(text), (row["line"], text)
            assert not any("\ud800" <= ch <= "\udfff" for ch in text)
