"""Builders for the store tests: messages and synthetic archives."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

from triagebot.core.models import Channel, InboundMessage

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def record(
    message_id: str,
    subject: str,
    text: str,
    author: str = "Alice <alice@example.org>",
    *,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    minute: int = 0,
    list_id: str | None = None,
    channel: Channel = Channel.EMAIL,
    thread_key: str | None = None,
    is_bot: bool = False,
) -> InboundMessage:
    """An InboundMessage as an archive reader (or, with `channel`, a chat adapter) would yield it."""
    return InboundMessage(
        channel=channel,
        source=list_id or "",
        message_id=message_id,
        subject=subject,
        author=author,
        sent_at=T0 + timedelta(minutes=minute),
        in_reply_to=in_reply_to,
        references=tuple(references),
        text=text,
        original=f"{text}\n\n-- \nsent from a test",
        raw=f"Message-ID: <{message_id}>\nSubject: {subject}\n\n{text}\n".encode(errors="surrogateescape"),
        where=f"test.mbox#{message_id}",
        thread_key=thread_key,
        is_bot=is_bot,
    )


# -- synthetic archives ---------------------------------------------------------------------------

TOPICS = [  # (subject, the tip the real engine suggests for it)
    ("cloudstack-setup-databases fails with Access denied for user 'root'@'localhost'", "setup-databases"),
    ("SELinux is set to enforcing during management server setup", "selinux"),
    ("KVM host cannot be added: cloudstack-agent does not start", "kvm-agent"),
    ("System VMs stay in Starting state after zone creation", "systemvm-template"),
    ("管理サーバのセットアップで Access denied for user 'cloud'@'localhost' になります", "setup-databases"),
    ("KVM ホストを追加できません。cloudstack-agent が起動しない", "kvm-agent"),
    ("SSVM が起動しません。テンプレートがダウンロードされない", "systemvm-template"),
]
_DETAILS = [
    "We run CloudStack 4.18.1.0 on Rocky Linux 8.8 with KVM.",
    "CloudStack 4.19 を Ubuntu 22.04 と KVM で使っています。",
    "The log says: ERROR [c.c.u.d.Merovingian2] (main:null) Unable to get a new db connection",
    "management-server.log に java.sql.SQLException: Access denied と出ています。",
]


def archive_records(count: int, *, seed: int = 7, list_id: str | None = None) -> Iterator[InboundMessage]:
    """A deterministic archive of `count` messages in threads: questions, answers, asker follow-ups,
    a few orphan replies and repeated messages (an earlier message delivered again, unchanged)."""
    rng = random.Random(seed)
    open_threads: list[tuple[str, str, str, list[str]]] = []  # (root id, subject, asker, ids so far)
    sent: dict[int, InboundMessage] = {}  # position in the archive → the message yielded there
    for n in range(count):
        mid = f"m{n:06d}@archive.test"
        roll = rng.random()
        if n > 5 and roll < 0.02:
            # the same message delivered twice: the reader yields an exact copy of an earlier one (the
            # nearest one at or before the drawn position, since repeats occupy positions of their own)
            again = rng.randrange(max(1, n - 50), n)
            while again not in sent:
                again -= 1
            yield sent[again]
            continue
        if not open_threads or roll < 0.3:
            subject, _ = rng.choice(TOPICS)
            asker = f"user{rng.randrange(200)}@example.org"
            text = subject + ("\n" + rng.choice(_DETAILS) if rng.random() < 0.5 else "")
            open_threads.append((mid, subject, asker, [mid]))
            if len(open_threads) > 40:
                open_threads.pop(0)
            sent[n] = record(mid, subject, text, author=asker, minute=n, list_id=list_id)
            yield sent[n]
            continue
        root, subject, asker, ids = rng.choice(open_threads)
        if roll < 0.33:
            # an orphan: replies to a message we never saw
            sent[n] = record(
                mid,
                f"Re: lost {n}",
                "me too",
                author="bob@example.org",
                in_reply_to=f"gone{n}@archive.test",
                minute=n,
                list_id=list_id,
            )
            yield sent[n]
            continue
        by_asker = roll < 0.55
        author = asker if by_asker else f"helper{rng.randrange(20)}@example.org"
        body = rng.choice(_DETAILS) if by_asker else "Have you checked the management server log?"
        parent = rng.choice(ids)
        sent[n] = record(
            mid,
            f"Re: {subject}",
            body,
            author=author,
            in_reply_to=parent,
            references=(root, parent),
            minute=n,
            list_id=list_id,
        )
        yield sent[n]
        ids.append(mid)
