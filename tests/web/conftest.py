"""Web app fixtures: a SQLite store filled by the real engine, accounts of each role, an HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.store.factories import record
from triagebot.app import Engine
from triagebot.config import WebSettings
from triagebot.pipeline import ingest
from triagebot.store import Store, accounts, open_store
from triagebot.store.views import UserRole
from triagebot.web import create_app
from triagebot.web.ports import Moderation
from triagebot.web.security import CSRF_FIELD, hash_password

PASSWORD = "correct horse battery"
SECRET = "test-web-secret-4f1c9a7e"

EN_QUESTION = (
    "Running cloudstack-setup-databases cloud:pw@localhost --deploy-as=root:secret fails with "
    "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)"
)
JA_QUESTION = (
    "CloudStack 4.18 を Rocky Linux 8 にインストールしています。管理サーバーの起動時に "
    "SELinux is set to enforcing と表示されて止まります。どうすればよいでしょうか。"
)
HOSTILE_SUBJECT = "<script>alert('subject')</script> install fails"
HOSTILE_BODY = (
    "My setup fails <img src=x onerror=alert('body')> and <b>bold</b> text; "
    "<script>document.title='owned'</script> cloudstack-setup-databases Access denied for user 'root'@'localhost'"
)


@dataclass
class Seeded:
    """Ids of the review items the seed created, by what they are."""

    en: int
    ja: int
    hostile: int
    answered: int


def seed(store: Store, engine: Engine) -> Seeded:
    """Questions in English and Japanese, one with markup in it, one already answered by a human."""
    ingest(
        [
            record("en@x", "Install fails", EN_QUESTION, minute=0),
            record("ja@x", "管理サーバーが起動しません", JA_QUESTION, "Taro <taro@example.jp>", minute=1),
            record("hostile@x", HOSTILE_SUBJECT, HOSTILE_BODY, "Mallory <m@example.org>", minute=2),
            record(
                "answered@x", "Cannot add host", "Adding a KVM host fails: Unable to add the host", minute=3
            ),
            record(
                "reply@x",
                "Re: Cannot add host",
                "Check that the agent is running.\n\n> Adding a KVM host fails: Unable to add the host",
                "Helper <helper@example.org>",
                in_reply_to="answered@x",
                minute=4,
            ),
        ],
        store,
        engine,
    )
    ids = {}
    for key in ("en", "ja", "hostile", "answered"):
        item = store.review_id_for(f"{key}@x")
        assert item is not None, key
        ids[key] = item
    return Seeded(**ids)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/web.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def seeded(store: Store, engine: Engine) -> Seeded:
    result = seed(store, engine)
    for name, role in (("mod", UserRole.MODERATOR), ("admin", UserRole.ADMIN)):
        accounts.add_user(store, name, hash_password(PASSWORD), role, actor="test")
    return result


def tips_of(engine: Engine) -> list[tuple[str, str]]:
    return [(tip.id, tip.title.en) for tip in engine.kb.tips]


def client_for(store: Store, moderation: Moderation, engine: Engine, *, https: bool = False) -> TestClient:
    app = create_app(
        store, moderation, settings=WebSettings(https=https), secret=SECRET, tips=tips_of(engine)
    )
    return TestClient(
        app, base_url="https://testserver" if https else "http://testserver", follow_redirects=False
    )


def csrf_from(html: str) -> str:
    """The CSRF token a page's forms carry."""
    marker = f'name="{CSRF_FIELD}" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def log_in(client: TestClient, name: str = "mod", password: str = PASSWORD) -> str:
    """Sign in through the login form (as a fresh session); returns the CSRF token of the new session."""
    client.cookies.clear()
    page = client.get("/login")
    response = client.post(
        "/login", data={"name": name, "password": password, CSRF_FIELD: csrf_from(page.text)}
    )
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/").text)
