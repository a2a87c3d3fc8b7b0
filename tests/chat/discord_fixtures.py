"""Recorded Discord gateway payloads (tests/fixtures/discord) and the scope they were recorded in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from triagebot.chat.discord_payloads import Scope

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "discord"
GUILD = "1290000000000000001"
TEXT_CHANNEL = "1300000000000000010"
FORUM_CHANNEL = "1300000000000000020"
MODERATORS = "1300000000000000030"
BOT_USER = "1280000000000000777"
SCOPE = Scope(
    text_channels=frozenset({TEXT_CHANNEL}), forum_channels=frozenset({FORUM_CHANNEL}), bot_user_id=BOT_USER
)


def payload(name: str) -> Any:
    """One recorded payload by file stem."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
