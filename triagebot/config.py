"""Typed settings: one TOML file plus the environment, read in one place.

`load_settings(path, environ)` is pure apart from reading `path`; it is the only code that looks at
environment variables. Secrets (tokens, passwords) come only from the environment and are `SecretStr`.

Settings file (all keys optional)::

    [paths]
    knowledge = "knowledge"   # default: ./knowledge, else the copy shipped inside the package
    models = "models"         # default: ./models, else $XDG_CACHE_HOME/triagebot/models (~/.cache/…)
    templates = "templates"   # default: ./templates, else the shipped copy

The defaults make `triagebot triage "…"` work in a checkout and, after `pip install`, anywhere.

    [database]
    url = "sqlite:///var/triagebot.sqlite3"

    [triage]
    threshold = 0.45        # override the threshold chosen at training time
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from triagebot.errors import ConfigError

ENV_PREFIX = "TRIAGEBOT_"
DEFAULT_DB_URL = "sqlite:///var/triagebot.sqlite3"


PACKAGE_DIR = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """The packaged copy of `knowledge` or `templates` (in a checkout not installed as a wheel, its own)."""
    inside = PACKAGE_DIR / "_data" / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


def default_paths(environ: Mapping[str, str], cwd: Path) -> dict[str, Path]:
    """Where the knowledge base, templates and models are when nothing says otherwise.

    The working directory's `knowledge/`, `templates/` and `models/` come first (a checkout); else
    the copies shipped with the package, and a user-writable model cache, since an installed
    package's own directory may not be writable.
    """
    cache = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".cache")
    found = {}
    for key in ("knowledge", "templates"):
        found[key] = Path(key) if (cwd / key).is_dir() else shipped(key)
    found["models"] = Path("models") if (cwd / "models").is_dir() else Path(cache) / "triagebot" / "models"
    return found


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathSettings(_Section):
    """Where the knowledge base, trained models and reply templates live."""

    knowledge: Path = Path("knowledge")
    models: Path = Path("models")
    templates: Path = Path("templates")


class DatabaseSettings(_Section):
    """The SQL database (SQLite by default, PostgreSQL supported)."""

    url: str = DEFAULT_DB_URL


class TriageSettings(_Section):
    """Knobs of the triage decision."""

    threshold: float | None = None


class SecretSettings(_Section):
    """Tokens and passwords; only ever set from the environment."""

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    discord_token: SecretStr | None = None
    smtp_password: SecretStr | None = None


class Settings(_Section):
    """Everything triagebot can be configured with."""

    paths: PathSettings = PathSettings()
    database: DatabaseSettings = DatabaseSettings()
    triage: TriageSettings = TriageSettings()
    secrets: SecretSettings = SecretSettings()


_ENV_KEYS: dict[str, tuple[str, str]] = {
    "TRIAGEBOT_KB": ("paths", "knowledge"),
    "TRIAGEBOT_MODELS": ("paths", "models"),
    "TRIAGEBOT_TEMPLATES": ("paths", "templates"),
    "TRIAGEBOT_DATABASE_URL": ("database", "url"),
    "TRIAGEBOT_THRESHOLD": ("triage", "threshold"),
    "SLACK_BOT_TOKEN": ("secrets", "slack_bot_token"),
    "SLACK_SIGNING_SECRET": ("secrets", "slack_signing_secret"),
    "DISCORD_TOKEN": ("secrets", "discord_token"),
    "TRIAGEBOT_SMTP_PASSWORD": ("secrets", "smtp_password"),
}


def load_settings(
    path: Path | None,
    environ: Mapping[str, str],
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    cwd: Path | None = None,
) -> Settings:
    """Build Settings from defaults, then the file, then the environment, then `overrides`.

    Paths left unset get `default_paths` for `cwd` (default: the working directory).

    Raises:
        ConfigError: naming the file and key that is wrong. Secrets in the file are refused.
    """
    data: dict[str, dict[str, Any]] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            loaded = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read settings file: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        if "secrets" in loaded:
            raise ConfigError(f"{path}: [secrets] may only come from environment variables")
        for section, values in loaded.items():
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: {section}: expected a [{section}] table")
            data[section] = dict(values)
    for name, (section, key) in _ENV_KEYS.items():
        if environ.get(name):
            data.setdefault(section, {})[key] = environ[name]
    for section, values in (overrides or {}).items():
        for key, value in values.items():
            if value is not None:
                data.setdefault(section, {})[key] = value
    paths = data.setdefault("paths", {})
    if isinstance(paths, dict):
        for key, value in default_paths(environ, Path.cwd() if cwd is None else cwd).items():
            paths.setdefault(key, value)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        reason = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        raise ConfigError(f"{source}: {key}: {reason}") from None
