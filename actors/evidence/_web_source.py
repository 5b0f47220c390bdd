"""The web evidence source: a company's site, read once per run, cached in the run directory.

    async with WebSource(cache_dir=out / "web", allow_private=False) as web:
        evidence = await web.gather(lead)  # (Evidence(evidence_id="w1", source=URL, ...), ...)

A lead's site is its ``website`` when the row gives one (port and path kept), else
``https://`` and its domain. The home page is read, then up to three pages it links to
on the same origin (an about, a customers and a news page: ``_web_text.LINKED_PAGES``);
their main text, extracted with trafilatura, becomes evidence items ``w1``, ``w2``, ...
of 40 to 400 characters, the home page's first, at most ``max_items`` in all.

One company, one reading: leads are keyed by their domain (else their site), concurrent
leads of one company wait for the one reading under way, and a site read within ``ttl``
seconds is taken from ``cache_dir`` (one JSON file per site) with no request at all. A
site that could not be read is remembered for the run, not on disk, so the next run
tries again.

Every fetch is guarded (``_web_fetch``, ``_web_guard``): robots.txt is obeyed, hosts are
checked after DNS resolution and after every redirect, requests are bounded in time,
size, media type and redirects. A site that yields nothing is no error: ``gather``
returns ``()`` and ``why_empty(lead)`` says why in words a person can act on (an HTTP
status, a timeout, not an HTML page, robots.txt, a refused address). ``statistics()``
counts what happened.

The seams are the ``httpx2.AsyncClient`` (its transport), the ``Resolver`` and the clock.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self, final

import anyio
from anyio import to_thread

from actors.evidence._web_fetch import USER_AGENT, Failure, Fetcher, Page, Robots
from actors.evidence._web_guard import Resolver, SystemResolver
from actors.evidence._web_text import MAX_CHARS, MIN_CHARS, linked_pages, page_texts
from actors.runtime import lazy_module, trusted_tls
from messages import ClosedResourceError, Evidence, Lead, UsageError

if TYPE_CHECKING:
    import httpx2
else:
    httpx2 = lazy_module("httpx2")

__all__ = ["MAX_CHARS", "MIN_CHARS", "USER_AGENT", "WebSource", "WebSourceStatistics"]

DEFAULT_TTL = 7 * 24 * 3600.0
"""Seconds a site read stays fresh in the run directory: a week."""


@final
@dataclass(frozen=True, slots=True)
class WebSourceStatistics:
    """What a ``WebSource`` has done so far."""

    sites: int
    """Sites read over the network (once each, however many leads they serve)."""
    cached: int
    """Sites taken from the run directory's cache, with no request."""
    pages: int
    """Pages read, home and linked pages together."""
    refused: int
    """Sites not read by choice: a guarded address, robots.txt, no site to read."""
    failed: int
    """Sites whose home page could not be read: status, timeout, media type, network."""


@dataclass(frozen=True, slots=True)
class _Reading:
    """One site, as read: its evidence (source URL, text), or why there is none."""

    site: str
    fetched_at: float
    evidence: tuple[tuple[str, str], ...] = ()
    failure: str | None = None


@final
class WebSource:
    """An ``EvidenceSource`` that reads each lead's company site (see the module docstring).

    ``timeout`` bounds each request; ``max_bytes`` each page's body; ``max_items`` the
    evidence of one site; ``max_pages`` the pages read per site, home page included.
    ``allow_private`` lets loopback and private addresses through (metadata never).
    """

    def __init__(
        self,
        *,
        client: httpx2.AsyncClient | None = None,
        resolver: Resolver | None = None,
        timeout: float = 10.0,
        max_bytes: int = 1_000_000,
        max_items: int = 12,
        max_pages: int = 4,
        allow_private: bool = False,
        cache_dir: Path | None = None,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not timeout > 0:
            raise UsageError(f"timeout={timeout!r} must be > 0 seconds.")
        if not ttl >= 0:
            raise UsageError(f"ttl={ttl!r} must be >= 0 seconds.")
        for name, count in (("max_bytes", max_bytes), ("max_items", max_items)):
            if count < 1:
                raise UsageError(f"{name}={count!r} must be >= 1.")
        if max_pages < 1:
            raise UsageError(f"max_pages={max_pages!r} must be >= 1.")
        self._client = client
        self._owns_client = client is None
        self._resolver = resolver or SystemResolver()
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._max_items = max_items
        self._max_pages = max_pages
        self._allow_private = allow_private
        self._cache_dir = cache_dir
        self._ttl = ttl
        self._clock = clock
        self._closed = False
        self._fetcher: Fetcher | None = None
        self._robots: Robots | None = None
        self._readings: dict[str, _Reading] = {}
        self._reading_now: dict[str, anyio.Event] = {}
        self._sites = self._cached = self._pages = self._refused = self._failed = 0

    async def gather(self, lead: Lead) -> tuple[Evidence, ...]:
        """Evidence ``w1``, ``w2``, ... from the lead's company site; ``()`` if there is none."""
        if self._closed:
            raise ClosedResourceError("Cannot gather evidence, as the WebSource is closed.")
        key, site = _site_of(lead)
        if site is None:
            self._refused += 1
            self._readings[key] = _Reading("", 0.0, failure="the lead has no website or domain")
            return ()
        reading = await self._reading(key, site)
        return tuple(
            Evidence(evidence_id=f"w{number}", source=source, text=text)
            for number, (source, text) in enumerate(reading.evidence, start=1)
        )

    async def read_page(self, url: str) -> tuple[str, ...] | str:
        """The evidence texts of the one page at ``url`` (a page a reviewer pointed to),
        read as the site's pages are: robots.txt obeyed, the address guarded, the request
        bounded; or why it could not be read, in words a person can act on."""
        if self._closed:
            raise ClosedResourceError("Cannot read a page, as the WebSource is closed.")
        fetcher, robots = self._tools()
        try:
            parsed = httpx2.URL(url)
        except (httpx2.InvalidURL, ValueError):
            parsed = None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
            return f"{url} is not a web address; give one starting with https://"
        refused = await robots.refusal(url)
        if refused is not None:
            return refused
        page = await fetcher.get(url)
        if isinstance(page, Failure):
            return page.reason
        self._pages += 1
        texts = await to_thread.run_sync(page_texts, page, self._max_items)
        if not texts:
            return f"{page.url} has no text of {MIN_CHARS} characters or more"
        return tuple(texts)

    def why_empty(self, lead: Lead) -> str:
        """Why ``gather`` found no evidence for ``lead``, and what to do about it."""
        key, _ = _site_of(lead)
        reading = self._readings.get(key)
        cause = reading.failure if reading is not None else None
        if cause is None:
            site = reading.site if reading is not None else "the site"
            cause = f"{site} has no text of {MIN_CHARS} characters"
        what = lead.domain or "the company"
        return f"{cause}; pass --kb FILE with an entry for {what}, or give the lead a website"

    def statistics(self) -> WebSourceStatistics:
        """A snapshot of the counts so far."""
        return WebSourceStatistics(
            sites=self._sites,
            cached=self._cached,
            pages=self._pages,
            refused=self._refused,
            failed=self._failed,
        )

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

    async def _reading(self, key: str, site: str) -> _Reading:
        """The site's reading: done already, under way for another lead, cached, or now."""
        while key not in self._readings:
            under_way = self._reading_now.get(key)
            if under_way is not None:
                await under_way.wait()  # the reader may have been cancelled: look again
                continue
            self._reading_now[key] = anyio.Event()
            try:
                reading = await self._load(key)
                if reading is not None:
                    self._cached += 1
                else:
                    reading = await self._read_site(site)
                    if reading.failure is None:
                        await self._store(key, reading)
                self._readings[key] = reading
            finally:
                self._reading_now.pop(key).set()
        return self._readings[key]

    async def _read_site(self, site: str) -> _Reading:
        fetcher, robots = self._tools()
        refused = await robots.refusal(site)
        if refused is not None:
            self._refused += 1
            return _Reading(site, self._clock(), failure=refused)
        home = await fetcher.get(site)
        if isinstance(home, Failure):
            if home.refused:
                self._refused += 1
            else:
                self._failed += 1
            return _Reading(site, self._clock(), failure=home.reason)
        self._sites += 1
        evidence = await self._evidence_of(home, ())
        links = await to_thread.run_sync(linked_pages, home, self._max_pages - 1)
        with anyio.move_on_after(self._timeout * 3):  # the linked pages share one budget
            for link in links:
                if len(evidence) >= self._max_items:
                    break
                if await robots.refusal(link) is not None:
                    continue
                page = await fetcher.get(link)
                if isinstance(page, Page):
                    evidence = await self._evidence_of(page, evidence)
        return _Reading(site, self._clock(), evidence=evidence)

    async def _evidence_of(
        self, page: Page, evidence: tuple[tuple[str, str], ...]
    ) -> tuple[tuple[str, str], ...]:
        """``evidence`` and the page's new texts, up to ``max_items``."""
        self._pages += 1
        # Extracting a large page takes up to a second: keep it off the event loop.
        texts = await to_thread.run_sync(page_texts, page, self._max_items)
        seen = {text.casefold() for _, text in evidence}
        fresh = [(page.url, text) for text in texts if text.casefold() not in seen]
        return (*evidence, *fresh)[: self._max_items]

    def _tools(self) -> tuple[Fetcher, Robots]:
        if self._fetcher is None or self._robots is None:
            if self._client is None:
                # Created in the event loop that uses it. Requests go to checked addresses
                # with the site's name for TLS, and a pool keyed by address could hand one
                # site's connection (verified for its name) to another site on the same
                # address: so no connection is kept for reuse.
                self._client = httpx2.AsyncClient(
                    limits=httpx2.Limits(max_keepalive_connections=0), verify=trusted_tls()
                )
            self._fetcher = Fetcher(
                self._client,
                self._resolver,
                timeout=self._timeout,
                max_bytes=self._max_bytes,
                allow_private=self._allow_private,
            )
            self._robots = Robots(self._fetcher)
        return self._fetcher, self._robots

    def _path(self, key: str) -> Path | None:
        if self._cache_dir is None:
            return None
        return self._cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"

    async def _load(self, key: str) -> _Reading | None:
        """The site's reading from the cache, if it is there and fresh."""
        path = self._path(key)
        if path is None:
            return None
        try:
            data = json.loads(await to_thread.run_sync(path.read_bytes))
            reading = _Reading(
                site=str(data["site"]),
                fetched_at=float(data["fetched_at"]),
                evidence=tuple((str(s), str(t)) for s, t in data["evidence"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or unreadable: read the site again
        fresh = 0 <= self._clock() - reading.fetched_at < self._ttl
        return reading if fresh else None

    async def _store(self, key: str, reading: _Reading) -> None:
        path = self._path(key)
        if path is None:
            return
        record = {
            "key": key,
            "site": reading.site,
            "fetched_at": reading.fetched_at,
            "evidence": [list(item) for item in reading.evidence],
        }
        await to_thread.run_sync(_write_atomically, path, json.dumps(record, ensure_ascii=False))


def _site_of(lead: Lead) -> tuple[str, str | None]:
    """The key a lead's company is cached under, and the URL its reading starts at."""
    if lead.website:
        return (lead.domain or lead.website), lead.website
    if lead.domain:
        return lead.domain, f"https://{lead.domain}/"
    return f"lead:{lead.lead_id}", None


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
