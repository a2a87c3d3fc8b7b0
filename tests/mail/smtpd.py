"""A real SMTP server for the delivery tests: aiosmtpd on 127.0.0.1, recording what it accepted.

`script` holds the answers to give to the next DATA commands ("451 …", "550 …", or DROP to close the
connection without answering); when it is empty the message is accepted and kept in `received`.
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller

DROP = "DROP"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Arrived:
    """One accepted message: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    tls: bool  # the session was encrypted (STARTTLS or implicit TLS)


@dataclass
class Recorder:
    """aiosmtpd handler: answers DATA from the script, else accepts and records."""

    script: deque[str] = field(default_factory=deque)
    received: list[Arrived] = field(default_factory=list)
    data_commands: int = 0
    auth: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        with self.lock:
            self.data_commands += 1
            if self.script:
                answer = self.script.popleft()
                if answer != DROP:
                    return answer
                server.transport.close()  # the message arrived, the answer never leaves
                return "250 OK"
            raw = bytes(envelope.original_content or envelope.content)
            parsed = BytesParser(policy=policy.default).parsebytes(raw)
            assert isinstance(parsed, EmailMessage)
            tls = server.transport.get_extra_info("ssl_object") is not None
            self.received.append(Arrived(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed, tls))
        return "250 OK queued"


@contextmanager
def smtp_server(**kwargs: Any) -> Iterator[tuple[Recorder, int]]:
    """Run a recording SMTP server on a free loopback port for the duration of the block."""
    handler = Recorder()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
