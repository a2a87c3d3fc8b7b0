"""The moderators' web app: a Starlette application built by `create_app` from its collaborators.

Pages are rendered on the server with the package's own jinja2 templates (autoescaped, so anything a
message or draft contains shows as text) and every asset is served from the package. Forms work
without JavaScript; `static/keys.js` only adds keyboard shortcuts.

Example:
    >>> app = create_app(store, moderation, tips=[("selinux", "SELinux")],  # doctest: +SKIP
    ...                  settings=WebSettings(), secret="…")
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triagebot.config import WebSettings
from triagebot.core.models import Detail, Language
from triagebot.errors import InputError, StoreError, TriagebotError
from triagebot.store import NotFoundError, ReviewStateError, Store, accounts, browse, insights
from triagebot.store.views import OutboxState, ReviewStatus, UserRole
from triagebot.web.charts import bars, columns, lines, stacked
from triagebot.web.i18n import LANG_COOKIE, LANGUAGES, Translator, pick_language
from triagebot.web.messages import blocks
from triagebot.web.ports import Moderation
from triagebot.web.security import (
    CSRF_FIELD,
    csrf_ok,
    csrf_token,
    hash_password,
    password_problem,
    verify_password,
)

if TYPE_CHECKING:  # clustering is imported only when the gaps page is asked for
    from triagebot.core.gaps import GapQuestion, GapReport

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
RANK = {UserRole.MODERATOR: 0, UserRole.MAINTAINER: 1, UserRole.ADMIN: 2}
GAPS_ROLE = UserRole.MAINTAINER  # gaps are for those who write tips: maintainers and admins
GAPS_SHOWN = 20
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


class Forbidden(Exception):
    """The signed-in account's role does not allow this page (403)."""


class CsrfFailed(Exception):
    """A form arrived without the session's CSRF token (403)."""


class LoginRequired(Exception):
    """No one is signed in: go to the login page."""


class SecurityHeaders:
    """ASGI middleware adding a strict Content-Security-Policy and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend((k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items())
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class _GapMemo:
    """The last gap report and the questions it was clustered from, computed by one request at a time.

    Clustering thousands of questions takes seconds and a pairwise matrix of memory; the questions
    change only when the bot abstains again or a moderator rejects a tip, so a page load with the
    same questions reuses the report, and requests that arrive during a clustering wait for it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._questions: tuple[GapQuestion, ...] | None = None
        self._report: GapReport | None = None

    def report(
        self, questions: Sequence[GapQuestion], build: Callable[[Sequence[GapQuestion]], GapReport]
    ) -> GapReport:
        """The report for `questions`: the remembered one when they are the same, else `build(questions)`."""
        wanted = tuple(questions)
        with self._lock:
            if self._report is None or self._questions != wanted:
                self._report = build(wanted)
                self._questions = wanted
            return self._report


@dataclass(frozen=True, slots=True)
class _Ctx:
    """Who is asking, in which language: what every handler needs."""

    user: accounts.Account | None
    t: Translator

    @property
    def actor(self) -> str:
        """The signed-in account's name, as the audit log records it (LoginRequired when nobody is)."""
        if self.user is None:
            raise LoginRequired
        return self.user.name


class Pages:
    """The route handlers, holding the app's collaborators (no module-level state)."""

    def __init__(
        self,
        store: Store,
        moderation: Moderation,
        *,
        settings: WebSettings,
        tips: Sequence[tuple[str, str]],
    ) -> None:
        self.store = store
        self.moderation = moderation
        self.settings = settings
        self.tips = tuple(tips)
        self.tip_titles = dict(tips)
        self._gap_memo = _GapMemo()
        self.env = Environment(
            loader=PackageLoader("triagebot.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["when"] = _when

    # -- plumbing ---------------------------------------------------------------------------------

    def context(self, request: Request) -> _Ctx:
        """The signed-in account (None when nobody is) and the interface language."""
        user = None
        uid = request.session.get("uid")
        if isinstance(uid, int):
            user = accounts.get_user(self.store, uid)
            if user is None or user.locked(self.store.clock()):
                request.session.clear()
                user = None
        language = pick_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
        return _Ctx(user, Translator(language))

    def require(self, request: Request, role: UserRole = UserRole.MODERATOR) -> _Ctx:
        """The context of a signed-in account of at least `role`; LoginRequired or Forbidden otherwise."""
        ctx = self.context(request)
        if ctx.user is None:
            raise LoginRequired
        if RANK[ctx.user.role] < RANK[role]:
            raise Forbidden
        return ctx

    def page(
        self, request: Request, ctx: _Ctx, template: str, status: int = 200, **values: Any
    ) -> HTMLResponse:
        """Render `template` with the things every page shows (user, language, CSRF token, flash)."""
        flash = request.session.pop("flash", None)
        body = self.env.get_template(template).render(
            t=ctx.t,
            lang=ctx.t.language,
            languages=LANGUAGES,
            user=ctx.user,
            is_admin=ctx.user is not None and ctx.user.role is UserRole.ADMIN,
            csrf=csrf_token(request.session),
            csrf_field=CSRF_FIELD,
            flash=ctx.t(flash) if isinstance(flash, str) else None,
            path=request.url.path,
            **values,
        )
        return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})

    async def form(self, request: Request) -> FormData:
        """The posted form, after checking its CSRF token (CsrfFailed when missing or wrong)."""
        form = await request.form()
        if not csrf_ok(request.session, form.get(CSRF_FIELD)):
            raise CsrfFailed
        return form

    def flash_to(self, request: Request, key: str, url: str) -> RedirectResponse:
        """Remember a message for the next page and redirect there (POST → redirect → GET)."""
        request.session["flash"] = key
        return RedirectResponse(url, status_code=303)

    # -- sign in and out --------------------------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        ctx = await run_in_threadpool(self.context, request)
        if ctx.user is not None:
            return RedirectResponse("/", status_code=303)
        return self.page(request, ctx, "login.html", next=_safe_next(request.query_params.get("next")))

    async def login(self, request: Request) -> Response:
        form = await self.form(request)
        name = str(form.get("name", ""))
        password = str(form.get("password", ""))
        target = _safe_next(str(form.get("next", "")))
        outcome = await run_in_threadpool(accounts.log_in, self.store, name, password, verify_password)
        ctx = await run_in_threadpool(self.context, request)
        if outcome.account is None:
            error = ctx.t("login.locked" if outcome.locked else "login.failed")
            return self.page(
                request,
                ctx,
                "login.html",
                status=401 if not outcome.locked else 429,
                error=error,
                name=name,
                next=target,
            )
        request.session.clear()  # a fresh session (and CSRF token) at every sign-in
        request.session["uid"] = outcome.account.id
        response = RedirectResponse(target or "/", status_code=303)
        if outcome.account.language in LANGUAGES and LANG_COOKIE not in request.cookies:
            response.set_cookie(LANG_COOKIE, str(outcome.account.language), samesite="lax", httponly=True)
        return response

    async def logout(self, request: Request) -> Response:
        await self.form(request)
        ctx = await run_in_threadpool(self.context, request)
        if ctx.user is not None:
            await run_in_threadpool(accounts.log_event, self.store, actor=ctx.user.name, action="logout")
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def set_language(self, request: Request) -> Response:
        form = await self.form(request)
        language = str(form.get("lang", ""))
        response = RedirectResponse(_safe_next(str(form.get("next", ""))) or "/", status_code=303)
        if language in LANGUAGES:
            response.set_cookie(
                LANG_COOKIE,
                language,
                max_age=365 * 86400,
                samesite="lax",
                httponly=True,
                secure=self.settings.https,
            )
        return response

    # -- the queue --------------------------------------------------------------------------------

    async def queue(self, request: Request) -> Response:
        return await run_in_threadpool(self._queue, request)

    def _queue(self, request: Request) -> Response:
        ctx = self.require(request)
        params = request.query_params
        query = browse.QueueQuery(
            source=params.get("source") or None,
            tip=params.get("tip") or None,
            language=_enum(Language, params.get("language")),
            band=_enum(browse.ScoreBand, params.get("band")),
            missing=_enum(Detail, params.get("missing")),
            status=None
            if params.get("status") == "all"
            else (_enum(ReviewStatus, params.get("status")) or ReviewStatus.PENDING),
            answered={"yes": True, "no": False}.get(params.get("answered", "")),
            sort=_enum(browse.QueueSort, params.get("sort")) or browse.QueueSort.OLDEST,
            page=_int(params.get("page"), 1),
            page_size=self.settings.page_size,
        )
        result = browse.queue_page(self.store, query)
        kept = {k: v for k, v in params.items() if k != "page" and v}
        return self.page(
            request,
            ctx,
            "queue.html",
            q=query,
            result=result,
            params=kept,
            sources=browse.sources(self.store),
            tips=self.tips,
            tip_titles=self.tip_titles,
            statuses=list(ReviewStatus),
            details=list(Detail),
            bands=list(browse.ScoreBand),
            sorts=list(browse.QueueSort),
            page_url=lambda page: "/?" + urlencode({**kept, "page": page}),
            status_url=lambda status: (
                "/?" + urlencode({**{k: v for k, v in kept.items() if k != "status"}, "status": status})
            ),
        )

    # -- one draft --------------------------------------------------------------------------------

    async def item(self, request: Request) -> Response:
        return await run_in_threadpool(self._item, request)

    def _item(self, request: Request) -> Response:
        ctx = self.require(request)
        item_id = _int(request.path_params["item_id"], 0)
        try:
            view = self.store.show(item_id)
        except NotFoundError:
            raise HTTPException(404) from None
        facts = browse.draft_facts(self.store, item_id)
        messages = browse.thread_messages(self.store, view.thread_id)
        history = accounts.audit_rows(self.store, accounts.AuditQuery(review_item_id=item_id, limit=None))
        before, after = browse.neighbours(self.store, item_id)
        return self.page(
            request,
            ctx,
            "item.html",
            item=view,
            facts=facts,
            messages=[(m, blocks(m.text)) for m in messages],
            history=history,
            tips=self.tips,
            tip_titles=self.tip_titles,
            details=list(Detail),
            chosen={t.tip_id for t in view.tips},
            reasons=list(self.moderation.reject_reasons),
            open_actions=view.status is ReviewStatus.PENDING,
            before=before,
            after=after,
            focus=request.query_params.get("focus", ""),
        )

    async def act(self, request: Request) -> Response:
        form = await self.form(request)
        return await run_in_threadpool(self._act, request, form)

    def _act(self, request: Request, form: FormData) -> Response:
        ctx = self.require(request)
        actor = ctx.actor
        item_id = _int(request.path_params["item_id"], 0)
        action = request.path_params["action"]
        if action == "approve":
            text = form.get("reply")
            edited = str(text).replace("\r\n", "\n") if isinstance(text, str) else None
            queued = self.moderation.approve(
                item_id, actor=actor, text=edited, send_anyway=form.get("send_anyway") == "1"
            )
            key = "flash.approved" if queued else "flash.approved_not_sent"
        elif action == "reject":
            reason = str(form.get("reason", ""))
            if reason not in self.moderation.reject_reasons:
                raise InputError(f"unknown reject reason {reason!r}")
            self.moderation.reject(
                item_id, actor=actor, reason=reason, text=str(form.get("text", "")).strip()
            )
            key = "flash.rejected"
        elif action == "relabel":
            chosen = [str(v) for v in form.getlist("tips")]
            unknown = [tip for tip in chosen if tip not in self.tip_titles]
            if unknown:
                raise InputError(f"unknown tip {unknown[0]!r}")
            self.moderation.relabel(item_id, chosen, actor=actor)
            return self.flash_to(request, "flash.relabelled", f"/items/{item_id}")
        elif action == "escalate":
            self.moderation.escalate(item_id, actor=actor, note=str(form.get("note", "")).strip())
            key = "flash.escalated"
        else:
            raise HTTPException(404)
        _, after = browse.neighbours(self.store, item_id)
        return self.flash_to(request, key, f"/items/{after}" if after else "/")

    # -- outbox -----------------------------------------------------------------------------------

    async def outbox(self, request: Request) -> Response:
        return await run_in_threadpool(self._outbox, request)

    def _outbox(self, request: Request) -> Response:
        ctx = self.require(request)
        problems = browse.outbox_lines(
            self.store, [OutboxState.FAILED, OutboxState.UNKNOWN, OutboxState.RETRY]
        )
        return self.page(
            request,
            ctx,
            "outbox.html",
            problems=problems,
            counts=browse.outbox_counts(self.store),
            recent=browse.outbox_lines(self.store, limit=50),
        )

    async def outbox_act(self, request: Request) -> Response:
        form = await self.form(request)
        del form
        return await run_in_threadpool(self._outbox_act, request)

    def _outbox_act(self, request: Request) -> Response:
        ctx = self.require(request)
        outbox_id = _int(request.path_params["outbox_id"], 0)
        if request.path_params["action"] == "resend":
            self.moderation.resend(outbox_id, actor=ctx.actor)
            return self.flash_to(request, "flash.resent", "/outbox")
        if request.path_params["action"] == "delivered":
            self.moderation.mark_delivered(outbox_id, actor=ctx.actor)
            return self.flash_to(request, "flash.resolved", "/outbox")
        raise HTTPException(404)

    # -- dashboard --------------------------------------------------------------------------------

    async def dashboard(self, request: Request) -> Response:
        return await run_in_threadpool(self._dashboard, request)

    def _dashboard(self, request: Request) -> Response:
        ctx = self.require(request)
        t = ctx.t
        figures = browse.dashboard(self.store)

        def tip_name(tip: str) -> str:
            return tip if tip else t("dash.no_tip")

        weekly = columns(
            t("dash.per_tip"),
            figures.weeks,
            [(tip_name(tip), counts) for tip, counts in figures.per_tip_weekly],
        )
        missing = bars(
            t("dash.missing"),
            [(t(f"detail.{d.value}"), share, f"{share:.0%}") for d, share in figures.missing_share],
            maximum=1.0,
        )
        notes = []
        for _, approved, edited, rejected in figures.outcomes:
            decided = approved + edited + rejected
            notes.append(f"{approved / decided:.0%} ({decided})" if decided else "–")
        outcomes = stacked(
            t("dash.outcomes"),
            [(tip_name(tip), (a, e, r)) for tip, a, e, r in figures.outcomes],
            [t("dash.outcome.approved"), t("dash.outcome.edited"), t("dash.outcome.rejected")],
            note=notes,
        )
        weekly_decisions = insights.decisions_by_week(self.store)
        decisions = (
            lines(
                t("dash.decisions"),
                [d.week for d in weekly_decisions],
                [
                    (t(f"dash.outcome.{part}"), [d.share(part) for d in weekly_decisions])
                    for part in ("approved", "edited", "rejected")
                ],
            )
            if weekly_decisions
            else None
        )
        return self.page(
            request,
            ctx,
            "dashboard.html",
            decisions=decisions,
            weekly_decisions=weekly_decisions,
            sees_gaps=RANK[ctx.user.role] >= RANK[GAPS_ROLE] if ctx.user else False,
            figures=figures,
            weekly=weekly,
            missing=missing,
            outcomes=outcomes,
            median=_duration(figures.median_review, t),
            failures=figures.deliveries[OutboxState.FAILED] + figures.deliveries[OutboxState.UNKNOWN],
        )

    # -- coverage gaps ------------------------------------------------------------------------------

    async def gaps(self, request: Request) -> Response:
        return await run_in_threadpool(self._gaps, request)

    def _gaps(self, request: Request) -> Response:
        ctx = self.require(request, GAPS_ROLE)
        from triagebot.core.gaps import find_gaps

        report = self._gap_memo.report(
            insights.gap_questions(self.store), lambda questions: find_gaps(questions, limit=GAPS_SHOWN)
        )
        sizes = bars(
            ctx.t("gaps.title"),
            [(f"#{c.rank} {' '.join(c.terms[:3])}", float(c.size), str(c.size)) for c in report.clusters],
        )
        return self.page(request, ctx, "gaps.html", report=report, gaps=report, sizes=sizes)

    # -- admin ------------------------------------------------------------------------------------

    async def users(self, request: Request) -> Response:
        return await run_in_threadpool(self._users, request, None, 200)

    def _users(self, request: Request, error: str | None, status: int) -> Response:
        ctx = self.require(request, UserRole.ADMIN)
        return self.page(
            request,
            ctx,
            "users.html",
            status=status,
            users=accounts.list_users(self.store),
            roles=list(UserRole),
            error=error,
            now=self.store.clock(),
        )

    async def users_act(self, request: Request) -> Response:
        form = await self.form(request)
        return await run_in_threadpool(self._users_act, request, form)

    def _users_act(self, request: Request, form: FormData) -> Response:
        ctx = self.require(request, UserRole.ADMIN)
        action = request.path_params.get("action", "add")
        if action == "unlock":
            accounts.unlock(self.store, _int(form.get("user_id"), 0), actor=ctx.actor)
            return RedirectResponse("/admin/users", status_code=303)
        password = str(form.get("password", ""))
        role = _enum(UserRole, str(form.get("role", "")))
        problem = password_problem(password) or (None if role else "choose a role")
        if problem is not None:
            return self._users(request, problem, 400)
        try:
            accounts.add_user(
                self.store,
                str(form.get("name", "")),
                hash_password(password),
                role or UserRole.MODERATOR,
                actor=ctx.actor,
            )
        except InputError as exc:
            return self._users(request, str(exc), 400)
        return self.flash_to(request, "users.added", "/admin/users")

    async def audit(self, request: Request) -> Response:
        return await run_in_threadpool(self._audit, request)

    def _audit_query(self, request: Request, *, limit: int | None) -> accounts.AuditQuery:
        params = request.query_params
        page = _int(params.get("page"), 1)
        return accounts.AuditQuery(
            actor=params.get("actor") or None,
            action=params.get("action") or None,
            limit=limit,
            offset=(page - 1) * limit if limit else 0,
        )

    def _audit(self, request: Request) -> Response:
        ctx = self.require(request, UserRole.ADMIN)
        query = self._audit_query(request, limit=100)
        kept = {k: v for k, v in request.query_params.items() if k != "page" and v}
        page = _int(request.query_params.get("page"), 1)
        return self.page(
            request,
            ctx,
            "audit.html",
            rows=accounts.audit_rows(self.store, query),
            actions=accounts.audit_actions(self.store),
            q=query,
            page=page,
            export_url="/admin/audit.jsonl?" + urlencode(kept),
            page_url=lambda n: "/admin/audit?" + urlencode({**kept, "page": n}),
            dump=lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True) if value else "",
        )

    async def audit_export(self, request: Request) -> Response:
        rows = await run_in_threadpool(self._audit_export, request)
        return StreamingResponse(
            iter(rows),
            media_type="application/x-ndjson",
            headers={"content-disposition": 'attachment; filename="triagebot-audit.jsonl"'},
        )

    def _audit_export(self, request: Request) -> list[str]:
        ctx = self.require(request, UserRole.ADMIN)
        rows = accounts.audit_rows(self.store, self._audit_query(request, limit=None))
        accounts.log_event(self.store, actor=ctx.actor, action="audit-export", note=f"{len(rows)} rows")
        return [json.dumps(row.as_json(), ensure_ascii=False) + "\n" for row in rows]


def _when(value: datetime | None) -> str:
    """A timestamp for the pages: UTC, to the minute."""
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(value: timedelta | None, t: Translator) -> str:
    if value is None:
        return t("dash.none")
    minutes = value.total_seconds() / 60
    return t("dash.minutes", m=round(minutes)) if minutes < 120 else t("dash.hours", h=round(minutes / 60, 1))


E = TypeVar("E")


def _enum(kind: type[E], value: str | None) -> E | None:
    """The enum member named by a query or form value, or None when absent or unknown."""
    if not value:
        return None
    try:
        return kind(value)  # type: ignore[call-arg]
    except ValueError:
        return None


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def _safe_next(value: str | None) -> str:
    """A same-site path to go back to after login; anything else (another host, a scheme) is dropped."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return ""
    return value


def create_app(
    store: Store,
    moderation: Moderation,
    *,
    settings: WebSettings,
    secret: str,
    tips: Sequence[tuple[str, str]] = (),
) -> Starlette:
    """The web app over `store`, acting through `moderation`; `tips` are (id, title) for the relabel form.

    `secret` signs the session cookie; cookies are HttpOnly and SameSite=Lax, and Secure when
    `settings.https` is set.
    """
    pages = Pages(store, moderation, settings=settings, tips=tips)

    async def on_error(request: Request, exc: Exception) -> Response:
        ctx = await run_in_threadpool(pages.context, request)
        if isinstance(exc, LoginRequired):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        if isinstance(exc, CsrfFailed):
            return pages.page(request, ctx, "error.html", status=403, message=ctx.t("error.csrf"))
        if isinstance(exc, Forbidden):
            return pages.page(request, ctx, "error.html", status=403, message=ctx.t("error.forbidden"))
        if isinstance(exc, NotFoundError):
            return pages.page(request, ctx, "error.html", status=404, message=ctx.t("error.not_found"))
        if isinstance(exc, HTTPException) and exc.status_code == 404:
            return pages.page(request, ctx, "error.html", status=404, message=ctx.t("error.not_found"))
        if isinstance(exc, ReviewStateError | InputError):
            status = 409 if isinstance(exc, ReviewStateError) else 400
            return pages.page(
                request, ctx, "error.html", status=status, message=ctx.t("error.bad_input"), detail=str(exc)
            )
        if isinstance(exc, StoreError | TriagebotError):
            log.error("request failed: %s", exc)
            return pages.page(
                request, ctx, "error.html", status=503, message=ctx.t("error.bad_input"), detail=str(exc)
            )
        raise exc

    routes = [
        Route("/login", pages.login_page, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/lang", pages.set_language, methods=["POST"]),
        Route("/", pages.queue, methods=["GET"]),
        Route("/items/{item_id:int}", pages.item, methods=["GET"]),
        Route("/items/{item_id:int}/{action:str}", pages.act, methods=["POST"]),
        Route("/outbox", pages.outbox, methods=["GET"]),
        Route("/outbox/{outbox_id:int}/{action:str}", pages.outbox_act, methods=["POST"]),
        Route("/dashboard", pages.dashboard, methods=["GET"]),
        Route("/gaps", pages.gaps, methods=["GET"]),
        Route("/admin/users", pages.users, methods=["GET"]),
        Route("/admin/users", pages.users_act, methods=["POST"]),
        Route("/admin/users/{action:str}", pages.users_act, methods=["POST"]),
        Route("/admin/audit", pages.audit, methods=["GET"]),
        Route("/admin/audit.jsonl", pages.audit_export, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    handlers: dict[Any, Any] = {
        exc: on_error
        for exc in (
            LoginRequired,
            CsrfFailed,
            Forbidden,
            NotFoundError,
            ReviewStateError,
            InputError,
            StoreError,
            TriagebotError,
            HTTPException,
        )
    }
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie="triagebot_session",
            max_age=settings.session_hours * 3600,
            same_site="lax",
            https_only=settings.https,
        ),
    ]
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
