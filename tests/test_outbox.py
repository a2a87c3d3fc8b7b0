"""The outbox against a real SMTP server (aiosmtpd on 127.0.0.1), on SQLite and on PostgreSQL:
what arrives, retries after 4xx, no retry after 5xx, and never a second copy after a crash."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.mail.smtpd import DROP, Recorder, free_port, smtp_server
from tests.store.conftest import make_db_url, pg_server  # noqa: F401 - the shared database fixtures
from tests.store.factories import record
from triagebot.app import Engine
from triagebot.config import Settings, load_settings
from triagebot.outbox import backoff, deliver, watch
from triagebot.review import ReplyAddressing, approve
from triagebot.store import ReviewStatus, Store, open_store
from triagebot.store.moderation import outbox_entries, outbox_for_item, resolve
from triagebot.store.tables import AuditRow
from triagebot.store.views import OutboxState

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PASSWORD = "s3cret-Smtp-pa55"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(make_db_url: Callable[[], str]) -> str:  # noqa: F811 - the imported fixture
    return make_db_url()


@pytest.fixture
def store(db: str, clock: Clock) -> Iterator[Store]:
    opened = open_store(db, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def server() -> Iterator[tuple[Recorder, int]]:
    with smtp_server() as running:
        yield running


def settings_for(port: int, environ: dict[str, str] | None = None, **smtp: Any) -> Settings:
    """Settings that deliver to the test server; `users-ja` is an ISO-2022-JP list."""
    return load_settings(
        None,
        environ or {},
        overrides={
            "smtp": {
                "host": "127.0.0.1",
                "port": port,
                "security": "none",
                "from_address": "CloudStack triage <triage@example.org>",
                "timeout": 10,
                **smtp,
            },
            "lists": {
                "users": {"address": "users@lists.example.org"},
                "users-ja": {"address": "users-ja@lists.example.jp", "charset": "iso-2022-jp"},
                "private": {"reply_to": "author"},
            },
        },
    )


def approved_items(store: Store, engine: Engine, settings: Settings) -> dict[str, int]:
    """Three approved questions: English (users), Japanese follow-up thread (users-ja), author-only."""
    records = [
        record("en@x", "SELinux question", "SELinux is set to enforcing", list_id="users"),
        record(
            "ja@x",
            "KVM ホストが追加できません",
            "cloudstack-agent が起動しません",
            "Taro <taro@example.jp>",
            list_id="users-ja",
        ),
        record(
            "ja2@x",
            "Re: KVM ホストが追加できません",
            "バージョンは 4.19 です",
            "Taro <taro@example.jp>",
            list_id="users-ja",
            in_reply_to="ja@x",
            references=("ja@x",),
            minute=5,
        ),
        record(
            "pv@x", "Access denied", "Access denied for user root", "Kim <kim@example.org>", list_id="private"
        ),
    ]
    from triagebot.pipeline import ingest

    ingest(records, store, engine)
    ids = {}
    addressing = ReplyAddressing.from_settings(settings)
    for name in ("en", "ja", "pv"):
        item = store.review_id_for(f"{name}@x")
        assert item is not None
        text = "cloudstack-agent のログを確認してください。" if name == "ja" else None
        approve(store, item, actor="hana", text=text, addressing=addressing)
        ids[name] = item
    return ids


def test_replies_arrive_as_proper_replies(store: Store, server: tuple[Recorder, int], engine: Engine) -> None:
    recorder, port = server
    settings = settings_for(port)
    items = approved_items(store, engine, settings)
    summary = deliver(store, settings, worker="d1")
    assert (summary.claimed, summary.sent, summary.failed, summary.retried) == (3, 3, 0, 0)
    by_to = {a.rcpt_tos[0]: a for a in recorder.received}
    assert set(by_to) == {"users@lists.example.org", "users-ja@lists.example.jp", "kim@example.org"}

    en = by_to["users@lists.example.org"].message
    assert en["Subject"] == "Re: SELinux question"
    assert en["In-Reply-To"] == "<en@x>" and en["References"] == "<en@x>"
    assert en["From"] == "CloudStack triage <triage@example.org>"
    assert en.get_content_charset() == "utf-8"
    arrived_text = en.get_content().replace("\r\n", "\n").strip()  # SMTP carries CRLF line ends
    assert arrived_text == store.show(items["en"]).draft_text.strip()
    assert "selinux" in arrived_text.lower()  # the real engine's reply for the SELinux question

    ja = by_to["users-ja@lists.example.jp"]
    assert b"\x1b$B" in ja.raw  # the list asked for ISO-2022-JP and the text fits
    assert ja.message.get_content_charset() == "iso-2022-jp"
    assert ja.message.get_content().strip() == "cloudstack-agent のログを確認してください。"
    assert ja.message["Subject"] == "Re: KVM ホストが追加できません"
    assert ja.message["In-Reply-To"] == "<ja2@x>"  # the asker's follow-up, which the draft answers
    assert ja.message["References"] == "<ja@x> <ja2@x>"

    for name, item in items.items():
        entry = outbox_for_item(store, item)
        assert entry is not None and entry.state is OutboxState.SENT and entry.sent_at == T0
        arrived = next(a for a in recorder.received if a.message["Message-ID"] == f"<{entry.message_id}>")
        assert arrived.mail_from == "triage@example.org", name
        assert store.show(item).status in (ReviewStatus.SENT,)
    with store.engine.connect() as connection:
        actions = connection.execute(select(AuditRow.action).where(AuditRow.action == "deliver-sent")).all()
    assert len(actions) == 3
    assert deliver(store, settings, worker="d1").claimed == 0  # nothing twice


def test_temporary_refusal_is_retried_later_and_delivered_once(
    store: Store, server: tuple[Recorder, int], clock: Clock, engine: Engine
) -> None:
    recorder, port = server
    settings = settings_for(port, retry_seconds=60, retry_cap_seconds=600)
    item = approved_items(store, engine, settings)["en"]
    recorder.script.extend(["451 4.3.0 try again later"] * 2)
    first = deliver(store, settings, worker="d1")
    assert first.claimed == 3
    entry = outbox_for_item(store, item)
    assert entry is not None
    # two of the three were refused with 451 (which two depends on claim order; the first two by id)
    assert first.retried == 2 and first.sent == 1
    retrying = outbox_entries(store, [OutboxState.RETRY])
    assert {e.attempts for e in retrying} == {1}
    assert {e.next_attempt_at for e in retrying} == {T0 + timedelta(seconds=60)}
    assert all("451" in (e.last_error or "") for e in retrying)

    clock.now = T0 + timedelta(seconds=30)
    assert deliver(store, settings, worker="d1").claimed == 0  # not due yet
    clock.now = T0 + timedelta(seconds=61)
    second = deliver(store, settings, worker="d1")
    assert (second.claimed, second.sent) == (2, 2)
    assert recorder.data_commands == 5 and len(recorder.received) == 3
    ids = [a.message["Message-ID"] for a in recorder.received]
    assert len(set(ids)) == 3  # each reply arrived exactly once
    assert all(e.state is OutboxState.SENT for e in outbox_entries(store))
    assert {e.attempts for e in outbox_entries(store) if e.id in {r.id for r in retrying}} == {2}


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [backoff(n, first=60, cap=600).total_seconds() for n in range(1, 7)]
    assert delays == [60, 120, 240, 480, 600, 600]


def test_temporary_failures_give_up_after_max_attempts(
    store: Store, server: tuple[Recorder, int], clock: Clock, engine: Engine
) -> None:
    recorder, port = server
    settings = settings_for(port, max_attempts=2, retry_seconds=10)
    approved_items(store, engine, settings)
    recorder.script.extend(["421 4.4.5 busy"] * 6)
    assert deliver(store, settings, worker="d1").retried == 3
    clock.now = T0 + timedelta(seconds=11)
    assert deliver(store, settings, worker="d1").failed == 3
    clock.now = T0 + timedelta(days=1)
    assert deliver(store, settings, worker="d1").claimed == 0
    assert recorder.received == [] and recorder.data_commands == 6


def test_permanent_refusal_fails_and_is_not_retried(
    store: Store, server: tuple[Recorder, int], clock: Clock, engine: Engine
) -> None:
    recorder, port = server
    settings = settings_for(port)
    items = approved_items(store, engine, settings)
    recorder.script.extend(["550 5.7.1 relaying denied"] * 3)
    summary = deliver(store, settings, worker="d1")
    assert (summary.failed, summary.sent, summary.retried) == (3, 0, 0)
    clock.now = T0 + timedelta(days=3)
    assert deliver(store, settings, worker="d1").claimed == 0
    assert recorder.data_commands == 3 and recorder.received == []
    entry = outbox_for_item(store, items["en"])
    assert entry is not None and entry.state is OutboxState.FAILED and "550" in (entry.last_error or "")
    assert store.show(items["en"]).status is ReviewStatus.APPROVED  # still approved, not sent
    # a moderator may queue it again explicitly; then it goes out
    resolve(store, entry.id, actor="admin", to=OutboxState.QUEUED)
    assert deliver(store, settings, worker="d1").sent == 1
    assert len(recorder.received) == 1


def test_no_server_is_a_temporary_failure(store: Store, engine: Engine) -> None:
    settings = settings_for(free_port())
    approved_items(store, engine, settings)
    summary = deliver(store, settings, worker="d1")
    assert (summary.claimed, summary.retried, summary.failed) == (3, 3, 0)
    assert all("ConnectionRefused" in (e.last_error or "") for e in outbox_entries(store))


_KILL_SCRIPT = """
import os, signal, sys
from triagebot.config import load_settings
from triagebot.outbox import deliver
from triagebot.store import open_store

url, port = sys.argv[1], int(sys.argv[2])
settings = load_settings(None, {}, overrides={"smtp": {"host": "127.0.0.1", "port": port, "security": "none"},
                                              "lists": {"users": {"address": "users@lists.example.org"}}})
store = open_store(url)

def die(entry):
    # the server has accepted the message; the process dies before it can record `sent`
    os.kill(os.getpid(), signal.SIGKILL)

deliver(store, settings, worker="doomed", after_send=die)
"""


def test_killed_between_sending_and_recording_never_sends_twice(
    db: str, server: tuple[Recorder, int], engine: Engine
) -> None:
    recorder, port = server
    settings = settings_for(port)
    store = open_store(db)  # the real clock: the subprocess uses it too
    try:
        approved_items(store, engine, settings)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", _KILL_SCRIPT, db, str(port)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert len(recorder.received) == 1  # the first reply went out, then the process died
        states = sorted(e.state.value for e in outbox_entries(store))
        # the one it was sending is left `sending`; the two it never got to are still held by its claim
        assert states == ["sending", "sending", "sending"]

        # restart: rows of a dead deliverer are found and never sent by themselves
        after = deliver(store, settings, worker="restarted", abandoned_after=timedelta(0))
        assert (after.unknown, after.sent, after.claimed) == (3, 0, 0)
        assert len(recorder.received) == 1
        assert deliver(store, settings, worker="again", abandoned_after=timedelta(0)).claimed == 0
        assert len(recorder.received) == 1
        unknown = outbox_entries(store, [OutboxState.UNKNOWN])
        assert len(unknown) == 3 and all("may have been sent" in (e.last_error or "") for e in unknown)

        # a moderator checks the list: the one that arrived is confirmed, the other two resent
        arrived = recorder.received[0].message["Message-ID"]
        for entry in unknown:
            if f"<{entry.message_id}>" == arrived:
                resolve(store, entry.id, actor="admin", to=OutboxState.SENT, note="seen on the list")
            else:
                resolve(store, entry.id, actor="admin", to=OutboxState.QUEUED, note="not on the list")
        assert deliver(store, settings, worker="again").sent == 2
        ids = [a.message["Message-ID"] for a in recorder.received]
        assert len(ids) == 3 and len(set(ids)) == 3
    finally:
        store.close()


def test_password_only_from_the_environment_and_never_logged(
    store: Store, caplog: pytest.LogCaptureFixture, engine: Engine
) -> None:
    logins: list[tuple[str, str]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        login = (auth_data.login.decode(), auth_data.password.decode())
        logins.append(login)
        return AuthResult(success=login == ("triagebot", PASSWORD), handled=False)

    caplog.set_level(logging.DEBUG)
    with smtp_server(
        authenticator=authenticator, auth_require_tls=False, auth_exclude_mechanism=["LOGIN"]
    ) as (recorder, port):
        good = settings_for(port, {"TRIAGEBOT_SMTP_PASSWORD": PASSWORD}, user="triagebot")
        approved_items(store, engine, good)
        assert deliver(store, good, worker="d1").sent == 3
        assert logins[0] == ("triagebot", PASSWORD) and len(recorder.received) == 3

    with smtp_server(
        authenticator=authenticator, auth_require_tls=False, auth_exclude_mechanism=["LOGIN"]
    ) as (recorder, port):
        wrong = settings_for(port, {"TRIAGEBOT_SMTP_PASSWORD": PASSWORD + "-old"}, user="triagebot")
        for entry in outbox_entries(store):
            assert entry.state is OutboxState.SENT
        # a failed login is permanent: the error names the user, never the password
        ingest_more(store, engine)
        item = store.review_id_for("late@x")
        assert item is not None
        approve(store, item, actor="hana", addressing=ReplyAddressing.from_settings(wrong))
        summary = deliver(store, wrong, worker="d1")
        assert summary.failed == 1
        entry = outbox_for_item(store, item)
        assert entry is not None and "login as triagebot refused" in (entry.last_error or "")

    text = caplog.text + "".join(str(e.last_error) for e in outbox_entries(store))
    with store.engine.connect() as connection:
        text += repr(connection.execute(select(AuditRow.note, AuditRow.before, AuditRow.after)).all())
    assert PASSWORD not in text and (PASSWORD + "-old") not in text
    assert PASSWORD not in repr(good) and PASSWORD not in str(good.model_dump())


def ingest_more(store: Store, engine: Engine) -> None:
    from triagebot.pipeline import ingest

    ingest([record("late@x", "Late question", "SELinux again", list_id="users")], store, engine)


def test_a_connection_lost_while_handing_over_is_unknown_not_retried(
    store: Store, server: tuple[Recorder, int], clock: Clock, engine: Engine
) -> None:
    recorder, port = server
    settings = settings_for(port)
    items = approved_items(store, engine, settings)
    recorder.script.append(DROP)  # the first message reaches the server, its answer never comes back
    summary = deliver(store, settings, worker="d1")
    assert (summary.unknown, summary.sent, summary.retried) == (1, 2, 0)
    [unknown] = outbox_entries(store, [OutboxState.UNKNOWN])
    assert unknown.review_item_id == min(items.values()) and "may have been accepted" in (
        unknown.last_error or ""
    )
    clock.now = T0 + timedelta(days=1)
    assert deliver(store, settings, worker="d1").claimed == 0  # never again by itself


def test_two_deliverers_at_once_send_each_reply_once(
    db: str, server: tuple[Recorder, int], engine: Engine
) -> None:
    recorder, port = server
    settings = settings_for(port)
    store = open_store(db)
    try:
        from triagebot.pipeline import ingest

        ingest(
            [record(f"q{n}@x", f"Question {n}", "SELinux is enforcing", list_id="users") for n in range(12)],
            store,
            engine,
        )
        addressing = ReplyAddressing.from_settings(settings)
        for n in range(12):
            item = store.review_id_for(f"q{n}@x")
            assert item is not None
            approve(store, item, actor="hana", addressing=addressing)
        start = threading.Barrier(2)
        sent: list[int] = []

        def run(name: str) -> None:
            start.wait()
            while (done := deliver(store, settings, worker=name, limit=2)).claimed:
                sent.append(done.sent)

        workers = [threading.Thread(target=run, args=(f"d{i}",)) for i in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
        assert sum(sent) == 12
        ids = [a.message["Message-ID"] for a in recorder.received]
        assert len(ids) == 12 and len(set(ids)) == 12
    finally:
        store.close()


def test_watch_keeps_delivering_and_a_bad_run_holds_nothing(
    store: Store, server: tuple[Recorder, int], caplog: pytest.LogCaptureFixture, engine: Engine
) -> None:
    recorder, port = server
    settings = settings_for(port)
    approved_items(store, engine, settings)
    unconfigured = load_settings(None, {})
    sleeps: list[float] = []
    total = watch(
        store, unconfigured, worker="w", interval=5, should_stop=lambda: len(sleeps) >= 2, sleep=sleeps.append
    )
    assert total.claimed == 0 and sleeps == [5, 5] and "no SMTP host configured" in caplog.text
    assert {e.state for e in outbox_entries(store)} == {OutboxState.QUEUED}  # nothing left half-claimed
    sleeps.clear()
    total = watch(
        store, settings, worker="w", interval=5, should_stop=lambda: len(sleeps) >= 1, sleep=sleeps.append
    )
    assert total.sent == 3 and len(recorder.received) == 3
