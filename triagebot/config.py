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

    [train]
    reviews = true          # learn from moderators' decisions in the database
    review_weight = 5.0     # one decision counts as this many knowledge-base examples

    [web]
    host = "127.0.0.1"      # where `triagebot web` listens
    port = 8080
    https = false           # true when served over HTTPS (behind a proxy): cookies get Secure

    [smtp]
    host = "mail.example.org"   # unset: nothing is delivered, approved replies wait in the outbox
    port = 587
    security = "starttls"       # "starttls", "tls" (implicit TLS, usually port 465) or "none"
    user = "triagebot"          # the password only from TRIAGEBOT_SMTP_PASSWORD
    from_address = "CloudStack triage <triage@example.org>"
    timeout = 30                # seconds for connecting and for each SMTP reply

    [lists."users.cloudstack.apache.org"]   # keyed by the source name (the List-Id)
    reply_to = "list"           # "list" (to `address`) or "author" (to the asker only)
    address = "users@cloudstack.apache.org"
    charset = "utf-8"           # or "iso-2022-jp" (falls back to UTF-8 for text it cannot encode)

    [slack]                     # tokens only from TRIAGEBOT_SLACK_BOT_TOKEN / _APP_TOKEN / _SIGNING_SECRET
    moderators_channel = "C0MODS"   # where drafts wait for review, with buttons
    transport = "socket"        # "socket" (Socket Mode, no public URL) or "http" (Events API requests)
    api_url = "https://slack.com/api/"   # TRIAGEBOT_SLACK_API_URL; another one for GovSlack or tests

    [slack.channels.C0HELP]     # keyed by channel id; only these channels are read
    mode = "review"             # "review" (a moderator approves) or "auto" (post high-confidence drafts)
    auto_threshold = 0.85       # auto mode: the best tip's score needed to post without review

    [discord]                   # the token only from TRIAGEBOT_DISCORD_TOKEN
    moderators_channel = "1300000000000000030"   # drafts wait here for review, with buttons
    forums = ["1300000000000000020"]             # which of the channels below are forum channels

    [discord.channels."1300000000000000010"]     # a text channel: each new message is a question
    mode = "review"
    [discord.channels."1300000000000000020"]     # a forum: each new post is a question
    mode = "auto"
    auto_threshold = 0.9
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

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


class TrainSettings(_Section):
    """How `triagebot train` (and the automatic retrain) learns from moderators' decisions."""

    reviews: bool = True  # false: train on the knowledge base alone
    review_weight: float = Field(default=5.0, ge=0.0, le=100.0)  # one decision weighs this many KB examples


class WebSettings(_Section):
    """The moderators' web app: where it listens, its cookies and its pages."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    https: bool = False  # cookies are marked Secure only when the app is reached over HTTPS
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    page_size: int = Field(default=50, ge=5, le=500)
    deliver_seconds: float = Field(default=30.0, gt=0)  # pause between background outbox runs


class SmtpSettings(_Section):
    """The SMTP server approved mailing-list replies go out through (the password is a secret)."""

    host: str | None = None  # None: delivery is off
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    user: str | None = None
    from_address: str = "triagebot@localhost"
    timeout: float = Field(default=30.0, gt=0, le=600)
    max_attempts: int = Field(default=8, ge=1, le=100)  # temporary failures before a reply is failed
    retry_seconds: float = Field(default=60.0, gt=0)  # first retry delay; doubles each attempt
    retry_cap_seconds: float = Field(default=3600.0, gt=0)


class ListSettings(_Section):
    """How replies to one mailing list are addressed and encoded."""

    reply_to: Literal["list", "author"] = "list"
    address: str | None = None  # the list's posting address; without it replies go to the author
    charset: Literal["utf-8", "iso-2022-jp"] = "utf-8"


class ChatChannelSettings(_Section):
    """How the bot answers in one chat channel: through moderators (the default) or on its own."""

    mode: Literal["review", "auto"] = "review"
    auto_threshold: float = Field(default=0.85, ge=0.0, le=1.0)  # auto mode: best tip score to post alone


class ChatSettings(_Section):
    """What every chat adapter shares: the channels it reads, the moderators' channel, delivery retries."""

    channels: dict[str, ChatChannelSettings] = Field(default_factory=dict)  # keyed by the channel's id
    moderators_channel: str | None = None  # None: drafts wait in the web app only
    # user ids whose button presses decide drafts; empty: see the adapter (Slack: anyone in the
    # moderators' channel; Discord: `moderator_roles`, else the Manage Messages permission there)
    moderators: tuple[str, ...] = ()
    max_attempts: int = Field(default=8, ge=1, le=100)  # temporary failures before a reply is failed
    retry_seconds: float = Field(default=5.0, gt=0)  # first retry delay; doubles each attempt
    retry_cap_seconds: float = Field(default=600.0, gt=0)
    deliver_seconds: float = Field(default=5.0, gt=0)  # pause between outbox runs of the chat runner

    def channel(self, channel_id: str) -> ChatChannelSettings | None:
        """The settings of a configured channel, or None for a channel the bot does not read."""
        return self.channels.get(channel_id)


class SlackSettings(ChatSettings):
    """The Slack app: Socket Mode or HTTP, and the Web API base URL."""

    transport: Literal["socket", "http"] = "socket"
    api_url: str = "https://slack.com/api/"
    host: str = "127.0.0.1"  # HTTP mode: where the events endpoint listens
    port: int = Field(default=3000, ge=1, le=65535)


class DiscordSettings(ChatSettings):
    """The Discord bot: which of its channels are forums (a new post there is a question)."""

    forums: tuple[str, ...] = ()  # ids among `channels` that are forum channels
    moderator_roles: tuple[str, ...] = ()  # role ids whose members decide drafts

    @model_validator(mode="after")
    def _forums_are_channels(self) -> DiscordSettings:
        unknown = sorted(set(self.forums) - set(self.channels))
        if unknown:
            raise ValueError(f"forums not listed under [discord.channels]: {', '.join(unknown)}")
        return self

    def text_channels(self) -> frozenset[str]:
        """The configured channels that are not forums: each new message there is a question."""
        return frozenset(self.channels) - frozenset(self.forums)


class SecretSettings(_Section):
    """Tokens and passwords; only ever set from the environment."""

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    discord_token: SecretStr | None = None
    smtp_password: SecretStr | None = None
    web_secret: SecretStr | None = None


class Settings(_Section):
    """Everything triagebot can be configured with."""

    paths: PathSettings = PathSettings()
    database: DatabaseSettings = DatabaseSettings()
    triage: TriageSettings = TriageSettings()
    train: TrainSettings = TrainSettings()
    web: WebSettings = WebSettings()
    smtp: SmtpSettings = SmtpSettings()
    lists: dict[str, ListSettings] = Field(default_factory=dict)
    slack: SlackSettings = SlackSettings()
    discord: DiscordSettings = DiscordSettings()
    secrets: SecretSettings = SecretSettings()

    def list_settings(self, source: str) -> ListSettings:
        """The settings of the list named `source`, or the defaults for a list not configured."""
        return self.lists.get(source, ListSettings())


_ENV_KEYS: dict[str, tuple[str, str]] = {
    "TRIAGEBOT_KB": ("paths", "knowledge"),
    "TRIAGEBOT_MODELS": ("paths", "models"),
    "TRIAGEBOT_TEMPLATES": ("paths", "templates"),
    "TRIAGEBOT_DATABASE_URL": ("database", "url"),
    "TRIAGEBOT_THRESHOLD": ("triage", "threshold"),
    "SLACK_BOT_TOKEN": ("secrets", "slack_bot_token"),
    "SLACK_SIGNING_SECRET": ("secrets", "slack_signing_secret"),
    "TRIAGEBOT_SLACK_BOT_TOKEN": ("secrets", "slack_bot_token"),
    "TRIAGEBOT_SLACK_APP_TOKEN": ("secrets", "slack_app_token"),
    "TRIAGEBOT_SLACK_SIGNING_SECRET": ("secrets", "slack_signing_secret"),
    "TRIAGEBOT_SLACK_API_URL": ("slack", "api_url"),
    "TRIAGEBOT_DISCORD_TOKEN": ("secrets", "discord_token"),
    "TRIAGEBOT_SMTP_PASSWORD": ("secrets", "smtp_password"),
    "TRIAGEBOT_WEB_SECRET": ("secrets", "web_secret"),
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
