"""Redaction: secrets never reach anything Leadwright writes.

    with redacting(Redactor.from_environment()):
        ...                       # every writer calls redact(text) on what it writes
    redact("key sk-abc... echoed")  # "key [REDACTED] echoed"

A ``Redactor`` knows the run's secrets (the API key, the user name and password of a
base URL) and replaces each in every form a server or a log may show it: plain, base64
(as in ``Authorization: Basic``, alone or with its ``user:`` prefix) and URL-encoded. It
also replaces anything shaped like a credential whoever wrote it: an ``sk-`` key, a
``Bearer`` token, a ``Basic`` token that decodes to ``user:password``, and the
``user:password@`` of a URL. ``redacting`` makes one redactor the current one for a block
(a context variable, so the tasks and worker threads of a run see it, and it restores
itself); ``redact`` applies the current one.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, final
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

REDACTED = "[REDACTED]"
MIN_SECRET = 4
"""Shorter secrets are not redacted: replacing every "abc" would garble the text."""

_KEY = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}|\bBearer\s+[A-Za-z0-9._\-~+/]{8,}=*")
_BASIC = re.compile(r"\bBasic\s+([A-Za-z0-9+/]{4,}={0,2})")
_USERINFO = re.compile(r"(?<=://)[^\s/@:]+:[^\s/@]*@")
_TRIGGERS = ("sk-", "Bearer", "Basic", "://")
"""Cheap substring checks: most text holds none of them, and skips the patterns."""
_BYTE_TRIGGERS = tuple(trigger.encode() for trigger in _TRIGGERS)


def without_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` removed: the form a base URL may be stored in."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


@final
class Redactor:
    """Replaces ``secrets``, in every form, and credential-shaped text with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str] = (), *, urls: Iterable[str] = ()) -> None:
        plain = [s for s in secrets if s]
        for url in urls:
            parts = urlsplit(url)
            if parts.username is not None or parts.password is not None:
                user, password = unquote(parts.username or ""), unquote(parts.password or "")
                plain += [f"{user}:{password}", password, user]
        forms: set[str] = set()
        for secret in plain:
            if len(secret) < MIN_SECRET:
                continue
            encoded = base64.b64encode(secret.encode()).decode()
            forms |= {secret, quote(secret, safe=""), quote_plus(secret), encoded}
            forms.add(encoded.rstrip("="))
        # Longest first, so "user:pass" goes before "pass" and leaves nothing behind.
        self.forms = tuple(sorted(forms, key=len, reverse=True))
        self._byte_forms = tuple(form.encode() for form in self.forms)

    @staticmethod
    def from_environment(environ: Mapping[str, str] | None = None) -> Redactor:
        """The redactor for ``OPENAI_API_KEY`` and the credentials in ``OPENAI_BASE_URL``."""
        env = os.environ if environ is None else environ
        return Redactor([env.get("OPENAI_API_KEY", "")], urls=[env.get("OPENAI_BASE_URL", "")])

    def __call__(self, text: str) -> str:
        """``text`` with every secret and credential-shaped run replaced."""
        for form in self.forms:
            if form in text:
                text = text.replace(form, REDACTED)
        if any(trigger in text for trigger in _TRIGGERS):
            text = _KEY.sub(REDACTED, text)
            text = _BASIC.sub(_basic, text)
            text = _USERINFO.sub(REDACTED + "@", text)
        return text

    def redact_bytes(self, data: bytes) -> bytes:
        """UTF-8 ``data`` redacted; decoded only when it may hold something to redact."""
        if any(form in data for form in self._byte_forms) or any(
            trigger in data for trigger in _BYTE_TRIGGERS
        ):
            return self(data.decode("utf-8")).encode("utf-8")
        return data

    def clean(self, value: Any) -> Any:
        """``value`` with every string in it redacted, through lists, tuples and mappings."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list | tuple):
            return [self.clean(item) for item in value]
        if isinstance(value, Mapping):
            return {key: self.clean(item) for key, item in value.items()}
        return value


def _basic(match: re.Match[str]) -> str:
    """A ``Basic`` token whose base64 decodes to ``user:password`` is replaced."""
    token = match.group(1)
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return match.group(0)
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return match.group(0)
    if ":" in text and text.isprintable():
        return f"Basic {REDACTED}"
    return match.group(0)


_SHAPES_ONLY = Redactor()
"""The redactor where none was made current: it knows no secrets, only their shapes."""
_current: ContextVar[Redactor | None] = ContextVar("redactor", default=None)


@contextmanager
def redacting(redactor: Redactor) -> Iterator[Redactor]:
    """Make ``redactor`` the one ``redact`` applies, for this block and what it starts."""
    token = _current.set(redactor)
    try:
        yield redactor
    finally:
        _current.reset(token)


def redact(text: str) -> str:
    """``text`` as the current redactor leaves it; credential shapes go even with no secrets."""
    return current_redactor()(text)


def redact_bytes(data: bytes) -> bytes:
    """UTF-8 ``data`` as the current redactor leaves it (the same object when it is clean)."""
    return current_redactor().redact_bytes(data)


def current_redactor() -> Redactor:
    """The redactor ``redact`` applies here."""
    return _current.get() or _SHAPES_ONLY
