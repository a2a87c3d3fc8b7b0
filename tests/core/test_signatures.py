"""Log signatures: what names the failure stays, frames and noise go."""

from __future__ import annotations

import pytest

from triagebot.core.signatures import line_signatures, log_signatures

AGENT_LOG = """\
2024-05-02 10:11:12,345 ERROR [c.c.a.m.AgentManagerImpl] (AgentConnectTaskPool-3:ctx-1a2b3c4d) (logid:0badf00d) Failed to connect host 10.1.1.5:8250
com.cloud.exception.ConnectionException: Unable to add the host 3f2504e0-4f89-11d3-9a0c-0305e82c3301
\tat com.cloud.agent.manager.AgentManagerImpl.handleDirectConnectAgent(AgentManagerImpl.java:1234)
\tat java.base/java.lang.Thread.run(Thread.java:829)
\t... 12 more
Caused by: org.libvirt.LibvirtException: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory
2024-05-02 10:11:12,346 INFO  [c.c.a.Agent] (main:null) Agent started
[root@kvm01 ~]# systemctl start cloudstack-agent
HTTP ERROR 503
""".splitlines()


def test_agent_log_signatures_in_order() -> None:
    assert log_signatures(AGENT_LOG) == (
        "Failed to connect host",
        "ConnectionException",
        "com.cloud.exception.ConnectionException",
        "com.cloud.exception.ConnectionException: Unable to add the host",
        "LibvirtException",
        "caused by: org.libvirt.LibvirtException: Failed to connect socket to "
        "'/var/run/libvirt/libvirt-sock': No such file or directory",
        "command: systemctl start cloudstack-agent",
        "HTTP 503",
        "HTTP ERROR 503",
    )


@pytest.mark.parametrize(
    "line",
    [
        "\tat com.cloud.resource.ResourceManagerImpl.discoverHosts(ResourceManagerImpl.java:634)",
        "    at java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
        "\t... 37 more",
        "2024-05-02 10:11:12,346 INFO  [c.c.a.Agent] (main:null) Agent started",
        "2024-05-02 10:11:12,346 DEBUG [c.c.a.t.Request] (AgentManager-Handler-1:null) Seq 1-2: Sending",
    ],
)
def test_frames_and_untroubled_lines_give_nothing(line: str) -> None:
    assert line_signatures(line) == []


def test_noise_is_removed_from_error_lines() -> None:
    line = (
        "2023-11-30T08:01:02.123+09:00 WARN [o.a.c.s.SecondaryStorageManagerImpl] (secstorage-1:ctx-99aa00bb) "
        "Unable to mount 192.168.10.20:/export/secondary id: 7 job-1234 a1b2c3d4e5f6a7b8"
    )
    assert line_signatures(line) == ["Unable to mount :/export/secondary"]


def test_same_fault_from_two_hosts_gives_the_same_signature() -> None:
    first = "2024-01-01 01:01:01,001 ERROR [c.c.h.k.r.LibvirtComputingResource] (agentRequest-Handler-1:null) Failed to start domain on 10.0.0.7"
    second = "2025-06-30 23:59:59,999 ERROR [c.c.h.k.r.LibvirtComputingResource] (agentRequest-Handler-9:null) Failed to start domain on 172.16.0.3"
    assert log_signatures([first]) == log_signatures([second])


def test_limit_and_duplicates() -> None:
    lines = [f"ERROR Unable to reach node number {chr(65 + i)}" for i in range(30)] * 2
    found = log_signatures(lines, limit=5)
    assert len(found) == 5 and len(set(found)) == 5
