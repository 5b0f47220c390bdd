"""Links read as a browser reads them: a WHATWG URL parser gives the host, a bare name
whose ending is on the public suffix list is a link, and ``mailto:`` to a foreign domain is
a foreign link; an edit holding one is never approved, override or not."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from actors import Icp, KnowledgeBase
from actors.intake import read_records
from actors.llm import ChaosLlm, Fault, OfflineLlm
from actors.validation._links import find_links, is_tld, within
from messages import OutreachDraft
from supervision.system import (
    DraftEdit,
    DraftRefused,
    Operator,
    PipelineConfig,
    open_system,
    run_pipeline,
)
from tests.support.outputs import BODY, draft, fired, reasons
from tests.support.paths import EXAMPLES

ANCHOR = "Would a short"
HOSTILE = [
    ("https://evil.example\\@arclight-academy.com/pay", "evil.example"),
    ("https:\\\\evil.example/pay", "evil.example"),
    ("https://arclight-academy.com%2F@evil.example/pay", "evil.example"),
    ("evil.ly", "evil.ly"),
    ("evil.museum", "evil.museum"),
    ("mailto:buy@evil.example", "evil.example"),
    ("mailto:zoe.martin@arclight-academy.com?cc=buy@evil.example", "evil.example"),
]


@pytest.mark.parametrize(("link", "host"), HOSTILE)
def test_a_link_goes_where_a_browser_would_send_it(link: str, host: str) -> None:
    """The host of each link is the one a WHATWG parser gives, not what the text suggests."""
    assert host in [found.host for found in find_links(f"See {link} today.")]


@pytest.mark.parametrize(("link", "host"), HOSTILE)
def test_each_hostile_link_breaks_the_foreign_link_rule(link: str, host: str) -> None:
    """A backslash before ``@``, a bare domain on the public suffix list, or a ``mailto:``
    to another domain, in a draft to a lead at arclight-academy.com, is a foreign link."""
    output = draft(body=BODY.replace(ANCHOR, f"See {link} {ANCHOR}"))
    assert fired(output) == {"draft.foreign_link"}
    assert reasons(output)[0].startswith("The body links to")


@pytest.mark.parametrize(
    "text",
    [
        "Write to mailto:zoe.martin@arclight-academy.com or mailto:alex@leadwright.example.",
        "Built on Node.js and Vue.js, e.g. with ASP-style i.e. code.",
        "Read https://münchen-bau.arclight-academy.com/x.",
    ],
)
def test_links_to_the_lead_and_the_sender_still_pass(text: str) -> None:
    """``mailto:`` to the lead's or the sender's domain, prose with dots, and an IDN
    subdomain of the lead's domain are no foreign links."""
    assert fired(draft(body=BODY.replace(ANCHOR, f"{text} {ANCHOR}"))) == set()


def test_the_public_suffix_list_is_bundled_and_reserved_names_count() -> None:
    """Top-level domains come from the bundled list, with the reserved ones beside it."""
    assert is_tld("ly") and is_tld("museum") and is_tld("example") and is_tld("рф")
    assert not is_tld("js") and not is_tld("g") and not is_tld("")


def test_hosts_compare_in_their_ascii_form() -> None:
    """An IDN and its punycode are one domain; case, ``www.`` and a trailing dot do not count."""
    assert within("xn--mnchen-bau-9db.de", "münchen-bau.de")
    assert within("shop.xn--mnchen-bau-9db.de", "WWW.München-Bau.de.")
    assert not within("evil.example", "arclight-academy.com")


@pytest.mark.parametrize(("link", "host"), HOSTILE[:2] + HOSTILE[3:6])
def test_an_edit_with_a_foreign_link_is_never_approved(
    tmp_path: Path, link: str, host: str
) -> None:
    """A reviewer's edit that adds such a link is refused even with an override and a note,
    and the item stays open."""
    config = PipelineConfig(
        out=tmp_path / "run",
        gateway=ChaosLlm(OfflineLlm(seed=1), rate=1.0, seed=1, faults=[Fault.PLACEHOLDER]),
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
    )
    records = read_records(EXAMPLES / "leads.csv")
    anyio.run(run_pipeline, config, [next(records)])

    async def scenario() -> None:
        async with open_system(config, admit=False) as system:
            [item] = system.stores.review.items(status="open")
            written = item.request.last_output
            assert isinstance(written, OutreachDraft)
            body = written.body.replace("{{", "").replace("}}", "").replace("[Name]", "")
            body = body.replace("<company>", "")
            lines = body.split("\n\n")
            # The lead is at ember-labs.ai: the link pretends to go there.
            lines.insert(2, f"Pay here: {link.replace('arclight-academy.com', 'ember-labs.ai')}")
            edit = DraftEdit(subject=written.subject, body="\n\n".join(lines))
            with pytest.raises(DraftRefused) as refused:
                await Operator(system).approve(item.id, edit=edit, override=True, note="looks fine")
            assert "draft.foreign_link" in {v.rule for v in refused.value.violations}
            assert "must be edited out" in str(refused.value)
            reopened = system.stores.review.item(item.id)
            assert reopened is not None and reopened.status == "open"

    anyio.run(scenario)
