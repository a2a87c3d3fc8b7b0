"""Commands for the moderators' web app: `user` accounts and `web`, which serves the app."""

from __future__ import annotations

import getpass
import logging
import secrets
import sys
import threading

import click

from triagebot.cli import CliContext, cli, fail
from triagebot.errors import TriagebotError
from triagebot.store import accounts, open_store
from triagebot.store.views import UserRole

log = logging.getLogger(__name__)


@cli.group()
def user() -> None:
    """Moderator accounts of the web app.

    \b
    Example:
      triagebot user add alice --role moderator
    """


def _read_password(from_stdin: bool, generate: bool) -> str:
    from triagebot.web.security import password_problem

    if generate:
        return secrets.token_urlsafe(12)
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            fail("the two passwords differ", 2)
    problem = password_problem(password)
    if problem:
        fail(problem, 2)
    return password


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice([r.value for r in UserRole]),
    default=UserRole.MODERATOR.value,
    show_default=True,
    help="moderator: review drafts; maintainer: the same (knowledge-base work); admin: users and audit log.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)
@click.option("--generate", is_flag=True, help="Make up a random password and print it.")
@click.option(
    "--replace", is_flag=True, help="If the account exists, give it the new password instead of failing."
)
@click.pass_obj
def user_add(
    ctx: CliContext, name: str, role: str, password_stdin: bool, generate: bool, replace: bool
) -> None:
    """Create an account (the password is prompted for unless --password-stdin or --generate).

    \b
    Examples:
      triagebot user add alice --role moderator
      printf '%s\\n' "$PASSWORD" | triagebot user add bob --role admin --password-stdin
    """
    from triagebot.web.security import hash_password

    password = _read_password(password_stdin, generate)
    store = open_store(ctx.settings.database.url)
    try:
        if replace and accounts.find_user(store, name) is not None:
            account = accounts.set_password(store, name, hash_password(password), actor="cli")
            verb = "password replaced for"
        else:
            account = accounts.add_user(store, name, hash_password(password), UserRole(role), actor="cli")
            verb = "added"
    except TriagebotError as exc:
        fail(str(exc))
    finally:
        store.close()
    click.echo(f"{verb} {account.name} ({account.role.value})")
    if generate:
        click.echo(f"password: {password}")


@user.command("list")
@click.pass_obj
def user_list(ctx: CliContext) -> None:
    """List the accounts with their roles and whether they are locked.

    \b
    Example:
      triagebot user list
    """
    store = open_store(ctx.settings.database.url)
    try:
        now = store.clock()
        for account in accounts.list_users(store):
            locked = "  locked" if account.locked(now) else ""
            click.echo(f"{account.name}\t{account.role.value}{locked}")
    finally:
        store.close()


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default from [web], 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default from [web], 8080).")
@click.option("--no-deliver", is_flag=True, help="Do not run the outbox deliverer in the background.")
@click.pass_obj
def web(ctx: CliContext, host: str | None, port: int | None, no_deliver: bool) -> None:
    """Serve the moderators' web app (and deliver approved replies in the background).

    Sessions are signed with TRIAGEBOT_WEB_SECRET; without it a random secret is used until the process
    stops. Stop with Ctrl-C.

    \b
    Example:
      TRIAGEBOT_WEB_SECRET=... triagebot web --host 127.0.0.1 --port 8080
    """
    import uvicorn

    from triagebot.app import build_engine
    from triagebot.review import ReplyAddressing
    from triagebot.web import create_app
    from triagebot.web.security import session_secret
    from triagebot.web.service import ReviewService, start_deliverer

    settings = ctx.settings
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = build_engine(settings, notify=lambda msg: click.echo(f"triagebot: {msg}", err=True))
    store = open_store(settings.database.url)
    secret = settings.secrets.web_secret.get_secret_value() if settings.secrets.web_secret else None
    app = create_app(
        store,
        ReviewService(store, engine, ReplyAddressing.from_settings(settings)),
        settings=settings.web,
        secret=session_secret(secret),
        tips=[(tip.id, tip.title.en) for tip in engine.kb.tips],
    )
    stop = threading.Event()
    deliverer = None if no_deliver else start_deliverer(store, settings, stop)
    listen_host = host or settings.web.host
    listen_port = port or settings.web.port
    click.echo(f"triagebot web: http://{listen_host}:{listen_port}/ (Ctrl-C stops)", err=True)
    try:
        uvicorn.run(app, host=listen_host, port=listen_port, log_level="warning", access_log=False)
    finally:
        stop.set()
        if deliverer is not None:
            deliverer.join(timeout=10)
        store.close()
