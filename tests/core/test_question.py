"""Language detection and the prose/log split."""

from __future__ import annotations

import pytest

from triagebot.core.language import detect_language
from triagebot.core.models import Language
from triagebot.core.question import classifier_text, make_question, split_prose_and_logs


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("SELinux を無効にする必要がありますか？", Language.JA),
        ("管理サーバのログはどこにありますか", Language.JA),
        (
            "CloudStack 4.18 で KVM ホストを追加すると Unable to add the host: Cannot find the server resources "
            "at http://10.0.0.5 エラーになります",
            Language.JA,
        ),
        ("Where are the logs?", Language.EN),
        ("Where are the logs? thanks\n山田太郎", Language.EN),
        ("", Language.EN),
    ],
)
def test_language(text: str, language: Language) -> None:
    assert detect_language(text) is language


def test_japanese_prose_with_english_logs_is_japanese() -> None:
    body = "ホストの追加に失敗します。\n" + "\n".join(
        "2024-01-01 00:00:00,000 ERROR [c.c.r.ResourceManagerImpl] (qtp1:ctx-1) failed to add host"
        for _ in range(50)
    )
    assert make_question("", body).language is Language.JA


def test_logs_are_separated_and_reduced_to_signatures() -> None:
    body = """I cannot add my KVM host.
2024-03-12 10:14:33,512 DEBUG [c.c.a.t.Request] (AgentManager-Handler-1:null) (logid:1a2b3c4d) Seq 1-2
2024-03-12 10:14:33,600 ERROR [c.c.r.ResourceManagerImpl] (qtp123-45:ctx-ab12) (logid:1a2b3c4d) Unable to add the host
com.cloud.exception.DiscoveryException: Unable to add the host
    at com.cloud.resource.ResourceManagerImpl.discoverHostsFull(ResourceManagerImpl.java:818)
    at com.cloud.resource.ResourceManagerImpl.discoverHosts(ResourceManagerImpl.java:634)
What am I missing?"""
    prose, logs = split_prose_and_logs(body)
    assert prose == "I cannot add my KVM host.\nWhat am I missing?"
    assert logs == (
        "Unable to add the host",
        "DiscoveryException",
        "com.cloud.exception.DiscoveryException",
        "com.cloud.exception.DiscoveryException: Unable to add the host",
    )


TEMPLATE_POST = """\
<!--
Verify first that your issue is not already reported on GitHub.
-->
##### ISSUE TYPE
 * Bug Report

##### CLOUDSTACK VERSION
4.18.1.0

##### OS / ENVIRONMENT
Ubuntu 22.04

##### SUMMARY
cloudstack-agent will not start on the new host

##### STEPS TO REPRODUCE
<!-- steps, as small as possible -->

##### EXPECTED RESULTS

##### ACTUAL RESULTS
~~~
2024-03-12 10:14:33,600 ERROR [cloud.agent.AgentShell] (main:null) Unable to start agent: 172.16.4.9
~~~
"""


def test_template_post_reads_summary_first_without_boilerplate() -> None:
    question = make_question("agent down", TEMPLATE_POST)
    assert question.prose.splitlines()[0] == "cloudstack-agent will not start on the new host"
    assert "Verify first" not in question.prose and "reproduce the problem" not in question.prose
    assert "EXPECTED" not in question.prose and "#####" not in question.prose
    assert question.prose.splitlines()[1:3] == ["* Bug Report", "4.18.1.0"]
    assert question.log_lines == ("Unable to start agent",)


def test_shell_prompts_and_fences_are_not_prose() -> None:
    body = "Tried this:\n```\nsetenforce 0\nsetenforce: SELinux is disabled\n```\n[root@mgmt ~]# getenforce\nDisabled\nstill failing"
    prose, _ = split_prose_and_logs(body)
    assert "setenforce" not in prose and "getenforce" not in prose
    assert "Tried this:" in prose and "still failing" in prose


def test_quoted_lines_are_not_prose() -> None:
    prose, _ = split_prose_and_logs("> old question\n＞ 引用\nnew words")
    assert prose == "new words"


def test_huge_paste_is_bounded() -> None:
    question = make_question("subject", "word " * 500_000)
    assert len(classifier_text(question)) < 10_000
