"""Finding links in free text: URLs, ``www.`` hosts and bare domains."""

from __future__ import annotations

import re
from dataclasses import dataclass

from actors.validation._text import fold

COMMON_TLDS: frozenset[str] = frozenset((
    "com", "net", "org", "io", "co", "ai", "dev", "app", "biz", "info", "me", "tv", "cc",
    "us", "uk", "de", "fr", "nl", "es", "it", "eu", "ca", "au", "nz", "in", "jp", "cn", "ru",
    "br", "ch", "se", "no", "dk", "fi", "pl", "be", "at", "ie", "sg", "hk", "xyz", "tech",
    "cloud", "online", "site", "store", "shop", "link", "click", "top", "example",
))  # fmt: skip
"""Top-level domains that make a bare ``name.tld`` a link even without a path.

A bare two-label name with another ending, such as ``Node.js``, is prose, not a link;
with a path (``name.tld/x``), three or more labels, or a ``www.`` prefix it is a link.
"""

_LINK = re.compile(
    r"""
    (?P<url>\bhttps?://[^\s<>"'`]+)
    | (?<![\w@.-])
      (?P<host>(?:[^\W_](?:[\w-]{0,62}[^\W_])?\.)+(?P<tld>[^\W\d_]{2,63}))
      (?P<path>[/?#][^\s<>"'`]*)?
      (?![\w@-])
    """,
    re.VERBOSE | re.IGNORECASE,
)
_DOT_IN_NAME = re.compile(r"\.(?<=[^\W_]\.)[^\W\d_]")
"""A letter or digit, a dot and a letter (``a.io``), which every link without a scheme has.

Most texts have no link, and this, with a search for ``://``, finds that out far faster
than ``_LINK`` can. It starts with the dot so that the search can skip ahead to dots.
"""
_TRAILING = ".,;:!?)]}'\""
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True, slots=True)
class Link:
    """One link found in a text."""

    text: str
    """The link as written, without trailing punctuation."""
    host: str
    """The host it points to: folded, without port, credentials or trailing dot."""
    start: int
    """Where the link starts in the text."""
    end: int
    """Where the link, without trailing punctuation, ends in the text."""

    @property
    def key(self) -> str:
        """The link without scheme or ``www.``: what two mentions of one link share."""
        key = fold(self.text).split("://", 1)[-1].rstrip("/")
        return key.removeprefix("www.")


def find_links(text: str) -> list[Link]:
    """Every link in ``text``, in order; email addresses are not links."""
    if "://" not in text and not _DOT_IN_NAME.search(text):
        return []
    return scan_links(text)


def scan_links(text: str) -> list[Link]:
    """What ``find_links`` finds, without its shortcut for texts with no link."""
    links: list[Link] = []
    for match in _LINK.finditer(text):
        written = match.group().rstrip(_TRAILING)
        if match.group("url"):
            authority = re.split(r"[/?#]", written.split("://", 1)[1], maxsplit=1)[0]
            host = authority.rpartition("@")[2].rsplit(":", 1)[0]
        else:
            host = match.group("host")
            labels = host.split(".")
            is_link = (
                match.group("path") is not None
                or len(labels) >= 3
                or labels[0].casefold() == "www"
                or match.group("tld").casefold() in COMMON_TLDS
            )
            if not is_link:
                continue
        host = fold(host).rstrip(".")
        links.append(Link(written, host, match.start(), match.start() + len(written)))
    return links


def within(host: str, domain: str) -> bool:
    """Whether ``host`` is ``domain`` or one of its subdomains."""
    domain = fold(domain).strip(".").removeprefix("www.")
    return bool(domain) and (host == domain or host.endswith("." + domain))


def without_links(text: str) -> str:
    """``text`` with every link and email address blanked out."""
    for link in reversed(find_links(text)):
        text = text[: link.start] + " " + text[link.end :]
    return _EMAIL.sub(" ", text)
