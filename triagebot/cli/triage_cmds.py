"""Commands over the triage engine: `triage`, `train`, `eval`, `kb validate`."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from triagebot.cli import EXIT_USAGE, CliContext, cli, fail
from triagebot.core.models import Channel, InboundMessage, TriageResult
from triagebot.core.text import clean_body
from triagebot.errors import InputError, TriagebotError
from triagebot.ingest.charsets import decode_unlabelled

EXIT_PARTIAL = 3
MAX_INPUT = 10 * 1024 * 1024  # bytes in one question (a file, stdin, or one --jsonl line)
MAX_DEPTH = 64  # nesting of arrays and objects a --jsonl line may have; json.loads recurses per level
BATCH = 256  # --jsonl lines triaged together
BATCH_BYTES = 4 * 1024 * 1024  # ... unless they add up to more bytes than this first
_SKIP_PIECE = 1024 * 1024  # the rest of an overlong line is read and dropped in pieces of this size
_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string (escapes included) and the brackets that nest; used to measure depth before parsing.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def decode_input(data: bytes, where: str) -> tuple[str, str | None]:
    """Bytes from a file or stdin → text, and a warning when it was not plain UTF-8.

    The charset is guessed as ingest guesses it for unlabelled mail (`decode_unlabelled`), so an
    ISO-2022-JP, Shift_JIS or EUC-JP file reads as the Japanese it is; binary data is refused.
    """
    if len(data) > MAX_INPUT:
        raise InputError(f"{where}: {len(data):,} bytes is more than the {MAX_INPUT:,} a question may have")
    if b"\0" in data[:65536]:
        raise InputError(f"{where}: looks like binary data, not a question")
    decoded = decode_unlabelled(data)
    text = decoded.text
    if decoded.replaced:
        if text.count("\ufffd") > max(16, len(text) // 20):
            raise InputError(
                f"{where}: not text in any encoding we know (UTF-8, ISO-2022-JP, Shift_JIS, EUC-JP)"
            )
        return text, f"{where}: not valid {decoded.charset}; undecodable bytes were replaced"
    warning = None if decoded.charset == "utf-8" else f"{where}: not UTF-8; read as {decoded.charset}"
    return text, warning


def scrub(text: str) -> str:
    """Replace lone surrogates (from JSON escapes or undecodable argv bytes) so output can be encoded."""
    return _SURROGATE.sub("\ufffd", text)


def _message(subject: str, body: str, channel: Channel, source: str = "cli") -> InboundMessage:
    return InboundMessage(
        channel=channel, source=source, message_id="", subject=subject, text=clean_body(body), original=body
    )


def result_json(result: TriageResult) -> dict[str, Any]:
    """The `--json` object for one result (a public, stable shape)."""
    details = result.details
    return {
        "language": result.question.language.value,
        "action": result.decision.action.value,
        "tips": [
            {"id": t.tip_id, "score": round(t.score, 4), "evidence": list(t.evidence)}
            for t in result.classification.tips
        ],
        "details": {
            "version": details.version,
            "os": details.os,
            "hypervisor": details.hypervisor,
            "specifics": details.specifics,
        },
        "missing": [d.value for d in details.missing],
        "reply": result.reply.text,
    }


def _summary(result: TriageResult, kb_title: Any) -> str:
    details = result.details
    lines = [f"Language:  {result.question.language.value}"]
    if result.classification.tips:
        lines.append("Tips:")
        for i, tip in enumerate(result.classification.tips, 1):
            lines.append(f"  {i}. {tip.tip_id:<22} {tip.score:.2f}  {kb_title(tip.tip_id)}")
            for item in tip.evidence:
                lines.append(f"       - {item}")
    else:
        below = result.classification.best_below
        hint = f" (closest: {below.tip_id} {below.score:.2f})" if below else ""
        lines.append(f"Tips:      none above {result.classification.threshold:.2f}{hint}")
    lines.append(
        "Details:   version {v} | OS {o} | hypervisor {h} | specifics {s}".format(
            v=details.version or "-",
            o=details.os or "-",
            h=details.hypervisor or "-",
            s="yes" if details.specifics else "no",
        )
    )
    lines.append(f"Missing:   {', '.join(d.value for d in details.missing) or 'nothing'}")
    lines.append(f"Decision:  {result.decision.action.value} ({result.decision.why})")
    reply = result.reply
    for i, part in enumerate(reply.parts or (reply.text,), 1):
        suffix = f" part {i}/{len(reply.parts)}" if len(reply.parts) > 1 else ""
        lines.append(f"--- reply ({reply.channel.value}, {reply.language.value}){suffix} ---")
        lines.append(part.rstrip())
    return "\n".join(lines)


def _engine(ctx: CliContext) -> Any:
    from triagebot.app import build_engine

    return build_engine(ctx.settings, notify=lambda msg: click.echo(f"triagebot: {msg}", err=True))


@cli.command()
@click.argument("text", required=False)
@click.option(
    "-f",
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the question from FILE.",
)
@click.option("--subject", default="", help="Subject line (mail) or thread title.")
@click.option(
    "--channel",
    type=click.Choice([c.value for c in Channel]),
    default="email",
    show_default=True,
    help="Format the reply for this channel.",
)
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.option(
    "--jsonl",
    "jsonl",
    type=str,
    default=None,
    metavar="FILE",
    help='Triage one {"subject", "body"} object per line of FILE (\'-\' for stdin).',
)
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="With --jsonl: processes to use (0 = one per CPU core, 1 = this process only).",
)
@click.option(
    "--table",
    is_flag=True,
    help="With --jsonl: print a readable table and one full reply per language instead of JSON.",
)
@click.pass_obj
def triage(
    ctx: CliContext,
    text: str | None,
    file: Path | None,
    subject: str,
    channel: str,
    as_json: bool,
    jsonl: str | None,
    workers: int,
    table: bool,
) -> None:
    """Triage a question: suggested tips, the four details, and the drafted reply.

    The question comes from TEXT, from -f FILE, or from standard input.

    \b
    Examples:
      triagebot triage "SELinux is set to enforcing. There are two options: ..."
      triagebot triage -f question.txt --subject "install fails" --channel slack --json
      triagebot triage --jsonl questions.jsonl > results.jsonl
    """
    chan = Channel(channel)
    if jsonl is not None:
        if text or file:
            fail("--jsonl cannot be combined with TEXT or -f", EXIT_USAGE)
        sys.exit(_triage_jsonl(ctx, jsonl, chan, table, workers or min(os.cpu_count() or 1, 8)))
    try:
        body, warning = _read_question(text, file)
    except InputError as exc:
        fail(str(exc), EXIT_USAGE)
    if warning:
        click.echo(f"triagebot: {warning}", err=True)
    if not body.strip() and not subject.strip():
        fail("nothing to triage: the question is empty", EXIT_USAGE)
    try:
        engine = _engine(ctx)
        result = engine.triage(_message(subject, body, chan), chan)
    except TriagebotError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(result_json(result), ensure_ascii=False))
    else:
        click.echo(_summary(result, lambda tip_id: engine.kb.tip(tip_id).title.en))


def _read_question(text: str | None, file: Path | None) -> tuple[str, str | None]:
    if text is not None and file is not None:
        raise InputError("give the question as TEXT or with -f FILE, not both")
    if text is not None:
        return scrub(text), None
    if file is not None:
        try:
            return decode_input(file.read_bytes(), str(file))
        except OSError as exc:
            raise InputError(f"{file}: {exc.strerror}") from None
    if sys.stdin is None or sys.stdin.isatty():
        raise InputError("no question given: pass TEXT, -f FILE, or pipe it on standard input")
    return decode_input(sys.stdin.buffer.read(MAX_INPUT + 1), "stdin")


def _nesting(text: str) -> int:
    """How deeply arrays and objects nest in a JSON text, counted without parsing it."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0  # cannot nest deeper than the brackets it has
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _parse_line(number: int, raw: bytes | None) -> InboundMessage | str:
    """One JSONL input line → a message, or the error text for its output line (None: too long)."""
    if raw is None:
        return f"line {number}: longer than {MAX_INPUT:,} bytes"
    if not raw.strip():
        return f"line {number}: blank line"
    try:
        line = raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        return f"line {number}: not valid UTF-8"
    if _nesting(line) > MAX_DEPTH:
        return f"line {number}: JSON nested more than {MAX_DEPTH} levels deep"
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"line {number}: not valid JSON ({exc.msg})"
    except RecursionError:
        return f"line {number}: JSON nested too deeply"
    if not isinstance(item, dict):
        return f"line {number}: expected a JSON object with subject and body"
    if "body" not in item:
        return f'line {number}: no body (expected {{"subject": ..., "body": ...}})'
    subject, body = item.get("subject", ""), item["body"]
    if not isinstance(subject, str) or not isinstance(body, str):
        return f"line {number}: subject and body must be strings"
    if not subject.strip() and not body.strip():
        return f"line {number}: empty question"
    return _message(scrub(subject), scrub(body), Channel.EMAIL, "jsonl")


def _numbered_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """Every line with its number, blank ones too; a line over MAX_INPUT bytes comes as None, unheld."""
    number = 0
    while raw := stream.readline(MAX_INPUT + 1):
        number += 1
        if len(raw) > MAX_INPUT and not raw.endswith(b"\n"):
            del raw
            while (rest := stream.readline(_SKIP_PIECE)) and not rest.endswith(b"\n"):
                pass
            yield number, None
        else:
            yield number, raw


def _chunks(stream: IO[bytes]) -> Iterator[list[tuple[int, bytes | None]]]:
    """Numbered lines, BATCH at a time (fewer when they are long)."""
    chunk: list[tuple[int, bytes | None]] = []
    size = 0
    for number, raw in _numbered_lines(stream):
        chunk.append((number, raw))
        size += len(raw) if raw is not None else 0
        if len(chunk) >= BATCH or size >= BATCH_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


Row = tuple[str, InboundMessage | str, TriageResult | None]


def _failed(number: int, exc: BaseException) -> str:
    return f"line {number}: could not be triaged ({type(exc).__name__}: {scrub(str(exc))[:200]})"


def _guarded_parse(number: int, raw: bytes | None) -> InboundMessage | str:
    try:
        return _parse_line(number, raw)
    except Exception as exc:  # the outer guard: no line may end the batch
        return _failed(number, exc)


# Characters that str.splitlines() and some JSONL readers take for line breaks; JSON may escape them.
_LINE_BREAKS = {ord(ch): f"\\u{ord(ch):04x}" for ch in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}
_ANY_LINE_BREAK = re.compile("[" + "".join(map(chr, _LINE_BREAKS)) + "]")


def _dumps(obj: dict[str, Any]) -> str:
    """One output line: JSON whose only line break is the one that ends it, whatever reader splits it."""
    line = json.dumps(obj, ensure_ascii=False)
    # a search finds none in most lines many times faster than translate() walks them
    return line.translate(_LINE_BREAKS) if _ANY_LINE_BREAK.search(line) else line


def _error_row(number: int, why: str) -> Row:
    return _dumps({"line": number, "error": why}), why, None


def _result_row(number: int, message: InboundMessage, result: TriageResult) -> Row:
    try:
        return _dumps({"line": number, **result_json(result)}), message, result
    except Exception as exc:
        return _error_row(number, _failed(number, exc))


def _triage_each(
    engine: Any, channel: Channel, numbered: list[tuple[int, InboundMessage]]
) -> list[TriageResult | str]:
    """Triage a batch; if the batch fails, triage its messages one by one so only the bad one fails."""
    messages = [message for _, message in numbered]
    try:
        results: list[TriageResult | str] = list(engine.triage_batch(messages, channel))
        if len(results) == len(messages):
            return results
    except Exception:
        pass
    out: list[TriageResult | str] = []
    for number, message in numbered:
        try:
            out.append(engine.triage(message, channel))
        except Exception as exc:
            out.append(_failed(number, exc))
    return out


def triage_lines(engine: Any, channel: Channel, chunk: list[tuple[int, bytes | None]]) -> list[Row]:
    """Parse and triage one chunk of JSONL lines: one row (output line, item, result) per input line.

    Any failure, in parsing, triage or output, becomes the error object of its own line.
    """
    items = [(number, _guarded_parse(number, raw)) for number, raw in chunk]
    numbered = [(number, item) for number, item in items if isinstance(item, InboundMessage)]
    results = iter(_triage_each(engine, channel, numbered))
    rows: list[Row] = []
    for number, item in items:
        if isinstance(item, str):
            rows.append(_error_row(number, item))
            continue
        result = next(results)
        if isinstance(result, str):
            rows.append(_error_row(number, result))
        else:
            rows.append(_result_row(number, item, result))
    return rows


def _guarded_triage_lines(engine: Any, channel: Channel, chunk: list[tuple[int, bytes | None]]) -> list[Row]:
    try:
        return triage_lines(engine, channel, chunk)
    except Exception as exc:
        return [_error_row(number, _failed(number, exc)) for number, _ in chunk]


# The engine a forked worker uses: set in the parent right before the pool forks, read by the children.
_FORKED: dict[str, Any] = {}


def _triage_in_worker(chunk: list[tuple[int, bytes | None]]) -> tuple[list[str], int]:
    rows = _guarded_triage_lines(_FORKED["engine"], _FORKED["channel"], chunk)
    return [line for line, _, _ in rows], sum(result is None for _, _, result in rows)


def _write(out: IO[bytes], lines: list[str]) -> None:
    """Write output lines as UTF-8; anything unencodable that got this far becomes "?" (never a crash)."""
    out.write(("\n".join(lines) + "\n").encode("utf-8", errors="replace"))


def _triage_jsonl(ctx: CliContext, name: str, channel: Channel, table: bool = False, workers: int = 1) -> int:
    try:
        engine = _engine(ctx)
        stream: IO[bytes] = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115
    except OSError as exc:
        fail(f"{name}: {exc.strerror}", EXIT_USAGE)
    except TriagebotError as exc:
        fail(str(exc))
    errors = 0
    out: IO[bytes] = sys.stdout.buffer
    shown: list[tuple[InboundMessage, TriageResult]] = []
    try:
        with stream:
            if workers > 1 and not table:
                _FORKED.update(engine=engine, channel=channel)
                with multiprocessing.get_context("fork").Pool(workers) as pool:
                    for lines, failed in pool.imap(_triage_in_worker, _chunks(stream)):
                        errors += failed
                        _write(out, lines)
            else:
                for chunk in _chunks(stream):
                    rows = _guarded_triage_lines(engine, channel, chunk)
                    for _line, item, result in rows:
                        if result is None:
                            errors += 1
                            if table:
                                click.echo(f"triagebot: {item}", err=True)
                        elif table and isinstance(item, InboundMessage):
                            shown.append((item, result))
                    if not table:
                        _write(out, [line for line, _, _ in rows])
        if table:
            _write(out, [_table(shown)])
        out.flush()
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        fail(f"{name}: {exc.strerror or exc}")
    if errors:
        click.echo(f'triagebot: {errors} line(s) could not be triaged (see their "error" objects)', err=True)
    return EXIT_PARTIAL if errors else 0


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(text: str, width: int) -> str:
    """Cut and pad to a display width (Japanese characters take two columns)."""
    text = " ".join(text.split())
    while _width(text) > width:
        text = text[:-2] + "…"
    return text + " " * (width - _width(text))


def _table(rows: list[tuple[InboundMessage, TriageResult]]) -> str:
    """Question, language, top tip, score, missing details; then one full reply per language."""
    lines = [f"{_cell('question', 46)}  lang  {_cell('top tip', 22)} score  missing"]
    lines.append("-" * 100)
    for message, result in rows:
        top = result.classification.tips[0] if result.classification.tips else None
        lines.append(
            f"{_cell(message.subject or message.text, 46)}  {result.question.language.value:<4}  "
            f"{_cell(top.tip_id if top else '(abstain)', 22)} {top.score if top else 0:5.2f}  "
            f"{', '.join(d.value for d in result.details.missing) or '-'}"
        )
    for language in ("ja", "en"):
        example = next(
            (r for m, r in rows if r.question.language.value == language and r.classification.tips), None
        )
        if example is not None:
            lines.append("")
            lines.append(f"=== full reply ({language}, {example.reply.channel.value}) ===")
            lines.append(example.reply.text.rstrip())
    return "\n".join(lines)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the training summary as JSON.")
@click.option(
    "--reviews/--no-reviews",
    default=None,
    help="Learn from moderators' decisions in the database too (default: [train] reviews, on).",
)
@click.option(
    "--review-weight",
    type=click.FloatRange(0, 100),
    default=None,
    help="How many knowledge-base examples one decision weighs (default: [train] review_weight, 5).",
)
@click.pass_obj
def train(ctx: CliContext, as_json: bool, reviews: bool | None, review_weight: float | None) -> None:
    """Train the classifier on the knowledge base and moderators' decisions; save it, stamped.

    \b
    Example:
      triagebot train && triagebot eval dev/dev.jsonl
      triagebot --db sqlite:///var/triagebot.sqlite3 train --review-weight 3
      triagebot train --no-reviews
    """
    from triagebot.app import train_as_configured
    from triagebot.kbfiles import load_knowledge_base

    chosen_train = ctx.settings.train.model_copy(
        update={
            key: value
            for key, value in (("reviews", reviews), ("review_weight", review_weight))
            if value is not None
        }
    )
    settings = ctx.settings.model_copy(update={"train": chosen_train})
    started = time.perf_counter()
    try:
        kb = load_knowledge_base(settings.paths.knowledge)
        _, meta = train_as_configured(settings, kb, notify=lambda m: click.echo(f"triagebot: {m}", err=True))
    except TriagebotError as exc:
        fail(str(exc))
    seconds = round(time.perf_counter() - started, 2)
    chosen = next((p for p in meta.sweep if p["threshold"] == meta.threshold), None)
    summary = {
        "model": meta.version,
        "examples": meta.examples,
        "reviewed": meta.reviewed,
        "tips": len(meta.labels),
        "threshold": meta.threshold,
        "out_of_fold": chosen,
        "seconds": seconds,
        "saved_to": str(ctx.settings.paths.models),
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(
        f"trained model {meta.version} on {meta.examples} examples ({meta.reviewed} from moderators), "
        f"{len(meta.labels)} tips, in {seconds}s"
    )
    if chosen:
        click.echo(
            f"threshold {meta.threshold:.2f}: out-of-fold precision {chosen['precision']:.3f}, "
            f"coverage {chosen['coverage']:.3f}, out-of-scope abstention {chosen['abstention']:.3f}"
        )
    click.echo(f"saved to {ctx.settings.paths.models}")
