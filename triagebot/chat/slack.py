"""The Slack adapter: events to `InboundMessage`, draft cards with Block Kit buttons, posts in threads.

    message / app_mention event ──event_to_inbound──▶ ChatService.receive ──▶ card in the moderators' channel
    button Approve / Edit (modal) / Reject (modal) / Relabel (modal) ──▶ ChatService ──▶ reply in the thread
    /triage <text> ──▶ the engine's draft, shown only to whoever asked (ephemeral)

The Bolt `App` is built around a `WebClient` passed in (its `base_url` points at Slack, GovSlack or a
test server); Socket Mode or HTTP is chosen by the runner. Slack payloads stay in this module.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypedDict

from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from triagebot.chat.ports import ChatTarget
from triagebot.chat.service import ChatService
from triagebot.core.models import Channel, InboundMessage, slack_message_id, slack_ts
from triagebot.errors import ChatDeliveryError, TriagebotError
from triagebot.review import RejectReason
from triagebot.store import ReviewStatus, ReviewView

log = logging.getLogger(__name__)

TEMPORARY_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
SECTION_LIMIT = 2900  # Slack refuses section text over 3,000 characters
SUBJECT_LIMIT = 120
APPROVE, EDIT, REJECT, RELABEL = "triage_approve", "triage_edit", "triage_reject", "triage_relabel"
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_CHANNEL_REF = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")


class SlackMessageEvent(TypedDict, total=False):
    """The fields of a Slack `message` or `app_mention` event that triage reads."""

    type: str
    subtype: str
    channel: str
    user: str
    bot_id: str
    text: str
    ts: str
    thread_ts: str


def slack_text(text: str) -> str:
    """Slack's mrkdwn as the author meant it: mentions dropped, links and channels spelled out, unescaped."""
    text = _MENTION.sub("", text)
    text = _LINK.sub(lambda m: m.group(1) if not m.group(2) else f"{m.group(2)} ({m.group(1)})", text)
    text = _CHANNEL_REF.sub(lambda m: f"#{m.group(1)}", text)
    return html.unescape(text).strip()


def event_to_inbound(event: SlackMessageEvent, *, bot_user: str | None = None) -> InboundMessage | None:
    """The question (or thread follow-up) in a message event; None for bots, edits, joins and our posts."""
    if event.get("subtype") or event.get("bot_id") or not event.get("user"):
        return None  # edits, deletions, joins, bot and integration posts are not questions
    if bot_user is not None and event.get("user") == bot_user:
        return None
    text = slack_text(event.get("text", ""))
    ts, channel = event.get("ts", ""), event.get("channel", "")
    if not text or not ts or not channel:
        return None
    thread = event.get("thread_ts")
    sent = datetime.fromtimestamp(float(ts), tz=UTC)
    return InboundMessage(
        channel=Channel.SLACK,
        source=channel,
        message_id=slack_message_id(channel, ts),
        subject=text.splitlines()[0][:SUBJECT_LIMIT] if thread in (None, ts) else "",
        text=text,
        original=event.get("text", ""),
        author=event.get("user", ""),
        sent_at=sent,
        thread_key=slack_message_id(channel, thread) if thread and thread != ts else None,
        raw=json.dumps(event, ensure_ascii=False).encode("utf-8"),
        where=f"slack:{channel}/{ts}",
    )


def delivery_error(exc: SlackClientError, posted: int = 0) -> ChatDeliveryError:
    """A Slack SDK error as our delivery error: 429 and outages are temporary, the rest permanent."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        code = response.get("error", "") if isinstance(response.data, dict) else ""
        status = response.status_code
        retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
        temporary = status == 429 or status >= 500 or code in TEMPORARY_ERRORS
        wait = float(retry_after) if retry_after and str(retry_after).isdigit() else None
        return ChatDeliveryError(
            f"Slack said {code or status}", temporary=temporary, retry_after=wait, posted=posted
        )
    return ChatDeliveryError(f"Slack could not be reached: {exc}", temporary=True, posted=posted)


def _call(posted: int, method: Any, **kwargs: Any) -> dict[str, Any]:
    """Call a Web API method; network and API failures become ChatDeliveryError."""
    try:
        response = method(**kwargs)
    except SlackClientError as exc:
        raise delivery_error(exc, posted) from None
    except OSError as exc:  # the connection broke: Slack may or may not have the post
        error = f"Slack could not be reached: {exc}"
        raise ChatDeliveryError(error, temporary=True, posted=posted + 1) from None
    return dict(response.data) if isinstance(response.data, dict) else {}


class SlackPoster:
    """Posts replies in the asker's thread (`ChatPoster`); mentions in the text never notify anyone."""

    def __init__(self, client: WebClient) -> None:
        """Post through `client`."""
        self.client = client

    def post(self, target: ChatTarget, parts: Sequence[str]) -> str:
        """Post every part in the thread; the first post's ts is the receipt."""
        first = ""
        for posted, part in enumerate(parts):
            data = _call(
                posted,
                self.client.chat_postMessage,
                channel=target.conversation,
                thread_ts=slack_ts(target.thread) if target.thread else None,
                text=part,
                unfurl_links=False,
                link_names=False,
            )
            first = first or str(data.get("ts", ""))
        return first


def _section(text: str) -> dict[str, Any]:
    """A mrkdwn section, cut to Slack's limit."""
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _escape(text: str) -> str:
    """User text shown in mrkdwn: Slack's three control characters escaped, so nothing pings or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def card_blocks(view: ReviewView) -> list[dict[str, Any]]:
    """The Block Kit card of a review item: the question, the draft, the tips, and buttons while pending."""
    tips = ", ".join(f"{t.tip_id} {t.score:.2f}" for t in view.tips) or "none"
    missing = ", ".join(d.value for d in view.missing) or "none"
    text = view.final_text if view.final_text is not None else view.draft_text
    blocks: list[dict[str, Any]] = [
        _section(f"*Review item {view.id}* · <#{view.source}> · <@{view.asker}> · {view.language.value}"),
        _section("*Question*\n" + _escape(view.question)),
        _section("*Draft reply*\n" + (_escape(text) or "_(nothing to send)_")),
        {
            "type": "context",
            "elements": [_mrkdwn(f"Tips: {tips} · Missing: {missing} · {view.action.value}")],
        },
    ]
    if view.status is ReviewStatus.PENDING:
        value = str(view.id)
        blocks.append(
            {
                "type": "actions",
                "block_id": f"review-{view.id}",
                "elements": [
                    _button(APPROVE, "Approve", value, "primary"),
                    _button(EDIT, "Edit", value),
                    _button(REJECT, "Reject", value, "danger"),
                    _button(RELABEL, "Relabel", value),
                ],
            }
        )
    else:
        decided = next((e for e in reversed(view.history) if e.to_status is not None), None)
        who = f" by {decided.actor}" if decided is not None else ""
        blocks.append({"type": "context", "elements": [_mrkdwn(f"*{view.status.value}*{who}")]})
    return blocks


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:150], "emoji": False}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _button(action_id: str, label: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "action_id": action_id, "text": _plain(label), "value": value}
    if style:
        button["style"] = style
    return button


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False) -> dict[str, Any]:
    label_block = _plain(label)
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": label_block,
        "element": element,
    }


class SlackBoard:
    """Shows review items as cards in the moderators' channel (`ReviewBoard`)."""

    def __init__(self, client: WebClient, moderators_channel: str) -> None:
        """Post cards through `client` to `moderators_channel`."""
        self.client = client
        self.channel = moderators_channel

    def show(self, view: ReviewView, post_id: str | None) -> str:
        """Post the card, or update the one already posted; returns its ts."""
        fallback = f"Review item {view.id}: {view.status.value}"
        blocks = card_blocks(view)
        if post_id is None:
            data = _call(0, self.client.chat_postMessage, channel=self.channel, text=fallback, blocks=blocks)
            return str(data.get("ts", ""))
        _call(0, self.client.chat_update, channel=self.channel, ts=post_id, text=fallback, blocks=blocks)
        return post_id


def _modal(callback: str, item_id: int, title: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback,
        "private_metadata": str(item_id),
        "title": _plain(title),
        "submit": _plain("Save"),
        "close": _plain("Cancel"),
        "blocks": blocks,
    }


def edit_modal(view: ReviewView) -> dict[str, Any]:
    """The Edit modal: the draft in a text box; saving approves the edited text."""
    box = {
        "type": "plain_text_input",
        "action_id": "text",
        "multiline": True,
        "initial_value": (view.final_text or view.draft_text)[:3000],
    }
    return _modal(EDIT, view.id, "Edit and approve", [_input("reply", "Reply", box)])


def reject_modal(view: ReviewView) -> dict[str, Any]:
    """The Reject modal: a reason code and the moderator's words."""
    options = [{"text": _plain(r.value), "value": r.value} for r in RejectReason]
    return _modal(
        REJECT,
        view.id,
        "Reject",
        [
            _input("reason", "Reason", {"type": "static_select", "action_id": "reason", "options": options}),
            _input(
                "why",
                "Why",
                {"type": "plain_text_input", "action_id": "text", "multiline": True},
                optional=True,
            ),
        ],
    )


def relabel_modal(view: ReviewView, tips: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The Relabel modal: the tips to draft from instead (none: ask for details or say nothing)."""
    options = [{"text": _plain(f"{tip_id}: {title}"[:75]), "value": tip_id} for tip_id, title in tips][:100]
    chosen = {t.tip_id for t in view.tips}
    element: dict[str, Any] = {"type": "multi_static_select", "action_id": "tips", "options": options}
    initial = [o for o in options if o["value"] in chosen]
    if initial:
        element["initial_options"] = initial
    return _modal(
        RELABEL,
        view.id,
        "Relabel",
        [_input("tips", "Tips", element, optional=True)],
    )


def build_slack_app(
    service: ChatService,
    client: WebClient,
    *,
    signing_secret: str | None,
    tips: Sequence[tuple[str, str]] = (),
    process_before_response: bool = False,
) -> App:
    """The Bolt app: message events, the review buttons and modals, and `/triage`.

    Without `signing_secret` (Socket Mode) requests are not signature-checked: Socket Mode has no
    HTTP requests to check. Bolt ignores our own posts; `event_to_inbound` ignores every bot.
    """
    app = App(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=signing_secret is not None,
        process_before_response=process_before_response,
    )
    engine = service.engine

    def on_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        bot_user = (body.get("authorizations") or [{}])[0].get("user_id")
        message = event_to_inbound(event, bot_user=bot_user)  # type: ignore[arg-type]
        if message is not None:
            event_id = str(body.get("event_id") or message.message_id)
            service.receive(message, event_id=event_id)

    app.event("message")(on_message)
    app.event("app_mention")(on_message)

    def tell(user: str, channel: str, text: str) -> None:
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        except SlackClientError as exc:
            log.warning("could not tell %s: %s", user, exc)

    def item_of(body: dict[str, Any]) -> int:
        return int(body["actions"][0]["value"])

    moderators = frozenset(service.settings.moderators)

    def guarded(body: dict[str, Any], action: Any) -> None:
        user = body.get("user", {}).get("id", "")
        try:
            if moderators and user not in moderators:
                log.warning("review press by %s refused: not among the moderators", user)
                raise TriagebotError("only the configured moderators decide drafts")
            action(user)
        except TriagebotError as exc:
            channel = body.get("channel", {}).get("id") or service.settings.moderators_channel or ""
            if channel:
                tell(user, channel, f"Not done: {exc}")

    @app.action(APPROVE)
    def approve_clicked(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        guarded(body, lambda user: service.approve(item_of(body), moderator=user))

    def open_modal(body: dict[str, Any], build: Any) -> None:
        def run(user: str) -> None:
            view = service.store.show(item_of(body))
            if view.status is not ReviewStatus.PENDING:
                raise TriagebotError(f"review item {view.id} is {view.status.value}")
            _call(0, client.views_open, trigger_id=body["trigger_id"], view=build(view))

        guarded(body, run)

    @app.action(EDIT)
    def edit_clicked(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        open_modal(body, edit_modal)

    @app.action(REJECT)
    def reject_clicked(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        open_modal(body, reject_modal)

    @app.action(RELABEL)
    def relabel_clicked(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        open_modal(body, lambda view: relabel_modal(view, tips))

    def values(body: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for block in body["view"]["state"]["values"].values():
            for name, state in block.items():
                found[name] = state
        return found

    @app.view(EDIT)
    def edit_saved(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        item_id = int(body["view"]["private_metadata"])
        text = values(body)["text"].get("value") or ""
        guarded(body, lambda user: service.approve(item_id, moderator=user, text=text))

    @app.view(REJECT)
    def reject_saved(ack: Ack, body: dict[str, Any]) -> None:
        found = values(body)
        reason = (found["reason"].get("selected_option") or {}).get("value", "")
        words = found.get("text", {}).get("value") or ""
        if reason == RejectReason.OTHER.value and not words.strip():
            ack(response_action="errors", errors={"why": "Say why when the reason is 'other'."})
            return
        ack()
        item_id = int(body["view"]["private_metadata"])
        guarded(body, lambda user: service.reject(item_id, moderator=user, reason=reason, text=words))

    @app.view(RELABEL)
    def relabel_saved(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        item_id = int(body["view"]["private_metadata"])
        chosen = [o["value"] for o in values(body)["tips"].get("selected_options") or []]
        guarded(body, lambda user: service.relabel(item_id, chosen, moderator=user))

    @app.command("/triage")
    def triage_command(ack: Ack, command: dict[str, Any]) -> None:
        text = slack_text(command.get("text", ""))
        if not text:
            ack(response_type="ephemeral", text="Usage: /triage <your question, with the error message>")
            return
        probe = InboundMessage(channel=Channel.SLACK, source="", message_id="command", subject="", text=text)
        reply = engine.triage(probe).reply.text or "No tip fits this question, and nothing is missing to ask."
        ack(response_type="ephemeral", text=reply)

    return app


def http_app(app: App, path: str = "/slack/events") -> Starlette:
    """The Events API / interactivity / slash-command endpoint for HTTP mode, served by uvicorn.

    Bolt verifies the signature and the timestamp (older than five minutes: 401).
    """

    async def endpoint(request: Request) -> Response:
        body = (await request.body()).decode("utf-8")
        bolt_request = BoltRequest(body=body, query=request.url.query, headers=dict(request.headers))
        result = await asyncio.to_thread(app.dispatch, bolt_request)
        headers = {k: v[0] for k, v in result.headers.items() if v and k.lower() != "content-length"}
        return Response(content=result.body, status_code=result.status, headers=headers)

    return Starlette(routes=[Route(path, endpoint, methods=["POST"])])
