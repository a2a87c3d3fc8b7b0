"""The threader: subject keys, parent ids, and what a message is in the thread it joins (one table each)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from triagebot.core.models import Channel, InboundMessage
from triagebot.core.threads import (
    SUBJECT_WINDOW,
    Role,
    ThreadFacts,
    Waiting,
    adopt,
    adopts_by_subject,
    author_key,
    is_reply_subject,
    may_join_by_subject,
    normalize_subject,
    parent_ids,
    role_in,
    starter_question,
    thread_all,
)

T0 = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("KVM host add fails", "kvm host add fails"),
        ("Re: KVM host add fails", "kvm host add fails"),
        ("RE: re: Re:KVM host add fails", "kvm host add fails"),
        ("Fwd: FW: Fw: KVM host add fails", "kvm host add fails"),
        ("AW: WG: SV: VS: Antw: KVM host add fails", "kvm host add fails"),
        ("Re[2]: Re^3: Re(4): KVM host add fails", "kvm host add fails"),
        ("[users] Re: [users] KVM host add fails", "kvm host add fails"),
        ("Re: [cloudstack-ja] 返信: 転送: ホスト追加エラー", "ホスト追加エラー"),
        ("RE：ホスト追加エラー", "ホスト追加エラー"),  # full-width colon
        ("Ｒｅ：　ホスト追加エラー", "ホスト追加エラー"),  # full-width letters and space
        ("[cloudstack-ja] [users]  KVM \t host\n add   fails ", "kvm host add fails"),
        ("Reboot loop after upgrade", "reboot loop after upgrade"),  # "Re" inside a word stays
        ("Re: ", ""),
        ("", ""),
    ],
)
def test_normalize_subject(subject: str, expected: str) -> None:
    assert normalize_subject(subject) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: x", True),
        ("[users] Re: x", True),
        ("[users] Fwd: Re: x", True),
        ("返信: x", True),
        ("Ｒｅ：x", True),
        ("AW: x", True),
        ("Re[2]: x", True),
        ("Fwd: x", False),
        ("転送: x", False),
        ("Reboot loop", False),
        ("x", False),
    ],
)
def test_is_reply_subject(subject: str, expected: bool) -> None:
    assert is_reply_subject(subject) is expected


def message(
    mid: str = "m",
    subject: str = "KVM host cannot be added",
    *,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    thread_key: str | None = None,
    is_bot: bool = False,
    channel: Channel = Channel.EMAIL,
) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        source="users",
        message_id=mid,
        subject=subject,
        text="the agent does not start",
        sent_at=T0,
        in_reply_to=in_reply_to,
        references=references,
        thread_key=thread_key,
        is_bot=is_bot,
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (message(), ()),
        (message(in_reply_to="p"), ("p",)),
        (message(references=("r1", "r2", "r3")), ("r3", "r2", "r1")),
        (message(in_reply_to="p", references=("r1", "p")), ("p", "p", "r1")),
        (message("171.2", "", thread_key="170.1", channel=Channel.SLACK), ("170.1",)),
        (message("170.1", "", thread_key="170.1", channel=Channel.SLACK), ()),  # the thread's own root
        (message(thread_key="t", in_reply_to="p"), ("t", "p")),
    ],
)
def test_parent_ids_strongest_first(given: InboundMessage, expected: tuple[str, ...]) -> None:
    assert parent_ids(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            message(subject="SELinux blocks the agent"),
            ("SELinux blocks the agent", "the agent does not start"),
        ),
        (message(subject="Re: SELinux blocks the agent"), None),  # a reply: the store decides
        (message(in_reply_to="p"), None),
        (message(references=("r",)), None),
        (message("2", "", thread_key="1", channel=Channel.SLACK), None),
        (message(is_bot=True), None),  # a bot never asks
        (
            message(subject="Fwd: SELinux blocks the agent"),
            ("Fwd: SELinux blocks the agent", "the agent does not start"),
        ),
    ],
)
def test_starter_question(given: InboundMessage, expected: tuple[str, str] | None) -> None:
    assert starter_question(given) == expected


ASKED = ThreadFacts(asker="alice@example.org", is_question=True, answered=False)
ANSWERED = ThreadFacts(asker="alice@example.org", is_question=True, answered=True)
ORPHANED = ThreadFacts(asker="alice@example.org", is_question=False, answered=False)


@pytest.mark.parametrize(
    ("given", "author", "thread", "role", "triage", "answers"),
    [
        (message(), "alice@example.org", None, Role.QUESTION, True, False),
        (message(subject="Re: x"), "alice@example.org", None, Role.ORPHAN, False, False),
        (message(in_reply_to="gone"), "alice@example.org", None, Role.ORPHAN, False, False),
        (message(is_bot=True), "bot", None, Role.ORPHAN, False, False),
        (message(in_reply_to="q"), "bob@example.org", ASKED, Role.ANSWER, False, True),
        (message(in_reply_to="q"), "alice@example.org", ASKED, Role.FOLLOW_UP, True, False),
        (message(in_reply_to="q"), "alice@example.org", ANSWERED, Role.LATE_FOLLOW_UP, False, False),
        (message(in_reply_to="q"), "bob@example.org", ANSWERED, Role.ANSWER, False, True),
        (message(in_reply_to="q"), "alice@example.org", ORPHANED, Role.ASIDE, False, False),
        (message(in_reply_to="q"), "bob@example.org", ORPHANED, Role.ANSWER, False, True),
        (message(in_reply_to="q", is_bot=True), "ci-bot", ASKED, Role.ASIDE, False, False),
    ],
)
def test_role_in_thread(
    given: InboundMessage, author: str, thread: ThreadFacts | None, role: Role, triage: bool, answers: bool
) -> None:
    fit = role_in(given, author, thread)
    assert (fit.role, fit.triage, fit.answers) == (role, triage, answers)
    assert (fit.note is not None) is (role is Role.LATE_FOLLOW_UP)


def test_a_late_follow_up_says_why_it_gets_no_draft() -> None:
    fit = role_in(message("f@x", in_reply_to="q"), "alice@example.org", ANSWERED)
    assert fit.note == "follow-up <f@x> from the asker came after the thread was answered; no new draft"


@pytest.mark.parametrize(
    ("last_at", "expected"),
    [
        (None, True),
        (T0 - SUBJECT_WINDOW, True),
        (T0 + SUBJECT_WINDOW, True),
        (T0 - SUBJECT_WINDOW - timedelta(seconds=1), False),
        (T0 + SUBJECT_WINDOW + timedelta(days=3), False),
    ],
)
def test_subject_threading_window(last_at: datetime | None, expected: bool) -> None:
    assert may_join_by_subject(message(subject="Re: x"), last_at) is expected


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("Alice <Alice@Example.org>", "alice@example.org"),
        ("alice@example.org", "alice@example.org"),
        ("U024BE7LH", "u024be7lh"),  # a chat user id is its own key
        ("  Taro Yamada  ", "taro yamada"),
    ],
)
def test_author_key(author: str, expected: str) -> None:
    assert author_key(author) == expected


ALICE, BOB, BOT = "alice@example.org", "bob@example.org", "ci@example.org"


def waiting(mid: str, author: str, minute: int | None, *, bot: bool = False) -> Waiting:
    return Waiting(mid, author, bot, None if minute is None else T0 + timedelta(minutes=minute))


@pytest.mark.parametrize(
    ("parent", "threads", "moved", "roles", "answered"),
    [
        # someone else's reply stored before the question answers it
        (ASKED, [[waiting("r", BOB, 5)]], ("r",), (Role.ANSWER,), True),
        # a bot's reply answers nothing
        (ASKED, [[waiting("r", BOT, 5, bot=True)]], ("r",), (Role.ASIDE,), False),
        # the asker's follow-up before any answer waits for triage; after the answer it does not
        (
            ASKED,
            [[waiting("late", ALICE, 9), waiting("f", ALICE, 3)], [waiting("a", BOB, 6)]],
            ("f", "a", "late"),
            (Role.FOLLOW_UP, Role.ANSWER, Role.LATE_FOLLOW_UP),
            True,
        ),
        # an answered parent stays answered, and the asker's words are late
        (ANSWERED, [[waiting("f", ALICE, 3)]], ("f",), (Role.LATE_FOLLOW_UP,), True),
        # in a thread that is no question the asker's words are asides; another person still answers
        (
            ORPHANED,
            [[waiting("x", ALICE, 1), waiting("y", BOB, 2)]],
            ("x", "y"),
            (Role.ASIDE, Role.ANSWER),
            True,
        ),
        # undated messages keep the order they were given in, after the dated ones
        (
            ASKED,
            [[waiting("u", ALICE, None), waiting("d", ALICE, 1)]],
            ("d", "u"),
            (Role.FOLLOW_UP,) * 2,
            False,
        ),
        # nothing waiting changes nothing
        (ANSWERED, [], (), (), True),
        (ASKED, [[]], (), (), False),
    ],
)
def test_adopt(
    parent: ThreadFacts,
    threads: list[list[Waiting]],
    moved: tuple[str, ...],
    roles: tuple[Role, ...],
    answered: bool,
) -> None:
    result = adopt(parent, threads)
    assert result.moved == moved
    assert tuple(f.role for f in result.fits) == roles
    by_id = {m.message_id: m for t in threads for m in t}
    assert result.from_asker == tuple(by_id[mid].author == ALICE for mid in moved)
    assert result.answered is answered


@pytest.mark.parametrize(
    ("orphan_subject", "minutes_after", "expected"),
    [
        ("Re: KVM host add fails", 10, True),
        ("AW: [users] KVM host add fails", 0, True),
        ("KVM host add fails", 10, False),  # not a reply: in order it would not have joined by subject
        ("Re: KVM host add fails", -10, False),  # began before the question
        ("Re: KVM host add fails", int(SUBJECT_WINDOW.total_seconds() // 60) + 1, False),  # too far
        ("Re: KVM host add fails", None, True),  # undated: no time limit to apply
    ],
)
def test_adopts_by_subject(orphan_subject: str, minutes_after: int | None, expected: bool) -> None:
    question = message(subject="KVM host add fails")
    started = None if minutes_after is None else T0 + timedelta(minutes=minutes_after)
    assert adopts_by_subject(question, orphan_subject, started) is expected


def _mail(mid: str, subject: str, author: str, minute: int, parent: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL,
        source="users",
        message_id=mid,
        subject=subject,
        text="",
        original="",
        author=author,
        sent_at=T0 + timedelta(minutes=minute),
        in_reply_to=parent,
        references=(parent,) if parent else (),
    )


def _shape(messages: list[InboundMessage]) -> set[tuple[tuple[str, ...], bool, tuple[str, ...]]]:
    """Threads as (members, answered, the members that wait for triage)."""
    done = thread_all(messages)
    return {(t.members, t.answered, tuple(m for m in t.members if done.fits[m].triage)) for t in done.threads}


def test_thread_all_does_not_depend_on_the_order_given() -> None:
    messages = [
        _mail("q1", "SSVM will not start", "ann@x.org", 0),
        _mail("f1", "Re: SSVM will not start", "ann@x.org", 2, "q1"),
        _mail("a1", "Re: SSVM will not start", "bob@x.org", 5, "f1"),
        _mail("late", "Re: SSVM will not start", "ann@x.org", 9, "a1"),
        _mail("q2", "SSVM will not start", "cy@x.org", 20),
        _mail("s2", "Re: SSVM will not start", "dee@x.org", 25),  # no header: joins q2 by subject
        _mail("o1", "Re: something else", "eve@x.org", 30, "never-seen"),
    ]
    expected = {
        (("q1", "f1", "a1", "late"), True, ("q1", "f1")),
        (("q2", "s2"), True, ("q2",)),
        (("o1",), False, ()),
    }
    assert _shape(messages) == expected
    assert _shape(messages[::-1]) == expected
    assert _shape(messages[3:] + messages[:3]) == expected
    assert thread_all(messages[::-1]).waits == {"o1": ("never-seen",)}


def test_thread_all_adopts_orphan_threads_when_their_parent_is_among_the_messages() -> None:
    # the replies are dated before their parent (a skewed clock), so they are threaded first
    messages = [
        _mail("r1", "Re: Agent will not connect", "bob@x.org", 0, "p"),
        _mail("r2", "Re: Agent will not connect", "ann@x.org", 1, "r1"),
        _mail("p", "Agent will not connect", "ann@x.org", 5),
    ]
    done = thread_all(messages)
    assert [(t.root, set(t.members), t.answered) for t in done.threads] == [("p", {"r1", "r2", "p"}, True)]
    assert done.waits == {}
