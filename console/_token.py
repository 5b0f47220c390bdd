"""The API token: from ``LEADWRIGHT_TOKEN``, or made on first start and kept in the run
directory, readable by its owner alone."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

TOKEN_ENV = "LEADWRIGHT_TOKEN"
TOKEN_FILE = "token"


def load_token(out: Path) -> tuple[str, bool]:
    """The token, and whether it was made just now (so it is printed once)."""
    given = os.environ.get(TOKEN_ENV, "").strip()
    if given:
        return given, False
    path = out / TOKEN_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip(), False
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token, True


def same_token(given: str, expected: str) -> bool:
    """Compare in constant time, so that timing tells nothing about the token."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
