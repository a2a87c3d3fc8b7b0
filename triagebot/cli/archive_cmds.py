"""Commands over the store: `ingest` archives, `work` through waiting questions, look at the `queue`."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click

from triagebot import pipeline, review
from triagebot.cli import CliContext, cli, fail
from triagebot.core.models import Detail, InboundMessage, Language
from triagebot.errors import TriagebotError
from triagebot.ingest.archive import FORMATS
from triagebot.ingest.background import READ_AHEAD, read_paths_in_background
from triagebot.ingest.records import ReadProblem
from triagebot.store import QueueEntry, QueueFilter, ReviewStatus, ReviewView, Store, open_store

EXIT_PARTIAL = 3
ANSWERED = {"no": False, "yes": True, "any": None}  # `queue --answered` → QueueFilter.answered
EXIT_INTERRUPTED = 130  # what shells report for a command ended by Ctrl-C
SHOWN_ERRORS = 20


def _engine(ctx: CliContext) -> pipeline.TriageEngine:
    """Build the triage engine only when a command needs it (it loads the model)."""
    from triagebot.app import build_engine

    return build_engine(ctx.settings, notify=lambda msg: click.echo(f"triagebot: {msg}", err=True))


@contextmanager
def _store(ctx: CliContext, *, read_only: bool = False) -> Iterator[Store]:
    """Open the configured database for one command and close it afterwards.

    Commands that only look pass `read_only`: they never create a database (or its directory).
    """
    store = open_store(ctx.settings.database.url, read_only=read_only)
    try:
        yield store
    finally:
        store.close()


def _width(text: str) -> int:
    """Display width: Japanese characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    """Cut and pad `text` to `width` columns."""
    text = " ".join(text.split())
    if _width(text) > width:
        while _width(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - _width(text))


# -- ingest ---------------------------------------------------------------------------------------


def _summary_json(summary: pipeline.IngestSummary) -> dict[str, Any]:
    """The one `--json` object of `ingest`."""
    return {
        "read": summary.read,
        "new": summary.new,
        "duplicates": summary.duplicates,
        "skipped": summary.skipped,
        "errors": [{"where": where, "why": why} for where, why in summary.errors],
        "notices": [{"where": where, "why": why} for where, why in summary.notices],
    }


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Read every PATH as this format instead of detecting it.",
)
@click.option(
    "--source",
    default=None,
    help="Name of the list or channel the archive comes from (default: each message's List-Id, else 'mail').",
)
@click.option("--no-triage", is_flag=True, help="Only store and thread; `triagebot work` triages later.")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=pipeline.DEFAULT_BATCH,
    show_default=True,
    help="Messages per transaction.",
)
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object with the counts.")
@click.pass_obj
def ingest(
    ctx: CliContext,
    paths: tuple[Path, ...],
    fmt: str | None,
    source: str | None,
    no_triage: bool,
    batch_size: int,
    as_json: bool,
) -> None:
    """Store mail archives and Slack or Discord exports, thread them, and draft a reply to every new question.

    Reading again what is already stored adds nothing, and a run that was interrupted can simply be
    started again. Exit status: 0 when every message was stored, 3 when some were skipped (listed),
    1 on errors, 2 on usage errors.

    \b
    Example:
      triagebot ingest archive/2024-03.mbox.gz archive/2024-04.txt.gz --source users@cloudstack.apache.org
      triagebot --db postgresql+psycopg://bot@db/triage ingest maildir/ --no-triage --json
      triagebot ingest slack-export.zip discord/install-help.json
    """
    committed = pipeline.IngestSummary()
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        signal.signal(signum, signal.default_int_handler)  # a second Ctrl-C interrupts at once

    def remember(progress: pipeline.IngestSummary) -> None:
        """Called after each batch is committed and counted: the safe place to stop on request."""
        nonlocal committed
        committed = progress
        if stopping:
            raise _StopRequested

    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.SIG_IGN:  # where Ctrl-C is ignored (a background job), leave it so
        signal.signal(signal.SIGINT, stop)
    try:
        with _store(ctx) as store:
            engine = None if no_triage else pipeline.TriageAhead(_engine(ctx), keep=batch_size + READ_AHEAD)
            records: Iterator[InboundMessage | ReadProblem] = read_paths_in_background(
                list(paths), fmt=fmt, side=engine
            )

            def run(items: Iterable[InboundMessage | ReadProblem]) -> pipeline.IngestSummary:
                return pipeline.ingest(
                    items, store, engine, source=source, batch_size=batch_size, progress=remember
                )

            if sys.stderr.isatty():
                with click.progressbar(
                    records, label="Ingesting", file=sys.stderr, show_pos=True, update_min_steps=50
                ) as bar:
                    summary = run(bar)
            else:
                summary = run(records)
    except TriagebotError as exc:
        fail(str(exc))
    except _StopRequested:
        _say_interrupted(committed, "the batch in progress was stored first")
    except KeyboardInterrupt:
        _say_interrupted(committed, "the batch in progress was cut short and may or may not be stored")
    finally:
        if signal.getsignal(signal.SIGINT) is stop:  # not pressed: give Ctrl-C back as it was
            signal.signal(signal.SIGINT, previous)
    if as_json:
        click.echo(json.dumps(_summary_json(summary), ensure_ascii=False))
    else:
        click.echo(
            f"Read {summary.read:,} messages: {summary.new:,} new, {summary.duplicates:,} already stored, "
            f"{summary.skipped:,} skipped."
        )
        if engine is None:
            click.echo("Not triaged (--no-triage): run `triagebot work --until-empty` to draft replies.")
        else:
            click.echo(
                f"Triaged {summary.triaged:,} messages: {summary.drafted:,} new drafts, "
                f"{summary.updated:,} drafts updated after follow-ups."
            )
        for where, why in summary.notices[:SHOWN_ERRORS]:
            click.echo(f"triagebot: note {where}: {why}", err=True)
        if len(summary.notices) > SHOWN_ERRORS:
            click.echo(f"triagebot: … and {len(summary.notices) - SHOWN_ERRORS:,} more notes", err=True)
        for where, why in summary.errors[:SHOWN_ERRORS]:
            click.echo(f"triagebot: skipped {where}: {why}", err=True)
        if len(summary.errors) > SHOWN_ERRORS:
            click.echo(f"triagebot: … and {len(summary.errors) - SHOWN_ERRORS:,} more skipped", err=True)
    sys.exit(EXIT_PARTIAL if summary.skipped else 0)


# -- work -----------------------------------------------------------------------------------------


@cli.command()
@click.option("--until-empty", is_flag=True, help="Stop when no message waits, instead of polling for more.")
@click.option(
    "--batch", type=click.IntRange(1, 10_000), default=100, show_default=True, help="Messages per claim."
)
@click.option("--worker-id", default=None, help="Name shown in claims and the audit log (default: HOST-PID).")
@click.option(
    "--claim-timeout",
    type=click.FloatRange(min=1),
    default=pipeline.DEFAULT_CLAIM_TIMEOUT.total_seconds(),
    show_default=True,
    help="Seconds after which a claim of a worker that died is taken over.",
)
@click.option(
    "--poll", type=click.FloatRange(min=0.05), default=2.0, show_default=True, help="Seconds between polls."
)
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object with the counts.")
@click.pass_obj
def work(
    ctx: CliContext,
    until_empty: bool,
    batch: int,
    worker_id: str | None,
    claim_timeout: float,
    poll: float,
    as_json: bool,
) -> None:
    """Triage the messages that wait in the database (stored with --no-triage, or by other runs).

    Any number of workers may run against one database: each message is triaged exactly once.
    Ctrl-C (or SIGTERM) finishes the current batch and stops.

    \b
    Example:
      triagebot work --until-empty
      triagebot --db postgresql+psycopg://bot@db/triage work --worker-id node-2 --batch 200
    """
    name = worker_id or f"{socket.gethostname()}-{os.getpid()}"
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        signal.signal(signum, signal.SIG_DFL)  # a second signal stops at once

    def nap(seconds: float) -> None:
        end = time.monotonic() + seconds
        while not stopping and time.monotonic() < end:
            time.sleep(min(0.1, seconds))

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        engine = _engine(ctx)
        with _store(ctx) as store:
            summary = pipeline.work(
                store,
                engine,
                name,
                batch=batch,
                until_empty=until_empty,
                stale_after=timedelta(seconds=claim_timeout),
                poll_seconds=poll,
                should_stop=lambda: stopping,
                sleep=nap,
            )
    except TriagebotError as exc:
        fail(str(exc))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "worker": name,
                    "batches": summary.batches,
                    "triaged": summary.triaged,
                    "lost": summary.lost,
                    "drafted": summary.drafted,
                    "updated": summary.updated,
                },
                ensure_ascii=False,
            )
        )
    else:
        click.echo(
            f"Worker {name}: triaged {summary.triaged:,} messages in {summary.batches:,} batches "
            f"({summary.drafted:,} new drafts, {summary.updated:,} updated)."
        )
        if summary.lost:
            click.echo(f"triagebot: {summary.lost:,} results dropped: their claims had timed out", err=True)
    if stopping:
        click.echo(
            "Stopped on request after the batch in progress; every result above is stored. "
            "Run `triagebot work` again to triage what still waits.",
            err=True,
        )


class _StopRequested(Exception):
    """Ctrl-C during ingest: stop once the batch in progress is stored and counted."""


def _say_interrupted(committed: pipeline.IngestSummary, batch: str) -> NoReturn:
    """Tell what an interrupted ingest stored and how to resume, then exit with EXIT_INTERRUPTED."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # one more press while exiting must not end in a traceback
    click.echo(
        f"\nInterrupted. Stored before stopping: {committed.new:,} new messages "
        f"({committed.triaged:,} triaged, {committed.drafted:,} drafts); {batch}. "
        "Run the same command again to resume: stored messages are recognised and skipped.",
        err=True,
    )
    sys.exit(EXIT_INTERRUPTED)


# -- queue ----------------------------------------------------------------------------------------


def _entry_json(entry: QueueEntry) -> dict[str, Any]:
    """One object of `queue --json`."""
    return {
        "id": entry.id,
        "thread_id": entry.thread_id,
        "subject": entry.subject,
        "asker": entry.asker,
        "source": entry.source,
        "language": entry.language.value,
        "channel": entry.channel.value,
        "action": entry.action.value,
        "tips": [{"id": t.tip_id, "score": round(t.score, 4)} for t in entry.tips],
        "missing": [d.value for d in entry.missing],
        "status": entry.status.value,
        "answered": entry.answered,
        "created_at": entry.created_at.isoformat(),
        "updated_at": entry.updated_at.isoformat(),
    }


def _view_json(view: ReviewView) -> dict[str, Any]:
    """The object of `queue show --json`."""
    return {
        "id": view.id,
        "thread_id": view.thread_id,
        "status": view.status.value,
        "subject": view.subject,
        "asker": view.asker,
        "source": view.source,
        "language": view.language.value,
        "channel": view.channel.value,
        "action": view.action.value,
        "answered": view.answered,
        "question": view.question,
        "tips": [
            {"id": t.tip_id, "score": round(t.score, 4), "evidence": list(t.evidence)} for t in view.tips
        ],
        "missing": [d.value for d in view.missing],
        "why": view.why,
        "model_version": view.model_version,
        "draft": view.draft_text,
        "final": view.final_text,
        "history": [
            {
                "at": h.at.isoformat(),
                "actor": h.actor,
                "from": h.from_status.value if h.from_status else None,
                "to": h.to_status.value if h.to_status else None,
                "note": h.note,
            }
            for h in view.history
        ],
    }


def _indent(text: str) -> str:
    """Indent every line by four spaces."""
    return "\n".join("    " + line if line else "" for line in text.rstrip().splitlines()) or "    (empty)"


def _view_text(view: ReviewView) -> str:
    """`queue show` for people."""
    lines = [
        f"Review item {view.id}: {view.status.value}",
        f"Subject:   {view.subject}",
        f"Asker:     {view.asker}",
        f"Source:    {view.source} ({view.channel.value}), language {view.language.value}",
        f"Answered:  {'yes, someone else replied in the thread' if view.answered else 'no'}",
        f"Decision:  {view.action.value}: {view.why}",
        "",
        "Question:",
        _indent(view.question),
        "",
        "Tips:" if view.tips else "Tips: none above the threshold",
    ]
    for tip in view.tips:
        lines.append(f"    {tip.tip_id}  {tip.score:.2f}")
        lines.extend(f"        evidence: {e}" for e in tip.evidence)
    missing = ", ".join(d.value for d in view.missing) or "none"
    lines += ["", f"Missing details: {missing}", "", "Draft:", _indent(view.draft_text)]
    if view.final_text is not None and view.final_text != view.draft_text:
        lines += ["", "Text to send (edited):", _indent(view.final_text)]
    lines += ["", "History:"]
    for h in view.history:
        change = (
            f"{h.from_status.value if h.from_status else '-'} → {h.to_status.value}"
            if h.to_status
            else "note"
        )
        lines.append(f"    {h.at:%Y-%m-%d %H:%M:%S}  {h.actor}  {change}  {h.note}".rstrip())
    return "\n".join(lines)


@cli.group(invoke_without_command=True)
@click.option("--tip", default=None, help="Only items suggesting this tip id.")
@click.option("--language", type=click.Choice([lang.value for lang in Language]), default=None)
@click.option("--source", default=None, help="Only items from this list or channel.")
@click.option(
    "--missing",
    type=click.Choice([d.value for d in Detail]),
    default=None,
    help="Only items where this detail is missing.",
)
@click.option("--status", type=click.Choice([s.value for s in ReviewStatus]), default=None)
@click.option(
    "--answered",
    type=click.Choice(ANSWERED),
    default="no",
    show_default=True,
    help="Threads someone else already replied in: hidden (no), only those (yes), or both (any).",
)
@click.option(
    "--limit", type=click.IntRange(min=0), default=50, show_default=True, help="At most this many (0: all)."
)
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON array.")
@click.pass_context
def queue(
    click_ctx: click.Context,
    tip: str | None,
    language: str | None,
    source: str | None,
    missing: str | None,
    status: str | None,
    answered: str,
    limit: int,
    as_json: bool,
) -> None:
    """List review items, oldest first; `queue show ID` shows one in full.

    Threads already answered by someone else are hidden unless --answered says otherwise.

    \b
    Example:
      triagebot queue --language ja --missing version --status pending
      triagebot queue --tip selinux --answered any --json
    """
    if click_ctx.invoked_subcommand is not None:
        return
    ctx: CliContext = click_ctx.obj
    filters = QueueFilter(
        tip=tip,
        language=Language(language) if language else None,
        source=source,
        missing=Detail(missing) if missing else None,
        status=ReviewStatus(status) if status else None,
        answered=ANSWERED[answered],
        limit=limit or None,
    )
    try:
        with _store(ctx, read_only=True) as store:
            entries = review.queue(store, filters)
            total = store.count(filters) if limit and len(entries) == limit else len(entries)
            hidden = store.count(replace(filters, answered=True)) if filters.answered is False else 0
    except TriagebotError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps([_entry_json(e) for e in entries], ensure_ascii=False))
        return
    if hidden:
        click.echo(
            f"{hidden:,} items of threads already answered are hidden; --answered any shows them.", err=True
        )
    if not entries:
        click.echo("No review items match.")
        return
    click.echo(f"{'ID':>6}  {'STATUS':<8}  LANG  ANS  {_fit('SUBJECT', 44)}  {_fit('TIPS', 24)}  MISSING")
    for e in entries:
        tips = ", ".join(f"{t.tip_id} {t.score:.2f}" for t in e.tips) or "-"
        click.echo(
            f"{e.id:>6}  {e.status.value:<8}  {e.language.value:<4}  {'yes' if e.answered else 'no ':<3}  "
            f"{_fit(e.subject, 44)}  {_fit(tips, 24)}  {', '.join(d.value for d in e.missing) or '-'}"
        )
    if total > len(entries):
        click.echo(f"Showing {len(entries):,} of {total:,}; use --limit 0 for all.", err=True)


@queue.command("show")
@click.argument("item_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.pass_obj
def show(ctx: CliContext, item_id: int, as_json: bool) -> None:
    """Show one review item: the question, tips with scores and evidence, missing details, the draft.

    \b
    Example:
      triagebot queue show 42
    """
    try:
        with _store(ctx, read_only=True) as store:
            view = review.show(store, item_id)
    except TriagebotError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(_view_json(view), ensure_ascii=False))
    else:
        click.echo(_view_text(view))
