"""The one log-line detector: single lines, and lines in the context of a message."""

from __future__ import annotations

import pytest

from triagebot.core.language import count_japanese, has_japanese
from triagebot.core.logs import LOG_LEVEL, STACK_FRAME, TIMESTAMP, LineKind, is_log_line, line_kinds


@pytest.mark.parametrize(
    "line",
    [
        "2024-03-12 10:14:33,512 ERROR [c.c.r.ResourceManagerImpl] (qtp1:ctx-1) Unable to add the host",
        "10:14:33,512 DEBUG something happened",
        "Mar 12 10:14:33 kvm01 libvirtd[1234]: internal error",
        "    at com.cloud.resource.ResourceManagerImpl.discoverHosts(ResourceManagerImpl.java:634)",
        "Caused by: java.net.ConnectException: Connection refused",
        "... 12 more",
        "WARN  [o.a.c.s.SecondaryStorageManagerImpl] no storage",
        "[ERROR] Failed to execute goal",
        "com.cloud.exception.DiscoveryException: Unable to add the host",
        "[root@mgmt01 ~]# systemctl status cloudstack-management",
        "admin@kvm01:~$ virsh list",
        "# getenforce",
        "JAVA_OPTS=-Xmx2g",
        "+-------+--------+",
        "   Active: failed (Result: exit-code) since Tue",
        "ZXhhbXBsZQ==/ZXhhbXBsZQ==/ZXhhbXBsZQ==/ZXhhbXBsZQ==/ZXhhbXBsZQ==/ZXhhbXBsZQ==",
    ],
)
def test_machine_output_is_a_log_line(line: str) -> None:
    assert is_log_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "I cannot add my KVM host to the cluster, what am I missing?",
        "We run CloudStack 4.18.1.0 on Rocky Linux 8 with KVM.",
        "Error adding the host, any idea?",
        "",
        "管理サーバのログを確認しましたが、エラーの原因が分かりません。どこを見ればよいでしょうか。よろしくお願いします。",
        "The management server starts, but the UI shows a blank page after login and nothing in the log "
        "explains why it happens.",
    ],
)
def test_prose_is_not_a_log_line(line: str) -> None:
    assert not is_log_line(line)


def test_line_kinds_follow_fences_quotes_and_continuations() -> None:
    body = (
        "Adding the host fails.\n"
        "> did you check the agent log?\n"
        "2024-03-12 10:14:33,600 ERROR [c.c.r.ResourceManagerImpl] Unable to add the host\n"
        "  the wrapped rest of that record\n"
        "```\n"
        "setenforce 0\n"
        "```\n"
        "  indented prose after a fence\n"
        "Any idea?"
    )
    assert [kind for kind, _ in line_kinds(body)] == [
        LineKind.PROSE,
        LineKind.QUOTE,
        LineKind.LOG,
        LineKind.LOG,
        LineKind.FENCE,
        LineKind.LOG,
        LineKind.FENCE,
        LineKind.LOG,  # an indented line right after output continues it, fence or not
        LineKind.PROSE,
    ]
    assert [line for _, line in line_kinds(body)] == body.splitlines()


def test_an_indented_line_after_prose_stays_prose() -> None:
    kinds = [kind for kind, _ in line_kinds("We use:\n  two KVM hosts\n  one NFS server")]
    assert kinds == [LineKind.PROSE, LineKind.PROSE, LineKind.PROSE]


def test_shared_patterns() -> None:
    assert TIMESTAMP.search("at 2024-03-12 10:14:33 it failed")
    assert TIMESTAMP.search("2024-03-12t10:14:33") and not TIMESTAMP.search("2024-22-12 10:14")
    assert LOG_LEVEL.search("ERROR [c.c.a.ApiServer]") and LOG_LEVEL.search("[WARNING] disk")
    assert not LOG_LEVEL.search("an error [sic]")
    assert STACK_FRAME.search("trace:\n    at com.cloud.agent.Agent.run(Agent.java:42)")
    assert not STACK_FRAME.search("look at com.cloud.agent.Agent.run(")


@pytest.mark.parametrize(
    ("text", "count"),
    [("KVM", 0), ("ホスト", 3), ("管理サーバ", 5), ("ｶﾀｶﾅ", 4), ("Rocky Linux 8 で KVM", 1), ("Ünïcode", 0)],
)
def test_japanese_characters(text: str, count: int) -> None:
    assert count_japanese(text) == count
    assert has_japanese(text) is (count > 0)
