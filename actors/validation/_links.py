"""Finding links in free text as a browser or a mail client reads them: URLs, ``mailto:``
addresses, ``www.`` hosts and bare domains.

A URL's host is what a WHATWG URL parser (ada, the parser of Node.js) gives, the parser
browsers follow: ``https://evil.example\\@ember-labs.ai/pay`` goes to ``evil.example``,
because a backslash ends the host of an ``https`` URL. Hosts are compared in their ASCII
(IDNA) form, so ``münchen.de`` and ``xn--mnchen-3ya.de`` are one host.

A bare ``name.tld`` is a link when its last label is a top-level domain on the public
suffix list (bundled with ``publicsuffixlist``, never downloaded) or a reserved one
(``RESERVED_TLDS``): ``evil.ly`` and ``evil.museum`` are links, ``Node.js`` is prose.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

import ada_url
from publicsuffixlist import PublicSuffixList

from actors.validation._text import fold

RESERVED_TLDS: frozenset[str] = frozenset(
    ("example", "test", "invalid", "localhost", "local", "internal", "onion", "alt")
)
"""Special-use top-level domains (RFC 2606, 6761, 7686): not on the public suffix list, but
a mail client still makes a link of ``name.example``."""

_LINK = re.compile(
    r"""
    (?P<url>\b(?:https?:[/\\]+|[a-z][a-z0-9+.-]*:[/\\]{2})[^\s<>"'`]+)
    | (?P<mailto>\bmailto:[^\s<>"'`]+)
    | (?<![\w@.-])
      (?P<host>(?:[^\W_](?:[\w-]{0,62}[^\W_])?\.)+(?P<tld>[^\W\d_]{2,63}))
      (?P<path>[/?#\\][^\s<>"'`]*)?
      (?![\w@-])
    """,
    re.VERBOSE | re.IGNORECASE,
)
_HINT = re.compile(r":[/\\]|(?i:mailto:)|\.(?<=[^\W_]\.)[^\W\d_]")
"""A scheme's colon and slash, ``mailto:``, or a letter or digit, a dot and a letter
(``a.io``), one of which every link has.

Most texts have no link, and this finds that out far faster than ``_LINK`` can.
"""
_TRAILING = ".,;:!?)]}'\""
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True, slots=True)
class Link:
    """One link found in a text."""

    text: str
    """The link as written, without trailing punctuation."""
    host: str
    """The host it points to, as a browser reads it: lower-case ASCII (IDNA), without
    port, credentials or trailing dot; ``""`` when the link does not parse."""
    start: int
    """Where the link starts in the text."""
    end: int
    """Where the link, without trailing punctuation, ends in the text."""

    @property
    def key(self) -> str:
        """The link without scheme or ``www.``: what two mentions of one link share."""
        key = fold(self.text).split("://", 1)[-1].removeprefix("mailto:").rstrip("/")
        return key.removeprefix("www.")


def find_links(text: str) -> list[Link]:
    """Every link in ``text``, in order; email addresses without ``mailto:`` are not links."""
    if not _HINT.search(text):
        return []
    return scan_links(text)


def scan_links(text: str) -> list[Link]:
    """What ``find_links`` finds, without its shortcut for texts with no link."""
    links: list[Link] = []
    for match in _LINK.finditer(text):
        written = match.group().rstrip(_TRAILING)
        start, end = match.start(), match.start() + len(written)
        if match.group("url"):
            links.append(Link(written, url_host(written), start, end))
        elif match.group("mailto"):
            links += [Link(written, host, start, end) for host in mailto_hosts(written)]
        elif _is_bare_link(match):
            links.append(Link(written, host_of(match.group("host")), start, end))
    return links


def _is_bare_link(match: re.Match[str]) -> bool:
    """Whether a bare ``name.tld`` is a link: with a path, three labels, ``www.``, or a
    top-level domain."""
    labels = match.group("host").split(".")
    return (
        match.group("path") is not None
        or len(labels) >= 3
        or labels[0].casefold() == "www"
        or is_tld(match.group("tld"))
    )


@functools.cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList(accept_unknown=False, only_icann=True)


@functools.lru_cache(maxsize=4096)
def is_tld(label: str) -> bool:
    """Whether ``label`` is a top-level domain: ICANN's public suffix list, or reserved."""
    name = fold(label).strip(".")
    if not name or "." in name:
        return False
    return name in RESERVED_TLDS or _suffixes().is_public(host_of(name))


@functools.lru_cache(maxsize=4096)
def url_host(url: str) -> str:
    """The host a browser sends ``url`` to, or ``""`` when it does not parse as a URL."""
    try:
        return _clean(ada_url.URL(url).hostname)
    except ValueError:
        return ""


@functools.lru_cache(maxsize=4096)
def host_of(name: str) -> str:
    """A host or domain name as ``url_host`` gives it: ASCII, lower case, no trailing dot."""
    name = fold(name).strip()
    try:
        return _clean(ada_url.URL(f"http://{name}/").hostname)
    except ValueError:
        return name.rstrip(".")


def mailto_hosts(link: str) -> list[str]:
    """The domain of every address a ``mailto:`` link writes to (``to``, ``cc``, ``bcc``)."""
    target, _, query = link.partition(":")[2].partition("?")
    fields = [target, *(v for k, v in parse_qsl(query) if k.casefold() in ("to", "cc", "bcc"))]
    addresses = [a for field in fields for a in unquote(field).split(",") if a.strip()]
    return [host_of(a.rpartition("@")[2]) for a in addresses] or [""]


def _clean(host: str) -> str:
    return host.rstrip(".").removeprefix("[").removesuffix("]")


def within(host: str, domain: str) -> bool:
    """Whether ``host`` is ``domain`` or one of its subdomains, compared as ASCII hosts."""
    name = host_of(fold(domain).strip(".").removeprefix("www."))
    return bool(name) and bool(host) and (host == name or host.endswith("." + name))


def without_links(text: str) -> str:
    """``text`` with every link and email address blanked out."""
    for link in reversed(find_links(text)):
        text = text[: link.start] + " " + text[link.end :]
    return _EMAIL.sub(" ", text)
