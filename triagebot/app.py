"""Composition root: build the knowledge base, model, templates and triage engine from Settings.

This is the only place (with the CLI) that reads files for the core and decides when to retrain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triagebot.config import Settings
from triagebot.core.applicability import Applicability
from triagebot.core.classify import Classifier, SymptomRules, TrainedModel
from triagebot.core.details import DetailExtractor
from triagebot.core.kb import KnowledgeBase
from triagebot.core.learning import ReviewedExample, reviewed_examples
from triagebot.core.models import (
    Action,
    Channel,
    Decision,
    DetailReport,
    DraftReply,
    InboundMessage,
    Language,
    TipScore,
    TriageResult,
)
from triagebot.core.render import Renderer, make_environment
from triagebot.core.triage import Triager
from triagebot.errors import ConfigError, InputError, ModelError, StoreError
from triagebot.kbfiles import load_knowledge_base
from triagebot.modelstore import ModelMeta, load_model, save_model

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_sdk import WebClient

    from triagebot.chat.service import ChatService
    from triagebot.store import Store

log = logging.getLogger(__name__)


def read_templates(directory: Path) -> dict[str, str]:
    """Every `*.j2` file below `directory`, keyed by its POSIX path relative to it."""
    if not directory.is_dir():
        raise ConfigError(f"template directory not found: {directory}")
    return {
        path.relative_to(directory).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(directory.rglob("*.j2"))
    }


def now_iso() -> str:
    """The current UTC time, to the second, for stamping artifacts."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def train_and_save(
    kb: KnowledgeBase,
    models_dir: Path,
    *,
    reviewed: Sequence[ReviewedExample] = (),
    review_weight: float = 1.0,
) -> tuple[TrainedModel, ModelMeta]:
    """Train on the knowledge base (and moderators' decisions) and save the stamped model.

    scikit-learn is imported only here. The stamp counts the reviewed examples that went in.
    """
    from triagebot.core.training import train_model

    model = train_model(kb, reviewed=reviewed, review_weight=review_weight)
    examples = sum(len(t.examples) for t in kb.tips) + len(kb.out_of_scope) + len(reviewed)
    meta = save_model(model, models_dir, trained_at=now_iso(), examples=examples, reviewed=len(reviewed))
    return model, meta


def load_reviewed(
    settings: Settings, kb: KnowledgeBase, *, notify: Callable[[str], None] | None = None
) -> tuple[ReviewedExample, ...]:
    """The moderators' decisions in the configured database, as labelled examples.

    Nothing when `[train] reviews` is off or there is no database yet; a database that cannot be
    read is reported through `notify` and training goes on without it.
    """
    if not settings.train.reviews or _missing_sqlite(settings.database.url):
        return ()
    from triagebot.store import open_store
    from triagebot.store.learning import moderator_decisions

    try:
        with open_store(settings.database.url, read_only=True) as store:
            decisions = moderator_decisions(store)
    except StoreError as exc:
        if notify:
            notify(f"training without moderators' decisions: {exc}")
        return ()
    return reviewed_examples(decisions, kb.tip_ids)


def _missing_sqlite(url: str) -> bool:
    """True for a SQLite URL whose file does not exist (nothing has been ingested yet)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return False
    path = url[len(prefix) :].split("?", 1)[0]
    return path not in ("", ":memory:") and not Path(path).exists()


def train_as_configured(
    settings: Settings, kb: KnowledgeBase, *, notify: Callable[[str], None] | None = None
) -> tuple[TrainedModel, ModelMeta]:
    """Train as `[train]` says (with the database's reviewed examples unless turned off) and save."""
    reviewed = load_reviewed(settings, kb, notify=notify)
    return train_and_save(
        kb, settings.paths.models, reviewed=reviewed, review_weight=settings.train.review_weight
    )


@dataclass(frozen=True, slots=True)
class Engine:
    """The triage engine the CLI, the ingest service and the chat bots share."""

    kb: KnowledgeBase
    triager: Triager
    meta: ModelMeta

    @property
    def model_version(self) -> str:
        """Id of the model in use, stored with every triage result."""
        return self.triager.model_version

    def triage(self, message: InboundMessage, channel: Channel | None = None) -> TriageResult:
        """Triage one message."""
        return self.triager.triage(message, channel)

    def triage_batch(
        self, messages: Sequence[InboundMessage], channel: Channel | None = None
    ) -> list[TriageResult]:
        """Triage a batch of messages at once."""
        return self.triager.triage_many(messages, channel)

    def rerender(
        self, tips: Sequence[TipScore], details: DetailReport, language: Language, channel: Channel
    ) -> tuple[Action, DraftReply]:
        """The reply for tips a moderator chose, with the details found earlier (used by relabel).

        Raises:
            InputError: a tip id the knowledge base does not have.
        """
        unknown = sorted({t.tip_id for t in tips} - set(self.kb.tip_ids))
        if unknown:
            raise InputError(f"no such tip: {', '.join(unknown)}")
        missing = details.missing
        action = Action.SUGGEST if tips else (Action.ASK if missing else Action.ABSTAIN)
        decision = Decision(action, tuple(tips), missing, "tips chosen by a moderator")
        return action, self.triager.renderer.render(decision, details, language, channel)


def build_engine(
    settings: Settings,
    *,
    retrain: bool = True,
    notify: Callable[[str], None] | None = None,
) -> Engine:
    """Load everything and return a ready Engine.

    A missing or stale model (trained for another knowledge base or other library versions) is
    retrained, with the moderators' decisions as `[train]` says, and saved when `retrain` is true,
    with a notice through `notify`; otherwise ModelError.
    """
    kb = load_knowledge_base(settings.paths.knowledge)
    templates = read_templates(settings.paths.templates)
    try:
        model, meta = load_model(settings.paths.models, kb.digest)
    except ModelError as exc:
        if not retrain:
            raise
        if notify:
            notify(f"{exc}; training now")
        model, meta = train_as_configured(settings, kb, notify=notify)
    return engine_from(kb, model, meta, templates, threshold=settings.triage.threshold)


def engine_from(
    kb: KnowledgeBase,
    model: TrainedModel,
    meta: ModelMeta,
    templates: dict[str, str],
    *,
    threshold: float | None = None,
) -> Engine:
    """Assemble an Engine from already loaded parts (tests and `kb validate` use this directly)."""
    classifier = Classifier(model, SymptomRules(kb), threshold=threshold)
    renderer = Renderer(kb, make_environment(templates))
    triager = Triager(classifier, DetailExtractor.from_kb(kb), renderer, meta.version, Applicability(kb))
    return Engine(kb=kb, triager=triager, meta=meta)


def discord_token(settings: Settings) -> str:
    """The bot's token, once the settings are known to be enough to run the Discord bot.

    Raises:
        ConfigError: no token in TRIAGEBOT_DISCORD_TOKEN, or no channel to read.
    """
    token = settings.secrets.discord_token
    if token is None or not token.get_secret_value().strip():
        raise ConfigError("set TRIAGEBOT_DISCORD_TOKEN to the bot's token to run the Discord bot")
    if not settings.discord.channels:
        raise ConfigError('no channel to read: add a [discord.channels."<channel id>"] section')
    return token.get_secret_value()


def build_discord_bot(settings: Settings, engine: Engine, store: Store) -> DiscordBot:
    """The Discord bot from the `[discord]` settings, on the shared chat service and the given store.

    Raises:
        ConfigError: no token in TRIAGEBOT_DISCORD_TOKEN, no channel to read, or discord.py missing.
    """
    token = discord_token(settings)
    discord_settings = settings.discord
    try:
        from triagebot.chat.discord_client import (
            DiscordBoard,
            DiscordThreads,
            LoopBridge,
            TriageClient,
            split_reply,
        )
        from triagebot.chat.discord_payloads import Scope
        from triagebot.chat.discord_review import ReviewDesk, Reviewers
    except ImportError as exc:
        raise ConfigError(
            f"the Discord bot needs discord.py: pip install 'triagebot[discord]' ({exc})"
        ) from None
    from triagebot.chat.service import ChatService
    from triagebot.review import ReplyAddressing

    bridge = LoopBridge()
    scope = Scope(discord_settings.text_channels(), frozenset(discord_settings.forums))
    holder: list[TriageClient] = []  # the client is the channel finder of its own board and poster
    finder = _LateFinder(holder)
    moderators = discord_settings.moderators_channel
    poster = DiscordThreads(finder, bridge, bot_user_id=0)  # the id is learnt on connecting
    service = ChatService(
        store,
        engine,
        Channel.DISCORD,
        discord_settings,
        poster=poster,
        board=DiscordBoard(finder, bridge, int(moderators)) if moderators else None,
        split=split_reply,
        addressing=ReplyAddressing.from_settings(settings),
    )
    client = TriageClient(
        intake=service,
        engine=engine,
        scope=scope,
        review_desk=ReviewDesk(
            service,
            Reviewers(frozenset(discord_settings.moderators), frozenset(discord_settings.moderator_roles)),
        ),
        bridge=bridge,
        tick_seconds=discord_settings.deliver_seconds,
        poster=poster,
    )
    holder.append(client)
    return DiscordBot(client=client, token=token)


@dataclass(frozen=True, slots=True)
class DiscordBot:
    """A Discord client ready to run, with the token it logs in with (never logged)."""

    client: Any
    token: str = field(repr=False)


class _LateFinder:
    """Looks channels up through a client created after the service that needs it."""

    def __init__(self, holder: list[Any]) -> None:
        self.holder = holder

    def get_channel(self, id: int, /) -> Any:
        return self.holder[0].get_channel(id)

    async def fetch_channel(self, channel_id: int, /) -> Any:
        return await self.holder[0].fetch_channel(channel_id)


def build_slack(
    settings: Settings,
    store: Store,
    engine: Engine,
    *,
    client: WebClient | None = None,
    process_before_response: bool = False,
) -> tuple[ChatService, App]:
    """The Slack chat service and Bolt app, from the settings and the bot token (or a given `client`).

    Raises:
        ConfigError: slack_bolt is not installed, or the bot token (or, for HTTP, the signing secret)
            is missing.
    """
    try:
        from slack_sdk import WebClient as SlackClient

        from triagebot.chat.slack import SlackBoard, SlackPoster, build_slack_app
    except ImportError:
        raise ConfigError("Slack support is not installed: pip install 'triagebot[slack]'") from None
    from triagebot.chat.service import ChatService
    from triagebot.review import ReplyAddressing

    slack, secrets = settings.slack, settings.secrets
    if client is None:
        if secrets.slack_bot_token is None:
            raise ConfigError("set TRIAGEBOT_SLACK_BOT_TOKEN (the bot's xoxb- token)")
        # no automatic retries: a repeated chat.postMessage would post twice; the outbox retries
        client = SlackClient(
            token=secrets.slack_bot_token.get_secret_value(), base_url=slack.api_url, retry_handlers=[]
        )
    signing = secrets.slack_signing_secret.get_secret_value() if secrets.slack_signing_secret else None
    if slack.transport == "http" and signing is None:
        raise ConfigError("HTTP mode needs TRIAGEBOT_SLACK_SIGNING_SECRET")
    poster = SlackPoster(client)
    board = SlackBoard(client, slack.moderators_channel) if slack.moderators_channel else None
    service = ChatService(
        store,
        engine,
        Channel.SLACK,
        slack,
        poster=poster,
        board=board,
        addressing=ReplyAddressing.from_settings(settings),
    )
    app = build_slack_app(
        service,
        client,
        signing_secret=signing if slack.transport == "http" else None,
        tips=[(tip.id, tip.title.en) for tip in engine.kb.tips],
        process_before_response=process_before_response,
    )
    return service, app
