"""The API token: from ``LEADWRIGHT_TOKEN``, or made on first start and kept in the run
directory, readable by its owner alone."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from messages import UsageError

TOKEN_ENV = "LEADWRIGHT_TOKEN"
TOKEN_FILE = "token"
MIN_TOKEN = 16
"""Characters a token must have at least: a short one is guessed by trying."""


def load_token(out: Path) -> tuple[str, bool]:
    """The token, and whether it was made just now (so it is printed once); a token
    shorter than ``MIN_TOKEN`` is refused with one line."""
    given = os.environ.get(TOKEN_ENV, "").strip()
    if given:
        return _long_enough(given, TOKEN_ENV), False
    path = out / TOKEN_FILE
    if path.is_file():
        return _long_enough(path.read_text(encoding="utf-8").strip(), str(path)), False
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token, True


def _long_enough(token: str, source: str) -> str:
    if len(token) < MIN_TOKEN:
        raise UsageError(
            f"{source} holds a token of {len(token)} characters; use at least {MIN_TOKEN}, "
            "such as: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return token


def same_token(given: str, expected: str) -> bool:
    """Compare in constant time, so that timing tells nothing about the token."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
