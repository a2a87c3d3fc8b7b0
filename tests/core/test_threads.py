"""Subject keys and the in-memory threader."""

from __future__ import annotations

import pytest

from triagebot.core.models import Channel, InboundMessage
from triagebot.core.threads import is_reply_subject, normalize_subject, thread_messages
from triagebot.ingest.records import MailRecord


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


def mail(
    mid: str, subject: str, in_reply_to: str | None = None, references: tuple[str, ...] = ()
) -> MailRecord:
    return MailRecord(
        message_id=mid,
        subject=subject,
        author="a@example.org",
        sent_at=None,
        in_reply_to=in_reply_to,
        references=references,
        text="",
        original="",
        raw=b"",
        where=mid,
    )


def ids(threads: list[list[MailRecord]]) -> list[list[str]]:
    return [[m.message_id for m in thread] for thread in threads]


def test_in_reply_to_chain_without_references() -> None:
    messages = [
        mail("a", "KVM"),
        mail("b", "Re: KVM", in_reply_to="a"),
        mail("c", "Re: KVM", in_reply_to="b"),
        mail("d", "Other question"),
    ]
    assert ids(thread_messages(messages)) == [["a", "b", "c"], ["d"]]


def test_broken_in_reply_to_falls_back_to_references() -> None:
    messages = [
        mail("a", "SSVM"),
        mail("b", "Totally different subject", in_reply_to="garbage-not-in-batch", references=("x", "a")),
    ]
    assert ids(thread_messages(messages)) == [["a", "b"]]


def test_unknown_parent_and_new_subject_starts_a_thread() -> None:
    messages = [mail("a", "SSVM"), mail("b", "Re: VR", in_reply_to="missing")]
    assert ids(thread_messages(messages)) == [["a"], ["b"]]


def test_subject_only_threads() -> None:
    messages = [
        mail("a", "[users] Secondary storage not ready"),
        mail("b", "Re: [users] Secondary storage not ready"),
        mail("c", "Fwd: Secondary storage not ready"),  # a forward starts its own thread
        mail("d", "Secondary storage not ready"),  # the same subject, but not a reply form
        mail("e", "RE: RE: secondary  storage NOT ready"),
    ]
    assert ids(thread_messages(messages)) == [["a", "b", "e"], ["c"], ["d"]]


def test_japanese_reply_prefixes_join_by_subject() -> None:
    messages = [
        mail("a", "[cloudstack-ja] ホスト追加エラー"),
        mail("b", "返信: [cloudstack-ja] ホスト追加エラー"),
        mail("c", "Ｒｅ：ホスト追加エラー"),
        mail("d", "RE：[cloudstack-ja] 別の質問"),  # reply form, but no earlier message has it
    ]
    assert ids(thread_messages(messages)) == [["a", "b", "c"], ["d"]]


def test_reply_listed_before_its_parent_still_joins() -> None:
    messages = [mail("b", "Re: KVM", in_reply_to="a"), mail("a", "KVM")]
    assert ids(thread_messages(messages)) == [["b", "a"]]


def test_duplicate_message_ids_stay_together() -> None:
    messages = [mail("a", "KVM"), mail("z", "Other"), mail("a", "KVM")]
    assert ids(thread_messages(messages)) == [["a", "a"], ["z"]]


def test_self_reference_and_cycles_do_not_loop() -> None:
    messages = [
        mail("a", "x", in_reply_to="a"),
        mail("b", "y", in_reply_to="c"),
        mail("c", "z", in_reply_to="b"),
    ]
    assert ids(thread_messages(messages)) == [["a"], ["b", "c"]]


def test_works_with_inbound_messages() -> None:
    first = InboundMessage(Channel.EMAIL, "s", "a", "KVM", "text")
    second = InboundMessage(Channel.EMAIL, "s", "b", "Re: KVM", "text", in_reply_to="a")
    assert thread_messages([first, second]) == [[first, second]]
