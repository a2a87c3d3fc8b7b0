"""Defusing user text: mentions never ping, markup never renders, the words still read the same."""

from __future__ import annotations

import pytest

from triagebot.core.safety import ZERO_WIDTH_SPACE, defuse_mentions, defuse_user_text


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("hi @channel", "@channel"),
        ("@here now", "@here"),
        ("@everyone!", "@everyone"),
        ("<!channel> look", "<!channel>"),
        ("<!here|here>", "<!here"),
        ("<script>alert(1)</script>", "<script"),
        ("<img src=x onerror=alert(1)>", "<img"),
        ("<IMG SRC=x>", "<IMG"),
        ("</textarea><svg onload=x>", "<svg"),
        ("<!-- comment -->", "<!--"),
        ("<https://evil.example|click>", "<https:"),
    ],
)
def test_user_text_is_defused(text: str, raw: str) -> None:
    out = defuse_user_text(text)
    assert raw not in out
    assert out.replace(ZERO_WIDTH_SPACE, "") == text  # nothing but the zero-width spaces was added


@pytest.mark.parametrize("text", ["a < b", "x<3", "mail root@example.org", "4.19 <= 4.20", "->"])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert defuse_user_text(text) == text


def test_replies_keep_their_slack_links() -> None:
    # Replies are defused for mentions only: knowledge-base links in Slack markup must keep working.
    reply = "See <https://docs.cloudstack.apache.org|the docs> @channel"
    out = defuse_mentions(reply)
    assert "<https://docs.cloudstack.apache.org|the docs>" in out and "@channel" not in out
