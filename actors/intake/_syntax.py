"""Syntax of the values intake checks: email addresses, web domains, characters.

Deliberately simple and robust rather than RFC-complete: an address that passes can be
written to, and a domain that passes can be looked up.
"""

from __future__ import annotations

import re
import unicodedata

import idna

# A label is letters and digits (any script, for IDNs) with inner hyphens, up to 63.
_LABEL = re.compile(r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?")
_LOCAL_FORBIDDEN = re.compile(r'[\s"(),:;<>@\[\\\]]')
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://")
_END_OF_HOST = re.compile(r"[/?#]")
# Control characters (Unicode category Cc) and lone surrogates, which no UTF-8 file can
# hold but a JSON escape can; free text may still hold tabs and line breaks.
_BAD_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def normalise_email(text: str) -> str | None:
    """An address in the one form that identity and duplicate checks compare: Unicode
    NFKC (fullwidth letters, decomposed accents and their composed forms become one), lower
    case, and the domain in its IDNA ASCII form (``münchen.de`` is ``xn--mnchen-3ya.de``).
    ``None`` when the domain is no valid internationalised name.

    The local part is kept as written otherwise: ``ann+news@x.io`` and ``ann@x.io`` are two
    addresses, because what a ``+`` means is up to each mail provider.
    """
    address = unicodedata.normalize("NFKC", text.strip()).lower()
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None
    return f"{local}@{ascii_domain}"


def is_email(address: str) -> bool:
    """One ``@``; a local part without spaces or stray dots; a valid domain."""
    local, _, domain = address.rpartition("@")
    return (
        address.count("@") == 1
        and 0 < len(local) <= 64
        and not _LOCAL_FORBIDDEN.search(local)
        and not local.startswith(".")
        and not local.endswith(".")
        and ".." not in local
        and is_domain(domain)
    )


def is_domain(domain: str) -> bool:
    """Two or more valid labels, the last one not all digits (so no IP address)."""
    labels = domain.split(".")
    return (
        len(domain) <= 253
        and len(labels) >= 2
        and all(_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    )


def normalise_domain(value: str) -> str:
    """Lower case, without scheme, user, port, path, trailing dot or ``www.``."""
    host = value.strip().lower()
    if match := _SCHEME.match(host):
        host = host[match.end() :]
    host = _END_OF_HOST.split(host, maxsplit=1)[0]
    host = host.rpartition("@")[2].partition(":")[0].rstrip(".")
    if host.startswith("www.") and "." in host[4:]:
        host = host[4:]
    return host


JOINERS = frozenset("\u200c\u200d")
"""Format characters a lead may hold: the zero-width (non-)joiners that Persian, Indic
scripts and emoji sequences need. Every other one (category Cf) is refused."""


def bad_character(text: str, *, multiline: bool) -> str | None:
    """The first character ``text`` must not hold, described, or ``None``."""
    match = (_BAD_IN_TEXT if multiline else _BAD_IN_LINE).search(text)
    if match is not None:
        code = ord(match.group())
        kind = "an unpaired surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
        return f"{kind} U+{code:04X}"
    return format_character(text)


def format_character(text: str) -> str | None:
    """The first invisible format character (Unicode category Cf, but for ``JOINERS``) in
    ``text``, described, or ``None``.

    A bidirectional override such as U+202E shows the text after it reversed, and a
    zero-width space hides a word from a search: neither belongs in a name or an email.
    """
    if text.isprintable():  # the common case, in C: no format character at all
        return None
    for character in text:
        if unicodedata.category(character) == "Cf" and character not in JOINERS:
            name = unicodedata.name(character, "a format character")
            return f"an invisible format character U+{ord(character):04X} ({name})"
    return None
