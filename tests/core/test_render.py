"""Reply rendering helpers: Discord splitting, mention defusing, the Java table."""

from __future__ import annotations

import pytest

from triagebot.core.kb import KnowledgeBase
from triagebot.core.render import defuse_mentions, java_table, split_message


def test_short_message_is_one_part() -> None:
    assert split_message("hello", 2000) == ("hello",)


def test_split_prefers_paragraphs_and_respects_the_limit() -> None:
    paragraphs = [f"paragraph {i} " + "x" * 300 for i in range(20)]
    text = "\n\n".join(paragraphs)
    parts = split_message(text, 2000)
    assert len(parts) > 1
    assert all(len(p) <= 2000 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert all(p.startswith("paragraph") for p in parts)


def test_split_cuts_a_single_huge_line() -> None:
    parts = split_message("y" * 4500, 2000)
    assert [len(p) for p in parts] == [2000, 2000, 500]


@pytest.mark.parametrize(
    ("text", "ping"),
    [
        ("hi @everyone", "@everyone"),
        ("@here now", "@here"),
        ("x @channel", "@channel"),
        ("<!channel> go", "<!channel>"),
        ("<!here|here>", "<!here"),
        ("<@U024BE7LH> hi", "<@U024BE7LH>"),
        ("<!subteam^S123|team>", "<!subteam"),
    ],
)
def test_mentions_are_defused(text: str, ping: str) -> None:
    out = defuse_mentions(text)
    assert ping not in out
    assert out.replace("\u200b", "") == text


def test_plain_at_signs_are_left_alone() -> None:
    assert defuse_mentions("mail root@example.org") == "mail root@example.org"


def test_java_table_groups_consecutive_series(kb: KnowledgeBase) -> None:
    rows = {row["releases"]: row["java"] for row in java_table(kb)}
    assert rows["4.14–4.19"] == "11"
    assert rows["4.10–4.13"] == "8"
    assert any(r.startswith("4.20") and j == "17" for r, j in rows.items())


@pytest.mark.parametrize("language", ["en", "ja"])
def test_several_tips_lead_with_the_first_and_name_the_others_briefly(
    kb: KnowledgeBase, language: str
) -> None:
    from pathlib import Path

    from triagebot.app import read_templates
    from triagebot.core.models import Action, Channel, Decision, DetailReport, Language, TipScore
    from triagebot.core.render import Renderer, make_environment

    templates = read_templates(Path(__file__).resolve().parents[2] / "templates")
    renderer = Renderer(kb, make_environment(templates))
    tips = (TipScore("selinux", 0.9), TipScore("nfs-storage", 0.5), TipScore("firewall-ports", 0.3))
    lang = Language(language)
    reply = renderer.render(Decision(Action.SUGGEST, tips, (), "test"), DetailReport(), lang, Channel.EMAIL)
    first, second, third = (kb.tip(t.tip_id) for t in tips)
    text = reply.text
    positions = [text.index(tip.title.get(language)) for tip in (first, second, third)]
    assert positions == sorted(positions)
    for tip in (first, second, third):
        assert tip.summary.get(language) in text
    assert all(step in text for step in first.fix.get(language))  # the first in full
    others = [*second.fix.get(language), *third.fix.get(language)]
    assert not any(step in text for step in others)  # the others by title and summary only
