"""`triagebot discord`: run the Discord bot until stopped."""

from __future__ import annotations

import logging

import click

from triagebot.cli import CliContext, cli, fail
from triagebot.errors import TriagebotError


@cli.command("discord")
@click.pass_obj
def discord_bot(ctx: CliContext) -> None:
    """Run the Discord bot: questions in the configured channels and forums, drafts to moderators.

    The token comes only from TRIAGEBOT_DISCORD_TOKEN; channels, forums, the moderators' channel and
    each channel's mode from the [discord] settings. Approved replies (also those approved in the web
    app) are posted in the asker's thread. Stop with Ctrl-C.

    \b
    Example:
      TRIAGEBOT_DISCORD_TOKEN=... triagebot --config triagebot.toml discord
    """
    from triagebot.app import build_discord_bot, build_engine, discord_token
    from triagebot.store import open_store

    settings = ctx.settings
    try:
        discord_token(settings)  # before training or opening anything
    except TriagebotError as exc:
        fail(str(exc), 2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = open_store(settings.database.url)
    try:
        engine = build_engine(settings, notify=lambda msg: click.echo(f"triagebot: {msg}", err=True))
        bot = build_discord_bot(settings, engine, store)
        import discord

        click.echo("triagebot discord: connecting (Ctrl-C stops)", err=True)
        try:
            bot.client.run(bot.token, log_handler=None)
        except discord.LoginFailure:
            fail("Discord refused the token in TRIAGEBOT_DISCORD_TOKEN", 2)
        except discord.PrivilegedIntentsRequired:
            fail("switch on the Message Content intent for the bot in the Discord developer portal", 2)
    except TriagebotError as exc:
        fail(str(exc))
    finally:
        store.close()
