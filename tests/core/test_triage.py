"""The pure triage path on the real knowledge base: tips, evidence, abstention, replies."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from triagebot.app import Engine
from triagebot.core.models import Action, Channel, Detail, InboundMessage, Language


def _msg(body: str, subject: str = "", channel: Channel = Channel.EMAIL) -> InboundMessage:
    return InboundMessage(channel=channel, source="test", message_id="m", subject=subject, text=body)


@pytest.mark.parametrize(
    ("body", "tip"),
    [
        (
            "Running cloudstack-setup-databases I get: The host name of this computer does not resolve to an IP "
            "address. What should I put in /etc/hosts?",
            "fqdn-resolution",
        ),
        (
            "setup-databases prints 'SELinux is set to enforcing. There are two options:' should I disable it?",
            "selinux",
        ),
        (
            "cloudstack-setup-databases cloud:pw@localhost --deploy-as=root:secret fails with ERROR 1045 (28000): "
            "Access denied for user 'root'@'localhost' (using password: YES)",
            "setup-databases",
        ),
        (
            "cloud-install-sys-tmplt stops with: Data already exists at destination -- use -F to force cleanup "
            "of old template",
            "systemvm-template",
        ),
        ("mount.nfs: access denied by server while mounting 192.168.1.10:/export/primary", "nfs-storage"),
        ("Adding the KVM host fails: This machine does not have KVM enabled.", "kvm-agent"),
        (
            "管理サーバで cloudstack-setup-databases を実行すると SELinux is set to enforcing と表示されます。"
            "無効にする必要がありますか？",
            "selinux",
        ),
    ],
)
def test_exact_error_strings_find_their_tip(engine: Engine, body: str, tip: str) -> None:
    result = engine.triage(_msg(body))
    assert result.classification.tips, result.decision.why
    assert result.classification.tips[0].tip_id == tip
    assert any(e.startswith("error string:") for e in result.classification.tips[0].evidence)


@pytest.mark.parametrize(
    "body",
    [
        "How do I create a VPC with two tiers and network ACLs allowing only port 443 between them?",
        "Unsubscribe me please",
        "Proxmox のクラスタで Ceph の OSD が落ちます。どう調べればいいですか？",
    ],
)
def test_out_of_scope_questions_get_no_tip(engine: Engine, body: str) -> None:
    result = engine.triage(_msg(body))
    assert result.classification.tips == ()
    assert result.decision.action in (Action.ASK, Action.ABSTAIN)


def test_suggestions_are_ranked_with_evidence_and_within_range(engine: Engine) -> None:
    result = engine.triage(
        _msg(
            "which java version do I need for cloudstack 4.19? the management server "
            "won't start after I installed openjdk 8"
        )
    )
    tips = result.classification.tips
    assert tips and tips[0].tip_id == "java-version"
    assert all(0.0 <= t.score <= 1.0 for t in tips)
    assert [t.score for t in tips] == sorted((t.score for t in tips), reverse=True)
    assert tips[0].evidence, "moderators need to see why"


def test_two_causes_give_two_ranked_tips(engine: Engine) -> None:
    result = engine.triage(
        _msg(
            "Two things on my new 4.19 install. cloudstack-setup-databases printed SELinux is set to enforcing, "
            "and adding secondary storage fails with mount.nfs: access denied by server while mounting "
            "10.0.0.9:/export/secondary"
        )
    )
    ids = [t.tip_id for t in result.classification.tips]
    assert {"selinux", "nfs-storage"} <= set(ids[:3])
    scores = [t.score for t in result.classification.tips]
    assert scores == sorted(scores, reverse=True) and len(ids) <= 3
    assert "also" in result.decision.why


def test_log_paste_does_not_drown_the_question(engine: Engine) -> None:
    noise = "\n".join(
        f"2024-03-12 10:14:{i % 60:02d},512 DEBUG [c.c.a.t.Request] (AgentManager-Handler-{i}:null) "
        f"(logid:{i:08x}) Seq 1-{i}: Processing: {{ Ans: , MgmtId: 345049, via: 1, Ver: v1 }}"
        for i in range(400)
    )
    body = (
        "After cloudstack-setup-management the UI is fine but I cannot find which log file to read when "
        "something breaks. Where are the management server logs kept on 4.18?\n" + noise
    )
    result = engine.triage(_msg(body))
    assert result.classification.tips and result.classification.tips[0].tip_id == "management-log"


def test_reply_is_in_the_askers_language_and_asks_exactly_for_missing(engine: Engine) -> None:
    ja = engine.triage(_msg("SELinux is set to enforcing と出ます。どうすればいいですか"))
    assert ja.question.language is Language.JA
    assert "ご質問ありがとうございます" in ja.reply.text
    assert ja.details.missing == (Detail.VERSION, Detail.OS, Detail.HYPERVISOR)
    assert "CloudStack のバージョン" in ja.reply.text and "ハイパーバイザー" in ja.reply.text
    en = engine.triage(
        _msg(
            "CloudStack 4.18.1 on Rocky Linux 8 with KVM hosts: setup-databases says "
            "SELinux is set to enforcing. There are two options:"
        )
    )
    assert en.question.language is Language.EN
    assert en.details.missing == ()
    assert "Could you please add" not in en.reply.text


def test_java_reply_names_the_java_of_the_detected_release(engine: Engine) -> None:
    result = engine.triage(
        _msg(
            "Management server on CloudStack 4.20.0.0 fails to start, which Java do I "
            "need? I have openjdk 11 installed. Ubuntu 22.04, KVM."
        )
    )
    assert result.classification.tips[0].tip_id == "java-version"
    assert "CloudStack 4.20.0.0 needs Java 17" in result.reply.text


def test_java_reply_without_version_gives_the_table_and_asks(engine: Engine) -> None:
    result = engine.triage(_msg("which java version does cloudstack need? management server won't start"))
    assert result.classification.tips[0].tip_id == "java-version"
    assert "4.14–4.19 → Java 11" in result.reply.text
    assert "the CloudStack version" in result.reply.text


def test_systemvm_reply_names_the_template_file(engine: Engine) -> None:
    result = engine.triage(
        _msg(
            "CloudStack 4.18.1.0, KVM on Rocky 8. System VMs never start, the log says System VM template is not "
            "ready at zone [1], wait until it is ready to launch secondary storage VM."
        )
    )
    assert result.classification.tips[0].tip_id == "systemvm-template"
    assert "systemvmtemplate-4.18.1-kvm.qcow2.bz2" in result.reply.text


def test_abstaining_asks_for_details_without_guessing(engine: Engine) -> None:
    result = engine.triage(_msg("help, it doesn't work"))
    assert result.classification.tips == ()
    assert result.decision.action is Action.ASK
    assert set(result.details.missing) == set(Detail)
    assert "Could you please add" in result.reply.text
    assert "1. " not in result.reply.text


def test_mentions_from_anywhere_never_ping(engine: Engine) -> None:
    result = engine.triage(
        _msg("@everyone @here <!channel> SELinux is set to enforcing", channel=Channel.SLACK)
    )
    for ping in ("@everyone", "@here", "<!channel>"):
        assert ping not in result.reply.text


def test_channel_formats_differ(engine: Engine) -> None:
    body = "cloudstack-setup-databases: The host name of this computer does not resolve to an IP address."
    email = engine.triage(_msg(body), Channel.EMAIL).reply.text
    slack = engine.triage(_msg(body), Channel.SLACK).reply.text
    discord = engine.triage(_msg(body), Channel.DISCORD).reply
    assert "\n1. " in email and "\n1. *" not in email
    assert "\n1. *" in slack
    assert "\n1. **" in discord.text
    assert all(len(part) <= 2000 for part in discord.parts)


def test_triage_is_deterministic(engine: Engine) -> None:
    body = "NFS secondary storage mount fails with mount.nfs: Protocol not supported on CloudStack 4.19"
    first, second = engine.triage(_msg(body)), engine.triage(_msg(body))
    assert first == second


def test_batch_and_single_agree(engine: Engine) -> None:
    bodies = ["SELinux is set to enforcing", "help", "mount.nfs: access denied by server while mounting x"]
    batch = engine.triage_batch([_msg(b) for b in bodies])
    single = [engine.triage(_msg(b)) for b in bodies]
    assert [r.classification for r in batch] == [r.classification for r in single]


@pytest.mark.parametrize(
    ("pattern", "alternatives"),
    [
        (r"(?i)HTTP\s+ERROR\s+503", (("error", "http"),)),
        (r"mount\.nfs:\s+access\s+denied", (("mount.nfs:", "access", "denied"),)),
        (r"No\s+image\s+store\s+added\s+in\s+zone", (("added", "image", "store", "zone"),)),
        (r"(?i)SELinux\s+is\s+set\s+to\s+enforcing", (("enforcing", "selinux"),)),
        (r"abcdef?", (("abcde",),)),
        (r"(Unable to add) the", ((" the",),)),
        (r"foo|barbaz", ()),  # "foo" is too short to look for
        (r"mount\.nfs:\s+denied|Permission\s+denied", (("mount.nfs:", "denied"), ("permission", "denied"))),
        (r"(?i)config\.json.{0,9}\b403\b|\b403\b.{0,9}config\.json", (("config.json",), ("config.json",))),
        (r"(?:first\s+thing|second)", (("first", "thing"), ("second",))),  # a plain group is the same regex
        (r"(first\s+thing|second)\s+x", ()),  # alternatives inside a group followed by more: no safe run
        (r"x\d+y", ()),
    ],
)
def test_literal_alternatives(pattern: str, alternatives: tuple[tuple[str, ...], ...]) -> None:
    from triagebot.core.classify import literal_alternatives

    assert literal_alternatives(pattern) == alternatives


def test_rule_pre_check_never_hides_a_match(kb) -> None:  # type: ignore[no-untyped-def]
    import re

    from triagebot.core.classify import literal_alternatives

    texts = [e for t in kb.tips for e in t.examples] + list(kb.out_of_scope)
    matched = 0
    for tip in kb.tips:
        for symptom in tip.symptoms:
            alternatives, pattern = literal_alternatives(symptom.pattern), re.compile(symptom.pattern)
            for text in texts:
                if pattern.search(text):
                    matched += 1
                    low = text.lower()
                    holds = any(all(n in low for n in alt) for alt in alternatives)
                    assert not alternatives or holds, (symptom.pattern, text[:80])
    assert matched > 100


def test_every_rule_has_a_pre_check(kb) -> None:  # type: ignore[no-untyped-def]
    """No shipped rule runs its regex on every text: each has literals to look for first."""
    from triagebot.core.classify import literal_alternatives

    unguarded = [s.pattern for t in kb.tips for s in t.symptoms if not literal_alternatives(s.pattern)]
    assert unguarded == []


def test_messages_and_results_survive_the_trip_between_processes(engine: Engine) -> None:
    """Ingest hands messages and results between processes by pickle: every field comes back."""
    message = InboundMessage(
        Channel.SLACK,
        "C1",
        "C1/1700000000.000100",
        "Host add fails",
        "Unable to add the host: Cannot find the server resources. ACS 4.19 on Rocky 9 with KVM",
        author="asker@example.org",
        sent_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        thread_key="C1/1700000000.000100",
    )
    result = engine.triage(message)
    assert result.classification.tips and result.classification.tips[0].evidence
    copied = pickle.loads(pickle.dumps((message, result)))
    assert copied == (message, result)
    assert copied[1].classification.tips[0].evidence == result.classification.tips[0].evidence
    assert copied[0].sent_at == message.sent_at and copied[0].author == "asker@example.org"
