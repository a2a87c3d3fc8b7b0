"""Defuse text that came from users before it is shown anywhere else: chat pings and HTML markup.

A question may carry ``@channel`` or ``<script>``. Replies are built from knowledge-base text, but
evidence quotes the asker's own words, and moderators see it in a terminal, a web page or a chat
message. Defusing inserts a zero-width space, so the text still reads the same to a person while no
chat service pings on it and no browser or mrkdwn renderer sees a tag.
"""

from __future__ import annotations

import re

ZERO_WIDTH_SPACE = "\u200b"

# Broadcast mentions in plain words (@everyone, @here, @channel) and Slack's markup for broadcasts,
# user groups and users.
_MENTION = re.compile(
    r"@(everyone|here|channel)\b|<!(channel|everyone|here)(?:\|[^>]*)?>|<!subteam\^[^>]*>|<@[UW]\w+>"
)
# Every match of _MENTION starts with one of these.
_MENTION_MARKS = ("@everyone", "@here", "@channel", "<!", "<@")
# What a browser (or Slack's mrkdwn) would take for the start of a tag, a comment or a declaration.
_MARKUP = re.compile(r"<(?=[A-Za-z/!?@#])")


def defuse_mentions(text: str) -> str:
    """Break @everyone/@here/@channel and Slack broadcast or user mentions so they never ping.

    Example:
        >>> defuse_mentions("@here look") == "@\\u200bhere look"
        True
    """
    if not any(mark in text for mark in _MENTION_MARKS):  # most text: no need to scan it
        return text
    return _MENTION.sub(lambda m: m.group(0)[0] + ZERO_WIDTH_SPACE + m.group(0)[1:], text)


def defuse_user_text(text: str) -> str:
    """Defuse mentions and markup in text quoted from a user (evidence phrases and the like).

    Example:
        >>> "<script" in defuse_user_text("<script>alert(1)</script> @channel")
        False
    """
    return _MARKUP.sub("<" + ZERO_WIDTH_SPACE, defuse_mentions(text))
