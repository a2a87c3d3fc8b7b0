"""Security of the web app over real HTTP requests: escaping, CSRF, sign-in, roles, throttle, secrets."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import pytest

from tests.web.conftest import (
    PASSWORD,
    SECRET,
    Seeded,
    client_for,
    csrf_from,
    log_in,
)
from triagebot.app import Engine
from triagebot.store import Store, accounts
from triagebot.web.security import CSRF_FIELD


class RecordingModeration:
    """Records what reached the review service; these tests are about what never should."""

    reject_reasons: Sequence[str] = ("wrong-tip", "other")

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def approve(self, item_id: int, *, actor: str, text: str | None, send_anyway: bool) -> bool:
        self.calls.append(("approve", item_id))
        return True

    def reject(self, item_id: int, *, actor: str, reason: str, text: str) -> None:
        self.calls.append(("reject", item_id))

    def relabel(self, item_id: int, tip_ids: Sequence[str], *, actor: str) -> None:
        self.calls.append(("relabel", item_id))

    def escalate(self, item_id: int, *, actor: str, note: str) -> None:
        self.calls.append(("escalate", item_id))

    def resend(self, outbox_id: int, *, actor: str) -> None:
        self.calls.append(("resend", outbox_id))

    def mark_delivered(self, outbox_id: int, *, actor: str) -> None:
        self.calls.append(("delivered", outbox_id))


@pytest.fixture
def moderation() -> RecordingModeration:
    return RecordingModeration()


def test_markup_in_a_question_shows_as_text(
    store: Store, engine: Engine, seeded: Seeded, moderation: RecordingModeration
) -> None:
    client = client_for(store, moderation, engine)
    log_in(client)
    for page in (client.get(f"/items/{seeded.hostile}"), client.get("/")):
        assert page.status_code == 200
        html = page.text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold</b>" not in html
        assert "&lt;script&gt;alert(" in html
    item = client.get(f"/items/{seeded.hostile}").text
    assert "&lt;img src=x onerror=alert(" in item and "&lt;b&gt;bold&lt;/b&gt;" in item
    # the only scripts are the app's own file
    assert re.findall(r"<script[^>]*>", item) == ['<script src="/static/keys.js" defer>']
    assert "script-src 'self'" in client.get("/").headers["content-security-policy"]


def test_markup_in_a_draft_shows_as_text(
    store: Store, engine: Engine, seeded: Seeded, moderation: RecordingModeration
) -> None:
    from sqlalchemy import update

    from triagebot.store.tables import ReviewItemRow

    with store.engine.begin() as connection:
        connection.execute(
            update(ReviewItemRow)
            .where(ReviewItemRow.id == seeded.en)
            .values(draft_text="Hello </textarea><script>alert(1)</script><img src=x onerror=alert(2)>")
        )
    client = client_for(store, moderation, engine)
    log_in(client)
    html = client.get(f"/items/{seeded.en}").text
    assert "</textarea><script>alert(1)" not in html and "<img src=x onerror" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_a_post_without_the_right_csrf_token_is_refused(
    store: Store, engine: Engine, seeded: Seeded, moderation: RecordingModeration, token: str | None
) -> None:
    client = client_for(store, moderation, engine)
    log_in(client)
    data = {"reply": "sneaky"} if token is None else {"reply": "sneaky", CSRF_FIELD: token}
    for path in (f"/items/{seeded.en}/approve", f"/items/{seeded.en}/reject", "/logout", "/lang"):
        assert client.post(path, data=data).status_code == 403, path
    assert moderation.calls == []
    assert store.show(seeded.en).status.value == "pending"
    # the login form itself needs the token too
    assert (
        client_for(store, moderation, engine)
        .post("/login", data={"name": "mod", "password": PASSWORD})
        .status_code
        == 403
    )


def test_a_token_from_another_session_is_refused(
    store: Store, engine: Engine, seeded: Seeded, moderation: RecordingModeration
) -> None:
    first, second = client_for(store, moderation, engine), client_for(store, moderation, engine)
    first_token = log_in(first)
    second_token = log_in(second)
    assert first_token != second_token
    response = second.post(f"/items/{seeded.en}/approve", data={CSRF_FIELD: first_token})
    assert response.status_code == 403 and moderation.calls == []
    assert second.post(f"/items/{seeded.en}/approve", data={CSRF_FIELD: second_token}).status_code == 303
    assert moderation.calls == [("approve", seeded.en)]


@pytest.mark.parametrize(
    "path", ["/", "/items/1", "/outbox", "/dashboard", "/admin/users", "/admin/audit", "/admin/audit.jsonl"]
)
def test_not_logged_in_redirects_to_login(
    store: Store, engine: Engine, seeded: Seeded, moderation: RecordingModeration, path: str
) -> None:
    response = client_for(store, moderation, engine).get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_a_moderator_cannot_reach_admin_pages(
    store: Store, engine: Engine, seeded: Seeded, moderation: RecordingModeration
) -> None:
    client = client_for(store, moderation, engine)
    token = log_in(client, "mod")
    for path in ("/admin/users", "/admin/audit", "/admin/audit.jsonl"):
        assert client.get(path).status_code == 403, path
    response = client.post(
        "/admin/users", data={CSRF_FIELD: token, "name": "eve", "password": "x" * 12, "role": "admin"}
    )
    assert response.status_code == 403
    assert accounts.find_user(store, "eve") is None
    assert "/admin/users" not in client.get("/").text  # not even linked

    admin = client_for(store, moderation, engine)
    admin_token = log_in(admin, "admin")
    assert admin.get("/admin/users").status_code == 200
    assert admin.get("/admin/audit").status_code == 200
    added = admin.post(
        "/admin/users",
        data={CSRF_FIELD: admin_token, "name": "carol", "password": "y" * 12, "role": "moderator"},
    )
    assert added.status_code == 303 and accounts.find_user(store, "carol") is not None


def test_ten_wrong_passwords_lock_the_account(
    store: Store, engine: Engine, seeded: Seeded, moderation: RecordingModeration
) -> None:
    client = client_for(store, moderation, engine)
    token = csrf_from(client.get("/login").text)
    statuses = [
        client.post("/login", data={"name": "mod", "password": f"guess-{n}", CSRF_FIELD: token}).status_code
        for n in range(10)
    ]
    assert statuses[:9] == [401] * 9 and statuses[9] == 429
    user = accounts.find_user(store, "mod")
    assert user is not None and user.failed_logins == 10 and user.locked(store.clock())
    # now even the right password is refused, and says why
    refused = client.post("/login", data={"name": "mod", "password": PASSWORD, CSRF_FIELD: token})
    assert refused.status_code == 429 and "locked" in refused.text
    assert client.get("/").status_code == 303
    # an admin unlocks it; the right password works again and the count starts over
    admin = client_for(store, moderation, engine)
    admin_token = log_in(admin, "admin")
    assert (
        admin.post("/admin/users/unlock", data={CSRF_FIELD: admin_token, "user_id": user.id}).status_code
        == 303
    )
    log_in(client, "mod")
    after = accounts.find_user(store, "mod")
    assert after is not None and after.failed_logins == 0 and after.locked_until is None
    actions = [row.action for row in accounts.audit_rows(store, accounts.AuditQuery(actor="mod", limit=None))]
    assert actions.count("login-failed") == 10 and "login-locked" in actions and "login" in actions


def test_a_right_password_resets_the_count(
    store: Store, engine: Engine, seeded: Seeded, moderation: RecordingModeration
) -> None:
    client = client_for(store, moderation, engine)
    token = csrf_from(client.get("/login").text)
    for n in range(9):
        client.post("/login", data={"name": "mod", "password": f"guess-{n}", CSRF_FIELD: token})
    log_in(client)
    user = accounts.find_user(store, "mod")
    assert user is not None and user.failed_logins == 0 and not user.locked(store.clock())


def test_session_cookie_flags(
    store: Store, engine: Engine, seeded: Seeded, moderation: RecordingModeration
) -> None:
    plain = client_for(store, moderation, engine)
    page = plain.get("/login")
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    secure = client_for(store, moderation, engine, https=True)
    cookie = secure.get("/login").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie


def test_login_redirect_stays_on_this_site(
    store: Store, engine: Engine, seeded: Seeded, moderation: RecordingModeration
) -> None:
    client = client_for(store, moderation, engine)
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login", data={"name": "mod", "password": PASSWORD, "next": "//evil.example/", CSRF_FIELD: token}
    )
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_no_secret_in_logs_or_pages(
    store: Store,
    engine: Engine,
    seeded: Seeded,
    moderation: RecordingModeration,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp_password = "smtp-pass-9d2e71"
    caplog.set_level(logging.DEBUG)
    client = client_for(store, moderation, engine)
    token = log_in(client, "admin")
    pages = [
        client.get(p).text
        for p in ("/", f"/items/{seeded.en}", "/outbox", "/dashboard", "/admin/users", "/admin/audit")
    ]
    pages.append(client.get("/admin/audit.jsonl").text)
    client.post("/login", data={"name": "admin", "password": "wrong " + smtp_password, CSRF_FIELD: token})
    cookies = " ".join(f"{k}={v}" for k, v in client.cookies.items())
    captured = caplog.text + "".join(pages)
    for secret in (SECRET, PASSWORD, smtp_password):
        assert secret not in captured
        assert secret not in cookies
    assert "argon2" not in captured  # no password hash either


def test_language_follows_the_browser_and_the_switch(
    store: Store, engine: Engine, seeded: Seeded, moderation: RecordingModeration
) -> None:
    client = client_for(store, moderation, engine)
    assert "ログイン" in client.get("/login", headers={"accept-language": "ja-JP,ja;q=0.9,en;q=0.5"}).text
    english = client.get("/login", headers={"accept-language": "en-US,en;q=0.9"}).text
    assert "Log in" in english and "ログイン</h1>" not in english
    token = log_in(client)
    assert client.post("/lang", data={"lang": "ja", "next": "/", CSRF_FIELD: token}).status_code == 303
    assert "レビューキュー" in client.get("/", headers={"accept-language": "en"}).text
