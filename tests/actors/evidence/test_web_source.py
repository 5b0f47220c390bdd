"""The web evidence source against real HTTP servers on 127.0.0.1, one per company site.

Leads name their sites as ``http://acme.example:PORT/``; a ``StaticResolver`` answers
``acme.example`` with 127.0.0.1, so every request goes through the real resolver check,
the real transport and the real server. Each case of the site ends in its documented
way: evidence, or a reason a person can read.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Protocol

import anyio
import httpx2
import pytest
import trustme

from actors import FirstFound, KnowledgeBase, StaticResolver, WebSource, WebSourceStatistics
from actors.evidence import refusal
from actors.evidence._web_fetch import USER_AGENT
from messages import ClosedResourceError, Evidence, Lead, UsageError
from tests.support.sites import Reply, Site, company_site, html

pytestmark = pytest.mark.anyio

RESOLVER = StaticResolver({"acme.example": "127.0.0.1", "www.acme.example": "127.0.0.1"})


class MakeSource(Protocol):
    def __call__(self, **options: Any) -> WebSource: ...


@pytest.fixture
def site() -> Iterator[Site]:
    """Acme's site, running; closing it releases held replies and joins its threads."""
    with Site(company_site("Acme Robotics", "warehouse", "Rotterdam")) as site:
        yield site


@pytest.fixture
async def make_source() -> AsyncIterator[MakeSource]:
    """Build web sources that resolve through ``RESOLVER``; close them all at the end."""
    sources: list[WebSource] = []

    def make(**options: Any) -> WebSource:
        options.setdefault("resolver", RESOLVER)
        options.setdefault("allow_private", True)
        source = WebSource(**options)
        sources.append(source)
        return source

    yield make
    for source in sources:
        await source.aclose()


def lead(website: str = "", *, domain: str = "acme.example", lead_id: str = "L1") -> Lead:
    return Lead(
        lead_id=lead_id,
        record=1,
        first_name="Ada",
        last_name="Lovelace",
        email=f"ada@{domain}" if domain else "",
        title="COO",
        company="Acme",
        domain=domain,
        industry="Logistics",
        employees=120,
        country="GB",
        notes="",
        website=website,
    )


def at(site: Site, path: str = "/") -> str:
    return f"http://acme.example:{site.port}{path}"


def texts(evidence: tuple[Evidence, ...]) -> list[str]:
    return [item.text for item in evidence]


async def test_the_home_page_and_its_about_customers_and_news_pages_are_read(
    site: Site, make_source: MakeSource
) -> None:
    """The home page's title and main text come first, then one about, one customers and
    one news page; navigation, footers and the careers page are not evidence."""
    source = make_source()

    evidence = await source.gather(lead(at(site)))

    assert [e.evidence_id for e in evidence] == [f"w{n}" for n in range(1, len(evidence) + 1)]
    assert {e.source for e in evidence} == {at(site), at(site, "/about"), at(site, "/customers"),
                                           at(site, "/news/")}  # fmt: skip
    assert texts(evidence)[:2] == [
        "Acme Robotics: warehouse software for teams that ship",
        "Acme Robotics builds warehouse software for mid-sized companies across Europe and "
        "North America.",
    ]
    assert not any("Copyright" in t or "Careers" in t for t in texts(evidence))
    assert site.paths() == ["/robots.txt", "/", "/about", "/customers", "/news/"]
    assert {s.user_agent for s in site.seen} == {USER_AGENT}
    assert {s.host for s in site.seen} == {f"acme.example:{site.port}"}
    assert source.statistics() == WebSourceStatistics(
        sites=1, cached=0, pages=4, refused=0, failed=0
    )


async def test_a_company_is_fetched_once_however_many_leads_it_has(
    site: Site, make_source: MakeSource
) -> None:
    """Thirty leads at one company, at once, cost one reading of its site."""
    source = make_source()
    found: list[tuple[Evidence, ...]] = []

    async def one(number: int) -> None:
        found.append(await source.gather(lead(at(site), lead_id=f"L{number}")))

    async with anyio.create_task_group() as group:
        for number in range(30):
            group.start_soon(one, number)

    assert len(set(found)) == 1 and found[0]
    assert site.paths().count("/") == 1 and site.paths().count("/robots.txt") == 1


async def test_a_site_read_is_cached_in_the_run_directory_for_its_ttl(
    site: Site, make_source: MakeSource, tmp_path: Path
) -> None:
    """A second run within the TTL reads the cache and asks nothing; after it, the site."""
    now = [1_000.0]
    first = make_source(cache_dir=tmp_path, ttl=3600, clock=lambda: now[0])
    evidence = await first.gather(lead(at(site)))
    asked = len(site.seen)

    again = make_source(cache_dir=tmp_path, ttl=3600, clock=lambda: now[0] + 3599)
    assert await again.gather(lead(at(site))) == evidence
    assert len(site.seen) == asked
    assert again.statistics().cached == 1

    later = make_source(cache_dir=tmp_path, ttl=3600, clock=lambda: now[0] + 3601)
    assert await later.gather(lead(at(site))) == evidence
    assert len(site.seen) == 2 * asked
    [cached] = [path async for path in anyio.Path(tmp_path).glob("*.json")]
    assert json.loads(await cached.read_text())["site"] == at(site)


async def test_a_site_that_failed_is_not_cached_on_disk(
    site: Site, make_source: MakeSource, tmp_path: Path
) -> None:
    """A failure is remembered for the run only: the next run tries the site again."""
    site.serve("/", Reply(b"down", 503, "text/plain"))
    await make_source(cache_dir=tmp_path).gather(lead(at(site)))

    assert [path async for path in anyio.Path(tmp_path).glob("*.json")] == []


async def test_a_redirect_within_the_site_is_followed(site: Site, make_source: MakeSource) -> None:
    """``/`` moved to ``/en/``: the page there is read, and named as the source."""
    home = site.replies["/"]
    site.serve("/", Reply(b"", 301, None, headers={"Location": "/en/"}))
    site.serve("/en/", home)

    evidence = await make_source().gather(lead(at(site)))

    assert evidence and evidence[0].source == at(site, "/en/")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(b"gone", 404, "text/plain"), "{url} answered HTTP 404"),
        (Reply(b"oops", 500, "text/plain"), "{url} answered HTTP 500"),
        (
            Reply(b"%PDF-1.7 ...", content_type="application/pdf"),
            "{url} is application/pdf, not an HTML or text page",
        ),
        (Reply(b"{}", content_type=None), "{url} is missing, not an HTML or text page"),
    ],
    ids=["404", "500", "pdf", "no-type"],
)
async def test_a_home_page_that_cannot_be_read_is_a_reason(
    site: Site, make_source: MakeSource, reply: Reply, reason: str
) -> None:
    """No evidence, and ``why_empty`` names what went wrong and the fix."""
    site.serve("/", reply)
    source = make_source()

    assert await source.gather(lead(at(site))) == ()
    assert source.why_empty(lead(at(site))) == (
        f"{reason.format(url=at(site))}; pass --kb FILE with an entry for acme.example, "
        "or give the lead a website"
    )
    assert source.statistics().failed == 1


async def test_a_slow_page_times_out_with_a_reason(site: Site, make_source: MakeSource) -> None:
    """A page that does not answer within the timeout is given up, without waiting more."""
    site.serve("/", Reply(b"late", hold="headers"))
    source = make_source(timeout=0.3)

    assert await source.gather(lead(at(site))) == ()
    assert source.why_empty(lead(at(site))).startswith(f"{at(site)} gave no reply within 0.3 s;")


async def test_a_20_mb_page_is_refused_by_its_length_without_being_read(
    site: Site, make_source: MakeSource
) -> None:
    """A page that declares more than the byte cap is not downloaded at all."""
    site.serve("/", Reply(b"<p>" + b"x" * (20 * 1024 * 1024) + b"</p>"))
    source = make_source()

    assert await source.gather(lead(at(site))) == ()
    assert source.why_empty(lead(at(site))).startswith(
        f"{at(site)} is 20,971,527 bytes, over the cap of 1,000,000;"
    )


async def test_a_page_streamed_without_a_length_is_cut_at_the_cap(
    site: Site, make_source: MakeSource
) -> None:
    """Without Content-Length, at most ``max_bytes`` are read, and the text read is used."""
    first = "<p>Acme Robotics picks orders for grocers in twelve countries today.</p>"
    site.serve("/", Reply(html(first + "<p>" + "y " * 10_000_000 + "</p>"), length=False))

    evidence = await make_source(max_bytes=50_000).gather(lead(at(site)))

    assert texts(evidence)[0] == "Acme Robotics picks orders for grocers in twelve countries today."


async def test_a_plain_text_page_yields_its_paragraphs(site: Site, make_source: MakeSource) -> None:
    """A ``text/plain`` home page is read as paragraphs separated by blank lines."""
    body = b"Acme Robotics builds picking robots for warehouses.\n\nShort.\n\n" + (
        b"Its fleet software plans every route in under a second, all day long."
    )
    site.serve("/", Reply(body, content_type="text/plain; charset=utf-8"))

    assert texts(await make_source().gather(lead(at(site)))) == [
        "Acme Robotics builds picking robots for warehouses.",
        "Its fleet software plans every route in under a second, all day long.",
    ]


async def test_robots_txt_that_forbids_keeps_the_site_unread(
    site: Site, make_source: MakeSource
) -> None:
    """A site whose robots.txt disallows Leadwright is not read past robots.txt."""
    site.serve(
        "/robots.txt", Reply(b"User-agent: Leadwright\nDisallow: /\n", content_type="text/plain")
    )
    source = make_source()

    assert await source.gather(lead(at(site))) == ()
    assert site.paths() == ["/robots.txt"]
    assert source.why_empty(lead(at(site))).startswith(
        f"http://acme.example:{site.port}/robots.txt does not allow Leadwright to read {at(site)};"
    )
    assert source.statistics().refused == 1


async def test_robots_txt_that_forbids_a_linked_page_skips_only_that_page(
    site: Site, make_source: MakeSource
) -> None:
    """A disallowed path is skipped; the rest of the site is read."""
    site.serve(
        "/robots.txt", Reply(b"User-agent: *\nDisallow: /customers\n", content_type="text/plain")
    )

    await make_source().gather(lead(at(site)))

    assert "/customers" not in site.paths() and "/about" in site.paths()


@pytest.mark.parametrize(
    ("robots", "read"),
    [(Reply(b"none", 404, "text/plain"), True), (Reply(b"busy", 503, "text/plain"), False)],
    ids=["missing-allows", "failing-forbids"],
)
async def test_a_missing_robots_txt_allows_and_a_failing_one_forbids(
    site: Site, make_source: MakeSource, robots: Reply, read: bool
) -> None:
    """RFC 9309: a 4xx robots.txt means no rules; a 5xx means stay away."""
    site.serve("/robots.txt", robots)

    evidence = await make_source().gather(lead(at(site)))

    assert bool(evidence) is read and ("/" in site.paths()) is read


async def test_no_private_address_is_fetched_without_the_flag(
    site: Site, make_source: MakeSource
) -> None:
    """A name that resolves to 127.0.0.1 is refused after resolution: no request is sent,
    not even for robots.txt, and the reason names the flag."""
    source = make_source(allow_private=False)

    assert await source.gather(lead(at(site))) == ()
    assert site.seen == ()
    assert source.why_empty(lead(at(site))).startswith(
        "acme.example resolves to 127.0.0.1, a loopback address, not fetched without "
        "--allow-private-sources;"
    )


async def test_an_ip_literal_site_is_checked_as_an_address(
    site: Site, make_source: MakeSource
) -> None:
    """A website given as an address is refused without the flag and read with it."""
    refused = make_source(allow_private=False)
    assert await refused.gather(lead(site.url)) == ()
    assert refused.why_empty(lead(site.url)).startswith(
        "127.0.0.1 is a loopback address, not fetched without --allow-private-sources;"
    )
    assert site.seen == ()

    assert await make_source().gather(lead(site.url))


@pytest.mark.parametrize("location", ["http://169.254.169.254/latest/meta-data/",
                                      "http://[::ffff:169.254.169.254]/"])  # fmt: skip
async def test_a_redirect_to_the_metadata_service_is_refused_even_with_the_flag(
    site: Site, make_source: MakeSource, location: str
) -> None:
    """Cloud metadata stays out of reach whatever the flag: the redirect is not followed."""
    site.serve("/", Reply(b"", 302, None, headers={"Location": location}))
    source = make_source(allow_private=True)

    assert await source.gather(lead(at(site))) == ()
    assert "a cloud metadata address, which is never fetched" in source.why_empty(lead(at(site)))
    assert source.statistics().refused == 1


async def test_a_redirect_inside_the_network_is_refused_and_the_checked_address_asked() -> None:
    """A public site that redirects inside the network is refused at the redirect; and
    every request goes to the address that was checked, never to a second lookup (DNS
    rebinding). httpx's ``MockTransport`` stands in for the network, so no public or
    private address is ever contacted."""
    asked: list[tuple[str, str]] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        asked.append((request.url.host, request.headers["Host"]))
        if request.url.path == "/robots.txt":
            return httpx2.Response(404)
        return httpx2.Response(302, headers={"Location": "http://intranet.acme.example/"})

    resolver = StaticResolver(
        {"acme.example": "93.184.216.34", "intranet.acme.example": "10.0.0.7"}
    )
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(answer)) as client:
        source = WebSource(client=client, resolver=resolver)
        assert await source.gather(lead("https://acme.example/")) == ()

    assert asked == [("93.184.216.34", "acme.example"), ("93.184.216.34", "acme.example")]
    assert source.why_empty(lead("https://acme.example/")).startswith(
        "intranet.acme.example resolves to 10.0.0.7, a private address, not fetched without "
        "--allow-private-sources;"
    )


async def test_at_most_three_redirects_are_followed(site: Site, make_source: MakeSource) -> None:
    """A fourth redirect ends the fetch with a reason."""
    for hop in range(5):
        site.serve(
            f"/{hop}" if hop else "/", Reply(b"", 302, None, headers={"Location": f"/{hop + 1}"})
        )
    source = make_source()

    assert await source.gather(lead(at(site))) == ()
    assert "redirects more than 3 times" in source.why_empty(lead(at(site)))


async def test_an_unknown_host_is_a_reason(make_source: MakeSource) -> None:
    """A name with no address is given up with the resolver's word for it."""
    source = make_source()
    nowhere = lead("http://nowhere.example/", domain="nowhere.example")

    assert await source.gather(nowhere) == ()
    assert source.why_empty(nowhere).startswith(
        "nowhere.example could not be resolved (no address for nowhere.example);"
    )


async def test_a_lead_without_website_or_domain_is_a_reason(make_source: MakeSource) -> None:
    """Nothing to read: no request, and the reason says so."""
    source = make_source()
    anonymous = lead("", domain="")

    assert await source.gather(anonymous) == ()
    assert source.why_empty(anonymous).startswith("the lead has no website or domain;")


@pytest.mark.parametrize(
    ("address", "allowed", "flagged"),
    [
        ("93.184.216.34", None, None),
        ("127.0.0.1", "a loopback address", None),
        ("10.1.2.3", "a private address", None),
        ("192.168.0.10", "a private address", None),
        ("169.254.10.10", "a link-local address", None),
        ("169.254.169.254", "a cloud metadata address", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address", "a cloud metadata address"),
        ("224.0.0.1", "a multicast address", "a multicast address"),
        ("0.0.0.0", "an unspecified address", "an unspecified address"),
        ("::1", "a loopback address", None),
        ("::ffff:127.0.0.1", "a loopback address", None),
        ("240.0.0.1", "a reserved address", "a reserved address"),
    ],
)
def test_the_address_guard(address: str, allowed: str | None, flagged: str | None) -> None:
    """Which addresses are refused, without and with ``--allow-private-sources``."""
    ip = ipaddress.ip_address(address)
    assert refusal(ip, allow_private=False) == allowed
    assert refusal(ip, allow_private=True) == flagged


@pytest.mark.parametrize("named", ["acme.example", "other.example"])
async def test_an_https_site_is_verified_for_its_own_name(named: str) -> None:
    """Over TLS the request goes to the checked address, and the certificate is verified
    for the site's name: a certificate for another name is a reason, not a page."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(named).configure_cert(server)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    with Site(company_site("Acme Robotics", "warehouse", "Rotterdam"), tls=server) as site:
        home = f"https://acme.example:{site.port}/"
        async with httpx2.AsyncClient(verify=trusting) as client:
            source = WebSource(client=client, resolver=RESOLVER, allow_private=True)
            evidence = await source.gather(lead(home))
            reason = source.why_empty(lead(home)) if not evidence else ""

    if named == "acme.example":
        assert evidence and evidence[0].source == home
    else:
        assert evidence == ()
        assert "robots.txt could not be read" in reason and "CERTIFICATE_VERIFY_FAILED" in reason


async def test_kb_first_then_web(site: Site, make_source: MakeSource) -> None:
    """``kb,web``: a company in the knowledge base costs no fetch; another is read."""
    kb = KnowledgeBase({"known.example": {"description": "Known Ltd makes known things well."}})
    source = FirstFound(kb, make_source())

    known = await source.gather(lead("", domain="known.example"))
    assert [e.source for e in known] == ["kb:known.example"] and site.seen == ()
    assert await source.gather(lead(at(site)))
    assert site.paths()[:2] == ["/robots.txt", "/"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "timeout=0 must be > 0 seconds."),
        ({"ttl": -1}, "ttl=-1 must be >= 0 seconds."),
        ({"max_bytes": 0}, "max_bytes=0 must be >= 1."),
        ({"max_items": 0}, "max_items=0 must be >= 1."),
        ({"max_pages": 0}, "max_pages=0 must be >= 1."),
    ],
)
def test_bad_options_are_usage_errors(options: dict[str, Any], message: str) -> None:
    """Each bound is checked when the source is built, with the value in the message."""
    with pytest.raises(UsageError) as raised:
        WebSource(**options)
    assert str(raised.value) == message


async def test_a_closed_source_refuses_to_gather() -> None:
    """After ``aclose``, ``gather`` raises ``ClosedResourceError``."""
    source = WebSource()
    await source.aclose()

    with pytest.raises(ClosedResourceError, match="the WebSource is closed"):
        await source.gather(lead())


async def test_a_client_passed_in_is_left_open(site: Site) -> None:
    """The source closes only a client it created itself."""
    async with httpx2.AsyncClient() as client:
        async with WebSource(client=client, resolver=RESOLVER, allow_private=True) as source:
            assert await source.gather(lead(at(site)))
        assert not client.is_closed


async def test_one_page_a_reviewer_gives_is_read_for_its_texts(
    site: Site, make_source: MakeSource
) -> None:
    """``read_page`` reads only the page it is given (robots.txt first), no linked page,
    and returns its evidence texts."""
    found = await make_source().read_page(at(site, "/about"))

    assert isinstance(found, tuple) and any("Acme Robotics" in text for text in found)
    assert site.paths() == ["/robots.txt", "/about"]


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("ftp://acme.example/about", "ftp://acme.example/about is not a web address"),
        ("https://", "https:// is not a web address"),
        ("about us", "about us is not a web address"),
    ],
)
async def test_a_page_address_that_is_no_web_address_is_a_reason(
    make_source: MakeSource, url: str, said: str
) -> None:
    """An address that is not http or https is refused before anything is asked."""
    found = await make_source().read_page(url)

    assert isinstance(found, str) and found.startswith(said)


async def test_a_page_is_read_only_as_the_guards_allow(site: Site, make_source: MakeSource) -> None:
    """A private address without the flag, robots.txt that forbids and a missing page
    each come back as the reason, as for a site."""
    private = await make_source(allow_private=False).read_page(at(site, "/about"))
    assert isinstance(private, str) and "--allow-private-sources" in private
    assert site.seen == ()
    missing = await make_source().read_page(at(site, "/nowhere"))
    assert missing == f"{at(site, '/nowhere')} answered HTTP 404"
    site.serve(
        "/robots.txt", Reply(b"User-agent: Leadwright\nDisallow: /\n", content_type="text/plain")
    )
    forbidden = await make_source().read_page(at(site, "/about"))
    assert isinstance(forbidden, str) and "robots.txt does not allow Leadwright" in forbidden
