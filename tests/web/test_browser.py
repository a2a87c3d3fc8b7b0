"""The web app in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

These tests fail, never skip, when chromium is missing: `make system-deps` or `.ci/run` installs it.
Each action is checked in the database and in the audit log, not only on the page.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.web.conftest import PASSWORD, SECRET, Seeded, tips_of
from triagebot.app import Engine
from triagebot.config import WebSettings
from triagebot.store import ReviewStatus, Store, accounts, browse
from triagebot.store.views import OutboxState
from triagebot.web import create_app
from triagebot.web.service import ReviewService

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps)", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def base_url(store: Store, engine: Engine, seeded: Seeded) -> Iterator[str]:
    """The app served by uvicorn in a thread on a free loopback port."""
    app = create_app(
        store, ReviewService(store, engine), settings=WebSettings(), secret=SECRET, tips=tips_of(engine)
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web app did not start", pytrace=False)
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, locale="en-US", viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def _log_in(page: Page, name: str = "mod") -> None:
    page.goto("/")
    assert "/login" in page.url  # redirected to the login page
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Log in')")
    expect(page.locator("h1")).to_have_text("Review queue")


def _png_colours(data: bytes) -> int:
    """How many distinct byte values the decoded pixel rows of a PNG hold (1–2 for a blank image)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat = 8, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            idat += data[position + 8 : position + 8 + length]
        position += 12 + length
    return len(set(zlib.decompress(idat)))


def _actions(store: Store, item_id: int) -> list[tuple[str, str]]:
    rows = accounts.audit_rows(store, accounts.AuditQuery(review_item_id=item_id, limit=None))
    return [(row.actor, row.action) for row in rows]


def test_log_in_and_filter_the_queue(page: Page, store: Store, seeded: Seeded) -> None:
    _log_in(page)
    rows = page.locator("#queue tr.row")
    expect(rows).to_have_count(4)
    page.select_option("select[name=language]", "ja")
    page.click("#filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", str(seeded.ja))
    page.select_option("select[name=language]", "")
    page.select_option("select[name=answered]", "yes")
    page.click("#filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", str(seeded.answered))
    assert ("mod", "login") in [
        (r.actor, r.action) for r in accounts.audit_rows(store, accounts.AuditQuery())
    ]


def test_open_a_japanese_draft_edit_and_approve_it(
    page: Page, store: Store, seeded: Seeded, tmp_path: Path
) -> None:
    _log_in(page)
    page.click("button.link:has-text('Japanese')")  # switch the interface to Japanese
    expect(page.locator("h1")).to_have_text("レビューキュー")
    page.click(f"#queue tr.row[data-id='{seeded.ja}'] a.open")
    expect(page.locator("h1")).to_contain_text("管理サーバーが起動しません")
    expect(page.locator("article.question")).to_contain_text("SELinux is set to enforcing")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = page.screenshot(path=str(ARTIFACTS / "japanese-draft.png"), full_page=True)
    (tmp_path / "japanese-draft.png").write_bytes(shot)
    assert len(shot) > 20_000 and _png_colours(shot) > 50  # text and colours, not a blank page

    edited = "SELinux を permissive にしてから管理サーバーを再起動してください。\n〜 よろしくお願いします。"
    page.fill("#reply", edited)
    page.click("#approve")
    expect(page.locator(".flash")).to_have_text("承認しました。")
    view = store.show(seeded.ja)
    assert view.status is ReviewStatus.EDITED and view.final_text == edited
    facts = browse.draft_facts(store, seeded.ja)
    assert facts is not None and facts.outbox_state is OutboxState.QUEUED
    assert _actions(store, seeded.ja)[0] == ("mod", "edit-approve")


def test_relabel_one(page: Page, store: Store, seeded: Seeded) -> None:
    _log_in(page)
    page.goto(f"/items/{seeded.en}")
    before = page.input_value("#reply")
    for box in page.locator("#relabel-form input[type=checkbox]:checked").all():
        box.uncheck()
    page.check("#relabel-form input[value=selinux]")
    page.click("#relabel")
    expect(page.locator(".flash")).to_contain_text("Relabelled")
    after = page.input_value("#reply")
    assert after != before and after == store.show(seeded.en).draft_text
    assert [t.tip_id for t in store.show(seeded.en).tips] == ["selinux"]
    assert _actions(store, seeded.en)[0] == ("mod", "relabel")


def test_reject_one_with_a_reason(page: Page, store: Store, seeded: Seeded) -> None:
    _log_in(page)
    page.goto(f"/items/{seeded.hostile}")
    assert page.title() != "owned"  # the script in the question never ran
    page.select_option("#reason", "not-a-question")
    page.fill("#reject-text", "markup test, not a real question")
    page.click("#reject")
    expect(page.locator(".flash")).to_have_text("Rejected.")
    assert store.show(seeded.hostile).status is ReviewStatus.REJECTED
    facts = browse.draft_facts(store, seeded.hostile)
    assert facts is not None and facts.reason == "not-a-question: markup test, not a real question"
    assert _actions(store, seeded.hostile)[0] == ("mod", "reject")


def test_keyboard_shortcuts(page: Page, store: Store, seeded: Seeded) -> None:
    _log_in(page)
    rows = page.locator("#queue tr.row")
    selected = page.locator("#queue tr.row.selected")
    expect(selected).to_have_attribute("data-id", str(seeded.en))
    page.keyboard.press("j")
    expect(selected).to_have_attribute("data-id", str(seeded.ja))
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(selected).to_have_attribute("data-id", str(seeded.ja))
    page.keyboard.press("?")
    expect(page.locator("#keys-help")).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#keys-help")).to_be_hidden()

    page.keyboard.press("a")  # approve the selected (Japanese) draft as it is
    expect(page.locator(".flash")).to_be_visible()
    assert store.show(seeded.ja).status is ReviewStatus.APPROVED
    assert _actions(store, seeded.ja)[0] == ("mod", "approve")

    page.goto("/")
    expect(rows).to_have_count(3)
    page.keyboard.press("j")  # second pending row: the markup question
    expect(selected).to_have_attribute("data-id", str(seeded.hostile))
    page.keyboard.press("r")
    page.wait_for_url(f"**/items/{seeded.hostile}?focus=reject*")
    expect(page.locator("#reason")).to_be_focused()
    page.goto("/")
    page.keyboard.press("e")
    page.wait_for_url(f"**/items/{seeded.en}?focus=edit*")
    expect(page.locator("#reply")).to_be_focused()
    # typing in the reply must not trigger shortcuts
    page.keyboard.type("ja")
    assert f"/items/{seeded.en}" in page.url and store.show(seeded.en).status is ReviewStatus.PENDING
