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
