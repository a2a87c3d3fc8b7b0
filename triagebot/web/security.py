"""Passwords, CSRF tokens and the session secret of the web app.

Passwords are hashed with Argon2id (argon2-cffi's defaults). A CSRF token is a random value kept in the
signed session and repeated in every form; a POST whose token is missing or differs gets 403.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

log = logging.getLogger(__name__)

CSRF_FIELD = "csrf_token"
CSRF_SESSION_KEY = "csrf"
MIN_PASSWORD = 8

_hasher = PasswordHasher()
# Verifying against this when the name is unknown makes a wrong name cost as much as a wrong password.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An Argon2id hash of `password`, salted, in the PHC string format."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches `password_hash`; a missing user (None) is checked against a dummy."""
    try:
        return _hasher.verify(password_hash or _UNKNOWN_USER_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD:
        return f"the password must have at least {MIN_PASSWORD} characters"
    if password.strip() != password:
        return "the password may not start or end with spaces"
    return None


def session_secret(configured: str | None) -> str:
    """The secret that signs session cookies: the configured one, else a fresh one for this process.

    Without a configured secret every restart logs everybody out, which is safe but inconvenient, so a
    warning says how to set one (the value itself is never logged).
    """
    if configured:
        return configured
    log.warning(
        "TRIAGEBOT_WEB_SECRET is not set: using a random secret for this process (sessions end when it stops)"
    )
    return secrets.token_urlsafe(32)


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def csrf_ok(session: Mapping[str, Any], submitted: object) -> bool:
    """True when the form's token equals the session's (compared in constant time)."""
    expected = session.get(CSRF_SESSION_KEY)
    if not isinstance(expected, str) or not expected or not isinstance(submitted, str):
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())
