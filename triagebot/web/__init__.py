"""The moderators' web app (Starlette, server-rendered jinja2, local assets only)."""

from __future__ import annotations

from triagebot.web.app import create_app

__all__ = ["create_app"]
