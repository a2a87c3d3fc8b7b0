"""The web app's coverage-gap page and the dashboard's quality section."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.cli.test_report_cmds import seed
from tests.store.factories import record
from tests.web.conftest import PASSWORD, client_for, log_in
from triagebot.app import Engine
from triagebot.pipeline import ingest
from triagebot.store import Store, accounts, open_store
from triagebot.store.views import UserRole
from triagebot.web.security import hash_password
from triagebot.web.service import ReviewService


@pytest.fixture
def gap_store(tmp_path: Path, engine: Engine) -> Store:
    url = f"sqlite:///{tmp_path}/gaps.sqlite3"
    seed(url, engine)
    store = open_store(url)
    for name, role in (
        ("mod", UserRole.MODERATOR),
        ("maint", UserRole.MAINTAINER),
        ("admin", UserRole.ADMIN),
    ):
        accounts.add_user(store, name, hash_password(PASSWORD), role, actor="test")
    return store


@pytest.fixture
def client(gap_store: Store, engine: Engine) -> TestClient:
    return client_for(gap_store, ReviewService(gap_store, engine), engine)


def test_maintainers_see_the_planted_theme_first(client: TestClient) -> None:
    log_in(client, "maint")
    page = client.get("/gaps")
    assert page.status_code == 200
    first = page.text.split('<tr class="gap">')[1]
    assert "ldap" in first.split("</tr>")[0]
    assert page.text.count('<tr class="gap">') >= 2
    assert '<svg class="chart"' in page.text
    assert 'href="/gaps"' in page.text  # in the navigation


def test_admins_too_but_not_moderators(client: TestClient) -> None:
    log_in(client, "admin")
    assert client.get("/gaps").status_code == 200
    log_in(client, "mod")
    assert client.get("/gaps").status_code == 403
    assert 'href="/gaps"' not in client.get("/dashboard").text


def test_signed_out_goes_to_the_login_page(client: TestClient) -> None:
    response = client.get("/gaps")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_the_dashboard_shows_decisions_over_time(client: TestClient) -> None:
    log_in(client, "maint")
    page = client.get("/dashboard").text
    quality = page.split('id="quality"')[1]
    assert '<figure id="chart-decisions"><svg' in quality
    assert "2024-W11" in quality and "polyline" in quality
    assert 'id="gaps-link"' in quality


def test_subjects_are_escaped(gap_store: Store, engine: Engine) -> None:
    ingest(
        [
            record(
                f"h{i}@x",
                f"<script>alert({i})</script> VPC tier cannot ping",
                "VPC tier routing fails",
                minute=i,
            )
            for i in range(3)
        ],
        gap_store,
        engine,
    )
    client = client_for(gap_store, ReviewService(gap_store, engine), engine)
    log_in(client, "maint")
    page = client.get("/gaps").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(" in page


def test_the_report_is_clustered_again_only_when_the_questions_change(
    client: TestClient, gap_store: Store, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import triagebot.core.gaps as gaps

    runs: list[int] = []
    real = gaps.find_gaps

    def counted(questions, **options):  # type: ignore[no-untyped-def]
        runs.append(len(questions))
        return real(questions, **options)

    monkeypatch.setattr(gaps, "find_gaps", counted)
    log_in(client, "maint")
    first = client.get("/gaps").text
    assert client.get("/gaps").text == first
    assert len(runs) == 1, "the same questions are not clustered twice"
    ingest(
        [record("new@x", "VPC tier cannot reach the internet", "VPC routing fails", minute=9)],
        gap_store,
        engine,
    )
    client.get("/gaps")
    assert runs == [runs[0], runs[0] + 1], "a new abstention is clustered with the rest"
