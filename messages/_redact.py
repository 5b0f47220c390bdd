"""Redaction: secrets never reach anything Leadwright writes.

    with redacting(Redactor.from_environment()):
        ...                       # every writer calls redact(text) on what it writes
    redact("key sk-abc... echoed")  # "key [REDACTED] echoed"

A ``Redactor`` knows the run's secrets (the API key, the user name and password of a
base URL) and replaces each in every form a server or a log may show it: plain, base64
(as in ``Authorization: Basic``, alone or with its ``user:`` prefix) and URL-encoded. It
also replaces anything shaped like a credential whoever wrote it: an ``sk-`` key, a
``Bearer`` token, a ``Basic`` token that decodes to ``user:password``, and the
``user:password@`` of a URL.

Text from outside (an LLM's reply, a server's error) is redacted where it comes in; the
journal, on the hot path, replaces the known secrets alone (``redact_known``), which
costs nothing when none are known. ``redacting`` makes one redactor the current one for
a block (a context variable, so the tasks and worker threads of a run see it, and it
restores itself); ``redact`` applies the current one.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, final
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

REDACTED = "[REDACTED]"
MIN_SECRET = 4
"""Shorter secrets are not redacted: replacing every "abc" would garble the text."""

_REDACTED = REDACTED.encode()


def _word_start(match: re.Match[bytes]) -> bytes:
    """A key or token is replaced unless it is the tail of a word ("risk-management...")."""
    before = match.string[match.start() - 1 : match.start()] if match.start() else b""
    return match.group(0) if before.isalnum() or before == b"_" else _REDACTED


def _basic(match: re.Match[bytes]) -> bytes:
    """A ``Basic`` token whose base64 decodes to ``user:password`` is replaced."""
    token = match.group(1)
    try:
        text = base64.b64decode(token + b"=" * (-len(token) % 4), validate=True).decode()
    except (binascii.Error, ValueError):  # not base64, or not UTF-8 inside
        return match.group(0)
    return b"Basic " + _REDACTED if ":" in text and text.isprintable() else match.group(0)


_SHAPES: tuple[tuple[bytes, re.Pattern[bytes], Callable[[re.Match[bytes]], bytes]], ...] = (
    (b"sk-", re.compile(rb"sk-[A-Za-z0-9_\-]{8,}"), _word_start),
    (b"Bearer", re.compile(rb"Bearer\s+[A-Za-z0-9._\-~+/]{8,}=*"), _word_start),
    (b"Basic", re.compile(rb"Basic\s+([A-Za-z0-9+/]{4,}={0,2})"), _basic),
    (b"://", re.compile(rb"://[^\s/@:]+:[^\s/@]*@"), lambda _: b"://" + _REDACTED + b"@"),
)
"""Credential shapes: each pattern runs only on text that holds its literal trigger, and
each starts with a literal, so that the scan is fast."""


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
        data = text.encode("utf-8", "surrogatepass")
        cleaned = self.redact_bytes(data)
        return text if cleaned == data else cleaned.decode("utf-8", "surrogatepass")

    def redact_bytes(self, data: bytes) -> bytes:
        """UTF-8 ``data`` with every secret and credential-shaped run replaced."""
        data = self.known(data)
        for trigger, pattern, replace in _SHAPES:
            if trigger in data:
                data = pattern.sub(replace, data)
        return data

    def known(self, data: bytes) -> bytes:
        """UTF-8 ``data`` with the known secrets replaced, in every form; no shapes.

        For a hot path (the journal): with no secrets known it costs nothing, and text
        from outside had its shapes redacted where it came in.
        """
        for form in self._byte_forms:
            if form in data:
                data = data.replace(form, _REDACTED)
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


def redact_known(data: bytes) -> bytes:
    """UTF-8 ``data`` with the current redactor's secrets replaced (see ``Redactor.known``)."""
    return current_redactor().known(data)


def current_redactor() -> Redactor:
    """The redactor ``redact`` applies here."""
    return _current.get() or _SHAPES_ONLY
