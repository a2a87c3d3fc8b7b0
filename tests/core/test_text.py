"""clean_body keeps what the author wrote and nothing else, in English and Japanese."""

from __future__ import annotations

import time

import pytest

from triagebot.core.text import clean_body

CASES: list[tuple[str, str, str]] = [
    # --- English attribution and quotes ---
    (
        "bottom-posting keeps the new text after the quote",
        "On Tue, Mar 5, 2024 at 10:00 AM Bob <bob@example.org> wrote:\n> Which version?\n> And which OS?\n\n"
        "4.18.1.0 on Rocky Linux 8.9.",
        "4.18.1.0 on Rocky Linux 8.9.",
    ),
    (
        "top-posting drops the attribution and the quote below",
        "It works now, thanks.\n\nOn Tue, Mar 5, 2024 at 10:00 AM Bob <bob@example.org> wrote:\n\n> Try again.\n"
        "> Bob",
        "It works now, thanks.",
    ),
    (
        "attribution wrapped over two lines",
        "Thanks.\n\nOn Tue, Mar 5, 2024 at 10:00 AM Bob Example <\nbob@example.org> wrote:\n\n> quoted text",
        "Thanks.",
    ),
    (
        "interleaved replies keep every answer",
        "> Which version?\n4.19.0.1\n> Which hypervisor?\nKVM on Ubuntu 22.04",
        "4.19.0.1\nKVM on Ubuntu 22.04",
    ),
    (
        "plausible 'X wrote:' before a quote goes",
        "Yes, that fixed it.\n\nBob Example wrote:\n> restart the agent",
        "Yes, that fixed it.",
    ),
    (
        "'wrote:' in prose with no quote after it stays",
        "The installer wrote:\nERROR: unable to connect to database",
        "The installer wrote:\nERROR: unable to connect to database",
    ),
    (
        "an unmistakable attribution with an unquoted original below cuts there",
        "Done.\n\nOn Tue, Mar 5, 2024 at 10:00 AM Bob <bob@example.org> wrote:\nPlease try restarting.",
        "Done.",
    ),
    # --- Outlook ---
    (
        "Outlook Original Message separator",
        "See below.\n\n-----Original Message-----\nFrom: Bob\nSent: Tuesday\n\nold text",
        "See below.",
    ),
    (
        "Outlook From/Sent header block and the rule above it",
        "Agreed.\n\n________________________________\nFrom: Bob <bob@example.org>\n"
        "Sent: Tuesday, March 5, 2024 10:00 AM\nTo: users@cloudstack.apache.org\nSubject: Re: KVM\n\nold",
        "Agreed.",
    ),
    (
        "a forwarded message is the question itself and stays",
        "FYI\n\n---------- Forwarded message ---------\nFrom: Bob <bob@example.org>\nDate: Tue, Mar 5, 2024\n"
        "Subject: KVM\nTo: <users@example.org>\n\nKVM host add fails",
        "FYI\n\n---------- Forwarded message ---------\nFrom: Bob <bob@example.org>\nDate: Tue, Mar 5, 2024\n"
        "Subject: KVM\nTo: <users@example.org>\n\nKVM host add fails",
    ),
    # --- signatures, footers, stubs ---
    (
        "signature after the '-- ' delimiter",
        "The SSVM is stuck in Starting.\n-- \nBob Example\nExample Corp",
        "The SSVM is stuck in Starting.",
    ),
    (
        "Apache list footer",
        "Question text.\n\n---------------------------------------------------------------------\n"
        "To unsubscribe, e-mail: users-unsubscribe@cloudstack.apache.org\n"
        "For additional commands, e-mail: users-help@cloudstack.apache.org",
        "Question text.",
    ),
    (
        "Mailman footer",
        "Question text.\n_______________________________________________\ncloudstack-ja mailing list\n"
        "cloudstack-ja@lists.example.org\nhttp://lists.example.org/mailman/listinfo/cloudstack-ja",
        "Question text.",
    ),
    (
        "scrubbed attachment stub",
        "See the screenshot.\n-------------- next part --------------\nA non-text attachment was scrubbed...\n"
        "Name: s.png\nType: image/png\nSize: 1234 bytes\nDesc: not available\nURL: <http://x.example/s.png>\n",
        "See the screenshot.",
    ),
    (
        "runs of blank lines collapse",
        "\n\nfirst\n\n\n\n\nsecond\n   \n\nthird\n\n",
        "first\n\nsecond\n\nthird",
    ),
    # --- what must survive ---
    (
        "shell prompts and '>' inside log lines stay",
        "[root@mgmt ~]# cloudstack-setup-databases cloud:secret@localhost --deploy-as=root\n"
        "2024-03-05 10:00:00,123 ERROR [c.c.a.ApiServer] (qtp-1) cmd -> failed > retry",
        "[root@mgmt ~]# cloudstack-setup-databases cloud:secret@localhost --deploy-as=root\n"
        "2024-03-05 10:00:00,123 ERROR [c.c.a.ApiServer] (qtp-1) cmd -> failed > retry",
    ),
    (
        "grep's '--' group separators stay",
        "grep output:\n10:00:01 ERROR a\n--\n10:00:05 ERROR b\n--\n10:00:09 ERROR c",
        "grep output:\n10:00:01 ERROR a\n--\n10:00:05 ERROR b\n--\n10:00:09 ERROR c",
    ),
    (
        "journalctl's '-- Logs begin' line stays",
        "-- Logs begin at Tue 2024-03-05 10:00:00 JST. --\nMar 05 libvirtd[1]: error",
        "-- Logs begin at Tue 2024-03-05 10:00:00 JST. --\nMar 05 libvirtd[1]: error",
    ),
    (
        "a bare '--' before a short sign-off is a signature",
        "Thanks for the help.\n--\nBob",
        "Thanks for the help.",
    ),
    # --- Japanese ---
    (
        "…さんは書きました: with the quote below",
        "了解です。試してみます。\n\n山田さんは書きました:\n> 管理サーバを再起動してください。",
        "了解です。試してみます。",
    ),
    (
        "Gmail's Japanese attribution",
        "ありがとうございます。\n\n2024年3月3日(日) 10:00 山田太郎 <yamada@example.jp>:\n\n> 質問です。",
        "ありがとうございます。",
    ),
    (
        "Gmail's Japanese attribution wrapped over two lines",
        "解決しました。\n\n2024年3月3日(日) 10:00 山田太郎 <\nyamada@example.jp>:\n> 質問です。",
        "解決しました。",
    ),
    (
        "Japanese mailer writing 'wrote:'",
        "確認します。\n\nOn 2024/03/03 10:00, 山田太郎 wrote:\n> ログを見てください。",
        "確認します。",
    ),
    (
        "full-width ＞ quotes",
        "＞ バージョンは？\n4.18 です。\n＞＞ 古い引用",
        "4.18 です。",
    ),
    (
        "Japanese Outlook header block",
        "承知しました。\n\n差出人: 山田太郎 <yamada@example.jp>\n送信日時: 2024年3月3日 10:00\n宛先: users\n"
        "件名: RE: 質問\n\n古い本文",
        "承知しました。",
    ),
    (
        "signature framed by ━━ lines at the end",
        "よろしくお願いします。\n\n━━━━━━━━━━━━━━━━\n株式会社エグザンプル\n山田 太郎\n"
        "Mail: yamada@example.jp\n━━━━━━━━━━━━━━━━\n",
        "よろしくお願いします。",
    ),
    (
        "signature framed by === lines with a phone number",
        "以上です。\n=========================\n鈴木 一郎\nTEL: 03-0000-0000\n=========================",
        "以上です。",
    ),
    (
        "signature opened by a --- line only",
        "お願いします。\n\n----------\n山田 太郎\nyamada@example.jp",
        "お願いします。",
    ),
    (
        "a log framed by --- lines at the end is no signature",
        "ログ:\n-----\n2024-03-05 10:00:00 ERROR [c.c.h.k.r.LibvirtComputingResource] failed\n-----",
        "ログ:\n-----\n2024-03-05 10:00:00 ERROR [c.c.h.k.r.LibvirtComputingResource] failed\n-----",
    ),
    (
        "'書きました:' about a config file is not an attribution",
        'server.xml に次のように書きました:\n<Connector port="8080" />',
        'server.xml に次のように書きました:\n<Connector port="8080" />',
    ),
    (
        "'以下のメッセージ:' before an error is not an attribution",
        "以下のメッセージ:\nUnable to start VM due to insufficient capacity",
        "以下のメッセージ:\nUnable to start VM due to insufficient capacity",
    ),
    (
        "a date line ending in a colon is not an attribution",
        "2024年3月3日 10:00 に以下のエラー:\nERROR: host is down",
        "2024年3月3日 10:00 に以下のエラー:\nERROR: host is down",
    ),
]


@pytest.mark.parametrize(("name", "body", "expected"), CASES, ids=[case[0] for case in CASES])
def test_clean_body(name: str, body: str, expected: str) -> None:
    assert clean_body(body) == expected


def test_crlf_and_cr_line_ends() -> None:
    assert clean_body("one\r\n> quoted\r\ntwo\rthree") == "one\ntwo\nthree"


def test_everything_quoted_leaves_nothing() -> None:
    assert clean_body("> a\n> b\n") == ""


def _hostile_body(lines: int) -> str:
    """Lines that come close to every rule without matching, plus long ones, to expose backtracking."""
    pattern = [
        "On " + "word " * 60 + "without the verb",
        "2024-03-05 10:00:00,123 ERROR [c.c.a.ApiServer] (qtp-1) something failed > retry",
        "> quoted line",
        "--",
        "From: someone",
        "-----",
        "2024年3月3日" + "あ" * 100,
        "x" * 3000,
        "",
    ]
    return "\n".join(pattern[i % len(pattern)] for i in range(lines))


def _best_time(body: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        clean_body(body)
        best = min(best, time.perf_counter() - start)
    return best


def test_cost_grows_linearly_up_to_two_megabytes() -> None:
    small = _hostile_body(1_300)
    big = _hostile_body(5_200)
    assert len(big) > 2_000_000
    small_time, big_time = _best_time(small), _best_time(big)
    # Four times the input: linear code takes about four times as long, quadratic code sixteen.
    assert big_time < 8 * small_time + 0.05, (small_time, big_time)
