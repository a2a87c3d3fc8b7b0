"""A mock Slack Web API on 127.0.0.1 that records every call, and a helper to sign requests to our app."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_USER, BOT_ID = "U0BOT", "B0BOT"


@dataclass
class MockSlack:
    """Recorded calls as (method, params); `replies[method]` holds canned (status, body, headers) to use first."""

    url: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    replies: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0

    def called(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [params for name, params in self.calls if name == method]

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self.lock:
            canned = self.replies.get(method)
            if canned:
                return canned.pop(0)
            self.calls.append((method, params))
            self.counter += 1
            if method == "auth.test":
                return 200, {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": "T0TEAM"}, {}
            if method in ("chat.postMessage", "chat.update"):
                ts = params.get("ts") or f"1800000000.{self.counter:06d}"
                return 200, {"ok": True, "channel": params.get("channel"), "ts": ts}, {}
            return 200, {"ok": True}, {}


def _params(handler: BaseHTTPRequestHandler) -> dict[str, Any]:
    """Form, JSON and query-string parameters of a request, JSON-decoded where Slack sends JSON strings."""
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length).decode("utf-8") if length else ""
    params: dict[str, Any] = dict(parse_qsl(urlsplit(handler.path).query))
    if "json" in (handler.headers.get("Content-Type") or ""):
        params.update(json.loads(raw or "{}"))
    else:
        params.update(dict(parse_qsl(raw)))
    for key in ("blocks", "view"):
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


@contextmanager
def mock_slack() -> Iterator[MockSlack]:
    """Serve the mock on a free port; `.url` is its base URL (give WebClient `url + "/"`)."""
    mock = MockSlack()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            method = urlsplit(self.path).path.rsplit("/", 1)[-1]
            status, body, headers = mock.answer(method, _params(self))
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    mock.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield mock
    finally:
        server.shutdown()
        server.server_close()


def signed(secret: str, body: str, *, at: float | None = None) -> dict[str, str]:
    """Headers Slack sends: a timestamp and the v0 HMAC-SHA256 signature of `v0:{ts}:{body}`."""
    ts = str(int(time.time() if at is None else at))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}"}
