"""Commands for moderation and delivery: `queue approve|reject|relabel|escalate`, `deliver`, `outbox`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from triagebot import outbox, review
from triagebot.cli import CliContext, cli, fail
from triagebot.cli.archive_cmds import _store, queue
from triagebot.errors import TriagebotError
from triagebot.store import ReviewView
from triagebot.store.moderation import OutboxEntry, outbox_entries, outbox_for_item, resolve
from triagebot.store.views import OutboxState

ACTOR_HELP = "Name recorded in the audit log as the one who acted."


def _done(view: ReviewView, what: str) -> None:
    """One line saying what became of the item."""
    click.echo(f"review item {view.id}: {what} (now {view.status.value})")


def _read_text(path: str) -> str:
    """The reply text from a file, or from stdin for '-'."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {exc}")


@queue.command("approve")
@click.argument("item_id", type=int)
@click.option(
    "--text-file", default=None, help="Send this text (a file, or - for stdin) instead of the draft."
)
@click.option("--send-anyway", is_flag=True, help="Queue it even though someone already answered the thread.")
@click.option("--as", "actor", default="cli", show_default=True, help=ACTOR_HELP)
@click.pass_obj
def approve_cmd(ctx: CliContext, item_id: int, text_file: str | None, send_anyway: bool, actor: str) -> None:
    """Approve a pending draft (optionally with edited text) and queue its reply for delivery.

    \b
    Example:
      triagebot queue approve 42
      triagebot queue approve 42 --text-file reply.txt --as hana
    """
    text = _read_text(text_file) if text_file else None
    try:
        with _store(ctx) as store:
            view = review.approve(
                store,
                item_id,
                actor=actor,
                text=text,
                send_anyway=send_anyway,
                addressing=review.ReplyAddressing.from_settings(ctx.settings),
            )
            queued = outbox_for_item(store, item_id) is not None
    except TriagebotError as exc:
        fail(str(exc))
    _done(
        view, "approved; reply queued" if queued else "approved; not queued (the thread was already answered)"
    )


@queue.command("reject")
@click.argument("item_id", type=int)
@click.argument("reason", type=click.Choice([r.value for r in review.RejectReason]))
@click.argument("text", required=False, default="")
@click.option("--as", "actor", default="cli", show_default=True, help=ACTOR_HELP)
@click.pass_obj
def reject_cmd(ctx: CliContext, item_id: int, reason: str, text: str, actor: str) -> None:
    """Reject a draft with a reason code and, optionally, a few words; nothing is sent.

    \b
    Example:
      triagebot queue reject 42 wrong-tip "this is about NFS, not SELinux"
    """
    try:
        with _store(ctx) as store:
            view = review.reject(store, item_id, reason, text, actor=actor)
    except TriagebotError as exc:
        fail(str(exc))
    _done(view, f"rejected ({reason})")


@queue.command("relabel")
@click.argument("item_id", type=int)
@click.argument("tips", nargs=-1)
@click.option("--as", "actor", default="cli", show_default=True, help=ACTOR_HELP)
@click.pass_obj
def relabel_cmd(ctx: CliContext, item_id: int, tips: tuple[str, ...], actor: str) -> None:
    """Give a pending draft other tips (none: ask for details) and render it again.

    \b
    Example:
      triagebot queue relabel 42 nfs-storage firewall-ports
    """
    try:
        from triagebot.app import build_engine

        engine = build_engine(ctx.settings, notify=lambda msg: click.echo(f"triagebot: {msg}", err=True))
        with _store(ctx) as store:
            view = review.relabel(store, item_id, tips, actor=actor, renderer=engine)
    except TriagebotError as exc:
        fail(str(exc))
    _done(view, f"relabelled to {', '.join(tips) or 'no tip'}")


@queue.command("escalate")
@click.argument("item_id", type=int)
@click.option("--note", default="", help="What the expert should look at.")
@click.option("--as", "actor", default="cli", show_default=True, help=ACTOR_HELP)
@click.pass_obj
def escalate_cmd(ctx: CliContext, item_id: int, note: str, actor: str) -> None:
    """Mark a pending draft as needing an expert.

    \b
    Example:
      triagebot queue escalate 42 --note "looks like a bug in 4.19"
    """
    try:
        with _store(ctx) as store:
            view = review.escalate(store, item_id, actor=actor, note=note)
    except TriagebotError as exc:
        fail(str(exc))
    _done(view, "marked as needing an expert")


# -- delivery -------------------------------------------------------------------------------------


def _summary_line(summary: outbox.DeliverySummary) -> str:
    """What a delivery run did, in one line."""
    return (
        f"claimed {summary.claimed}, sent {summary.sent}, retry later {summary.retried}, "
        f"failed {summary.failed}, unknown {summary.unknown}"
    )


@cli.command("deliver")
@click.option(
    "--watch", is_flag=True, help="Keep running, delivering every --interval seconds, until Ctrl-C."
)
@click.option("--interval", type=click.FloatRange(min=0.1), default=30.0, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=outbox.DEFAULT_BATCH, show_default=True)
@click.option("--worker", default=None, help="Name of this deliverer in the audit log (default: host:pid).")
@click.pass_obj
def deliver_cmd(ctx: CliContext, watch: bool, interval: float, limit: int, worker: str | None) -> None:
    """Send approved mail replies from the outbox over SMTP ([smtp] settings), exactly once each.

    Temporary failures (4xx, connection errors) are retried later with growing pauses; permanent ones
    (5xx) are marked failed. A reply whose attempt was cut off is marked unknown, never resent by itself.

    \b
    Example:
      TRIAGEBOT_SMTP_PASSWORD=... triagebot deliver --watch
    """
    name = worker or f"deliver:{socket.gethostname()}:{os.getpid()}"
    settings = ctx.settings
    try:
        senders = outbox.smtp_senders(settings)
        with _store(ctx) as store:
            if not watch:
                summary = outbox.deliver(store, settings, worker=name, senders=senders, limit=limit)
                click.echo(_summary_line(summary))
                if summary.failed or summary.retried:
                    sys.exit(1)
                return
            stop = threading.Event()

            def _stop(_signum: int, _frame: FrameType | None) -> None:
                stop.set()

            signal.signal(signal.SIGTERM, _stop)
            click.echo(f"delivering every {interval:g}s; Ctrl-C stops", err=True)
            with contextlib.suppress(KeyboardInterrupt):
                outbox.watch(
                    store,
                    settings,
                    worker=name,
                    interval=interval,
                    should_stop=stop.is_set,
                    senders=senders,
                    sleep=stop.wait,
                    progress=lambda s: click.echo(_summary_line(s), err=True),
                )
    except TriagebotError as exc:
        fail(str(exc))


def _entry_json(entry: OutboxEntry) -> dict[str, Any]:
    """An outbox row as JSON (the body left out: it can be long)."""
    return {
        "id": entry.id,
        "review_item_id": entry.review_item_id,
        "state": entry.state.value,
        "to": list(entry.destination.get("to", ())),
        "subject": entry.subject,
        "message_id": entry.message_id,
        "attempts": entry.attempts,
        "next_attempt_at": entry.next_attempt_at.isoformat() if entry.next_attempt_at else None,
        "last_error": entry.last_error,
        "sent_at": entry.sent_at.isoformat() if entry.sent_at else None,
    }


@cli.group("outbox", invoke_without_command=True)
@click.option("--state", "states", multiple=True, type=click.Choice([s.value for s in OutboxState]))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def outbox_cmd(click_ctx: click.Context, states: tuple[str, ...], as_json: bool) -> None:
    """List outbox rows (newest first); `outbox resend ID` and `outbox confirm ID` settle unknown ones.

    \b
    Example:
      triagebot outbox --state unknown --state failed
    """
    if click_ctx.invoked_subcommand is not None:
        return
    ctx: CliContext = click_ctx.obj
    try:
        with _store(ctx) as store:
            entries = outbox_entries(store, [OutboxState(s) for s in states] or None)
    except TriagebotError as exc:
        fail(str(exc))
    for entry in entries:
        if as_json:
            click.echo(json.dumps(_entry_json(entry), ensure_ascii=False))
        else:
            error = f"  {entry.last_error}" if entry.last_error else ""
            click.echo(f"{entry.id:>6}  {entry.state.value:<7}  {entry.attempts:>2}  {entry.subject}{error}")
    if not entries and not as_json:
        click.echo("The outbox is empty." if not states else "No outbox rows in that state.")


def _settle(ctx: CliContext, outbox_id: int, to: OutboxState, actor: str, note: str) -> None:
    """Resolve one unknown or failed row, or fail with the reason."""
    try:
        with _store(ctx) as store:
            entry = resolve(store, outbox_id, actor=actor, to=to, note=note)
    except TriagebotError as exc:
        fail(str(exc))
    click.echo(f"outbox {entry.id}: now {entry.state.value}")


@outbox_cmd.command("resend")
@click.argument("outbox_id", type=int)
@click.option("--as", "actor", default="cli", show_default=True, help=ACTOR_HELP)
@click.pass_obj
def resend_cmd(ctx: CliContext, outbox_id: int, actor: str) -> None:
    """Queue an unknown or failed reply again (check the list first: an unknown one may have arrived).

    \b
    Example:
      triagebot outbox resend 7
    """
    _settle(ctx, outbox_id, OutboxState.QUEUED, actor, "resend asked for on the command line")


@outbox_cmd.command("confirm")
@click.argument("outbox_id", type=int)
@click.option("--as", "actor", default="cli", show_default=True, help=ACTOR_HELP)
@click.pass_obj
def confirm_cmd(ctx: CliContext, outbox_id: int, actor: str) -> None:
    """Record that an unknown reply did arrive, so it is never sent again.

    \b
    Example:
      triagebot outbox confirm 7
    """
    _settle(ctx, outbox_id, OutboxState.SENT, actor, "confirmed delivered on the command line")
