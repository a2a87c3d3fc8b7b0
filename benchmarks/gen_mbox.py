"""Write a synthetic mailing-list mbox: English and Japanese installation questions, answers and follow-ups.

Usage: `.venv/bin/python benchmarks/gen_mbox.py N OUT [--seed S]`. The same N and seed always give the
same bytes. About a third of the messages start a thread; the rest are answers from helpers, follow-ups
from the asker with the details they were asked for (quoting what they reply to), and a few
messages without threading headers whose subject still says "Re:". Japanese mail comes as UTF-8 (base64
or 8bit) and as ISO-2022-JP, as real Japanese lists do.
"""

from __future__ import annotations

import argparse
import base64
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime
from pathlib import Path

START = datetime(2023, 1, 9, 8, 0, tzinfo=UTC)
LISTS = {"en": "users.cloudstack.apache.org", "ja": "users-ja.cloudstack.apache.org"}

VERSIONS = ["4.17.2.0", "4.18.1.0", "4.18.2.3", "4.19.0.1", "4.19.1.1", "4.20.0.0", "4.20.1.0"]
OSES = ["Rocky Linux 8.9", "AlmaLinux 9.3", "Ubuntu 22.04", "Ubuntu 20.04", "Oracle Linux 8", "RHEL 8.8"]
HYPERVISORS = ["KVM", "XenServer 8.2", "VMware vSphere 7.0", "XCP-ng 8.2"]

EN_TOPICS = [
    (
        "cloudstack-setup-databases: Access denied for user 'root'@'localhost'",
        "Running cloudstack-setup-databases cloud:secret@localhost --deploy-as=root:pw I get\n"
        "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)\n"
        "What am I doing wrong?",
    ),
    (
        "Management server does not start after install",
        "After installing cloudstack-management the service stops right away.\n"
        "management-server.log shows: Unable to get a new db connection\n"
        "Any idea?",
    ),
    (
        "SELinux error during setup",
        "cloudstack-setup-management prints: SELinux is set to enforcing. There are two options:\n"
        "Should I disable it or set it to permissive?",
    ),
    (
        "Cannot add KVM host",
        "Adding the host fails with: Unable to add the host: Cannot find the server resources.\n"
        "The agent log says: Failed to connect to the management server.",
    ),
    (
        "Secondary storage VM stays in Starting",
        "The SSVM never reaches Running and templates stay at 0% downloaded. Is NFS wrong?",
    ),
    (
        "Console proxy shows a blank page",
        "The console of every instance is blank. Port 8080 and 8250 are open on the management server.",
    ),
    ("How to upgrade the system VM template?", "Which template should I register before the upgrade?"),
]
JA_TOPICS = [
    (
        "cloudstack-setup-databases で Access denied になります",
        "cloudstack-setup-databases を実行すると次のエラーになります。\n"
        "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)\n"
        "どこを確認すればよいでしょうか。",
    ),
    (
        "管理サーバが起動しません",
        "インストール後に cloudstack-management を起動してもすぐに停止します。\n"
        "management-server.log に Unable to get a new db connection と出ています。",
    ),
    (
        "KVM ホストを追加できません",
        "ホストの追加で「Unable to add the host」と表示されます。\n"
        "agent.log を見ると管理サーバに接続できていないようです。",
    ),
    (
        "SSVM が起動しない",
        "セカンダリストレージ VM が Starting のままです。テンプレートのダウンロードも進みません。",
    ),
    (
        "SELinux の設定について",
        "セットアップ中に SELinux is set to enforcing と表示されました。無効にすべきですか。",
    ),
    ("コンソールプロキシに接続できません", "インスタンスのコンソールを開くと真っ白な画面になります。"),
]
EN_ANSWERS = [
    "Which CloudStack version and which hypervisor are you using?",
    "Please check /var/log/cloudstack/management/management-server.log and post the first error.",
    "Make sure the MySQL root password is right and that the cloud user can log in from localhost.",
    "This is usually a firewall issue: ports 8250 and 8080 must be open from the hosts.",
    "Set SELinux to permissive with setenforce 0 and in /etc/selinux/config, then run the setup again.",
]
JA_ANSWERS = [
    "CloudStack のバージョンとハイパーバイザーの種類を教えてください。",
    "management-server.log の最初のエラーを貼っていただけますか。",
    "MySQL の root パスワードと cloud ユーザの権限を確認してください。",
    "ファイアウォールで 8250 番ポートが開いているか確認してください。",
    "setenforce 0 で SELinux を permissive にしてから再実行してみてください。",
]
EN_FOLLOW = [
    "Thanks. We run CloudStack {version} on {os} with {hv}.",
    "Here is the log:\n2024-03-01 10:00:00,123 ERROR [c.c.u.d.Merovingian2] (main:null) Unable to get a new db "
    "connection\njava.sql.SQLException: Access denied for user 'cloud'@'localhost'",
    "I tried that but it still fails. Version {version}, {os}.",
]
JA_FOLLOW = [
    "ありがとうございます。CloudStack {version}、{os}、{hv} の環境です。",
    "ログは以下の通りです。\nERROR [c.c.u.d.Merovingian2] (main:null) Unable to get a new db connection",
    "試してみましたがまだ同じエラーです。バージョンは {version} です。",
]
FIRST = ["Alex", "Sam", "Kim", "Lee", "Robin", "Noa", "Jun", "Kai", "Mika", "Ren"]
JA_NAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村"]


@dataclass
class _Thread:
    """A conversation in progress."""

    lang: str
    subject: str
    asker: str
    ids: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)


def _person(rng: random.Random, lang: str, pool: int) -> str:
    """A display name and address."""
    n = rng.randrange(pool)
    name = f"{JA_NAMES[n % len(JA_NAMES)]} {n}" if lang == "ja" else f"{FIRST[n % len(FIRST)]} {n}"
    return f"{name} <user{n}@{'example.jp' if lang == 'ja' else 'example.org'}>"


def _encoded_from(person: str) -> str:
    """A From header, with a non-ASCII display name encoded as RFC 2047."""
    name, address = person.rsplit(" <", 1)
    if name.isascii():
        return f'"{name}" <{address}'
    return f"{Header(name, 'utf-8').encode()} <{address}"


def _subject(text: str) -> str:
    """An RFC 2047 subject when it is not ASCII."""
    return text if text.isascii() else Header(text, "utf-8", maxlinelen=76).encode()


def _body_bytes(rng: random.Random, lang: str, body: str) -> tuple[list[str], bytes]:
    """Content headers and body bytes in one of the encodings Japanese lists really use."""
    if lang == "ja":
        choice = rng.random()
        if choice < 0.3:
            try:
                encoded = body.encode("iso-2022-jp")
                headers = [
                    'Content-Type: text/plain; charset="ISO-2022-JP"',
                    "Content-Transfer-Encoding: 7bit",
                ]
                return headers, encoded
            except UnicodeEncodeError:
                pass
        if choice < 0.65:
            b64 = base64.encodebytes(body.encode("utf-8"))
            return ['Content-Type: text/plain; charset="UTF-8"', "Content-Transfer-Encoding: base64"], b64
        return ['Content-Type: text/plain; charset="UTF-8"', "Content-Transfer-Encoding: 8bit"], body.encode()
    return ['Content-Type: text/plain; charset="us-ascii"', "Content-Transfer-Encoding: 7bit"], body.encode()


def _quote(text: str) -> str:
    """The quoted block a reply carries."""
    return "\n".join("> " + line for line in text.splitlines()[:6])


def messages(count: int, seed: int = 1234) -> Iterator[bytes]:
    """Yield `count` messages, each as mbox bytes starting with its `From ` line."""
    rng = random.Random(seed)
    threads: list[_Thread] = []
    when = START
    for n in range(count):
        when += timedelta(seconds=rng.randrange(30, 900))
        mid = f"{n}.{seed}@bench.triagebot.example"
        refs: list[str] = []
        parent: str | None = None
        if not threads or rng.random() < 0.34:
            lang = "ja" if rng.random() < 0.45 else "en"
            subject, body = rng.choice(JA_TOPICS if lang == "ja" else EN_TOPICS)
            if rng.random() < 0.5:
                body += "\n" + rng.choice(JA_FOLLOW if lang == "ja" else EN_FOLLOW)
            body = body.format(version=rng.choice(VERSIONS), os=rng.choice(OSES), hv=rng.choice(HYPERVISORS))
            if rng.random() < 0.3:
                subject = f"{subject} ({rng.choice(VERSIONS)})"
            author = _person(rng, lang, 5000)
            thread = _Thread(lang, subject, author)
            threads.append(thread)
            if len(threads) > 300:
                threads.pop(0)
            shown_subject = f"[{'cloudstack-ja' if lang == 'ja' else 'users'}] {subject}"
        else:
            thread = rng.choice(threads)
            lang = thread.lang
            pick = rng.randrange(len(thread.ids))
            parent = thread.ids[pick]
            refs = thread.ids[: pick + 1][-8:]
            if rng.random() < 0.35:
                author = thread.asker
                text = rng.choice(JA_FOLLOW if lang == "ja" else EN_FOLLOW)
                text = text.format(
                    version=rng.choice(VERSIONS), os=rng.choice(OSES), hv=rng.choice(HYPERVISORS)
                )
            else:
                author = _person(rng, lang, 60)
                text = rng.choice(JA_ANSWERS if lang == "ja" else EN_ANSWERS)
            intro = "ご回答ありがとうございます。" if lang == "ja" and author == thread.asker else ""
            body = f"{intro}{text}\n\n{_quote(thread.bodies[pick])}"
            shown_subject = ("Re: " if lang == "en" else rng.choice(["Re: ", "RE: ", "返信: "])) + (
                f"[{'cloudstack-ja' if lang == 'ja' else 'users'}] {thread.subject}"
            )
            if rng.random() < 0.03:
                parent, refs = None, []  # a mailer that drops threading headers
        signature = "\n\n-- \n" + author.split(" <")[0] + "\n"
        thread.ids.append(mid)
        thread.bodies.append(body)
        content_headers, payload = _body_bytes(rng, lang, body + signature)
        headers = [
            f"From: {_encoded_from(author)}",
            f"To: {LISTS[lang].replace('.', '@', 1)}",
            f"Subject: {_subject(shown_subject)}",
            f"Date: {format_datetime(when)}",
            f"Message-ID: <{mid}>",
            f"List-Id: <{LISTS[lang]}>",
            "MIME-Version: 1.0",
            *content_headers,
        ]
        if parent is not None:
            headers.append(f"In-Reply-To: <{parent}>")
            headers.append("References: " + " ".join(f"<{r}>" for r in refs))
        address = author.rsplit("<", 1)[1].rstrip(">")
        envelope = f"From {address} {when:%a %b %d %H:%M:%S %Y}\n"
        lines = []
        for line in payload.split(b"\n"):
            lines.append(b">" + line if line.startswith((b"From ", b">From ")) else line)
        yield (
            envelope.encode()
            + "\n".join(headers).encode()
            + b"\n\n"
            + b"\n".join(lines).rstrip(b"\n")
            + b"\n\n"
        )


def write_mbox(count: int, out: Path, seed: int = 1234) -> int:
    """Write `count` messages to `out`; return the number of bytes written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with out.open("wb") as handle:
        for chunk in messages(count, seed):
            handle.write(chunk)
            size += len(chunk)
    return size


def main() -> None:
    """Command line: N OUT [--seed S]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="number of messages")
    parser.add_argument("out", type=Path, help="mbox file to write")
    parser.add_argument("--seed", type=int, default=1234, help="random seed (default 1234)")
    args = parser.parse_args()
    size = write_mbox(args.count, args.out, args.seed)
    print(f"wrote {args.count:,} messages ({size / 1e6:.1f} MB) to {args.out}")


if __name__ == "__main__":
    main()
