"""Settings: defaults, file, environment, overrides; clear errors; secrets only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from triagebot.config import load_settings
from triagebot.errors import ConfigError


def test_defaults() -> None:
    settings = load_settings(None, {})
    assert settings.paths.knowledge == Path("knowledge")
    assert settings.database.url.startswith("sqlite:///")
    assert settings.secrets.slack_bot_token is None


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "triagebot.toml"
    path.write_text('[paths]\nknowledge = "kb1"\n[database]\nurl = "sqlite:///file.db"\n', encoding="utf-8")
    settings = load_settings(path, {"TRIAGEBOT_DATABASE_URL": "sqlite:///env.db"})
    assert settings.paths.knowledge == Path("kb1")
    assert settings.database.url == "sqlite:///env.db"
    settings = load_settings(
        path, {}, overrides={"paths": {"knowledge": Path("kb2")}, "database": {"url": None}}
    )
    assert settings.paths.knowledge == Path("kb2")
    assert settings.database.url == "sqlite:///file.db"


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "triagebot.toml"
    path.write_text("[paths]\nknowlege = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"triagebot.toml: paths.knowlege: unknown key"):
        load_settings(path, {})


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "triagebot.toml"
    path.write_text("[paths\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, {})
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.toml", {})


def test_secrets_come_only_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "triagebot.toml"
    path.write_text('[secrets]\nslack_bot_token = "xoxb-1"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="only come from environment"):
        load_settings(path, {})
    settings = load_settings(None, {"SLACK_BOT_TOKEN": "xoxb-secret"})
    assert settings.secrets.slack_bot_token is not None
    assert settings.secrets.slack_bot_token.get_secret_value() == "xoxb-secret"
    assert "xoxb-secret" not in repr(settings) and "xoxb-secret" not in str(settings.model_dump())


def test_bad_threshold_value() -> None:
    with pytest.raises(ConfigError, match="triage.threshold"):
        load_settings(None, {"TRIAGEBOT_THRESHOLD": "high"})


def test_paths_fall_back_to_the_shipped_copies_and_a_user_model_cache(tmp_path: Path) -> None:
    settings = load_settings(None, {"XDG_CACHE_HOME": str(tmp_path / "cache")}, cwd=tmp_path)
    assert (settings.paths.knowledge / "tips").is_dir()
    assert list(settings.paths.templates.rglob("*.j2"))
    assert settings.paths.knowledge.is_absolute() and settings.paths.templates.is_absolute()
    assert settings.paths.models == tmp_path / "cache" / "triagebot" / "models"
    home = load_settings(None, {"HOME": str(tmp_path / "home")}, cwd=tmp_path)
    assert home.paths.models == tmp_path / "home" / ".cache" / "triagebot" / "models"


def test_working_directory_copies_come_first(tmp_path: Path) -> None:
    for name in ("knowledge", "templates", "models"):
        (tmp_path / name).mkdir()
    settings = load_settings(None, {"XDG_CACHE_HOME": str(tmp_path / "cache")}, cwd=tmp_path)
    assert (settings.paths.knowledge, settings.paths.templates, settings.paths.models) == (
        Path("knowledge"),
        Path("templates"),
        Path("models"),
    )
    given = load_settings(
        None, {"TRIAGEBOT_MODELS": "/srv/models"}, overrides={"paths": {"templates": Path("t")}}, cwd=tmp_path
    )
    assert (given.paths.models, given.paths.templates) == (Path("/srv/models"), Path("t"))
