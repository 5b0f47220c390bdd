"""Signing secrets: made once per endpoint, shown once, kept in a file only its owner reads.

A secret is ``whsec_`` and 32 random bytes in base64 (Standard Webhooks: 24 to 64
bytes). It lives in ``webhook-secrets/<endpoint id>`` in the run directory, mode 0600
in a 0700 directory, and nowhere else: not in ``journal.sqlite``, not in any log.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from pathlib import Path
from typing import final

from messages import UsageError

SECRETS_DIR = "webhook-secrets"
PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` and base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


@final
class SecretFiles:
    """The run directory's endpoint secrets."""

    def __init__(self, out: Path) -> None:
        self.folder = out / SECRETS_DIR

    def path(self, endpoint_id: int) -> Path:
        return self.folder / str(endpoint_id)

    def make(self, endpoint_id: int) -> str:
        """Make and keep the endpoint's secret; it is returned this once."""
        self.folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.folder, 0o700)
        secret = new_secret()
        # Created with its mode: there is no moment when another user could read it.
        fd = os.open(self.path(endpoint_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secret + "\n")
        return secret

    def read(self, endpoint_id: int) -> str:
        """The endpoint's secret, or one line saying why it cannot be had."""
        try:
            secret = self.path(endpoint_id).read_text(encoding="ascii").strip()
        except (OSError, UnicodeError):
            raise UsageError(
                f"webhook endpoint {endpoint_id} has no signing secret in {self.folder}; "
                "remove it and add it again"
            ) from None
        if not secret.startswith(PREFIX):
            raise UsageError(
                f"{self.path(endpoint_id)} is not a signing secret; remove the endpoint and "
                "add it again"
            )
        return secret

    def forget(self, endpoint_id: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(endpoint_id).unlink()
