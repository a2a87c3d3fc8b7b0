"""`triagebot slack`: the Slack bot, in Socket Mode (the default) or as an HTTP endpoint."""

from __future__ import annotations

import logging
import threading

import click

from triagebot.chat.service import ChatService
from triagebot.cli import CliContext, cli, fail
from triagebot.errors import TriagebotError
from triagebot.store import open_store

log = logging.getLogger(__name__)


def start_ticker(service: ChatService, interval: float, stop: threading.Event) -> threading.Thread:
    """Retry refused replies and cards every `interval` seconds in a daemon thread until `stop` is set."""

    def loop() -> None:
        while not stop.wait(interval):
            try:
                service.tick()
            except TriagebotError as exc:
                log.error("chat delivery round failed: %s", exc)

    thread = threading.Thread(target=loop, name=f"{service.channel.value}-deliverer", daemon=True)
    thread.start()
    return thread


@cli.command()
@click.option(
    "--transport",
    type=click.Choice(["socket", "http"]),
    default=None,
    help="Socket Mode (no public URL; needs TRIAGEBOT_SLACK_APP_TOKEN) or HTTP (default from [slack]).",
)
@click.option("--host", default=None, help="HTTP mode: address to listen on (default: [slack] host).")
@click.option("--port", type=int, default=None, help="HTTP mode: port to listen on (default: [slack] port).")
@click.pass_obj
def slack(ctx: CliContext, transport: str | None, host: str | None, port: int | None) -> None:
    """Run the Slack bot: questions in the configured channels get a draft for moderators (or, in auto
    mode, a reply), and approved replies are posted in the asker's thread.

    Tokens come from TRIAGEBOT_SLACK_BOT_TOKEN, TRIAGEBOT_SLACK_APP_TOKEN (Socket Mode) and
    TRIAGEBOT_SLACK_SIGNING_SECRET (HTTP mode); channels and modes from [slack] in the settings file.
    Stop with Ctrl-C.

    \b
    Example:
      TRIAGEBOT_SLACK_BOT_TOKEN=xoxb-... TRIAGEBOT_SLACK_APP_TOKEN=xapp-... triagebot slack
    """
    from triagebot.app import build_engine, build_slack

    settings = ctx.settings
    if transport is not None:
        settings = settings.model_copy(
            update={"slack": settings.slack.model_copy(update={"transport": transport})}
        )
    slack_settings = settings.slack
    if not slack_settings.channels:
        fail("no Slack channels configured: add [slack.channels.<channel id>] to the settings file", 2)
    if slack_settings.transport == "socket" and settings.secrets.slack_app_token is None:
        fail("Socket Mode needs TRIAGEBOT_SLACK_APP_TOKEN (an xapp- token with connections:write)", 2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = build_engine(settings, notify=lambda msg: click.echo(f"triagebot: {msg}", err=True))
    store = open_store(settings.database.url)
    stop = threading.Event()
    try:
        service, app = build_slack(settings, store, engine)
        ticker = start_ticker(service, slack_settings.deliver_seconds, stop)
        if slack_settings.transport == "socket":
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            token = settings.secrets.slack_app_token
            if token is None:
                fail("Socket Mode needs TRIAGEBOT_SLACK_APP_TOKEN", 2)
            click.echo("triagebot slack: connected over Socket Mode (Ctrl-C stops)", err=True)
            SocketModeHandler(app, token.get_secret_value()).start()  # type: ignore[no-untyped-call]
        else:
            import uvicorn

            from triagebot.chat.slack import http_app

            listen_host, listen_port = host or slack_settings.host, port or slack_settings.port
            click.echo(
                f"triagebot slack: http://{listen_host}:{listen_port}/slack/events (Ctrl-C stops)", err=True
            )
            uvicorn.run(
                http_app(app), host=listen_host, port=listen_port, log_level="warning", access_log=False
            )
        stop.set()
        ticker.join(timeout=10)
    finally:
        stop.set()
        store.close()
