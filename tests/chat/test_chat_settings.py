"""Chat settings: channels and modes from the file, tokens and the API URL only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from triagebot.config import load_settings
from triagebot.errors import ConfigError


def test_channels_modes_and_tokens(tmp_path: Path) -> None:
    path = tmp_path / "triagebot.toml"
    path.write_text(
        '[slack]\nmoderators_channel = "C0MODS"\n[slack.channels.C0HELP]\nmode = "auto"\nauto_threshold = 0.9\n'
        "[slack.channels.C0JA]\n",
        encoding="utf-8",
    )
    environ = {
        "TRIAGEBOT_SLACK_BOT_TOKEN": "xoxb-1",
        "TRIAGEBOT_SLACK_APP_TOKEN": "xapp-1",
        "TRIAGEBOT_SLACK_SIGNING_SECRET": "sig",
        "TRIAGEBOT_SLACK_API_URL": "http://127.0.0.1:9/api/",
    }
    settings = load_settings(path, environ)
    slack = settings.slack
    assert slack.moderators_channel == "C0MODS" and slack.transport == "socket"
    help_channel, ja_channel = slack.channel("C0HELP"), slack.channel("C0JA")
    assert help_channel is not None and (help_channel.mode, help_channel.auto_threshold) == ("auto", 0.9)
    assert ja_channel is not None and ja_channel.mode == "review"  # review is the default
    assert slack.channel("C0OTHER") is None
    assert slack.api_url == "http://127.0.0.1:9/api/"
    secrets = settings.secrets
    assert secrets.slack_bot_token is not None and secrets.slack_bot_token.get_secret_value() == "xoxb-1"
    assert secrets.slack_app_token is not None and secrets.slack_app_token.get_secret_value() == "xapp-1"
    assert "xoxb-1" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[slack.channels.C1]\nmode = "loud"\n', "slack.channels.C1.mode"),
        ("[slack.channels.C1]\nauto_threshold = 2\n", "slack.channels.C1.auto_threshold"),
        ('[slack]\nbot_token = "xoxb"\n', "slack.bot_token"),
    ],
)
def test_bad_chat_settings_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "triagebot.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(path, {})
