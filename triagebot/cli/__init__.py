"""The `triagebot` command line: a thin click group over the composition root in `triagebot.app`.

Every command has help with an example; errors from `triagebot.errors` become a one-line message and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click

from triagebot.config import Settings, load_settings
from triagebot.errors import TriagebotError

EXIT_USAGE = 2


@dataclass(slots=True)
class CliContext:
    """What the group options decided, handed to every command."""

    settings: Settings


# Each command's module is imported only when that command runs, so `triagebot triage` does not pay
# for SQLAlchemy and `triagebot ingest` does not pay for anything it does not use.
COMMAND_MODULES = {
    "triage": "triagebot.cli.triage_cmds",
    "train": "triagebot.cli.triage_cmds",
    "eval": "triagebot.cli.eval_cmds",
    "kb": "triagebot.cli.eval_cmds",
    "learn": "triagebot.cli.learn_cmds",
    "ingest": "triagebot.cli.archive_cmds",
    "work": "triagebot.cli.archive_cmds",
    "queue": "triagebot.cli.review_cmds",  # review_cmds adds approve/reject/… to archive_cmds' queue
    "deliver": "triagebot.cli.review_cmds",
    "outbox": "triagebot.cli.review_cmds",
    "user": "triagebot.cli.web_cmds",
    "web": "triagebot.cli.web_cmds",
    "gaps": "triagebot.cli.report_cmds",
    "report": "triagebot.cli.report_cmds",
    "slack": "triagebot.cli.chat_cmds",
    "discord": "triagebot.cli.discord_cmds",
}


GLOBAL_OPTIONS = ("--config", "--kb", "--db", "--templates", "--models")


def hoist_global_options(args: list[str], commands: set[str]) -> list[str]:
    """Move global options written after the subcommand (`ingest FILE --db URL`) in front of it.

    People write options where they think of them; click only reads a group's options before the
    subcommand. Nothing after a `--` is touched, and no subcommand defines an option of these names.
    """
    position, i = None, 0
    while i < len(args) and position is None:
        if args[i] == "--":
            return args
        if args[i] in GLOBAL_OPTIONS:
            i += 1  # its value, which may look like a command name
        elif args[i] in commands:
            position = i
        i += 1
    if position is None:
        return args
    head, tail = args[:position], args[position:]
    kept: list[str] = []
    moved: list[str] = []
    i = 0
    while i < len(tail):
        arg = tail[i]
        if arg == "--":
            kept.extend(tail[i:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            if "=" in arg:
                moved.append(arg)
            else:
                moved.extend(tail[i : i + 2])
                i += 1
        else:
            kept.append(arg)
        i += 1
    return [*head, *moved, *kept]


class LazyGroup(click.Group):
    """A click group that imports a command's module the first time the command is needed."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Accept global options after the subcommand too (see `hoist_global_options`)."""
        return super().parse_args(ctx, hoist_global_options(args, set(self.list_commands(ctx))))

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, loaded or not."""
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing its module on first use."""
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(COMMAND_MODULES[cmd_name])
        return super().get_command(ctx, cmd_name)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit with `code`."""
    click.echo(f"triagebot: {message}", err=True)
    sys.exit(code)


def drop_interrupt_tracebacks(record: logging.LogRecord) -> bool:
    """Logging filter: leave out a record about a KeyboardInterrupt (a library that saw Ctrl-C arrive).

    The command reports the interrupt itself ("Interrupted. Stored before stopping: ..."); the
    library's record would only add a traceback to it.
    """
    kind = record.exc_info[0] if record.exc_info else None
    return kind is None or not issubclass(kind, KeyboardInterrupt)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Settings file (TOML). Default: ./triagebot.toml when it exists.",
)
@click.option(
    "--kb",
    "kb_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Knowledge-base directory for every command (default: knowledge/).",
)
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Reply-template directory (default: templates/, else the copy shipped with triagebot).",
)
@click.option(
    "--models",
    "models_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Trained-model directory (default: models/, else $XDG_CACHE_HOME/triagebot/models).",
)
@click.option("--db", "db_url", default=None, help="Database URL (default: sqlite:///var/triagebot.sqlite3).")
@click.version_option(package_name="triagebot")
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: Path | None,
    kb_dir: Path | None,
    templates_dir: Path | None,
    models_dir: Path | None,
    db_url: str | None,
) -> None:
    """Triage CloudStack installation questions into reviewed draft replies.

    Global options (--config, --kb, --templates, --models, --db) may also follow the command.

    \b
    Example:
      triagebot triage "cloudstack-setup-databases says Access denied for user 'root'@'localhost'"
      triagebot queue --db sqlite:///var/demo.sqlite3
    """
    if not logging.getLogger().handlers:  # warnings (a worker retrying, say) as one-line messages
        logging.basicConfig(level=logging.WARNING, format="triagebot: %(message)s")
        for handler in logging.getLogger().handlers:
            handler.addFilter(drop_interrupt_tracebacks)
    if config_path is None and Path("triagebot.toml").is_file():
        config_path = Path("triagebot.toml")
    try:
        settings = load_settings(
            config_path,
            os.environ,
            overrides={
                "paths": {"knowledge": kb_dir, "templates": templates_dir, "models": models_dir},
                "database": {"url": db_url},
            },
        )
    except TriagebotError as exc:
        fail(str(exc), EXIT_USAGE)
    ctx.obj = CliContext(settings=settings)


def main() -> None:
    """Console-script entry point: run the group, turning our errors into one-line messages."""
    try:
        cli.main(prog_name="triagebot", standalone_mode=True)
    except TriagebotError as exc:
        fail(str(exc))
