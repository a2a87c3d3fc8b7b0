"""Slack workspace exports and DiscordChatExporter JSON: read, detected by content, threaded, stored once."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import triagebot.cli.archive_cmds  # noqa: F401  (registers the commands)
from triagebot.app import Engine
from triagebot.chat.slack import event_to_inbound
from triagebot.cli import cli
from triagebot.core.models import Channel, Detail, InboundMessage
from triagebot.ingest.archive import detect_format, read_paths
from triagebot.ingest.records import ReadProblem
from triagebot.ingest.slack_export import message_to_inbound
from triagebot.pipeline import ingest
from triagebot.review import show
from triagebot.store import Store, TriageState

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SLACK = SAMPLES / "slack_export"
DISCORD = SAMPLES / "discord_export"

# ids of the sample Slack messages: channel and ts (2024-03-05 and -06, UTC)
Q_DB, A_DB, Q_PORTS, BOT_POST, FOLLOW_UP = (
    "C01HELP/1709600400.000100",
    "C01HELP/1709601600.000100",
    "C01HELP/1709608200.000100",
    "C01HELP/1709611200.000100",
    "C01HELP/1709715600.000100",
)
Q_SELINUX, A_SELINUX, Q_SYSTEMVM = (
    "C02JA/1709614800.000100",
    "C02JA/1709617200.000100",
    "C02JA/1709620200.000100",
)
# ids of the sample Discord messages
D_Q_NFS, D_A_NFS, D_BOT, D_Q_JAVA = (
    "1210000000000010001",
    "1210000000000010002",
    "1210000000000010003",
    "1210000000000010010",
)
D_FOLLOW_UP, D_THREAD_BOT = "1210000000000010012", "1210000000000010013"


def messages(items: list[InboundMessage | ReadProblem]) -> dict[str, InboundMessage]:
    return {m.message_id: m for m in items if isinstance(m, InboundMessage)}


def problems(items: list[InboundMessage | ReadProblem]) -> list[ReadProblem]:
    return [p for p in items if isinstance(p, ReadProblem)]


def zipped(folder: Path, target: Path, *, prefix: str = "") -> Path:
    """Zip an unpacked export, as Slack hands it out (prefix "") or as a person zips the folder."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def copy_export(tmp_path: Path) -> Path:
    target = tmp_path / "slack"
    shutil.copytree(SLACK, target)
    return target


# -- Slack: the reader ------------------------------------------------------------------------------


def test_slack_folder_messages_threads_and_authors() -> None:
    items = list(read_paths([SLACK]))
    assert problems(items) == []
    found = messages(items)
    assert sorted(found) == sorted(
        [Q_DB, A_DB, Q_PORTS, BOT_POST, FOLLOW_UP, Q_SELINUX, A_SELINUX, Q_SYSTEMVM]
    ), "joins and the message_changed record are not messages"
    assert {m.channel for m in found.values()} == {Channel.SLACK}
    assert found[Q_DB].source == "C01HELP" and found[Q_SELINUX].source == "C02JA"
    assert (found[Q_DB].thread_key, found[A_DB].thread_key) == (Q_DB, Q_DB)
    assert (found[FOLLOW_UP].thread_key, found[FOLLOW_UP].author) == (Q_PORTS, "U02TARO")
    assert found[Q_SYSTEMVM].thread_key == Q_SYSTEMVM
    assert found[A_DB].author == "U03LUCAS" and not found[A_DB].is_bot
    assert found[BOT_POST].is_bot and found[BOT_POST].author == "B05CIBOT"
    assert (
        found[Q_DB].sent_at is not None
        and found[Q_DB].sent_at.isoformat() == "2024-03-05T01:00:00.000100+00:00"
    )
    assert found[Q_DB].where.endswith("cloudstack-help/2024-03-05.json#2")


def test_slack_text_reads_as_written_mentions_named_files_ignored() -> None:
    found = messages(list(read_paths([SLACK])))
    answer = found[A_DB].text
    assert answer.startswith("@priya pass the root password with `--deploy-as=root:<password>`")
    assert "the install guide (https://docs.cloudstack.apache.org/" in answer
    assert found[A_SELINUX].text.startswith("@hanako さん、"), "display name from users.json"
    assert "build #412" not in found[BOT_POST].text, "attachment text is not read"
    assert "Connecting to 192.0.2.10:8250" not in found[FOLLOW_UP].text, "a file preview is not read"
    assert found[FOLLOW_UP].text.endswith("Log attached."), "the message itself, not the message_changed copy"
    assert found[Q_DB].subject == "cloudstack-setup-databases stops with"
    assert json.loads(found[Q_DB].raw)["client_msg_id"] == "6f1c2a10-0001-4000-8000-000000000001"


def test_a_message_listed_twice_is_taken_once(tmp_path: Path) -> None:
    export = copy_export(tmp_path)
    day = export / "cloudstack-help" / "2024-03-05.json"
    entries = json.loads(day.read_text(encoding="utf-8"))
    edited = dict(entries[3], text=entries[3]["text"] + " (edited)")
    day.write_text(json.dumps([*entries, edited]), encoding="utf-8")
    items = list(read_paths([export]))
    assert [m.message_id for m in items if isinstance(m, InboundMessage)].count(Q_PORTS) == 1


def test_live_events_and_the_export_name_a_message_alike() -> None:
    """A message seen live and later in an export is one message: same id, same thread key."""
    entries = json.loads((SLACK / "cloudstack-help" / "2024-03-05.json").read_text(encoding="utf-8"))
    for entry in entries:
        if entry.get("subtype") or entry.get("bot_id"):
            continue
        backfilled = message_to_inbound(entry, channel_id="C01HELP")
        live = event_to_inbound({**entry, "channel": "C01HELP"})
        assert backfilled is not None and live is not None
        assert live.message_id == backfilled.message_id == f"C01HELP/{entry['ts']}"
        if entry.get("thread_ts", entry["ts"]) != entry["ts"]:
            assert live.thread_key == backfilled.thread_key == f"C01HELP/{entry['thread_ts']}"


@pytest.mark.parametrize("prefix", ["", "slack-export/"])
def test_slack_zip_reads_like_the_folder(tmp_path: Path, prefix: str) -> None:
    archive = zipped(SLACK, tmp_path / "workspace.zip", prefix=prefix)
    from_zip = list(read_paths([archive]))
    from_folder = list(read_paths([SLACK]))
    assert problems(from_zip) == []

    def shape(items: list[InboundMessage | ReadProblem]) -> list[tuple[object, ...]]:
        return [
            (m.message_id, m.source, m.thread_key, m.author, m.is_bot, m.text)
            for m in items
            if isinstance(m, InboundMessage)
        ]

    assert shape(from_zip) == shape(from_folder) and len(shape(from_zip)) == 8
    assert messages(from_zip)[Q_DB].where == f"{archive}/cloudstack-help/2024-03-05.json#2"


def test_formats_are_told_by_content_not_by_name(tmp_path: Path) -> None:
    archive = zipped(SLACK, tmp_path / "backup.bin")
    discord = tmp_path / "channel-dump.txt"
    shutil.copy(DISCORD / "install-help.json", discord)
    day = tmp_path / "export" / "cloudstack-ja" / "2024-03-05.json"
    day.parent.mkdir(parents=True)
    shutil.copy(SLACK / "cloudstack-ja" / "2024-03-05.json", day)
    ponymail = tmp_path / "thread.json"
    ponymail.write_text(json.dumps({"emails": [{"mid": "m1", "subject": "Hi", "body": "SELinux?"}]}))
    not_slack = zipped(DISCORD, tmp_path / "other.zip")

    assert detect_format(archive) == "slack"
    assert detect_format(SLACK) == "slack"
    assert detect_format(discord) == "discord"
    assert detect_format(day) == "slack"
    assert detect_format(ponymail) == "ponymail"
    assert detect_format(not_slack) is None
    assert len(messages(list(read_paths([archive])))) == 8
    assert sorted(messages(list(read_paths([discord])))) == [D_Q_NFS, D_A_NFS, D_BOT, D_Q_JAVA]
    alone = messages(list(read_paths([day])))
    unlisted = [m.replace("C02JA/", "cloudstack-ja/") for m in (Q_SELINUX, A_SELINUX, Q_SYSTEMVM)]
    assert sorted(alone) == unlisted, "a day file without channels.json names its channel by its folder"
    assert alone[unlisted[0]].source == "cloudstack-ja"
    assert [p.why for p in problems(list(read_paths([not_slack])))] == [
        "a zip file that holds no Slack export (no users.json, channels.json or day files)"
    ]


def test_a_walked_directory_finds_both_exports(tmp_path: Path) -> None:
    shutil.copytree(SLACK, tmp_path / "backfill" / "slack")
    shutil.copytree(DISCORD, tmp_path / "backfill" / "discord")
    items = list(read_paths([tmp_path / "backfill"]))
    assert problems(items) == []
    assert len(messages(items)) == 8 + 6


def test_a_broken_day_file_is_reported_and_the_rest_read(tmp_path: Path) -> None:
    export = copy_export(tmp_path)
    (export / "cloudstack-help" / "2024-03-06.json").write_text(
        '[{"type": "message", "ts": ', encoding="utf-8"
    )
    day = export / "cloudstack-ja" / "2024-03-05.json"
    entries = json.loads(day.read_text(encoding="utf-8"))
    entries[3]["ts"] = 1709620200.0001  # a number, not Slack's string
    entries.append("not a message")
    day.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")

    items = list(read_paths([export]))
    reported = [(Path(p.where).name, p.why.split(":")[0]) for p in problems(items)]
    assert reported == [
        ("2024-03-06.json", "not valid JSON"),
        ("2024-03-05.json#4", "bad Slack message"),
        ("2024-03-05.json#5", "bad Slack message"),
    ]
    assert "ts is a number" in problems(items)[1].why
    assert sorted(messages(items)) == sorted([Q_DB, A_DB, Q_PORTS, BOT_POST, Q_SELINUX, A_SELINUX])


def test_a_folder_forced_as_slack_that_is_none_is_reported(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert [p.why for p in problems(list(read_paths([tmp_path / "empty"], fmt="slack")))] == [
        "not a Slack export: no users.json or channels.json beside day files"
    ]


# -- Discord: the reader ----------------------------------------------------------------------------


def test_discord_export_replies_threads_bots_and_system_messages() -> None:
    items = list(read_paths([DISCORD]))
    assert problems(items) == []
    found = messages(items)
    assert sorted(found) == sorted([D_Q_NFS, D_A_NFS, D_BOT, D_Q_JAVA, D_FOLLOW_UP, D_THREAD_BOT]), (
        "the member join and the 'thread created' notice are not messages"
    )
    assert {m.channel for m in found.values()} == {Channel.DISCORD}
    assert {m.source for m in found.values()} == {"1210000000000000100"}, "a thread counts under its channel"
    question, reply = found[D_Q_NFS], found[D_A_NFS]
    assert (question.thread_key, question.in_reply_to) == (D_Q_NFS, None)
    assert reply.in_reply_to == D_Q_NFS and reply.author == "1210000000000001002"
    assert reply.text.startswith("@nikolai check /etc/exports"), "mention written with the user's name"
    assert found[D_BOT].is_bot and not question.is_bot
    assert (found[D_FOLLOW_UP].thread_key, found[D_THREAD_BOT].thread_key) == (D_Q_JAVA, D_Q_JAVA)
    assert found[D_Q_JAVA].subject.startswith("4.20.0.0 に上げたら")
    assert question.sent_at is not None and question.sent_at.isoformat() == "2024-03-07T09:00:00+00:00"


def test_a_forum_post_takes_the_thread_title_as_subject(tmp_path: Path) -> None:
    post = tmp_path / "forum.json"
    post.write_text(
        json.dumps(
            {
                "guild": {"id": "1", "name": "g"},
                "channel": {
                    "id": "500",
                    "type": "GuildPublicThread",
                    "categoryId": "400",
                    "name": "NFS が遅い",
                },
                "messages": [
                    {
                        "id": "500",
                        "type": "Default",
                        "timestamp": "2024-03-07T09:00:00+09:00",
                        "content": "セカンダリストレージの NFS が遅いです",
                        "author": {"id": "7", "name": "ken", "isBot": False},
                    }
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    (record,) = messages(list(read_paths([post]))).values()
    assert (record.subject, record.source, record.thread_key) == ("NFS が遅い", "400", "500")
    assert record.sent_at is not None and record.sent_at.utcoffset() is not None


def test_broken_discord_entries_are_reported_and_the_rest_read(tmp_path: Path) -> None:
    document = json.loads((DISCORD / "install-help.json").read_text(encoding="utf-8"))
    document["messages"][2]["content"] = None
    document["messages"][4]["timestamp"] = "yesterday"
    document["messages"].append(["not", "a", "message"])
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    no_messages = tmp_path / "header-only.json"
    no_messages.write_text(json.dumps({"guild": {"id": "1"}, "channel": {"id": "2"}}), encoding="utf-8")

    items = list(read_paths([broken, no_messages]))
    assert [(Path(p.where).name, p.why) for p in problems(items)] == [
        ("broken.json#3", "bad Discord message: content is null, not a string; skipped"),
        ("broken.json#5", "bad Discord message: timestamp 'yesterday' is not an ISO 8601 time; skipped"),
        ("broken.json#7", "bad Discord message: entry is a list, not an object; skipped"),
        ("header-only.json", "not a Discord export: no 'messages' list"),
    ]
    assert sorted(messages(items)) == [D_Q_NFS, D_BOT]


# -- into the store (SQLite and PostgreSQL) ---------------------------------------------------------


def test_both_exports_are_stored_threaded_and_answered_like_mail(store: Store, engine: Engine) -> None:
    summary = ingest(read_paths([SLACK, DISCORD]), store, engine)
    assert (summary.read, summary.new, summary.skipped) == (14, 14, 0)

    def thread(message_id: str) -> tuple[tuple[str, ...], bool, bool]:
        found = store.thread_of(message_id)
        assert found is not None
        return found.message_ids, found.is_question, found.answered

    assert thread(A_DB) == ((Q_DB, A_DB), True, True), "answered by someone other than the asker"
    assert thread(FOLLOW_UP) == ((Q_PORTS, FOLLOW_UP), True, False), "the asker's own follow-up"
    assert thread(A_SELINUX) == ((Q_SELINUX, A_SELINUX), True, True)
    assert thread(Q_SYSTEMVM) == ((Q_SYSTEMVM,), True, False)
    assert thread(BOT_POST) == ((BOT_POST,), False, False), "a bot's post is no question"
    assert thread(D_A_NFS) == ((D_Q_NFS, D_A_NFS), True, True)
    # the thread's file is read before its channel's (name order): the thread still joins its starter
    ids, is_question, answered = thread(D_THREAD_BOT)
    assert (sorted(ids), is_question, answered) == ([D_Q_JAVA, D_FOLLOW_UP, D_THREAD_BOT], True, False)

    follow_up = store.message(FOLLOW_UP)
    assert follow_up is not None and follow_up.triage_state is TriageState.TRIAGED
    for question in (Q_DB, Q_PORTS, Q_SELINUX, Q_SYSTEMVM, D_Q_NFS, D_Q_JAVA):
        assert store.review_id_for(question) is not None, question
    ports, java = (
        show(store, store.review_id_for(Q_PORTS) or 0),
        show(store, store.review_id_for(D_Q_JAVA) or 0),
    )
    assert "4.18.1.0, Ubuntu 22.04" in ports.question and Detail.VERSION not in ports.missing
    assert "Rocky Linux 9" in java.question, (
        "the asker's follow-up in the thread is triaged with the question"
    )
    assert (ports.channel, java.channel) == (Channel.SLACK, Channel.DISCORD)
    assert store.review_id_for(BOT_POST) is None and store.review_id_for(D_BOT) is None


def test_reading_the_exports_again_adds_nothing(store: Store, engine: Engine, tmp_path: Path) -> None:
    first = ingest(read_paths([SLACK, DISCORD]), store, engine)
    again = ingest(read_paths([zipped(SLACK, tmp_path / "export.zip"), DISCORD]), store, engine)
    assert (first.new, first.drafted) == (14, 6)
    assert (again.read, again.new, again.duplicates, again.drafted, again.updated) == (14, 0, 14, 0, 0)
    thread = store.thread_of(FOLLOW_UP)
    assert thread is not None and thread.message_ids == (Q_PORTS, FOLLOW_UP)


def test_a_broken_day_file_is_skipped_and_the_rest_stored(
    store: Store, engine: Engine, tmp_path: Path
) -> None:
    export = copy_export(tmp_path)
    (export / "cloudstack-ja" / "2024-03-05.json").write_text("{not json", encoding="utf-8")
    summary = ingest(read_paths([export]), store, engine)
    assert (summary.read, summary.new, summary.skipped) == (6, 5, 1)
    assert [Path(where).parts[-2:] for where, _ in summary.errors] == [("cloudstack-ja", "2024-03-05.json")]
    assert store.message(Q_DB) is not None and store.message(Q_SELINUX) is None


# -- the command ------------------------------------------------------------------------------------


def test_ingest_command_exit_codes_and_rerun(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.sqlite3"
    export = copy_export(tmp_path)
    archive = zipped(export, tmp_path / "slack.zip")

    def run(*paths: Path) -> tuple[int, dict[str, object]]:
        result = CliRunner().invoke(cli, ["--db", url, "ingest", *map(str, paths), "--no-triage", "--json"])
        return result.exit_code, json.loads(result.stdout)

    assert run(archive, DISCORD) == (
        0,
        {"read": 14, "new": 14, "duplicates": 0, "skipped": 0, "errors": [], "notices": []},
    )
    (export / "cloudstack-help" / "2024-03-06.json").write_text("[", encoding="utf-8")
    code, counts = run(export)
    assert (code, counts["read"], counts["new"], counts["duplicates"], counts["skipped"]) == (3, 8, 0, 7, 1)
    errors = counts["errors"]
    assert isinstance(errors, list) and errors[0]["where"] == f"{export}/cloudstack-help/2024-03-06.json"
