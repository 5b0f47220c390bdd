"""Fetching one page for the web source: guarded, bounded, and honest about what went wrong.

``Fetcher.get`` follows at most ``MAX_REDIRECTS`` redirects, checks every host it is sent
to after resolving it (``_web_guard``) and connects to the address it checked, bounds
each request by ``timeout``, reads at most ``max_bytes`` of body (a page that declares
more is not read at all), and accepts only the media types it is asked for. Whatever
goes wrong comes back as a ``Failure`` whose reason a person can read; nothing raises.
``Robots`` answers, per origin, whether robots.txt lets Leadwright read a page.
"""

from __future__ import annotations

import urllib.robotparser
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, final

import anyio

from actors.evidence._web_guard import Resolver, checked_address
from actors.runtime import lazy_module

if TYPE_CHECKING:
    import httpx2
else:
    httpx2 = lazy_module("httpx2")  # a few tenths of a second: only for --sources web

USER_AGENT = "Leadwright/0.1 (+research)"
ROBOTS_AGENT = "Leadwright"
"""The product token robots.txt rules name."""
MAX_REDIRECTS = 3
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
ROBOTS_BYTES = 512 * 1024
"""RFC 9309: a crawler must read at least 500 KiB of robots.txt; more is not read."""

_ACCEPT = "text/html, application/xhtml+xml, text/plain;q=0.9"


@final
@dataclass(frozen=True, slots=True)
class Page:
    """A page that was read."""

    url: str
    """Where it was read, after redirects."""
    media_type: str
    charset: str | None
    body: bytes
    complete: bool
    """False when the body was cut at the byte cap."""


@final
@dataclass(frozen=True, slots=True)
class Failure:
    """Why a page was not read."""

    reason: str
    refused: bool = False
    """True when the source chose not to ask (a guarded address, robots.txt)."""
    status: int | None = None
    """The HTTP status, when the server answered with an error."""


@final
class Fetcher:
    """Reads pages for the web source (see the module docstring)."""

    def __init__(
        self,
        client: httpx2.AsyncClient,
        resolver: Resolver,
        *,
        timeout: float,
        max_bytes: int,
        allow_private: bool,
    ) -> None:
        self._client = client
        self._resolver = resolver
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._allow_private = allow_private

    async def get(
        self, url: str, *, types: Collection[str] = PAGE_TYPES, max_bytes: int | None = None
    ) -> Page | Failure:
        """The page at ``url``, or why it was not read."""
        cap = self._max_bytes if max_bytes is None else max_bytes
        try:
            target = httpx2.URL(url)
        except (httpx2.InvalidURL, ValueError) as exc:
            return Failure(f"{url} is not a web address ({exc})")
        try:
            with anyio.fail_after(self._timeout):
                return await self._follow(target, types, cap)
        except TimeoutError:
            return Failure(f"{target} gave no reply within {self._timeout:g} s")

    async def _follow(self, url: httpx2.URL, types: Collection[str], cap: int) -> Page | Failure:
        for _ in range(MAX_REDIRECTS + 1):
            if url.scheme not in ("http", "https") or not url.host:
                return Failure(f"{url} is not an http or https address", refused=True)
            port = url.port or (443 if url.scheme == "https" else 80)
            address = await checked_address(
                self._resolver, url.host, port, allow_private=self._allow_private
            )
            if isinstance(address, str):
                return Failure(address, refused=True)
            pinned = url.copy_with(host=str(address))
            headers = {
                "Host": url.netloc.decode("ascii"),
                "User-Agent": USER_AGENT,
                "Accept": _ACCEPT,
            }
            try:
                async with self._client.stream(
                    "GET",
                    pinned,
                    headers=headers,
                    follow_redirects=False,
                    extensions={"sni_hostname": url.host},
                ) as response:
                    if response.has_redirect_location:
                        url = url.join(response.headers["Location"])
                        continue
                    return await self._read(url, response, types, cap)
            except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
                shown = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                return Failure(f"{url} could not be read ({shown})")
        return Failure(f"{url} redirects more than {MAX_REDIRECTS} times")

    async def _read(
        self, url: httpx2.URL, response: httpx2.Response, types: Collection[str], cap: int
    ) -> Page | Failure:
        if not response.is_success:
            return Failure(
                f"{url} answered HTTP {response.status_code}", status=response.status_code
            )
        media_type, charset = _content_type(response.headers.get("Content-Type", ""))
        if types and media_type not in types:
            shown = media_type or "missing"
            return Failure(f"{url} is {shown}, not an HTML or text page")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            return Failure(f"{url} is {int(declared):,} bytes, over the cap of {cap:,}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > cap:
                return Page(str(url), media_type, charset, bytes(body[:cap]), complete=False)
        return Page(str(url), media_type, charset, bytes(body), complete=True)


@final
class Robots:
    """What each origin's robots.txt allows Leadwright, read once per origin.

    A robots.txt that is missing (any 4xx) allows everything; one the server fails to
    give (5xx, timeout, refused connection) allows nothing, as RFC 9309 says.
    """

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher
        self._rules: dict[str, urllib.robotparser.RobotFileParser | str] = {}
        self._locks: dict[str, anyio.Lock] = {}

    async def refusal(self, url: str) -> str | None:
        """Why robots.txt keeps Leadwright from ``url``, or None if it may be read."""
        parsed = httpx2.URL(url)
        origin = f"{parsed.scheme}://{parsed.netloc.decode('ascii')}"
        lock = self._locks.setdefault(origin, anyio.Lock())
        async with lock:
            if origin not in self._rules:
                self._rules[origin] = await self._load(origin)
        rules = self._rules[origin]
        if isinstance(rules, str):
            return rules
        if not rules.can_fetch(ROBOTS_AGENT, url):
            return f"{origin}/robots.txt does not allow {ROBOTS_AGENT} to read {url}"
        return None

    async def _load(self, origin: str) -> urllib.robotparser.RobotFileParser | str:
        fetched = await self._fetcher.get(f"{origin}/robots.txt", types=(), max_bytes=ROBOTS_BYTES)
        rules = urllib.robotparser.RobotFileParser()
        if isinstance(fetched, Failure):
            if fetched.refused:
                return fetched.reason
            if fetched.status is not None and 400 <= fetched.status < 500:
                rules.parse([])  # no robots.txt: everything is allowed
                return rules
            return f"{origin}/robots.txt could not be read, so the site is not: {fetched.reason}"
        charset = fetched.charset or "utf-8"
        try:
            text = fetched.body.decode(charset, errors="replace")
        except LookupError:
            text = fetched.body.decode("utf-8", errors="replace")
        rules.parse(text.splitlines())
        return rules


def _content_type(header: str) -> tuple[str, str | None]:
    """The media type, lower case, and the declared charset, if any."""
    media_type, _, parameters = header.partition(";")
    charset = None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return media_type.strip().lower(), charset
