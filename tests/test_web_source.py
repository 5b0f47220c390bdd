"""The web evidence source against a real HTTP server on 127.0.0.1.

Every request the source makes goes through ``Loopback``, an httpx transport that sends
it to the test server and keeps its ``Host`` header, so the source fetches
``https://acme.example/`` as it would in production while the server answers by host
and path.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Protocol, Self

import httpx2
import pytest

from actors._web_source import USER_AGENT, WebSource, WebSourceStatistics, public_host
from messages import ClosedResourceError, Evidence, Lead, UsageError

pytestmark = pytest.mark.anyio


@dataclass(frozen=True, slots=True)
class Reply:
    """What the site answers one request with."""

    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    hold: Literal["no", "headers", "body"] = "no"
    """Wait for the site to close before the headers, or after half the body."""


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as it reached the site."""

    host: str
    path: str
    user_agent: str


class Site:
    """A threaded HTTP/1.0 server on 127.0.0.1 that answers by ``(host, path)``; 404 otherwise."""

    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], Reply] = {}
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self._errors: list[BaseException] = []
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="Site"
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def seen(self) -> tuple[Seen, ...]:
        with self._lock:
            return tuple(self._seen)

    def serve(self, host: str, path: str, reply: Reply) -> None:
        self.replies[host, path] = reply

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()  # joins every handler thread
        self._thread.join()
        if self._errors:
            raise self._errors[0]

    def _answer(self, handler: _Handler) -> None:
        host = (handler.headers.get("Host") or "").lower()
        with self._lock:
            self._seen.append(Seen(host, handler.path, handler.headers.get("User-Agent") or ""))
        reply = self.replies.get((host, handler.path), Reply(b"not here", 404, "text/plain"))
        if reply.hold == "headers":
            self.release.wait()
        handler.send_response(reply.status)
        if reply.content_type is not None:
            handler.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        if reply.hold == "body":
            handler.wfile.write(reply.body[: len(reply.body) // 2])
            handler.wfile.flush()
            self.release.wait()
            handler.wfile.write(reply.body[len(reply.body) // 2 :])
        else:
            handler.wfile.write(reply.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins every handler thread
    block_on_close = True

    def __init__(self, site: Site) -> None:
        self.site = site
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is expected (timeouts, byte caps); anything else fails the test."""
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, OSError):
            self.site._errors.append(error)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: ``Site.seen`` is the log."""

    def do_GET(self) -> None:
        self.server.site._answer(self)


class Loopback(httpx2.AsyncBaseTransport):
    """Sends every request to 127.0.0.1:``port`` over plain HTTP, keeping its Host header."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._inner = httpx2.AsyncHTTPTransport(verify=False)  # plain HTTP: no CA store to load

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        forwarded = httpx2.Request(
            request.method,
            url,
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return await self._inner.handle_async_request(forwarded)

    async def aclose(self) -> None:
        await self._inner.aclose()


class MakeSource(Protocol):
    def __call__(self, *, port: int | None = None, **options: Any) -> WebSource: ...


@pytest.fixture
def site() -> Iterator[Site]:
    """A running site; closing it releases held replies and joins its threads."""
    with Site() as site:
        yield site


@pytest.fixture
async def make_source(site: Site) -> AsyncIterator[MakeSource]:
    """Build web sources whose requests reach ``site`` (or ``port``); close their clients."""
    clients: list[httpx2.AsyncClient] = []

    def make(*, port: int | None = None, **options: Any) -> WebSource:
        client = httpx2.AsyncClient(transport=Loopback(site.port if port is None else port))
        clients.append(client)
        return WebSource(client=client, **options)

    yield make
    for client in clients:
        await client.aclose()


def lead(domain: str = "acme.example") -> Lead:
    return Lead(
        lead_id="L1",
        record=1,
        first_name="Ada",
        last_name="Lovelace",
        email=f"ada@{domain}",
        title="COO",
        company="Acme",
        domain=domain,
        industry="Logistics",
        employees=120,
        country="GB",
        notes="",
    )


def html(body: str, *, head: str = "") -> bytes:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>".encode()


def texts(evidence: tuple[Evidence, ...]) -> list[str]:
    return [item.text for item in evidence]


LONG = (
    "Acme Robotics designs mobile picking robots for mid-size warehouses in Europe. "
    "Each robot carries up to forty totes and works beside people without cages or fences. "
    "Customers include grocers, pharmacies and fashion retailers with peak-season demand. "
    "The fleet software plans routes every second and learns the layout of each warehouse. "
    "Most sites go live in six weeks. "
    "The company offers a robots-as-a-service plan billed per pick rather than per robot."
)

HOME = html(
    head="""
    <title>Acme Robotics | Warehouse robots that never sleep</title>
    <meta name="description" content="Acme Robotics builds autonomous picking robots.">
    <style>.hero { color: red } /* STYLE TEXT must not appear */</style>
    <script>var secret = "SCRIPT TEXT must not appear in any evidence item";</script>
    """,
    body=f"""
    <nav><p>Home · Products · Careers · Contact us today for a free demo visit</p></nav>
    <h1>Warehouse robots that pick, pack and never sleep</h1>
    <p>Founded in 2014, Acme   Robotics has deployed
       over 3,000 robots across <a href="/eu">twelve countries</a>.</p>
    <p>Acme Robotics builds autonomous picking robots.</p>
    <p>Short one.</p>
    <noscript><p>Please enable JavaScript to use the full Acme Robotics website.</p></noscript>
    <svg><title>Acme logo drawn as a scalable vector graphic image</title></svg>
    <p>{LONG}</p>
    <footer><p>Copyright 2024 Acme Robotics Incorporated. All rights reserved.</p></footer>
    """,
)


async def test_a_home_page_yields_its_title_description_headings_and_paragraphs(
    site: Site, make_source: MakeSource
) -> None:
    """Title, description, then headings and paragraphs in order, deduplicated, as w1, w2, ..."""
    site.serve("acme.example", "/", Reply(HOME))
    evidence = await make_source().gather(lead())
    assert texts(evidence) == [
        "Acme Robotics | Warehouse robots that never sleep",
        "Acme Robotics builds autonomous picking robots.",
        "Warehouse robots that pick, pack and never sleep",
        "Founded in 2014, Acme Robotics has deployed over 3,000 robots across twelve countries.",
        "Acme Robotics designs mobile picking robots for mid-size warehouses in Europe. "
        "Each robot carries up to forty totes and works beside people without cages or fences. "
        "Customers include grocers, pharmacies and fashion retailers with peak-season demand. "
        "The fleet software plans routes every second and learns the layout of each warehouse. "
        "Most sites go live in six weeks.",
        "The company offers a robots-as-a-service plan billed per pick rather than per robot.",
    ]
    assert [item.evidence_id for item in evidence] == ["w1", "w2", "w3", "w4", "w5", "w6"]
    assert {item.source for item in evidence} == {"https://acme.example/"}


async def test_no_evidence_comes_from_skipped_elements(site: Site, make_source: MakeSource) -> None:
    """Script, style, nav, noscript, svg and footer text never becomes evidence."""
    site.serve("acme.example", "/", Reply(HOME))
    joined = " ".join(texts(await make_source().gather(lead())))
    for word in ("SCRIPT", "STYLE", "Careers", "JavaScript", "logo", "Copyright"):
        assert word not in joined


async def test_every_text_is_a_verbatim_span_of_the_normalised_page(
    site: Site, make_source: MakeSource
) -> None:
    """Each text is 40-400 characters of the page's wording with whitespace collapsed."""
    site.serve("acme.example", "/", Reply(HOME))
    page = " ".join(HOME.decode().replace('<a href="/eu">', "").replace("</a>", "").split())
    for text in texts(await make_source().gather(lead())):
        assert 40 <= len(text) <= 400
        assert text in page


async def test_only_the_first_max_items_are_kept(site: Site, make_source: MakeSource) -> None:
    """With max_items=3, the first three paragraphs are the evidence."""
    paragraphs = "".join(
        f"<p>Paragraph number {n} says something worth quoting.</p>" for n in range(9)
    )
    site.serve("acme.example", "/", Reply(html(paragraphs)))
    evidence = await make_source(max_items=3).gather(lead())
    assert texts(evidence) == [
        f"Paragraph number {n} says something worth quoting." for n in range(3)
    ]


async def test_the_request_names_leadwright_and_asks_for_the_home_page(
    site: Site, make_source: MakeSource
) -> None:
    """One GET of https://{domain}/ with the User-Agent "Leadwright/0.1 (+research)"."""
    site.serve("acme.example", "/", Reply(HOME))
    await make_source().gather(lead())
    assert site.seen == (Seen("acme.example", "/", "Leadwright/0.1 (+research)"),)
    assert USER_AGENT == "Leadwright/0.1 (+research)"


@pytest.mark.parametrize("status", [404, 500])
async def test_an_error_status_yields_no_evidence(
    site: Site, make_source: MakeSource, status: int
) -> None:
    """A 4xx or 5xx page, even one with paragraphs, yields ()."""
    site.serve("acme.example", "/", Reply(HOME, status=status))
    assert await make_source().gather(lead()) == ()


@pytest.mark.parametrize(
    ("reply", "cause"),
    [
        (Reply(HOME, status=404), "https://acme.example/ could not be read: HTTP 404"),
        (
            Reply(b"%PDF", content_type="application/pdf"),
            "https://acme.example/ could not be read: its content type is application/pdf, "
            "not HTML or text",
        ),
        (Reply(HOME, hold="headers"), "https://acme.example/ could not be read: no reply within"),
    ],
)
async def test_why_empty_names_the_cause_and_the_fix(
    site: Site, make_source: MakeSource, reply: Reply, cause: str
) -> None:
    """A lead that got no evidence is told why, once, with --kb as the way round it."""
    site.serve("acme.example", "/", reply)
    source = make_source(timeout=0.5)
    assert await source.gather(lead()) == ()
    why = source.why_empty(lead())
    assert why.startswith(cause), why
    assert why.endswith("; check the network, or pass --kb FILE with an entry for acme.example")
    assert source.why_empty(lead()).startswith("the page held no usable text")


async def test_why_empty_names_a_refused_host(make_source: MakeSource) -> None:
    """A domain that is no public host name is named as such, with no request sent."""
    source = make_source()
    assert await source.gather(lead("localhost")) == ()
    assert source.why_empty(lead("localhost")).startswith("'localhost' is not a public host name;")


@pytest.mark.parametrize("hold", ["headers", "body"])
async def test_a_reply_slower_than_the_timeout_yields_no_evidence(
    site: Site, make_source: MakeSource, hold: Literal["headers", "body"]
) -> None:
    """A server that stalls before its headers or mid-body is abandoned at the timeout."""
    site.serve("acme.example", "/", Reply(HOME, hold=hold))
    source = make_source(timeout=0.2)
    assert await source.gather(lead()) == ()
    assert source.statistics() == WebSourceStatistics(pages=0, refused=0, failed=1)


async def test_a_refused_connection_yields_no_evidence(make_source: MakeSource) -> None:
    """A port with nothing listening yields (), not an exception."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert await make_source(port=port).gather(lead()) == ()


@pytest.mark.parametrize(
    "content_type", ["application/json", "image/png", "application/xhtml+xml", None]
)
async def test_a_body_that_is_not_html_or_text_yields_no_evidence(
    site: Site, make_source: MakeSource, content_type: str | None
) -> None:
    """Only text/html and text/plain are read; any other or missing type yields ()."""
    site.serve("acme.example", "/", Reply(HOME, content_type=content_type))
    assert await make_source().gather(lead()) == ()


async def test_a_plain_text_page_yields_its_paragraphs(site: Site, make_source: MakeSource) -> None:
    """A text/plain body is split into paragraphs at blank lines."""
    body = (
        b"Acme Robotics makes warehouse robots for grocers.\n\n  Tiny.\n"
        b"\nThe robots work\n  beside people without cages.\n"
    )
    site.serve("acme.example", "/", Reply(body, content_type="text/plain"))
    assert texts(await make_source().gather(lead())) == [
        "Acme Robotics makes warehouse robots for grocers.",
        "The robots work beside people without cages.",
    ]


async def test_an_oversize_body_is_cut_at_max_bytes(site: Site, make_source: MakeSource) -> None:
    """Only max_bytes are read; the paragraph cut mid-way and all after it are left out."""
    first = "<p>The first paragraph fits well inside the byte cap of the source.</p>"
    cut = "<p>The second paragraph is cut in half by the byte cap and dropped.</p>"
    body = html(first + cut + "<p>Never read: this paragraph lies past the byte cap.</p>" * 5000)
    cap = body.index(cut.encode()) + len(cut) // 2
    site.serve("acme.example", "/", Reply(body))
    source = make_source(max_bytes=cap)
    evidence = await source.gather(lead())
    assert texts(evidence) == ["The first paragraph fits well inside the byte cap of the source."]
    assert source.statistics() == WebSourceStatistics(pages=1, refused=0, failed=0)


async def test_a_declared_latin_1_charset_is_decoded(site: Site, make_source: MakeSource) -> None:
    """A latin-1 page decodes by its Content-Type charset, as windows-1252 like a browser."""
    body = html("<p>Café Müller serves crème brûlée in Zürich, and it’s open daily.</p>")
    site.serve(
        "acme.example",
        "/",
        Reply(body.decode().encode("cp1252"), content_type="text/html; charset=ISO-8859-1"),
    )
    assert texts(await make_source().gather(lead())) == [
        "Café Müller serves crème brûlée in Zürich, and it’s open daily."
    ]


async def test_a_meta_charset_is_used_when_the_header_has_none(
    site: Site, make_source: MakeSource
) -> None:
    """Without a charset in Content-Type, <meta charset> decides the encoding."""
    body = html(
        "<p>Smørrebrød and æbleskiver are served at the Århus office daily.</p>",
        head='<meta charset="iso-8859-1">',
    )
    site.serve(
        "acme.example", "/", Reply(body.decode().encode("latin-1"), content_type="text/html")
    )
    assert texts(await make_source().gather(lead())) == [
        "Smørrebrød and æbleskiver are served at the Århus office daily."
    ]


async def test_undecodable_text_is_dropped_and_the_rest_kept(
    site: Site, make_source: MakeSource
) -> None:
    """Bytes invalid in the declared UTF-8 drop the item they fall in, not the page."""
    good = b"<p>This paragraph is perfectly valid UTF-8 text about robots.</p>"
    bad = b"<p>This paragraph has a broken byte \xff in the middle of it here.</p>"
    site.serve("acme.example", "/", Reply(good + bad))
    assert texts(await make_source().gather(lead())) == [
        "This paragraph is perfectly valid UTF-8 text about robots."
    ]


async def test_markup_the_parser_rejects_yields_no_evidence(
    site: Site, make_source: MakeSource
) -> None:
    """A page html.parser cannot read (an unknown marked section) yields ()."""
    body = html("<p>A paragraph that comes before the broken marked section.</p><![foo[x]]>")
    site.serve("acme.example", "/", Reply(body))
    source = make_source()
    assert await source.gather(lead()) == ()
    assert source.statistics() == WebSourceStatistics(pages=0, refused=0, failed=1)


async def test_a_redirect_within_the_site_is_followed(site: Site, make_source: MakeSource) -> None:
    """acme.example redirects to www.acme.example/home; the source is the final URL."""
    site.serve(
        "acme.example", "/", Reply(status=301, headers={"Location": "https://www.acme.example/"})
    )
    site.serve("www.acme.example", "/", Reply(status=302, headers={"Location": "/home"}))
    site.serve("www.acme.example", "/home", Reply(HOME))
    evidence = await make_source().gather(lead())
    assert len(evidence) == 6
    assert {item.source for item in evidence} == {"https://www.acme.example/home"}


@pytest.mark.parametrize(
    "location",
    [
        "https://evil.example/",
        "https://acme.example.evil.example/",
        "http://127.0.0.1/",
        "http://localhost/",
        "https://acme.example:8443/",
        "ftp://acme.example/",
    ],
)
async def test_a_redirect_off_the_site_is_not_followed(
    site: Site, make_source: MakeSource, location: str
) -> None:
    """A redirect to another domain, an internal host or another port yields () unfollowed."""
    site.serve("acme.example", "/", Reply(status=302, headers={"Location": location}))
    site.serve("evil.example", "/", Reply(HOME))
    assert await make_source().gather(lead()) == ()
    assert [seen.host for seen in site.seen] == ["acme.example"]


async def test_at_most_three_redirects_are_followed(site: Site, make_source: MakeSource) -> None:
    """A fourth redirect is not followed, even within the site."""
    for hop in range(4):
        site.serve(
            "acme.example",
            f"/{hop}" if hop else "/",
            Reply(status=302, headers={"Location": f"/{hop + 1}"}),
        )
    site.serve("acme.example", "/4", Reply(HOME))
    assert await make_source().gather(lead()) == ()
    assert [seen.path for seen in site.seen] == ["/", "/1", "/2", "/3"]


@pytest.mark.parametrize(
    "domain",
    [
        "localhost",
        "127.0.0.1",
        "10.0.0.1",
        "[::1]",
        "::1",
        "a b.com",
        "",
        "127.1",
        "2130706433",
        "intranet",
        "printer.local",
        "db.internal",
        "api.localhost",
        "acme.example:8080",
        "user@acme.example",
        "acme..example",
    ],
)
async def test_the_ssrf_guard_refuses_internal_and_malformed_domains(
    site: Site, make_source: MakeSource, domain: str
) -> None:
    """A domain naming no public host yields () and sends no request at all."""
    source = make_source()
    assert await source.gather(lead(domain)) == ()
    assert site.seen == ()
    assert source.statistics() == WebSourceStatistics(pages=0, refused=1, failed=0)


@pytest.mark.parametrize(
    ("domain", "host"),
    [
        ("acme.com", "acme.com"),
        ("www.Acme.COM", "www.acme.com"),
        ("acme.com.", "acme.com"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("10-0-0-1.example", "10-0-0-1.example"),
    ],
)
def test_public_host_normalises_public_names(domain: str, host: str) -> None:
    """A public name comes back lower case, in ASCII, without a trailing dot."""
    assert public_host(domain) == host


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "timeout=0 must be > 0 seconds."),
        ({"max_bytes": 0}, "max_bytes=0 must be >= 1."),
        ({"max_items": 0}, "max_items=0 must be >= 1."),
    ],
)
def test_bad_options_are_usage_errors(options: dict[str, Any], message: str) -> None:
    """Each bound is checked when the source is built, naming the value."""
    with pytest.raises(UsageError) as caught:
        WebSource(**options)
    assert str(caught.value) == message


async def test_a_closed_source_refuses_to_gather() -> None:
    """After aclose (here by `async with`), gather raises ClosedResourceError."""
    async with WebSource() as source:
        assert await source.gather(lead("localhost")) == ()
    with pytest.raises(ClosedResourceError) as caught:
        await source.gather(lead())
    assert str(caught.value) == "Cannot gather evidence, as the WebSource is closed."


async def test_a_client_passed_in_is_left_open() -> None:
    """aclose closes only a client the source created, never one it was given."""
    async with httpx2.AsyncClient() as client:
        await WebSource(client=client).aclose()
        assert not client.is_closed
