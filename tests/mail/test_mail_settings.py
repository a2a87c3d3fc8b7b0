"""[smtp] and [lists.NAME] settings: defaults, validation naming the key, the password only from the
environment, and the addressing an approval derives from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from triagebot.config import load_settings
from triagebot.errors import ConfigError
from triagebot.review import ReplyAddressing


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "triagebot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_deliver_nothing() -> None:
    settings = load_settings(None, {})
    assert settings.smtp.host is None and settings.smtp.security == "starttls" and settings.smtp.port == 587
    assert settings.list_settings("anything").reply_to == "list"
    assert settings.list_settings("anything").charset == "utf-8"


def test_lists_and_smtp_from_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[smtp]\nhost = "mail.example.org"\nsecurity = "tls"\nport = 465\n'
        'from_address = "Triage <triage@lists.example.jp>"\n'
        '[lists."users-ja.example.jp"]\nreply_to = "author"\ncharset = "iso-2022-jp"\n',
    )
    settings = load_settings(path, {"TRIAGEBOT_SMTP_PASSWORD": "pw-123"})
    assert (settings.smtp.host, settings.smtp.security, settings.smtp.port) == (
        "mail.example.org",
        "tls",
        465,
    )
    ja = settings.list_settings("users-ja.example.jp")
    assert (ja.reply_to, ja.charset, ja.address) == ("author", "iso-2022-jp", None)
    assert settings.secrets.smtp_password is not None
    assert settings.secrets.smtp_password.get_secret_value() == "pw-123"
    assert "pw-123" not in repr(settings) and "pw-123" not in str(settings.model_dump())
    addressing = ReplyAddressing.from_settings(settings)
    assert addressing.domain == "lists.example.jp"
    first, second = addressing.new_message_id(), addressing.new_message_id()
    assert first != second and first.endswith("@lists.example.jp")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[smtp]\nsecurity = "ssl"\n', "smtp.security"),
        ("[smtp]\nport = 0\n", "smtp.port"),
        ('[smtp]\npassword = "no"\n', "smtp.password: unknown key"),
        ('[lists.users]\ncharset = "latin-1"\n', "lists.users.charset"),
        ('[lists.users]\nreply_to = "everyone"\n', "lists.users.reply_to"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text), {})
