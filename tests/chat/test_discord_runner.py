"""`triagebot discord` and the wiring of the bot from the settings (no connection is made)."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest
from click.testing import CliRunner

from tests.chat.discord_fixtures import FORUM_CHANNEL, MODERATORS, TEXT_CHANNEL
from triagebot.app import Engine, build_discord_bot
from triagebot.chat.discord_client import TriageClient
from triagebot.cli import cli
from triagebot.config import load_settings
from triagebot.errors import ConfigError
from triagebot.store import open_store

SETTINGS = f"""
[discord]
moderators_channel = "{MODERATORS}"
forums = ["{FORUM_CHANNEL}"]

[discord.channels."{TEXT_CHANNEL}"]
mode = "review"

[discord.channels."{FORUM_CHANNEL}"]
mode = "auto"
auto_threshold = 0.9
"""


def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "triagebot.toml"
    path.write_text(SETTINGS, encoding="utf-8")
    return path


def test_the_bot_is_wired_from_the_settings_with_the_token_from_the_environment(
    tmp_path: Path, engine: Engine
) -> None:
    settings = load_settings(settings_file(tmp_path), {"TRIAGEBOT_DISCORD_TOKEN": "token-from-env"})
    store = open_store(f"sqlite:///{tmp_path}/db.sqlite3")
    try:
        bot = build_discord_bot(settings, engine, store)
        client = bot.client
        assert isinstance(client, TriageClient)
        assert bot.token == "token-from-env" and "token-from-env" not in repr(bot)
        assert client.handler.scope.text_channels == frozenset({TEXT_CHANNEL})
        assert client.handler.scope.forum_channels == frozenset({FORUM_CHANNEL})
        assert client.intents.message_content and client.intents.guild_messages
        assert client.allowed_mentions is not None
        assert client.allowed_mentions.to_dict() == discord.AllowedMentions.none().to_dict()
        assert [c.name for c in client.tree.get_commands()] == ["triage"]
    finally:
        store.close()


def test_a_token_in_the_settings_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[secrets]\ndiscord_token = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="environment"):
        load_settings(path, {})


@pytest.mark.parametrize(
    ("environ", "text", "message"),
    [
        ({}, SETTINGS, "set TRIAGEBOT_DISCORD_TOKEN"),
        (
            {"TRIAGEBOT_DISCORD_TOKEN": "x"},
            f'[discord]\nmoderators_channel = "{MODERATORS}"\n',
            "no channel to read",
        ),
        (
            {"TRIAGEBOT_DISCORD_TOKEN": "x"},
            '[discord]\nforums = ["9"]\n',
            "forums not listed under [discord.channels]: 9",
        ),
    ],
)
def test_the_runner_says_what_is_missing_in_one_line(
    tmp_path: Path, environ: dict[str, str], text: str, message: str
) -> None:
    path = tmp_path / "triagebot.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "discord"], env=environ)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
