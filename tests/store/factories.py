"""Builders for the store tests: messages, hand-made triage results, and synthetic archives."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

from triagebot.core.models import (
    Action,
    Channel,
    Classification,
    Decision,
    Detail,
    DetailReport,
    DraftReply,
    InboundMessage,
    Language,
    Question,
    TipScore,
    TriageResult,
)

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


def make_result(
    message: InboundMessage,
    *,
    tips: Sequence[tuple[str, float]] = (),
    found: dict[str, str] | None = None,
    reply: str | None = None,
    model_version: str = "stub-1",
) -> TriageResult:
    """A TriageResult built by hand: the given tips, the details in `found`, a reply text."""
    found = found or {}
    japanese = bool(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", message.subject + message.text))
    language = Language.JA if japanese else Language.EN
    scored = tuple(TipScore(tip_id=t, score=s, evidence=(f"matched {t}",)) for t, s in tips)
    details = DetailReport(
        version=found.get("version"),
        series=".".join(found["version"].split(".")[:2]) if "version" in found else None,
        os=found.get("os"),
        hypervisor=found.get("hypervisor"),
        hypervisor_kind=found.get("hypervisor", "").split(" ")[0].lower() or None,
        specifics="specifics" in found,
    )
    action = Action.SUGGEST if scored else (Action.ASK if details.missing else Action.ABSTAIN)
    text = reply if reply is not None else _reply_text(language, scored, details.missing, message)
    return TriageResult(
        question=Question(
            subject=message.subject, body=message.text, language=language, prose=message.text, log_lines=()
        ),
        classification=Classification(tips=scored, threshold=0.5),
        details=details,
        decision=Decision(action=action, tips=scored, ask_for=details.missing, why=f"{action.value} (stub)"),
        reply=DraftReply(language=language, channel=message.channel, text=text, parts=(text,)),
        model_version=model_version,
    )


def _reply_text(
    language: Language, tips: Sequence[TipScore], missing: Sequence[Detail], message: InboundMessage
) -> str:
    """A short reply that changes whenever the question text changes, so updates are visible."""
    names = ", ".join(t.tip_id for t in tips) or "none"
    ask = ", ".join(d.value for d in missing) or "nothing"
    return f"[{language.value}] tips: {names}; please tell us: {ask}; read {len(message.text)} chars"


# -- synthetic archives ---------------------------------------------------------------------------

_TOPICS = [
    ("cloudstack-setup-databases fails with Access denied for user 'root'@'localhost'", "db-access"),
    ("SELinux is set to enforcing during management server setup", "selinux"),
    ("KVM host cannot be added: cloudstack-agent does not start", "kvm-agent"),
    ("System VMs stay in Starting state after zone creation", "systemvm"),
    ("管理サーバのセットアップで Access denied for user 'cloud'@'localhost' になります", "db-access"),
    ("KVM ホストを追加できません。cloudstack-agent が起動しない", "kvm-agent"),
    ("SSVM が起動しません。テンプレートがダウンロードされない", "systemvm"),
]
_DETAILS = [
    "We run CloudStack 4.18.1.0 on Rocky Linux 8.8 with KVM.",
    "CloudStack 4.19 を Ubuntu 22.04 と KVM で使っています。",
    "The log says: ERROR [c.c.u.d.Merovingian2] (main:null) Unable to get a new db connection",
    "management-server.log に java.sql.SQLException: Access denied と出ています。",
]


def archive_records(count: int, *, seed: int = 7, list_id: str | None = None) -> Iterator[InboundMessage]:
    """A deterministic archive of `count` messages in threads: questions, answers, asker follow-ups,
    a few orphan replies and repeated messages (the same Message-ID twice)."""
    rng = random.Random(seed)
    open_threads: list[tuple[str, str, str, list[str]]] = []  # (root id, subject, asker, ids so far)
    for n in range(count):
        mid = f"m{n:06d}@archive.test"
        roll = rng.random()
        if n > 5 and roll < 0.02:
            # the same message delivered twice: the reader yields it again
            again = rng.randrange(max(1, n - 50), n)
            yield record(f"m{again:06d}@archive.test", "Re: duplicate", "dup", minute=n)
            continue
        if not open_threads or roll < 0.3:
            subject, _ = rng.choice(_TOPICS)
            asker = f"user{rng.randrange(200)}@example.org"
            text = subject + ("\n" + rng.choice(_DETAILS) if rng.random() < 0.5 else "")
            open_threads.append((mid, subject, asker, [mid]))
            if len(open_threads) > 40:
                open_threads.pop(0)
            yield record(mid, subject, text, author=asker, minute=n, list_id=list_id)
            continue
        root, subject, asker, ids = rng.choice(open_threads)
        if roll < 0.33:
            # an orphan: replies to a message we never saw
            yield record(
                mid,
                f"Re: lost {n}",
                "me too",
                author="bob@example.org",
                in_reply_to=f"gone{n}@archive.test",
                minute=n,
                list_id=list_id,
            )
            continue
        by_asker = roll < 0.55
        author = asker if by_asker else f"helper{rng.randrange(20)}@example.org"
        body = rng.choice(_DETAILS) if by_asker else "Have you checked the management server log?"
        parent = rng.choice(ids)
        yield record(
            mid,
            f"Re: {subject}",
            body,
            author=author,
            in_reply_to=parent,
            references=(root, parent),
            minute=n,
            list_id=list_id,
        )
        ids.append(mid)
