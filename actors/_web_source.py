"""The web evidence source: a company's home page, fetched with httpx and read as plain text.

    async with WebSource() as web:
        evidence = await web.gather(lead)  # (Evidence(evidence_id="w1", source=URL, text=...),)

``gather`` fetches ``https://{lead.domain}/`` and returns the page's title, meta
description, headings and paragraphs as evidence items of 40 to 400 characters, in that
order, deduplicated: each text is the page's own wording with its whitespace collapsed,
so a claim can quote it verbatim. Script, style, noscript, nav, footer, svg, template
and iframe content is never read.

A problem with one lead's page is no error: a timeout, a refused connection, a 4xx or
5xx, a body that is not ``text/html`` or ``text/plain``, a redirect off the site or a
page the parser rejects all yield ``()``. Research then goes on without evidence, and
the validator sends the lead to review because no claim can be grounded. Nothing is
logged here; ``statistics()`` counts what happened, and ``why_empty(lead)`` says, once,
why a lead got nothing (its cause and the fix), for the caller to log.

A lead's ``domain`` is untrusted input, so the source will not be aimed at internal
hosts by lead data (server-side request forgery): ``public_host`` refuses an empty name,
one with spaces, a port or any character a host name cannot hold, an IP literal, a
single-label name (``localhost``, ``intranet``) and local-network suffixes (``.local``,
``.internal``, ...), with no request sent. Every redirect target is checked the same
way and must stay on the lead's site. The guard reads names only: a public name whose
DNS points at a private address is not caught here.

The seam is the ``httpx2.AsyncClient`` (its transport): pass one to share a connection
pool, or to route requests elsewhere, as the tests do to reach a local server. The
source sets its own headers, timeout and redirect policy on every request, and closes
only a client it created.
"""

from __future__ import annotations

import codecs
import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from types import TracebackType
from typing import TYPE_CHECKING, Self, final

import anyio
from anyio import to_thread

from actors._lazy import lazy_module
from messages import ClosedResourceError, Evidence, Lead, UsageError

if TYPE_CHECKING:
    import httpx2
else:
    httpx2 = lazy_module("httpx2")  # a few tenths of a second: only for --sources web

USER_AGENT = "Leadwright/0.1 (+research)"
MAX_REDIRECTS = 3
MIN_CHARS = 40
MAX_CHARS = 400

_HEADERS = {"User-Agent": USER_AGENT, "Accept": "text/html, text/plain;q=0.9"}
_MEDIA_TYPES = frozenset({"text/html", "text/plain"})
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_LOCAL_TLDS = frozenset(
    {"localhost", "localdomain", "local", "internal", "intranet", "lan", "home", "corp", "arpa"}
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_SENTENCE_GAP = re.compile(r"""(?:(?<=[.!?])|(?<=[.!?]["'”’)])) (?=\S)""")


def public_host(domain: str) -> str | None:
    """``domain`` as the lower-case ASCII host name to fetch, or None if it names no public site."""
    try:
        name = domain.removesuffix(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None  # an empty label, a label over 63 characters
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        pass
    else:
        return None  # an IP literal: "127.0.0.1", "10.0.0.1", "[::1]"
    labels = name.split(".")
    if len(labels) < 2 or len(name) > 253:
        return None  # "", "localhost", "intranet", "2130706433"
    if not all(_LABEL.fullmatch(label) for label in labels):
        return None  # spaces, a port, brackets, "@", "_", an empty label
    if labels[-1].isdigit() or labels[-1] in _LOCAL_TLDS:
        return None  # an IPv4 shorthand ("127.1"), a name for the local network
    return name


@dataclass(frozen=True, slots=True)
class WebSourceStatistics:
    """What a ``WebSource`` has done so far."""

    pages: int
    """Pages read and turned into evidence (possibly none)."""
    refused: int
    """Leads whose domain ``public_host`` refused: no request was sent."""
    failed: int
    """Fetches that read no page: network, timeout, status, content type, redirect, parse."""


@dataclass(frozen=True, slots=True)
class _Page:
    url: httpx2.URL
    media_type: str
    charset: str | None
    body: bytes
    complete: bool
    """False when the body was cut at ``max_bytes``."""


@final
class WebSource:
    """An ``EvidenceSource`` that reads the lead's home page (see the module docstring).

    ``timeout`` bounds the whole fetch, redirects and body included. At most
    ``max_bytes`` of body are read; the rest is never downloaded. At most ``max_items``
    evidence items are kept, the first ones.
    """

    def __init__(
        self,
        *,
        client: httpx2.AsyncClient | None = None,
        timeout: float = 10.0,
        max_bytes: int = 1_000_000,
        max_items: int = 8,
    ) -> None:
        if not timeout > 0:
            raise UsageError(f"timeout={timeout!r} must be > 0 seconds.")
        if max_bytes < 1:
            raise UsageError(f"max_bytes={max_bytes!r} must be >= 1.")
        if max_items < 1:
            raise UsageError(f"max_items={max_items!r} must be >= 1.")
        self._client = client
        self._owns_client = client is None
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._max_items = max_items
        self._closed = False
        self._pages = 0
        self._refused = 0
        self._failed = 0
        self._causes: dict[str, str] = {}
        """Why each lead's gather found nothing, until ``why_empty`` takes it."""

    async def gather(self, lead: Lead) -> tuple[Evidence, ...]:
        """Evidence ``w1``, ``w2``, ... from the lead's home page; ``()`` if there is none."""
        if self._closed:
            raise ClosedResourceError("Cannot gather evidence, as the WebSource is closed.")
        host = public_host(lead.domain)
        if host is None:
            self._refused += 1
            self._causes[lead.lead_id] = f"{lead.domain!r} is not a public host name"
            return ()
        page: _Page | str = f"no reply within {self._timeout:g} s"
        with anyio.move_on_after(self._timeout):
            page = await self._fetch(host)
        if isinstance(page, str):
            self._failed += 1
            self._causes[lead.lead_id] = f"https://{host}/ could not be read: {page}"
            return ()
        # Parsing a large page takes up to a second: keep it off the event loop.
        texts = await to_thread.run_sync(_texts, page, self._max_items)
        if texts is None:
            self._failed += 1
            self._causes[lead.lead_id] = f"{page.url} is markup the parser cannot read"
            return ()
        self._pages += 1
        if not texts:
            self._causes[lead.lead_id] = f"{page.url} has no text of {MIN_CHARS} characters"
        source = str(page.url)
        return tuple(
            Evidence(evidence_id=f"w{number}", source=source, text=text)
            for number, text in enumerate(texts, start=1)
        )

    def why_empty(self, lead: Lead) -> str:
        """Why ``gather`` found no evidence for ``lead``, and what to do; forgets it after."""
        cause = self._causes.pop(lead.lead_id, "the page held no usable text")
        return f"{cause}; check the network, or pass --kb FILE with an entry for {lead.domain}"

    def statistics(self) -> WebSourceStatistics:
        """A snapshot of the counts so far."""
        return WebSourceStatistics(pages=self._pages, refused=self._refused, failed=self._failed)

    async def aclose(self) -> None:
        """Refuse further gathers, and close the client if this source created it."""
        self._closed = True
        if self._owns_client and self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _fetch(self, host: str) -> _Page | str:
        """The page, or why there is none."""
        if self._client is None:
            self._client = httpx2.AsyncClient()  # created in the event loop that uses it
        url = httpx2.URL(f"https://{host}/")
        try:
            for _ in range(MAX_REDIRECTS + 1):
                async with self._client.stream(
                    "GET", url, headers=_HEADERS, timeout=self._timeout, follow_redirects=False
                ) as response:
                    if response.has_redirect_location:
                        url = url.join(response.headers["Location"])
                        if not _on_site(url, host):
                            return f"it redirects off the site, to {url}"
                        continue
                    media_type, charset = _content_type(response.headers.get("Content-Type", ""))
                    if not response.is_success:
                        return f"HTTP {response.status_code}"
                    if media_type not in _MEDIA_TYPES:
                        return f"its content type is {media_type or 'missing'}, not HTML or text"
                    body, complete = await self._read(response)
                    return _Page(url, media_type, charset, body, complete)
        except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return f"more than {MAX_REDIRECTS} redirects"

    async def _read(self, response: httpx2.Response) -> tuple[bytes, bool]:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self._max_bytes:
                return bytes(body[: self._max_bytes]), False
        return bytes(body), True


def _on_site(url: httpx2.URL, host: str) -> bool:
    """Whether a redirect target stays on the lead's site: its domain, less any ``www.``,
    or a subdomain of that, on the default port. Without the public suffix list this is
    stricter than "the same registrable domain": ``blog.acme.com`` may not go to ``acme.com``.
    """
    target = public_host(url.raw_host.decode("ascii"))
    site = host.removeprefix("www.")
    return (
        url.scheme in ("http", "https")
        and url.port is None
        and target is not None
        and (target == site or target.endswith("." + site))
    )


def _content_type(header: str) -> tuple[str, str | None]:
    """The media type, lower case, and the declared charset, if any."""
    media_type, _, parameters = header.partition(";")
    charset = None
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return media_type.strip().lower(), charset


def _decode(body: bytes, charset: str | None, media_type: str) -> str:
    """A byte-order mark, else the declared charset, else a ``<meta charset>``, else UTF-8.

    Undecodable bytes become U+FFFD. Latin-1 and ASCII labels decode as windows-1252, as
    browsers do; an unknown label falls back to UTF-8.
    """
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(encoding, errors="replace")
    if charset is None and media_type == "text/html":
        match = _META_CHARSET.search(body[:1024])
        charset = match.group(1).decode("ascii") if match else None
    try:
        encoding = codecs.lookup(charset or "utf-8").name
    except LookupError:
        encoding = "utf-8"
    if encoding in ("iso8859-1", "ascii"):
        encoding = "cp1252"
    return body.decode(encoding, errors="replace")


def _texts(page: _Page, limit: int) -> list[str] | None:
    """The page's evidence texts, or None if the parser rejects the page."""
    text = _decode(page.body, page.charset, page.media_type)
    if page.media_type == "text/plain":
        blocks = re.split(r"\n\s*\n", text)
        if not page.complete:
            blocks = blocks[:-1]  # the last block was cut mid-way
        return _items(blocks, limit)
    parser = _PageParser()
    try:
        parser.feed(text)
        if page.complete:
            parser.close()
            parser.flush()
    except AssertionError:  # html.parser's word for markup it cannot read
        return None
    head = [t for t in (parser.title, parser.description) if t is not None]
    return _items([*head, *parser.blocks], limit)


def _items(blocks: Iterable[str], limit: int) -> list[str]:
    """Normalised, 40-400 characters, no U+FFFD, deduplicated ignoring case; the first ``limit``."""
    items: dict[str, str] = {}
    for block in blocks:
        for piece in _pieces(_normalise(block)):
            if len(piece) >= MIN_CHARS and "\ufffd" not in piece:
                items.setdefault(piece.casefold(), piece)
                if len(items) == limit:
                    return list(items.values())
    return list(items.values())


def _pieces(block: str) -> Iterator[str]:
    """The block, or if longer than 400 characters, runs of whole sentences up to 400.

    Each piece is a substring of the block; a sentence over 400 characters is dropped.
    """
    if len(block) <= MAX_CHARS:
        yield block
        return
    run = ""
    for sentence in _SENTENCE_GAP.split(block):
        joined = f"{run} {sentence}" if run else sentence
        if len(joined) <= MAX_CHARS:
            run = joined
            continue
        yield run
        run = sentence if len(sentence) <= MAX_CHARS else ""
    yield run


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split()))


_SKIPPED = frozenset({"script", "style", "noscript", "nav", "footer", "svg", "template", "iframe"})
_READ = frozenset({"title", "p", "h1", "h2", "h3", "h4", "h5", "h6"})
_BREAKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "dd", "details", "div", "dl", "dt",
        "figcaption", "figure", "form", "head", "header", "hr", "html", "li", "main", "ol",
        "pre", "section", "summary", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip


class _PageParser(HTMLParser):
    """Collects the title, the meta description, and the text of headings and paragraphs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: str | None = None
        self.description: str | None = None
        self.blocks: list[str] = []
        self._skipping: list[str] = []
        self._open: str | None = None
        self._parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping.append(tag)
        elif self._skipping:
            pass
        elif tag == "meta":
            names = {key: value or "" for key, value in attrs}
            if names.get("name", "").lower() == "description" and self.description is None:
                self.description = names.get("content", "")
        elif tag == "br":
            self.handle_data(" ")
        elif tag in _READ or tag in _BREAKS:
            self.flush()
            self._open = tag if tag in _READ else None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIPPED:  # <svg/> opens nothing to skip
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skipping:
            while self._skipping.pop() != tag:
                pass
        elif not self._skipping and (tag == self._open or tag in _BREAKS):
            self.flush()

    def handle_data(self, data: str) -> None:
        if self._open is not None and not self._skipping:
            self._parts.append(data)

    def flush(self) -> None:
        """End the open heading, paragraph or title, if any."""
        if self._open == "title":
            if self.title is None:
                self.title = "".join(self._parts)
        elif self._open is not None:
            self.blocks.append("".join(self._parts))
        self._open = None
        self._parts = []
